"""Every file of an index carries a checksum that is checked before its contents are trusted: the
issue's recipe (four bytes of 0xff written a third of the way into a file with dd) applied to each
kind of file of a real index, then a real `nearcopy check` process, which refuses it with exit
status 2 and one line naming the file; `index info --verify` finds it too. Also: old indexes are
refused with "rebuild", a changed manifest value with a valid layout is found by the checksum, and
a damaged document table is not merged under a fresh checksum. (That a lookup answers only from
blocks it checked is the Rust segment tests'.)"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nearcopy
import pytest
from nearcopy.filter import OutputFilter
from nearcopy.index import ProtectedIndex
from nearcopy.index_store import IndexError_

FUNCTION = (
    "def merge(left, right):\n    result = []\n    while left and right:\n"
    "        if left[0] <= right[0]:\n            result.append(left.pop(0))\n"
    "        else:\n            result.append(right.pop(0))\n"
    "    result.extend(left or right)\n    return result\n"
)
PROSE = (
    "The committee met on a cold Tuesday to discuss the budget for the coming year, and after a long "
    "debate about roads, schools and the library it agreed on new rules for spending that will apply "
    "to every department from the first of April onwards unless the council decides otherwise."
)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nearcopy", *args], capture_output=True, text=True, timeout=300
    )


def flip_a_third_of_the_way(path: Path) -> None:
    """The issue's recipe, run as written: four 0xff bytes at a third of the file's size."""
    subprocess.run(
        ["bash", "-c", "printf '\\xff\\xff\\xff\\xff' | dd of=\"$1\" bs=1 "
         "seek=$(( $(stat -c %s \"$1\") / 3 )) conv=notrunc status=none", "flip", str(path)],
        check=True,
    )  # fmt: skip


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """An index of a folder (code and prose) with an allowlist, built by the CLI; and an answer
    that copies both protected documents (so a check reads every block of the small segments)."""
    root = tmp_path_factory.mktemp("checksums")
    corpus = root / "corpus"
    corpus.mkdir()
    (corpus / "merge.py").write_text(FUNCTION)
    (corpus / "minutes.txt").write_text(PROSE)
    (root / "header.txt").write_text("Licensed under the Apache License, Version 2.0, see the file LICENSE")
    index = root / "index"
    result = run("index", "build", str(corpus), "-o", str(index), "--allowlist", str(root / "header.txt"))
    assert result.returncode == 0, result.stderr
    answer = root / "answer.md"
    answer.write_text(f"Sure:\n\n```python\n{FUNCTION}```\n\nAnd the minutes: {PROSE}\n")
    assert run("check", "--index", str(index), str(answer)).returncode == 1, "the intact index flags it"
    return index, answer


KINDS = {"manifest": "manifest.json", "segment": "seg-*.ncs", "document table": "docs-*.jsonl",
         "allowlist segment": "allow-*.ncs"}  # fmt: skip


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_bit_flipped_file_of_any_kind_is_refused_in_one_line(
    built: tuple[Path, Path], tmp_path: Path, kind: str
) -> None:
    index, answer = built
    damaged = tmp_path / "index"
    shutil.copytree(index, damaged)
    (target,) = damaged.glob(KINDS[kind])
    flip_a_third_of_the_way(target)
    for args in (
        ("check", "--index", str(damaged), str(answer)),
        ("index", "info", str(damaged), "--verify"),
    ):
        result = run(*args)
        assert result.returncode == 2, (kind, args, result.stdout, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("nearcopy: error: "), result.stderr
        assert str(damaged) in lines[0] and ("checksum" in lines[0] or "manifest" in lines[0]), lines[0]
        assert "Traceback" not in result.stderr


def test_verify_says_what_it_verified(built: tuple[Path, Path]) -> None:
    index, _ = built
    result = run("index", "info", str(index), "--verify")
    assert result.returncode == 0, result.stderr
    assert "verified: " in result.stdout and "checksum" in result.stdout
    as_json = json.loads(run("index", "info", str(index), "--verify", "--json").stdout)
    assert as_json["verified"] is True
    assert "verified" not in json.loads(run("index", "info", str(index), "--json").stdout)


def test_a_manifest_value_changed_in_valid_json_is_found_by_its_checksum(
    built: tuple[Path, Path], tmp_path: Path
) -> None:
    damaged = tmp_path / "index"
    shutil.copytree(built[0], damaged)
    text = (damaged / "manifest.json").read_text()
    manifest = json.loads(text)
    tokens = manifest["segments"][0]["tokens"]
    (damaged / "manifest.json").write_text(text.replace(f'"tokens": {tokens}', f'"tokens": {tokens + 1}'))
    with pytest.raises(IndexError_, match=r"manifest\.json does not match its checksum"):
        nearcopy.ProtectedIndex.open(damaged)
    # Re-laid out but with the same values, it is the same manifest.
    (damaged / "manifest.json").write_text(json.dumps(manifest, indent=None, sort_keys=True))
    assert nearcopy.ProtectedIndex.open(damaged).info()["tokens"] == tokens


def test_an_index_of_the_previous_version_is_refused_with_rebuild(
    built: tuple[Path, Path], tmp_path: Path
) -> None:
    old = tmp_path / "index"
    shutil.copytree(built[0], old)
    manifest = json.loads((old / "manifest.json").read_text())
    manifest.pop("checksum")
    for segment in manifest["segments"]:
        segment.pop("docs_sha256")
    (old / "manifest.json").write_text(json.dumps({**manifest, "version": 4}))
    result = run("check", "--index", str(old), str(built[1]))
    assert result.returncode == 2 and "index version 4" in result.stderr and "rebuild" in result.stderr


def test_a_damaged_document_table_is_not_merged_under_a_new_checksum(
    built: tuple[Path, Path], tmp_path: Path
) -> None:
    damaged = tmp_path / "index"
    shutil.copytree(built[0], damaged)
    index = nearcopy.ProtectedIndex.open(damaged).add([{"id": "late", "text": PROSE.upper()}])
    (table,) = sorted(damaged.glob("docs-*.jsonl"))[:1]
    flip_a_third_of_the_way(table)
    with pytest.raises(IndexError_, match="document table does not match its checksum"):
        index.merge()
    assert len(list(damaged.glob("seg-*.ncs"))) == 2, "nothing was published"


def test_a_damaged_segment_block_is_a_typed_error_in_python(built: tuple[Path, Path], tmp_path: Path) -> None:
    index, answer = built
    damaged = tmp_path / "index"
    shutil.copytree(index, damaged)
    (segment,) = damaged.glob("seg-*.ncs")
    flip_a_third_of_the_way(segment)
    output_filter = OutputFilter(ProtectedIndex.open(damaged))  # opening reads the block table only
    for check in (
        lambda: output_filter.check(answer.read_text()),
        lambda: output_filter.check_batch([answer.read_text()]),
    ):
        with pytest.raises(IndexError_, match="does not match its checksum"):
            check()
    with pytest.raises(IndexError_, match="checksum"):
        output_filter.index.verify()


def test_warm_reads_every_block_so_damage_no_check_has_read_is_found_before_serving(tmp_path: Path) -> None:
    # Some forty 16 KiB blocks; a check of a text without fingerprints reads none of them.
    docs = [{"id": f"d{i}", "text": " ".join(f"w{i}x{j}" for j in range(400))} for i in range(150)]
    path = tmp_path / "index"
    ProtectedIndex.build(docs, path)
    intact = ProtectedIndex.open(path)
    intact.warm()
    assert OutputFilter(intact).check(" ".join(docs[7]["text"].split()[:60])).flagged
    (segment,) = path.glob("seg-*.ncs")
    assert segment.stat().st_size > 10 * 16384
    flip_a_third_of_the_way(segment)
    damaged = ProtectedIndex.open(path)
    assert not OutputFilter(damaged).check("ok").flagged, "nothing read, nothing found"
    with pytest.raises(IndexError_, match="checksum") as found:
        damaged.warm()
    assert segment.name in str(found.value)
    # `nearcopy serve` warms what it serves: it refuses the index before it listens.
    result = subprocess.run(
        [sys.executable, "-m", "nearcopy", "serve", "--index", str(path), "--port", "0"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and "checksum" in lines[0], result.stderr
