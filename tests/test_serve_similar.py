"""`POST /v1/similar` on a real `nearcopy serve --lsh-index` process over loopback: the keys of the
near-duplicates with their similarity, batches, clear 4xx errors, and a new generation picked up."""

from __future__ import annotations

import inspect
import json
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from nearcopy.benchsuite import serve_harness as h
from nearcopy.cli import main

STORY = " ".join(
    f"the ferry left harbour {i} at dawn carrying grain and letters to the islands" for i in range(6)
)
OTHER = " ".join(
    f"a recipe for bread number {i} needs flour water salt and patience overnight" for i in range(6)
)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    tmp = tmp_path_factory.mktemp("similar")
    docs = tmp / "docs.jsonl"
    docs.write_text(
        json.dumps({"id": "story", "text": STORY}) + "\n" + json.dumps({"id": "bread", "text": OTHER}) + "\n"
    )
    assert main(["lsh", "build", str(docs), "-o", str(tmp / "lsh"), "--threshold", "0.5"]) == 0
    process = h.start_service(
        tmp, h.build_index(tmp / "index"), "--lsh-index", str(tmp / "lsh"), "--max-batch", "3",
        "--watch-interval", "0.1",
    )  # fmt: skip
    try:
        yield process.url, tmp
    finally:
        process.stop()


def test_similar_names_the_near_duplicates(service: tuple[str, Path]) -> None:
    url, _ = service
    edited = STORY.replace("grain", "wheat", 1)
    one = httpx.post(url + "/v1/similar", json={"text": edited}).json()
    assert [m["key"] for m in one["matches"]] == ["story"] and 0.8 < one["matches"][0]["similarity"] < 1.0
    batch = httpx.post(
        url + "/v1/similar", json={"texts": [OTHER, "unrelated words entirely"], "top_k": 1}
    ).json()
    assert batch["results"] == [{"matches": [{"key": "bread", "similarity": 1.0}]}, {"matches": []}]
    strict = httpx.post(url + "/v1/similar", json={"text": edited, "threshold": 0.99}).json()
    assert strict["matches"] == []


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"txt": "x"}, 400, "unknown field"),
        ({"text": 3}, 400, "must be a string"),
        ({"text": "x", "top_k": 0}, 400, "top_k"),
        ({"text": "x", "threshold": 2}, 400, "threshold"),
        ({"text": "x", "containment": -1}, 400, "'containment' must be a number"),
        ({"text": "x", "containment": 0.5, "threshold": 0.5}, 400, "not both"),
        ({"text": "x", "containment": 0.5}, 400, "records no set sizes"),
        ({"texts": ["a", "b", "c", "d"]}, 413, "--max-batch 3"),
    ],
)
def test_bad_requests_are_4xx_that_say_why(
    service: tuple[str, Path], body: dict[str, object], status: int, message: str
) -> None:
    url, _ = service
    answer = httpx.post(url + "/v1/similar", json=body)
    assert answer.status_code == status and message in answer.json()["error"]["message"]


def test_a_new_generation_is_picked_up(service: tuple[str, Path]) -> None:
    url, tmp = service
    before = httpx.post(url + "/v1/similar", json={"text": OTHER}).json()
    assert main(["lsh", "remove", str(tmp / "lsh"), "bread"]) == 0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        after = httpx.post(url + "/v1/similar", json={"text": OTHER}).json()
        if after["generation"] > before["generation"]:
            break
        time.sleep(0.1)
    assert after["matches"] == [] and after["generation"] == before["generation"] + 1


def test_a_damaged_index_is_a_503_that_says_so_never_an_answer(tmp_path: Path) -> None:
    docs = tmp_path / "docs.jsonl"
    docs.write_text(json.dumps({"id": "story", "text": STORY}) + "\n")
    assert main(["lsh", "build", str(docs), "-o", str(tmp_path / "lsh")]) == 0
    (segment,) = (tmp_path / "lsh").glob("lsh-*.ncl")
    data = bytearray(segment.read_bytes())
    data[128 + (len(data) - 128 - 8) // 2] ^= 0x20  # the middle of the body (one block, then its sum)
    segment.write_bytes(bytes(data))
    # Warmed at start (the default): every block is read before the service listens, so it refuses.
    index = h.build_index(tmp_path / "index")
    refused = subprocess.run(
        [sys.executable, "-m", "nearcopy", "serve", "--index", str(index), "--port", "0",
         "--lsh-index", str(tmp_path / "lsh")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    lines = refused.stderr.strip().splitlines()
    assert refused.returncode == 2 and len(lines) == 1, refused.stderr
    assert lines[0].startswith("nearcopy: error: --lsh-index") and "checksum" in lines[0], lines
    # Not warmed, it serves, and the query that reads the damaged block gets a 503.
    process = h.start_service(tmp_path, index, "--lsh-index", str(tmp_path / "lsh"), "--no-warm")
    try:
        response = httpx.post(process.url + "/v1/similar", json={"text": STORY})
        assert response.status_code == 503 and "damaged" in response.json()["error"]["message"]
    finally:
        process.stop()


def test_code_is_found_when_the_request_names_its_language_and_sighup_reloads(tmp_path: Path) -> None:
    code = inspect.getsource(textwrap.dedent)
    docs = tmp_path / "code.jsonl"
    docs.write_text(json.dumps({"id": "dedent", "text": code, "language": "python"}) + "\n")
    assert main(["lsh", "build", str(docs), "-o", str(tmp_path / "lsh")]) == 0
    process = h.start_service(
        tmp_path, h.build_index(tmp_path / "index"), "--lsh-index", str(tmp_path / "lsh"),
        "--watch-interval", "0",  # SIGHUP only
    )  # fmt: skip
    try:
        similar = process.url + "/v1/similar"
        as_prose = httpx.post(similar, json={"text": code}).json()
        as_code = httpx.post(similar, json={"text": code, "language": "Python"}).json()
        assert as_prose["matches"] == [], "signed as prose, the text is another set of shingles"
        assert as_code["matches"] == [{"key": "dedent", "similarity": 1.0}]
        unknown = httpx.post(similar, json={"text": code, "language": "klingon"})
        assert unknown.status_code == 400 and "unknown language" in unknown.json()["error"]["message"]
        assert main(["lsh", "remove", str(tmp_path / "lsh"), "dedent"]) == 0
        still = httpx.post(similar, json={"text": code, "language": "python"}).json()
        assert still["generation"] == as_code["generation"], "no watch: the served generation stays"
        process.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            after = httpx.post(similar, json={"text": code, "language": "python"}).json()
            if after["generation"] > still["generation"]:
                break
            time.sleep(0.1)
        assert after["generation"] == still["generation"] + 1 and after["matches"] == []
    finally:
        process.stop()


def test_containment_names_the_documents_holding_a_passage(tmp_path: Path) -> None:
    docs = tmp_path / "docs.jsonl"
    long = STORY + " " + " ".join(f"and then the weather {i} changed over the sea" for i in range(40))
    docs.write_text(
        json.dumps({"id": "long", "text": long}) + "\n" + json.dumps({"id": "bread", "text": OTHER}) + "\n"
    )
    index = tmp_path / "within.lsh"
    assert main(["lsh", "build", str(docs), "-o", str(index), "--containment", "--threshold", "0.5"]) == 0
    process = h.start_service(tmp_path, h.build_index(tmp_path / "index"), "--lsh-index", str(index))
    try:
        found = httpx.post(process.url + "/v1/similar", json={"text": STORY, "containment": 0.5}).json()
        assert [m["key"] for m in found["matches"]] == ["long"]
        assert 0.5 <= found["matches"][0]["containment"] <= 1.0
        both = httpx.post(process.url + "/v1/similar", json={"texts": [STORY, OTHER], "containment": 0.8})
        assert [[m["key"] for m in r["matches"]] for r in both.json()["results"]] == [["long"], ["bread"]]
    finally:
        process.stop()
