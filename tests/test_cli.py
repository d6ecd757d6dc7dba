"""The `nearcopy` command: real files on disk, real subprocesses for the exit-code contract."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import nearcopy
import numpy as np
import pytest
from nearcopy.cli import main


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nearcopy", *args], capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """Two near-copies of a passage, one unrelated text, one empty file, in a directory."""
    root = tmp_path / "corpus"
    root.mkdir()
    passage = " ".join(f"word{i} is followed by another line of the licence text" for i in range(40))
    (root / "original.txt").write_text(passage)
    (root / "copy.txt").write_text(
        passage.upper().replace(" is followed", "  is followed,") + " EXTRA ENDING"
    )
    (root / "other.txt").write_text(
        " ".join(f"unrelated{i} sentence about something else" for i in range(40))
    )
    (root / "empty.txt").write_text("")
    return root


def test_minhash_writes_signatures_and_ids(tmp_path: Path, corpus: Path) -> None:
    jsonl = tmp_path / "docs.jsonl.gz"
    with gzip.open(jsonl, "wt", encoding="utf-8") as handle:
        for i, text in enumerate(["first document text", "second document text"]):
            handle.write(json.dumps({"id": f"d{i}", "body": text}) + "\n")
    out = tmp_path / "out" / "sigs.npz"
    result = run(
        "minhash",
        str(jsonl),
        str(corpus),
        "-o",
        str(out),
        "--text-field",
        "body",
        "--scheme",
        "affine32",
        "--num-perm",
        "32",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["documents"] == 6 and summary["scheme"] == "affine32"
    saved = np.load(out)
    assert saved["ids"].tolist()[:2] == ["d0", "d1"]
    expected = nearcopy.minhash(
        ["first document text", "second document text"], scheme="affine32", num_perm=32
    )
    np.testing.assert_array_equal(saved["signatures"][:2], expected)
    assert json.loads(str(saved["meta"]))["options"]["ngram"] == 5


def test_bad_input_exits_2_with_one_line_and_keeps_old_output(tmp_path: Path) -> None:
    out = tmp_path / "sigs.npz"
    out.write_bytes(b"previous result")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "fine"}\n{not json\n')
    result = run("minhash", str(bad), "-o", str(out))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert f"{bad}:2: invalid JSON" in result.stderr
    assert out.read_bytes() == b"previous result"
    missing = run("minhash", str(tmp_path / "nope.jsonl"), "-o", str(out))
    assert missing.returncode == 2 and "input not found" in missing.stderr
    assert main(["minhash", str(bad), "-o", str(out), "--num-perm", "0"]) == 2


def test_demo_finds_the_planted_near_copy(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--near-duplicates", "--corpus", str(corpus), "--threshold", "0.7", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["documents"] == 4
    pairs = [(p["a"], p["b"]) for p in report["pairs"]]
    assert pairs == [("corpus/copy.txt", "corpus/original.txt")]
    assert 0.7 <= report["pairs"][0]["exact"] < 1.0


def test_demo_on_this_machine_runs() -> None:
    result = run("demo", "--near-duplicates", "--limit", "300", "--show", "3")
    assert result.returncode == 0, result.stderr
    assert "fingerprinted 300 documents" in result.stdout


@pytest.mark.parametrize(
    "verb",
    [
        [],
        ["minhash"],
        ["demo"],
        ["code-tokens"],
        ["split-answer"],
        ["index", "build"],
        ["index", "merge"],
        ["check"],
        ["filter"],
        ["serve"],
        ["bench"],
    ],
)
def test_every_verb_has_help(verb: list[str]) -> None:
    result = run(*verb, "--help")
    assert result.returncode == 0 and "usage: nearcopy" in result.stdout


def test_code_tokens_and_split_answer_verbs(tmp_path: Path) -> None:
    source = tmp_path / "total.py"
    source.write_text("def total(items):\n    return sum(items)  # adds\n")
    result = run("code-tokens", str(source), "--json")
    assert result.returncode == 0, result.stderr
    tokens = [json.loads(line) for line in result.stdout.splitlines()]
    assert tokens[1] == {"symbol": "$id", "kind": "identifier", "start": 4, "end": 9, "source": "total"}
    plain = run("code-tokens", str(source), "--identifiers", "consistent")
    assert "def $1 ( $2 ) : return $3 ( $2 )" in plain.stdout
    answer = tmp_path / "answer.md"
    answer.write_text("Use this:\n\n```js\nconst x = 1;\n```\n\nDone.\n")
    segments = [json.loads(line) for line in run("split-answer", str(answer), "--json").stdout.splitlines()]
    assert [(s["kind"], s["language"]) for s in segments] == [
        ("prose", None),
        ("code", "javascript"),
        ("prose", None),
    ]
    unknown = run("code-tokens", str(tmp_path / "missing.go"))
    assert unknown.returncode == 2 and "cannot read" in unknown.stderr


def test_minhash_verb_in_code_mode(tmp_path: Path) -> None:
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text(
        "def f(values):\n    out = []\n    for v in values:\n        out.append(v * 2)\n    return out\n"
    )
    b.write_text(
        "def g(xs):  # renamed\n    r = []\n    for x in xs:\n        r.append(x * 2)\n    return r\n"
    )
    out = tmp_path / "sigs.npz"
    result = run("minhash", str(a), str(b), "-o", str(out), "--language", "python", "--ngram", "4", "--json")
    assert result.returncode == 0, result.stderr
    signatures = np.load(out)["signatures"]
    assert nearcopy.jaccard(signatures[0], signatures[1]) == 1.0
    assert json.loads(result.stdout)["options"]["kind"] == "CodeOptions"
    bad = run("minhash", str(a), "-o", str(out), "--language", "cobol")
    assert bad.returncode == 2 and "unknown language" in bad.stderr


def test_index_build_info_add_and_check(tmp_path: Path) -> None:
    protected = tmp_path / "protected"
    protected.mkdir()
    function = (
        "def merge(left, right):\n    result = []\n    while left and right:\n"
        "        if left[0] <= right[0]:\n            result.append(left.pop(0))\n        else:\n"
        "            result.append(right.pop(0))\n    result.extend(left or right)\n    return result\n"
    )
    (protected / "merge.py").write_text(function)
    (protected / "blob.bin").write_bytes(b"\0\1\2" * 100)
    jsonl = tmp_path / "extra.jsonl"
    jsonl.write_text(
        json.dumps({"id": "poem", "text": "Shall I compare thee to a summer's day? " * 5, "license": "PD"})
        + "\n"
    )
    index = tmp_path / "index"
    built = run("index", "build", str(protected), "-o", str(index), "--json")
    assert built.returncode == 0, built.stderr
    summary = json.loads(built.stdout)
    assert summary["documents"] == 1 and summary["skipped_binary"] == 1
    assert run("index", "add", str(index), str(jsonl)).returncode == 0
    merged = json.loads(run("index", "merge", str(index), "--json").stdout)
    assert (merged["segments"], merged["generation"], merged["documents"]) == (1, 3, 2)
    info = json.loads(run("index", "info", str(index), "--verify", "--json").stdout)
    assert info["documents"] == 2 and info["generation"] == 3
    answer = tmp_path / "answer.md"
    renamed = function.replace("left", "a").replace("right", "b").replace("result", "out")
    answer.write_text(f"Try this:\n\n```python\n{renamed}```\n")
    flagged = run("check", str(answer), "--index", str(index), "--min-code-tokens", "40", "--json")
    assert flagged.returncode == 1, flagged.stderr
    verdict = json.loads(flagged.stdout)
    assert verdict["matches"][0]["id"].endswith("merge.py") and verdict["action"] == "redact"
    command = [sys.executable, "-m", "nearcopy", "check", "--index", str(index)]
    clean = subprocess.run(command, input="Hello there.", capture_output=True, text=True, timeout=120)
    assert clean.returncode == 0 and "clean" in clean.stdout
    missing = run("check", str(answer), "--index", str(tmp_path / "nope"))
    assert missing.returncode == 2 and "not a nearcopy index" in missing.stderr


def test_demo_protects_the_stdlib_and_catches_the_disguised_copies() -> None:
    result = run("demo")
    assert result.returncode == 0, result.stderr
    sections = result.stdout.split("\n=== ")
    assert "verdict: redact" in sections[1] and "stdlib/textwrap.py" in sections[1]
    assert "verdict: redact" in sections[2] and "LICENSE.txt" in sections[2]
    assert "verdict: clean" in sections[3]
    # What was caught is shown beside its source: the renamed function beside the original, the
    # reworded licence beside its paragraph (a row of the side-by-side is "answer | source").
    rows = [line.split(" | ", 1) for line in sections[1].splitlines() if " | " in line and line[2] != "|"]
    assert ["  def data(value):", "def dedent(text):"] in [[a.rstrip(), b] for a, b in rows]
    licence_rows = [line for line in sections[2].splitlines() if " | " in line and not line.startswith("  |")]
    assert any("Guido & THE Python" in line and "Guido and the Python" in line for line in licence_rows)


def test_a_reader_that_goes_away_is_not_an_error(tmp_path: Path) -> None:
    # `nearcopy code-tokens big.py | head -1`: the pipe closes while nearcopy is still writing.
    source = tmp_path / "big.py"
    source.write_text("".join(f"def f{i}(x):\n    return x + {i}\n" for i in range(20_000)))
    command = [sys.executable, "-m", "nearcopy", "code-tokens", str(source)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        assert process.stdout is not None and process.stderr is not None
        process.stdout.readline()
        process.stdout.close()
        stderr = process.stderr.read().decode()
        assert process.wait(timeout=120) == 0, stderr
    assert stderr == ""
