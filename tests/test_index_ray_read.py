"""The Ray build reading its input files in tasks (``InputFiles``, ``nearcopy index build --engine
ray``), on a real local Ray cluster started here. The blocks the files are cut into (whole files; a
large JSONL file in byte ranges cut at line ends; a large Parquet file in runs of row groups), read
one after another, give the documents of the local reading, in its order, with its errors, whatever
the block size (hypothesis, without Ray), and the driver's cut of the batches from the blocks'
running totals is the local build's rule. On Ray: the files of the local build, byte for byte, for
any block and batch size, from several files, a large JSONL cut in ranges, gzip JSONL, Parquet and
a directory of text files (plain and sharded); the driver reads no document; a bad record in the
middle of a range fails the build with the local build's error, naming the file and line, and
publishes nothing; the CLI says what the local CLI says."""

from __future__ import annotations

import gzip
import itertools
import json
from array import array
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nearcopy.cli import main
from nearcopy.file_metadata import FileMetadata, documents_with_metadata
from nearcopy.index import ProtectedIndex
from nearcopy.index_ray_read import _Shard
from nearcopy.input_blocks import Block, InputFiles, blocks, count_lines, read_block
from nearcopy.inputs import InputError, LoadReport

SECRET = b"a test secret of 32 bytes, fixed"
WORDS = ["the", "harbour", "office", "pins", "tide", "tables", "by", "the", "door", "and", "the",
         "kettle", "is", "on", "for", "anyone"]  # fmt: skip


def _text(n: int) -> str:
    return " ".join(WORDS[(n * 7 + i * 3) % len(WORDS)] for i in range(40 + n % 90)) + f" item {n}."


def _records(count: int, start: int = 0) -> list[dict[str, Any]]:
    """Records with and without ids (those get ``file:line``), and with fields of several types."""
    return [
        {"text": _text(n), "n": n, "tags": ["a", n % 3]} if n % 4 == 0
        else {"id": f"r{n}", "text": _text(n), "license": "MIT" if n % 2 else None}
        for n in range(start, start + count)
    ]  # fmt: skip


def _jsonl(path: Path, records: list[dict[str, Any]], blank_every: int = 0) -> Path:
    lines = [json.dumps(r) for r in records]
    if blank_every:
        lines = [line + ("\n" if i % blank_every == 0 else "") for i, line in enumerate(lines)]
    path.write_text("".join(line + "\n" for line in lines))
    return path


def _in_blocks(inputs: InputFiles) -> tuple[list[dict[str, Any]], LoadReport]:
    """The documents of ``inputs`` read block by block, one after another (what the Ray build's
    tasks do, in parallel), each range's first line counted from the ranges before it."""
    report, documents, line = LoadReport(), list[dict[str, Any]](), 1
    for block in blocks(inputs):
        first = line if block.first_line is None else block.first_line
        if block.path and not block.parquet:
            line = first + count_lines(block.path, block.start, block.end)
        documents += read_block(replace(block, first_line=first), inputs, report)
    return documents, report


def _corpus_tree(root: Path) -> list[str]:
    """Several kinds of input: a directory of text files (one binary, one under a licence header),
    a large JSONL file (with blank lines and records without ids), a small one, a gzip JSONL file
    and a Parquet file; the sources as a build names them."""
    texts = root / "docs"
    (texts / "sub").mkdir(parents=True)
    for n in range(12):
        (texts / ("sub" if n % 3 else ".") / f"note-{n}.txt").write_text(_text(n) * 3)
    (texts / "sub" / "licensed.py").write_text("# SPDX-License-Identifier: Apache-2.0\n" + _text(99))
    (texts / "blob.bin").write_bytes(b"\0\1\2" * 100)
    _jsonl(root / "large.jsonl", _records(400), blank_every=17)
    _jsonl(root / "small.jsonl", _records(5, start=1000))
    with gzip.open(root / "packed.jsonl.gz", "wt") as out:
        out.write("".join(json.dumps(r) + "\n" for r in _records(30, start=2000)))
    rows = [{"id": f"p{n}", "text": _text(n), "year": 2000 + n} for n in range(3000, 3040)]
    pq.write_table(pa.Table.from_pylist(rows), root / "rows.parquet", row_group_size=6)
    return [str(texts), str(root / "large.jsonl"), str(root / "small.jsonl"),
            str(root / "packed.jsonl.gz"), str(root / "rows.parquet")]  # fmt: skip


METADATA = FileMetadata(license="CC-BY-4.0", url="https://example.org/{path}")


@settings(max_examples=25)
@given(block_bytes=st.integers(200, 60_000))
def test_blocks_read_one_after_another_give_the_local_reading(
    tmp_path_factory: pytest.TempPathFactory, block_bytes: int
) -> None:
    root = tmp_path_factory.mktemp("tree")
    sources = _corpus_tree(root)
    inputs = InputFiles(sources, METADATA, block_bytes=block_bytes)
    local_report = LoadReport()
    local = list(documents_with_metadata(sources, METADATA, report=local_report))
    documents, report = _in_blocks(inputs)
    assert documents == local
    assert (report.skipped_binary, report.skipped_large) == (local_report.skipped_binary, 0) == (1, 0)
    # The large JSONL file in ranges of about block_bytes, one after the other, each ending at a
    # line end.
    data = (root / "large.jsonl").read_bytes()
    ranges = [(b.start, b.end) for b in blocks(inputs) if b.path == str(root / "large.jsonl")]
    assert ranges[0][0] == 0 and ranges[-1][1] == len(data) > block_bytes
    assert all(end == start for (_, end), (start, _) in zip(ranges, ranges[1:]))
    longest = max(map(len, data.splitlines(keepends=True)))
    assert all(block_bytes < end - start <= block_bytes + longest for start, end in ranges[:-1])
    assert all(data[end - 1 : end] == b"\n" for _, end in ranges)


BAD_LINES = ['{"id": "x", "text": "unterminated', "[1, 2]", '{"id": "y", "body": "no text"}',
             '{"id": "z", "text": 7}']  # fmt: skip


@settings(max_examples=25)
@given(where=st.integers(0, 399), bad=st.sampled_from(BAD_LINES), block_bytes=st.integers(300, 20_000))
def test_a_bad_line_in_a_range_raises_the_local_error(
    tmp_path_factory: pytest.TempPathFactory, where: int, bad: str, block_bytes: int
) -> None:
    path = _jsonl(tmp_path_factory.mktemp("bad") / "c.jsonl", _records(400), blank_every=13)
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join([*lines[:where], bad + "\n", *lines[where:]]))
    with pytest.raises(InputError) as local:
        list(documents_with_metadata([str(path)]))
    with pytest.raises(InputError) as in_blocks:
        _in_blocks(InputFiles([str(path)], block_bytes=block_bytes))
    assert str(in_blocks.value) == str(local.value)
    assert f"c.jsonl:{where + 1}: " in str(local.value)


@settings(max_examples=10)
@given(where=st.integers(0, 59), block_bytes=st.integers(500, 8_000))
def test_a_bad_row_in_a_run_of_row_groups_raises_the_local_error(
    tmp_path_factory: pytest.TempPathFactory, where: int, block_bytes: int
) -> None:
    rows: list[dict[str, Any]] = [{"id": f"p{n}", "text": _text(n)} for n in range(60)]
    rows[where]["text"] = None
    path = tmp_path_factory.mktemp("parquet") / "rows.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=7)
    with pytest.raises(InputError) as local:
        list(documents_with_metadata([str(path)]))
    inputs = InputFiles([str(path)], block_bytes=block_bytes)
    with pytest.raises(InputError) as in_blocks:
        _in_blocks(inputs)
    assert str(in_blocks.value) == str(local.value)
    assert str(local.value) == f"{path}: row {where + 1}: column 'text' is not a string"


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.name != "write.lock"}  # fmt: skip


@pytest.mark.parametrize("shards", [None, 3])
def test_a_ray_build_reading_the_files_writes_the_local_files(
    ray_cluster: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shards: int | None
) -> None:
    sources = _corpus_tree(tmp_path / "in")
    # Small blocks and batches: the large JSONL file in many ranges, each shard in several batches
    # that straddle blocks.
    options: dict[str, Any] = {"key": SECRET, "shards": shards, "batch_bytes": 9_000}
    local_inputs = InputFiles(sources, METADATA)
    ProtectedIndex.build(local_inputs, tmp_path / "local", **options)
    inputs = InputFiles(sources, METADATA, block_bytes=4_000)
    assert len([b for b in blocks(inputs) if b.path and not b.parquet]) >= 10
    assert len([b for b in blocks(inputs) if b.parquet]) >= 2
    # The driver reads no document: its own reading fails; the workers' (a module of their own) not.
    for reader in ("nearcopy.index_ray_read.read_block", "nearcopy.input_blocks.InputFiles.__iter__"):
        monkeypatch.setattr(reader, _not_on_the_driver)
    ProtectedIndex.build(inputs, tmp_path / "ray", engine="ray", **options)
    left, right = _files(tmp_path / "local"), _files(tmp_path / "ray")
    assert sorted(left) == sorted(right) and [n for n in left if left[n] != right[n]] == []
    assert (inputs.report.skipped_binary, local_inputs.report.skipped_binary) == (1, 1)
    index = ProtectedIndex.open(tmp_path / "ray", key=SECRET)
    assert len(index) == 12 + 1 + 400 + 5 + 30 + 40


@settings(max_examples=4)
@given(
    block_bytes=st.integers(300, 40_000), batch_bytes=st.integers(1, 40_000),
    shards=st.sampled_from([None, 1, 2, 5]),
)  # fmt: skip
def test_any_blocks_and_batches_give_the_local_files(
    ray_cluster: str, tmp_path_factory: pytest.TempPathFactory, block_bytes: int, batch_bytes: int,
    shards: int | None,
) -> None:  # fmt: skip
    root = tmp_path_factory.mktemp("any")
    sources = _corpus_tree(root / "in")
    options: dict[str, Any] = {"shards": shards, "batch_bytes": batch_bytes}
    ProtectedIndex.build(InputFiles(sources, METADATA), root / "local", **options)
    inputs = InputFiles(sources, METADATA, block_bytes=block_bytes)
    ProtectedIndex.build(inputs, root / "ray", engine="ray", **options)
    assert _files(root / "local") == _files(root / "ray")


def _not_on_the_driver(*args: Any) -> Iterator[dict[str, Any]]:
    raise AssertionError("the driver read documents")


def test_a_bad_record_in_a_range_fails_the_ray_build_as_the_local_one(
    ray_cluster: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _jsonl(tmp_path / "corpus.jsonl", _records(300))
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join([*lines[:211], "{not json\n", *lines[211:]]))
    sources = [str(_jsonl(tmp_path / "first.jsonl", _records(50, start=500))), str(path)]
    with pytest.raises(InputError) as local:
        ProtectedIndex.build(InputFiles(sources), tmp_path / "local", shards=2, batch_bytes=5_000)
    assert f"{path}:212: invalid JSON" in str(local.value)
    inputs = InputFiles(sources, block_bytes=3_000)
    (holding,) = [b for b in blocks(inputs) if b.path == str(path) and _holds_line(path, b, 212)]
    assert holding.start > 0 and holding.first_line is None, "a range after the file's first"
    for shards in (2, None):
        with pytest.raises(InputError) as on_ray:
            ProtectedIndex.build(inputs, tmp_path / "ray", shards=shards, batch_bytes=5_000, engine="ray")
        assert str(on_ray.value) == str(local.value)
        assert not (tmp_path / "ray").exists(), "nothing published, nothing left"
    # A source missing just after a bad record (still being read when the planning finds it
    # missing): the bad record is what the local reading meets first.
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "text": "fine"}\n{"id": "b", "text": \n')
    with_missing = [sources[0], str(bad), str(tmp_path / "missing.jsonl")]
    with pytest.raises(InputError) as local_first:
        ProtectedIndex.build(InputFiles(with_missing), tmp_path / "local", batch_bytes=5_000)
    with pytest.raises(InputError) as on_ray:
        ProtectedIndex.build(InputFiles(with_missing, block_bytes=3_000), tmp_path / "ray", engine="ray")
    assert str(on_ray.value) == str(local_first.value) and f"{bad}:2: invalid JSON" in str(on_ray.value)
    assert not (tmp_path / "ray").exists()
    argv = ["index", "build", *sources, "--shards", "2"]
    assert main([*argv, "-o", str(tmp_path / "cli-local")]) == 2
    local_error = capsys.readouterr().err
    ray_options = ["--engine", "ray", "--ray-address", ray_cluster]
    assert main([*argv, "-o", str(tmp_path / "cli-ray"), *ray_options]) == 2
    assert capsys.readouterr().err == local_error and local_error.count("\n") == 1
    assert not (tmp_path / "cli-ray").exists()


def _holds_line(path: Path, block: Block, line: int) -> bool:
    before = count_lines(str(path), 0, block.start)
    return before < line <= before + count_lines(str(path), block.start, block.end)


def test_the_cli_reads_on_ray_and_says_what_the_local_cli_says(
    ray_cluster: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sources = _corpus_tree(tmp_path / "in")
    common = [*sources, "--license", "CC-BY-4.0", "--shards", "2", "--json"]
    assert main(["index", "build", *common, "-o", str(tmp_path / "local")]) == 0
    local = json.loads(capsys.readouterr().out)
    argv = ["index", "build", *common, "-o", str(tmp_path / "ray"), "--engine", "ray"]
    assert main([*argv, "--ray-address", ray_cluster]) == 0
    on_ray = json.loads(capsys.readouterr().out)
    assert _files(tmp_path / "local") == _files(tmp_path / "ray")
    same = ("documents", "fingerprints", "tokens", "bytes", "skipped_binary", "skipped_large")
    assert {k: on_ray[k] for k in same} == {k: local[k] for k in same} and on_ray["skipped_binary"] == 1
    # A missing input, a glob matching nothing: the local CLI's one line.
    for missing in (str(tmp_path / "nowhere.jsonl"), str(tmp_path / "in" / "*.txt")):
        argv = ["index", "build", missing, "-o", str(tmp_path / "bad")]
        assert main(argv) == 2
        local_error = capsys.readouterr().err
        assert main([*argv, "--engine", "ray", "--ray-address", ray_cluster]) == 2
        assert capsys.readouterr().err == local_error and local_error.count("\n") == 1
        assert not (tmp_path / "bad").exists()
    # No document at all is refused, as locally, unless --allow-empty.
    (tmp_path / "empty").mkdir()
    empty = ["index", "build", str(tmp_path / "empty"), "--engine", "ray", "--ray-address", ray_cluster]
    assert main([*empty, "-o", str(tmp_path / "none")]) == 2
    assert "no documents to protect" in capsys.readouterr().err and not (tmp_path / "none").exists()
    assert main([*empty, "-o", str(tmp_path / "none"), "--allow-empty"]) == 0
    assert len(ProtectedIndex.open(tmp_path / "none")) == 0


def _local_batches(lengths: list[int], budget: int) -> list[list[int]]:
    """The local build's rule, document by document: a batch ends at the document with which its
    text reaches the budget; what is left is the last batch."""
    batches: list[list[int]] = [[]]
    held = 0
    for n, length in enumerate(lengths):
        batches[-1].append(n)
        held += length
        if held >= budget:
            batches.append([])
            held = 0
    return [b for b in batches if b]


@settings(max_examples=300)
@given(
    lengths=st.lists(st.integers(0, 12), max_size=60),
    cuts=st.lists(st.integers(0, 60), max_size=8),
    budget=st.integers(1, 30),
)
def test_batches_cut_from_running_totals_are_the_local_batches(
    lengths: list[int], cuts: list[int], budget: int
) -> None:
    """The driver's cut, by bisection in each block's running totals, over blocks of any size."""
    shard, batches = _Shard(Path("unused")), []
    bounds = sorted({0, len(lengths), *(c for c in cuts if c <= len(lengths))})

    def send(sent: _Shard) -> None:
        # A piece here is (the block's first document, start, end): the documents' numbers.
        first = sent.first_doc
        numbers = [block + n for block, start, end in sent.sent() for n in range(start, end)]
        assert numbers[0] == first, "numbered from the documents of the batches before"
        batches.append(numbers)

    for a, b in zip(bounds, bounds[1:]):
        shard.take(a, array("q", itertools.accumulate(lengths[a:b])), budget, send)
    if shard.pieces:
        send(shard)
    assert batches == _local_batches(lengths, budget)
