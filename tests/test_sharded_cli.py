"""The command line and the service over a sharded index, as real processes: `nearcopy index build
--shards N`, `info` (each shard's figures and the totals), `check`, `add` (a new shard), `merge`
(every shard), `assemble` (shards built apart), their errors (one line, exit 2), and `nearcopy serve`
answering from every shard and reloading when the shard list or a shard changes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from nearcopy.benchsuite import serve_harness as h
from nearcopy.index import ProtectedIndex

PASSAGES = {
    "harbour.txt": "The harbour master keeps the tide tables in a drawer beside the radio, and every "
    "morning before the boats go out he reads the forecast aloud to whoever is on the quay with a tea.",
    "orchard.txt": "Behind the school the old orchard still gives apples every autumn, although nobody has "
    "pruned the trees for years and the fence along the lane has fallen down in three places now.",
    "library.txt": "On the first Saturday of the month the library lends out tools as well as books, so "
    "the shelves by the entrance fill up with drills, saws and a ladder everyone in the village borrowed.",
    "station.txt": "When the last train has gone the station cat walks the length of the platform twice, "
    "then settles on the bench under the clock where the passengers left their newspapers behind.",
}


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nearcopy", *args], capture_output=True, text=True, timeout=300
    )


def one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nearcopy: error: "), result.stderr
    assert all(f in lines[0] for f in fragments), lines[0]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    source = tmp_path / "corpus"
    source.mkdir()
    for name, text in PASSAGES.items():
        (source / name).write_text(text)
    return source


def test_build_info_check_add_and_merge_a_sharded_index(tmp_path: Path, corpus: Path) -> None:
    index = tmp_path / "index"
    built = run("index", "build", str(corpus), "-o", str(index), "--shards", "3", "--license", "CC-BY-4.0")
    assert built.returncode == 0, built.stderr
    assert "4 documents in 3 shards" in built.stdout and "generation 1" in built.stdout
    info = json.loads(run("index", "info", str(index), "--json").stdout)
    assert [s["path"] for s in info["shards"]] == ["shard-00000", "shard-00001", "shard-00002"]
    for total in ("documents", "segments", "fingerprints", "tokens", "bytes"):
        assert info[total] == sum(s[total] for s in info["shards"]), total
    assert info["documents"] == 4 and info["k"] == 4
    text = run("index", "info", str(index), "--verify").stdout
    assert "documents: 4" in text and "shard 2: shard-00002: " in text and "verified: " in text
    answer = tmp_path / "answer.txt"
    for name, passage in PASSAGES.items():
        answer.write_text(f"As they say: {passage.upper()}")
        checked = run("check", "--index", str(index), str(answer), "--json")
        assert checked.returncode == 1, checked.stderr
        (match,) = json.loads(checked.stdout)["matches"]
        assert match["id"] == str(corpus / name) and match["license"] == "CC-BY-4.0"
    late = tmp_path / "late.txt"
    late.write_text(
        "A late addition about the lighthouse keeper, who paints the stairs a new colour "
        "every spring and counts them as she goes, one hundred and twelve from the door."
    )
    added = run("index", "add", str(index), str(late))
    assert added.returncode == 0 and "5 documents in 4 shards" in added.stdout, added.stderr
    answer.write_text(late.read_text())
    assert run("check", "--index", str(index), str(answer)).returncode == 1
    merged = run("index", "merge", str(index), "--json")
    assert merged.returncode == 0, merged.stderr
    assert json.loads(merged.stdout)["generation"] == 3 and json.loads(merged.stdout)["segments"] == 4


def test_assemble_shards_built_apart(tmp_path: Path, corpus: Path) -> None:
    shards = []
    for n, name in enumerate(PASSAGES):
        part = tmp_path / f"part{n}"
        part.mkdir()
        shutil.copy(corpus / name, part / name)
        assert run("index", "build", str(part), "-o", str(tmp_path / "out" / name)).returncode == 0
        shards.append(str(tmp_path / "out" / name))
    assembled = run("index", "assemble", str(tmp_path / "out"), *shards[:2], "--json")
    assert assembled.returncode == 0, assembled.stderr
    summary = json.loads(assembled.stdout)
    assert summary["documents"] == 2 and [s["path"] for s in summary["shards"]] == list(PASSAGES)[:2]
    grown = run("index", "assemble", str(tmp_path / "out"), *shards)  # the next generation, all four
    assert grown.returncode == 0, grown.stderr
    assert "4 documents in 4 shards" in grown.stdout and "generation 2" in grown.stdout
    moved = tmp_path / "moved"
    shutil.move(tmp_path / "out", moved)  # shards named relative to the sharded index move with it
    answer = tmp_path / "answer.txt"
    answer.write_text(PASSAGES["station.txt"])
    assert run("check", "--index", str(moved), str(answer)).returncode == 1


def test_errors_are_one_line_and_exit_2(tmp_path: Path, corpus: Path) -> None:
    one_line_error(run("index", "build", str(corpus), "-o", str(tmp_path / "x"), "--shards", "0"),
                   "--shards must be between 1 and 4096, got 0")  # fmt: skip
    assert run("index", "build", str(corpus), "-o", str(tmp_path / "a")).returncode == 0
    assert run("index", "build", str(corpus), "-o", str(tmp_path / "b"), "--w", "8").returncode == 0
    one_line_error(run("index", "assemble", str(tmp_path / "out"), str(tmp_path / "a"), str(tmp_path / "b")),
                   "shard 1 of 2 (../b)", "w=8")  # fmt: skip
    assert not (tmp_path / "out").exists()
    sharded = tmp_path / "sharded"
    assert run("index", "build", str(corpus), "-o", str(sharded), "--shards", "2").returncode == 0
    shutil.rmtree(sharded / "shard-00001")
    answer = tmp_path / "answer.txt"
    answer.write_text(PASSAGES["harbour.txt"])
    for args in (("check", "--index", str(sharded), str(answer)), ("index", "info", str(sharded))):
        one_line_error(run(*args), "shard 1 of 2 (shard-00001)", "no manifest.json")


def test_serve_answers_from_every_shard_and_reloads_when_they_change(tmp_path: Path) -> None:
    index = tmp_path / "index"
    ProtectedIndex.build(h.DOCS, index, shards=3)
    service = h.start_service(tmp_path, index, "--watch-interval", "0.1", *h.POLICY_ARGS)
    try:
        flagged = httpx.post(f"{service.url}/v1/check", json={"text": h.CODE_ANSWER}).json()
        assert flagged["flagged"] and flagged["matches"][0]["id"] == "intervals.py"
        assert flagged["generation"] == 1 and flagged["action"] == "replace"
        prose = httpx.post(f"{service.url}/v1/check", json={"text": h.PROSE_ANSWER}).json()
        assert prose["flagged"] and prose["matches"][0]["id"] == "austen"
        assert not httpx.post(f"{service.url}/v1/check", json={"text": h.CLEAN}).json()["flagged"]

        def wait_until_flagged(text: str) -> dict[str, Any]:
            deadline = time.monotonic() + 20
            while True:
                verdict: dict[str, Any] = httpx.post(f"{service.url}/v1/check", json={"text": text}).json()
                if verdict["flagged"]:
                    return verdict
                assert time.monotonic() < deadline, service.output()
                time.sleep(0.1)

        late = (
            "The lighthouse keeper paints the stairs a new colour every spring and counts them as she "
            "goes, one hundred and twelve from the door to the lamp, and writes the number in the log."
        )
        ProtectedIndex.open(index).add([{"id": "late", "text": late}])  # a new shard, a new shard list
        assert wait_until_flagged(late)["generation"] == 2
        # A shard's own add (not through the sharded index) is a change of what the service answers.
        later = (
            "Every winter the ferry timetable is printed on yellow paper and pinned inside the chapel "
            "door, next to the list of volunteers who clear the snow from the path to the pier."
        )
        ProtectedIndex.open(index / "shard-00000").add([{"id": "later", "text": later}])
        assert wait_until_flagged(later)["matches"][0]["id"] == "later"
        documents = len(h.DOCS) + 2
        assert f"index reloaded (manifest changed), generation 2, {documents} documents" in service.output()
    finally:
        service.stop()
