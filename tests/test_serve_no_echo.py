"""The service never shows protected text it was not sent: a keyed index behind `nearcopy serve`
(key from NEARCOPY_KEY_FILE), asked about an answer that copies the first half of a protected
document. Responses of /v1/check, /v1/filter and the proxy, and the service's log, may carry what
the client sent (the matched spans of the output, only with --excerpts), but never the half of
the document the answer did not copy, nor any other document."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from nearcopy.benchsuite import serve_harness as h
from nearcopy.index import ProtectedIndex

HIDDEN = (
    "Beyond the second lock the ledger lists every shipment of tin that crossed the southern ridge, "
    "with the names of the carters, the weight of each load in stones, and the toll each one paid at "
    "the old mill bridge during the long wet spring."
)
COPIED = h.SECRET  # the answer copies this document whole ...
DOCS = [{"id": "depot-plan", "text": f"{COPIED} {HIDDEN}", "license": "Proprietary"}, *h.DOCS[:2]]
ANSWER = f"From the notes: {COPIED} That is all."  # ... and none of HIDDEN


def shown_pieces(text: str) -> list[str]:
    """Every run of five words of ``text``: a leak of any of them would be a leak of the text."""
    words = text.split()
    return [" ".join(words[i : i + 5]) for i in range(len(words) - 4)]


def assert_never_shown(body: str, *texts: str) -> None:
    for text in texts:
        for piece in shown_pieces(text):
            assert piece not in body, f"protected text shown: {piece!r}"


@pytest.fixture(scope="module", params=["plain", "excerpts"])
def world(request: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, h.Process]]:
    tmp = tmp_path_factory.mktemp("no-echo")
    key = tmp / "index.key"
    key.write_text("ab" * 32)
    ProtectedIndex.build(DOCS, tmp / "index", key=bytes.fromhex("ab" * 32))
    upstream = h.start_upstream(tmp)
    # The key from the environment, or (with --excerpts) from --key-file, read by each of 2 workers.
    if request.param == "excerpts":
        extra, env = ["--excerpts", "--key-file", str(key), "--workers", "2"], {}
    else:
        extra, env = [], {"NEARCOPY_KEY_FILE": str(key)}
    service = h.start_service(
        tmp, tmp / "index", "--upstream", upstream.url, "--policy", "annotate", *extra, env=env
    )
    try:
        yield service.url, service
    finally:
        service.stop()
        upstream.stop()


def test_sidecar_and_proxy_show_no_protected_text_beyond_the_output(world: tuple[str, h.Process]) -> None:
    url, service = world
    excerpts = "--excerpts" in " ".join(service.proc.args)  # type: ignore[arg-type]
    bodies: list[str] = []
    check = httpx.post(f"{url}/v1/check", json={"text": ANSWER}, timeout=30)
    assert check.status_code == 200 and check.json()["flagged"], check.text
    matched = " ".join(m.get("text", "") for m in check.json()["matches"])
    # --excerpts shows the matched span of the output (what the client sent), never more.
    assert bool(matched) == excerpts and (not matched or matched in ANSWER)
    bodies.append(check.text)
    bodies.append(httpx.post(f"{url}/v1/filter", json={"texts": [ANSWER, h.CLEAN]}, timeout=30).text)
    script = {"answer": ANSWER, "chunking": "3"}
    for stream in (True, False):
        request: dict[str, Any] = {"model": "scripted", "stream": stream, "script": script, "messages": []}
        response = httpx.post(f"{url}/v1/chat/completions", json=request, timeout=60)
        assert response.status_code == 200, response.text
        bodies.append(response.text)
    bodies.append(httpx.get(f"{url}/metrics", timeout=30).text)
    bodies.append(httpx.get(f"{url}/healthz", timeout=30).text)
    for body in bodies:
        assert_never_shown(body, HIDDEN, h.PROSE, h.FUNCTION)
    assert_never_shown(service.output(), HIDDEN, COPIED, h.PROSE, h.FUNCTION)
    assert "depot-plan" in json.dumps(check.json()), "sources are named, by id"
