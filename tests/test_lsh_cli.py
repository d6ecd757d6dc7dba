"""`nearcopy lsh build|add|query|remove|info|merge` on real files, with real subprocesses for the
exit-code contract: 0 done, 2 and one line on stderr for bad input, nothing already written lost."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from nearcopy import minhash
from nearcopy.cli import main
from nearcopy.lsh_index import LSHIndex


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nearcopy", "lsh", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def _texts(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(800)]
    return [" ".join(rng.choice(words, size=60)) for _ in range(n)]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """200 documents, every tenth followed by a copy with one word changed (id ``dN-copy``)."""
    lines = []
    for i, text in enumerate(_texts(200, 1)):
        lines.append(json.dumps({"id": f"d{i}", "text": text, "source": "web"}))
        if i % 10 == 0:
            lines.append(json.dumps({"id": f"d{i}-copy", "text": text.replace(text.split()[5], "edited", 1)}))
    path = tmp_path / "corpus.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def _results(text: str) -> dict[str, list[tuple[str, float]]]:
    return {
        r["id"]: [(m["key"], m["similarity"]) for m in r["matches"]]
        for r in map(json.loads, text.splitlines())
    }


def test_build_query_add_remove_merge(
    tmp_path: Path, corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index = tmp_path / "idx"
    assert main(["lsh", "build", str(corpus), "-o", str(index), "--threshold", "0.7", "--json"]) == 0
    built = json.loads(capsys.readouterr().out)
    assert (built["documents"], built["segments"], built["store"]) == (220, 1, "8bit")
    assert built["bytes_per_document"] < 300
    queries = tmp_path / "queries.jsonl"
    queries.write_text(
        corpus.read_text().splitlines()[0] + "\n" + json.dumps({"id": "q", "text": "nothing like it"}) + "\n"
    )
    assert main(["lsh", "query", str(index), str(queries)]) == 0
    found = _results(capsys.readouterr().out)
    assert [k for k, _ in found["d0"]] == ["d0", "d0-copy"] and found["d0"][0][1] == 1.0 and found["q"] == []
    # The same documents signed by nearcopy.minhash with the index's settings find the same keys.
    sig = minhash([json.loads(corpus.read_text().splitlines()[0])["text"]])
    assert LSHIndex.open(index).query(sig[0]).keys == ["d0", "d0-copy"]
    more = tmp_path / "more.jsonl"
    more.write_text(
        "".join(json.dumps({"id": f"n{i}", "text": t}) + "\n" for i, t in enumerate(_texts(30, 2)))
    )
    assert main(["lsh", "add", str(index), str(more), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["documents"] == 250
    keys = tmp_path / "keys.txt"
    keys.write_text("n3\nn4\n")
    assert main(["lsh", "remove", str(index), "d0", "--keys-file", str(keys), "--json"]) == 0
    removed = json.loads(capsys.readouterr().out)
    assert (removed["documents"], removed["removed"], removed["removed_now"]) == (247, 3, 3)
    # Raw candidates carry no estimate: null in the JSON (NaN is no JSON).
    assert main(["lsh", "query", str(index), str(queries), "--no-verify"]) == 0
    raw = _results(capsys.readouterr().out)
    assert "d0-copy" in {k for k, _ in raw["d0"]} and {s for _, s in raw["d0"]} == {None}  # d0: removed
    out = tmp_path / "results.jsonl"
    assert main(["lsh", "query", str(index), str(queries), "-o", str(out), "--top-k", "1"]) == 0
    [(key, similarity)] = _results(out.read_text())["d0"]
    assert key == "d0-copy" and 0.7 < similarity < 0.95
    assert main(["lsh", "merge", str(index), "--json"]) == 0
    merged = json.loads(capsys.readouterr().out)
    assert (merged["documents"], merged["removed"], merged["segments"]) == (247, 0, 1)
    assert main(["lsh", "info", str(index), "--verify", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["generation"] == merged["generation"]


def test_bad_input_is_exit_2_with_one_line_and_loses_nothing(tmp_path: Path, corpus: Path) -> None:
    index = tmp_path / "idx"
    assert run("build", corpus, "-o", index).returncode == 0
    manifest = (index / "manifest.json").read_bytes()
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": "x", "text": "fine"}\n{"id": "y", "text": \n')
    cases = [
        (("add", index, broken), "broken.jsonl:2: invalid JSON"),
        (("add", index, corpus), "already in the index: 'd0'"),
        (("remove", index, "d1", "missing-key"), "not in the index: 'missing-key'"),
        (("build", corpus, "-o", index), "already holds an index"),
        (("query", tmp_path / "nowhere", corpus), "not a nearcopy LSH index"),
        (("query", index, corpus, "--top-k", "0"), "--top-k must be at least 1"),
        (("add", index, tmp_path / "absent.jsonl"), "not found"),
    ]
    for args, message in cases:
        done = run(*args)
        assert done.returncode == 2, (args, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("nearcopy: error: ") and message in lines[0], lines
        assert (index / "manifest.json").read_bytes() == manifest, f"{args} changed the index"
    failed = tmp_path / "failed"
    assert run("build", broken, "-o", failed).returncode == 2
    assert not failed.exists(), "a failed build leaves no index"
    (index / "manifest.json").write_text("{}")
    done = run("info", index)
    assert done.returncode == 2 and "not a nearcopy LSH index manifest" in done.stderr


def test_full_store_and_int_like_ids(tmp_path: Path) -> None:
    docs = tmp_path / "docs.jsonl"
    docs.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in enumerate(_texts(50, 3))))
    index = tmp_path / "idx"
    assert run("build", docs, "-o", index, "--store", "full", "--scheme", "affine32").returncode == 0
    info = LSHIndex.describe(index)
    assert (info["store"], info["scheme"], info["columns"], info["key_type"]) == (
        "full",
        "affine32",
        ["content_hashes"],
        "str",
    )
    done = run("query", index, docs, "--threshold", "0.99")
    assert done.returncode == 0
    assert all(
        r["matches"] == [{"key": r["id"], "similarity": 1.0}]
        for r in map(json.loads, done.stdout.splitlines())
    )


def test_skip_bad_leaves_bad_lines_out_and_says_how_many(tmp_path: Path) -> None:
    lines = [json.dumps({"id": "a", "text": _texts(1, 3)[0]}), "{not json", json.dumps({"id": "b"}),
             json.dumps({"id": "c", "text": _texts(1, 4)[0]})]  # fmt: skip
    (tmp_path / "in.jsonl").write_text("\n".join(lines) + "\n")
    strict = run("build", tmp_path / "in.jsonl", "-o", tmp_path / "strict.lsh")
    assert strict.returncode == 2 and "in.jsonl:2: invalid JSON" in strict.stderr
    assert not (tmp_path / "strict.lsh").exists(), "a failed build leaves nothing"
    built = run("build", tmp_path / "in.jsonl", "-o", tmp_path / "i.lsh", "--skip-bad", "--json")
    assert built.returncode == 0, built.stderr
    summary = json.loads(built.stdout)
    assert summary["documents"] == 2 and summary["skipped"] == 2
    assert "in.jsonl:2: invalid JSON" in summary["skipped_first"]
    added = run("add", tmp_path / "i.lsh", tmp_path / "in.jsonl", "--skip-bad", "--allow-duplicate-ids")
    assert added.returncode == 0 and "skipped 2 bad lines, the first: " in added.stderr


def test_a_reference_with_shingle_sets_refuses_lsh_add_and_says_what_to_do(
    corpus: Path, tmp_path: Path
) -> None:
    saved = subprocess.run(
        [sys.executable, "-m", "nearcopy", "dedup", str(corpus), "--save-reference", str(tmp_path / "ref"),
         "--verify", "exact", "--quiet"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert saved.returncode == 0, saved.stderr
    added = run("add", tmp_path / "ref", corpus, "--allow-duplicate-ids")
    assert added.returncode == 2 and "save the reference again with `nearcopy dedup`" in added.stderr
