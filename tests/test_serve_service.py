"""`nearcopy serve` as a service: the sidecar endpoints, safety (auth, limits, clear 4xx errors), the
index reopened at a new version without downtime, and several worker processes on one index. Every
test talks to a real process over loopback."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from nearcopy.benchsuite import serve_harness as h
from nearcopy.index import ProtectedIndex

TOKEN = "s3cret-token"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("service")
    (tmp / "token").write_text(TOKEN + "\n")
    index = h.build_index(tmp / "index")
    process = h.start_service(
        tmp,
        index,
        *h.POLICY_ARGS,
        "--auth-token-file",
        str(tmp / "token"),
        "--max-body-bytes",
        "20000",
        "--max-batch",
        "4",
    )
    try:
        yield process.url
    finally:
        process.stop()


def post(
    url: str, path: str, body: Any = None, *, content: bytes | None = None, token: str | None = TOKEN
) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    if content is not None:
        return httpx.post(
            url + path, content=content, headers={**headers, "content-type": "application/json"}
        )
    return httpx.post(url + path, json=body, headers=headers, timeout=30)


def test_check_returns_the_verdict_with_sources_but_no_protected_text(service: str) -> None:
    verdict = post(service, "/v1/check", {"text": h.CODE_ANSWER}).json()
    assert verdict["flagged"] and verdict["action"] == "replace" and verdict["generation"] == 1
    match = verdict["matches"][0]
    assert (match["id"], match["license"], match["kind"]) == ("intervals.py", "GPL-3.0", "code")
    assert "text" not in match and "join_ranges" not in json.dumps(verdict)
    clean = post(service, "/v1/check", {"text": h.CLEAN}).json()
    assert clean == {"generation": 1, "flagged": False, "action": "allow", "score": 0.0, "matches": []}


def test_filter_returns_what_may_be_shown_one_text_or_a_batch(service: str) -> None:
    one = post(service, "/v1/filter", {"text": h.SECRET_ANSWER}).json()
    assert one["text"] == "" and one["verdict"]["action"] == "suppress"
    batch = post(service, "/v1/filter", {"texts": [h.PROSE_ANSWER, h.CLEAN, h.CODE_ANSWER]}).json()["results"]
    assert batch[0]["text"] == "As [redacted: https://example.org/austen]." and batch[1]["text"] == h.CLEAN
    assert batch[2]["text"] == "[output withheld: it reproduces https://example.org/intervals.py (GPL-3.0)]"


def test_a_bearer_token_is_required_except_for_health(service: str) -> None:
    for token in (None, "wrong"):
        refused = post(service, "/v1/check", {"text": "hi"}, token=token)
        assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
        assert refused.json()["error"]["type"] == "authentication_error"
    assert httpx.get(service + "/metrics").status_code == 401
    assert httpx.get(service + "/healthz").json() == {"status": "ok", "generation": 1, "documents": 3}


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b'{"text": "unterminated', 400, "malformed JSON: Unterminated string"),
        (b"\xff\xfe", 400, "malformed JSON: the body is not UTF-8"),
        (b'["a list"]', 400, "the body must be a JSON object, got list"),
        (b'{"text": "a", "lang": "en"}', 400, "unknown field(s) 'lang': expected 'text' or 'texts'"),
        (b'{"text": 3}', 400, "'text' must be a string, got int"),
        (b'{"texts": ["a", 2]}', 400, "'texts' must be a list of strings"),
        (b'{"text": "a", "texts": ["b"]}', 400, "give exactly one of 'text'"),
        (b"{}", 400, "give exactly one of 'text'"),
        (b'{"texts": ["a", "b", "c", "d", "e"]}', 413, "a batch of 5 texts exceeds --max-batch 4"),
        (json.dumps({"text": "x" * 30000}).encode(), 413, "exceeds the limit of 20000"),
        (b"[" * 100000 + b"]" * 100000, 413, "exceeds the limit"),
    ],
)
def test_bad_requests_get_a_4xx_that_says_what_is_wrong(
    service: str, body: bytes, status: int, message: str
) -> None:
    response = post(service, "/v1/check", content=body)
    assert response.status_code == status
    assert message in response.json()["error"]["message"], response.json()


def test_deeply_nested_json_is_400_and_unknown_routes_are_json_404(service: str) -> None:
    nested = post(service, "/v1/filter", content=b"[" * 9000 + b"]" * 9000)
    assert nested.status_code == 400

    def unannounced_length() -> Iterator[bytes]:  # chunked: no content-length to refuse it early
        yield b'{"text": "'
        yield b"x" * 30000
        yield b'"}'

    chunked = httpx.post(
        service + "/v1/check", content=unannounced_length(), headers={"authorization": f"Bearer {TOKEN}"}
    )
    assert (
        chunked.status_code == 413
        and "exceeds the limit of 20000 bytes" in chunked.json()["error"]["message"]
    )
    missing = httpx.get(service + "/v2/nothing", headers={"authorization": f"Bearer {TOKEN}"})
    assert missing.status_code == 404 and "Not Found" in missing.json()["error"]["message"]
    no_upstream = post(service, "/v1/chat/completions", {"model": "m"})
    assert no_upstream.status_code == 404 and "--upstream" in no_upstream.json()["error"]["message"]


def test_metrics_count_requests_flags_latency_and_the_generation(service: str) -> None:
    post(service, "/v1/check", {"text": h.PROSE_ANSWER})
    text = httpx.get(service + "/metrics", headers={"authorization": f"Bearer {TOKEN}"}).text
    assert re.search(r'nearcopy_requests_total\{pid="\d+",endpoint="/v1/check",status="200"\} [1-9]', text)
    assert re.search(r'nearcopy_flagged_total\{pid="\d+",endpoint="/v1/check",action="redact"\} [1-9]', text)
    assert re.search(
        r'nearcopy_request_seconds_bucket\{pid="\d+",endpoint="/v1/check",le="\+Inf"\} [1-9]', text
    )
    assert re.search(r"nearcopy_index_generation\{pid=\"\d+\"\} 1", text)


def test_bad_settings_exit_2_with_one_line(tmp_path: Path) -> None:
    def serve(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "nearcopy", "serve", *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=60)

    missing = serve("--index", str(tmp_path / "nope"))
    assert missing.returncode == 2 and "not a nearcopy index" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
    index = h.build_index(tmp_path / "index")
    bad_upstream = serve("--index", str(index), "--upstream", "localhost:8001")
    assert bad_upstream.returncode == 2 and "--upstream must be an http://" in bad_upstream.stderr
    no_token = serve("--index", str(index), "--auth-token-file", str(tmp_path / "absent"))
    assert no_token.returncode == 2 and "cannot read" in no_token.stderr


def add_secret(index: Path, text: str) -> None:
    ProtectedIndex.open(index).add([{"id": "late", "text": text, "license": "Proprietary"}])


LATE = (
    "Every lighthouse keeper on the western isles must write the weather, the passing ships and the colour "
    "of the evening sky into the blue ledger before midnight, and the ledger is sealed with green wax at the "
    "end of each month and carried to the harbour office by the first boat."
)


def wait_for_generation(url: str, generation: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while httpx.get(url + "/healthz").json()["generation"] != generation:
        assert time.monotonic() < deadline, f"generation {generation} never served"
        time.sleep(0.05)


def test_sighup_reloads_while_an_in_flight_stream_finishes_on_the_old_index(tmp_path: Path) -> None:
    index = h.build_index(tmp_path / "index")
    upstream = h.start_upstream(tmp_path)
    service = h.start_service(
        tmp_path, index, "--upstream", upstream.url, "--watch-interval", "0", *h.POLICY_ARGS
    )
    try:
        answer = h.CLEAN * 2 + LATE
        script = {"answer": answer, "chunking": "9", "delay": 0.01}
        body = {"model": "m", "stream": True, "script": script}
        received: list[bytes] = []

        def in_flight() -> None:
            with httpx.stream(
                "POST", service.url + "/v1/chat/completions", json=body, timeout=60
            ) as response:
                received.extend(response.iter_raw())

        reader = threading.Thread(target=in_flight)
        reader.start()
        time.sleep(0.3)  # the stream is under way on generation 1
        add_secret(index, LATE)
        assert httpx.get(service.url + "/healthz").json()["generation"] == 1, "no reload without SIGHUP"
        service.proc.send_signal(signal.SIGHUP)
        wait_for_generation(service.url, 2)
        assert reader.is_alive(), "the stream was still in flight during the reload"
        reader.join(60)
        old = h.chunks(h.sse_frames(b"".join(received)))
        assert h.received_text(old) == answer, "the in-flight stream finished on the index it started with"
        fresh = post(service.url, "/v1/check", {"text": answer}, token=None).json()
        assert fresh["flagged"] and fresh["generation"] == 2 and fresh["matches"][0]["id"] == "late"
        assert "index reloaded (SIGHUP), generation 2" in service.output()
    finally:
        service.stop()
        upstream.stop()


def test_a_new_manifest_is_picked_up_without_a_signal(tmp_path: Path) -> None:
    index = h.build_index(tmp_path / "index")
    # (--no-warm: each generation is read on first use, not before it serves.)
    service = h.start_service(tmp_path, index, "--watch-interval", "0.1", "--no-warm")
    try:
        add_secret(index, LATE)
        time.sleep(0.2)
        deadline = time.monotonic() + 15
        while not post(service.url, "/v1/check", {"text": LATE}, token=None).json()["flagged"]:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert httpx.get(service.url + "/healthz").json()["generation"] == 2
    finally:
        service.stop()


def test_two_workers_share_the_port_and_both_reload(tmp_path: Path) -> None:
    index = h.build_index(tmp_path / "index")
    service = h.start_service(tmp_path, index, "--workers", "2", "--watch-interval", "0")
    try:
        pids: set[str] = set()
        deadline = time.monotonic() + 30
        while len(pids) < 2:  # new connections are spread over the workers by the kernel
            assert time.monotonic() < deadline, pids
            with httpx.Client() as client:
                assert client.post(service.url + "/v1/check", json={"text": h.PROSE_ANSWER}).json()["flagged"]
                pids.update(re.findall(r'pid="(\d+)"', client.get(service.url + "/metrics").text))
        assert str(service.proc.pid) not in pids, "the supervisor does not serve"
        add_secret(index, LATE)
        service.proc.send_signal(signal.SIGHUP)
        seen: dict[str, int] = {}
        deadline = time.monotonic() + 30
        while set(seen) != pids or set(seen.values()) != {2}:
            assert time.monotonic() < deadline, seen
            with httpx.Client() as client:
                text = client.get(service.url + "/metrics").text
            pid, generation = re.search(r'nearcopy_index_generation\{pid="(\d+)"\} (\d+)', text).groups()  # type: ignore[union-attr]
            seen[pid] = int(generation)
        assert service.stop() == 0
    finally:
        service.stop()
    assert all(not os.path.exists(f"/proc/{pid}") for pid in pids), "the workers stopped with the supervisor"
