"""The corpus file formats: finding the input files, opening them (JSONL plain, ``.gz``, ``.zst``;
Parquet), and writing the same format back with documents dropped or annotated.

Input is read twice: once to fingerprint it (``reading``), once to write it out. Nothing but a few
numbers per document is held in between, so memory does not grow with the text of the corpus. Kept
JSONL lines are copied byte for byte, in blocks, by the Rust core; an annotated one is re-serialized
with its fields unchanged and three fields added. Parquet batches are filtered (and given three
columns) with pyarrow.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np

from nearcopy import _core
from nearcopy._paths import glob_paths, is_pattern, walk_files
from nearcopy.inputs import MAX_LINE_BYTES, InputError

JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
COMPRESSIONS = ("", ".gz", ".zst")
ANNOTATIONS = ("cluster_id", "cluster_size", "duplicate_of")
# Bytes of input read (and of output written) at a time when writing: small blocks reuse the same
# cache-warm memory, and on Linux one write() of 16 MiB into a new file took 10x as long as 16
# writes of 1 MiB (a 20,000-document dedup wrote its 34 MB in 0.076 s, now 0.036 s).
WRITE_BLOCK = 1 << 20


class KeepFieldError(InputError):
    """The ``keep`` field is missing from every document, or holds something other than a number."""


def file_format(path: Path) -> tuple[str, str] | None:
    """``("jsonl" | "parquet", compression suffix)`` of a file name, or None if neither."""
    name = path.name.lower()
    if name.endswith(".parquet"):
        return "parquet", ""
    for compression in COMPRESSIONS:
        if any(name.endswith(suffix + compression) for suffix in JSONL_SUFFIXES):
            return "jsonl", compression
    return None


def _plain_json(path: Path) -> bool:
    name = path.name.lower()
    return any(name.endswith(".json" + compression) for compression in COMPRESSIONS)


def expand(inputs: list[str]) -> list[tuple[Path, Path]]:
    """Input files as ``(file, its name relative to the input it came from)``: files as given,
    every JSONL/Parquet file under a directory (sorted), and the sorted matches of a glob."""
    found: list[tuple[Path, Path]] = []
    for name in inputs:
        if is_pattern(name):
            matches = glob_paths(name)
            if not matches:
                raise InputError(f"no file matches {name}")
            named_json = _plain_json(Path(name))  # "*.json": plain JSON files asked for by name
            found += [
                (p, Path(p.name))
                for p in matches
                if p.is_file() and file_format(p) and (named_json or not _plain_json(p))
            ]
            continue
        path = Path(name)
        if not path.exists():
            raise InputError(f"input not found: {name}")
        if path.is_dir():
            # Plain .json files are taken only when named: in a directory (or a glob such as "*")
            # they are as likely to be reports or configuration as JSON Lines.
            files = [p for p in walk_files(path) if file_format(p) and not _plain_json(p)]
            found += [(p, p.relative_to(path)) for p in files]
        elif file_format(path) is None:
            raise InputError(f"{name}: not a JSONL (.jsonl, .jsonl.gz, .jsonl.zst) or Parquet file")
        else:
            found.append((path, Path(path.name)))
    if not found:
        raise InputError(f"no JSONL or Parquet files in {', '.join(inputs)}")
    return found


def _zstandard() -> Any:
    try:
        import zstandard  # optional: nearcopy[zstd]
    except ImportError:
        raise InputError("reading or writing .zst needs zstandard: pip install 'nearcopy[zstd]'") from None
    return zstandard


def open_binary(path: Path) -> IO[bytes]:
    """The decompressed bytes of a JSONL file."""
    compression = (file_format(path) or ("", ""))[1]
    if compression == ".gz":
        return gzip.GzipFile(path, "rb")  # type: ignore[return-value]  # a GzipFile is a binary IO
    if compression == ".zst":
        return io.BufferedReader(_zstandard().ZstdDecompressor().stream_reader(open(path, "rb")))
    return open(path, "rb")


def line_blocks(path: Path, label: str, block_bytes: int) -> Iterator[bytes]:
    """Blocks of whole lines, about ``block_bytes`` each, of a JSONL file. Decompression streams, so
    memory is bounded by a block plus the longest line, which may not exceed MAX_LINE_BYTES.

    A block is read, then completed to the end of its last line with ``readline``: one copy of the
    block, where cutting it at its last newline and carrying the rest over took two. Reads are of at
    most MAX_LINE_BYTES, so only the line completed by ``readline`` can be longer than the limit, and
    ``readline``'s own limit stops it one byte past it."""
    size = min(block_bytes, MAX_LINE_BYTES)
    offset = 0
    try:
        with open_binary(path) as handle:
            while block := handle.read(size):
                if not block.endswith(b"\n"):
                    started = len(block) - (block.rfind(b"\n") + 1)
                    rest = handle.readline(MAX_LINE_BYTES - started + 1)
                    if started + len(rest.removesuffix(b"\n")) > MAX_LINE_BYTES:
                        line = _line_number(path, offset + len(block) - started)
                        raise InputError(f"{label}:{line}: line longer than {MAX_LINE_BYTES} bytes")
                    block += rest
                offset += len(block)
                yield block
    except OSError as err:
        raise InputError(f"{label}: cannot read: {err.strerror or err}") from None
    except EOFError as err:
        raise InputError(f"{label}: cannot read: {err}") from None


def _line_number(path: Path, offset: int) -> int:
    """The 1-based number of the line starting at byte ``offset``: counted again only for an error
    message, since counting every block's lines cost a dedup run 6% of its time."""
    lines = 1
    with open_binary(path) as handle:
        while offset > 0 and (chunk := handle.read(min(offset, 1 << 20))):
            lines += chunk.count(b"\n")
            offset -= len(chunk)
    return lines


def parquet_file(path: Path) -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError(f"{path}: reading Parquet needs pyarrow: pip install 'nearcopy[parquet]'") from None
    try:
        return pq.ParquetFile(path)
    except Exception as err:  # pyarrow raises its own error types for damaged files
        raise InputError(f"{path}: not a readable Parquet file: {err}") from None


class Annotator:
    """Per-document decisions for the writer: keep or drop, and the three annotation values."""

    def __init__(
        self, keep: Any, cluster_id: Any, cluster_size: Any, duplicate_of: list[str | None], annotate: bool
    ) -> None:
        self.keep, self.cluster_id, self.cluster_size = keep, cluster_id, cluster_size
        self.duplicate_of, self.annotate = duplicate_of, annotate

    def written(self, doc: int) -> bool:
        return self.annotate or bool(self.keep[doc])

    def fields(self, doc: int) -> dict[str, Any]:
        return {
            "cluster_id": int(self.cluster_id[doc]),
            "cluster_size": int(self.cluster_size[doc]),
            "duplicate_of": self.duplicate_of[doc],
        }


def write_jsonl(
    source: Path, label: str, first_doc: int, decisions: Annotator, out: IO[bytes], skipped: set[int]
) -> int:
    """Writes ``source``'s documents (numbered from ``first_doc``) that are kept, or all of them
    annotated; returns how many documents the file held. Blank lines and the ``skipped`` line
    numbers are not documents. Kept lines are copied as they are, unparsed."""
    compression = (file_format(source) or ("", ""))[1]
    sink: Any = out
    if compression == ".gz":
        sink = gzip.GzipFile(fileobj=out, mode="wb", mtime=0)
    elif compression == ".zst":
        sink = _zstandard().ZstdCompressor().stream_writer(out, closefd=False)
    doc = first_doc
    if not decisions.annotate and not skipped:
        # Kept lines are copied as they are: no need to parse them, in Python or at all.
        for block in line_blocks(source, label, WRITE_BLOCK):
            kept, docs = _core.jsonl_select(block, np.asarray(decisions.keep[doc:], dtype=bool))
            sink.write(kept)
            doc += docs
        if sink is not out:
            sink.close()
        return doc - first_doc
    try:
        with open_binary(source) as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip() or number in skipped:
                    continue
                if decisions.written(doc):
                    if decisions.annotate:
                        record = json.loads(line)
                        record.update(decisions.fields(doc))
                        line = json.dumps(record, ensure_ascii=False).encode("utf-8", "surrogatepass") + b"\n"
                    elif not line.endswith(b"\n"):
                        line += b"\n"
                    sink.write(line)
                doc += 1
    except (OSError, EOFError, ValueError) as err:
        raise InputError(f"{label}: cannot read it again to write it: {err}") from None
    if sink is not out:
        sink.close()  # flushes the compressed stream's trailer; `out` itself stays open
    return doc - first_doc


def write_parquet(
    source: Path, first_doc: int, decisions: Annotator, out: IO[bytes], skipped: set[int]
) -> int:
    """The Parquet counterpart of :func:`write_jsonl`: every column kept, rows filtered (the
    ``skipped`` rows, numbered from 1, are not documents)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    parquet = parquet_file(source)
    schema = parquet.schema_arrow
    if decisions.annotate:
        schema = (
            schema.append(pa.field("cluster_id", pa.int64()))
            .append(pa.field("cluster_size", pa.int64()))
            .append(pa.field("duplicate_of", pa.string()))
        )
    doc, row = first_doc, 0
    with pq.ParquetWriter(out, schema) as writer:
        for batch in parquet.iter_batches(batch_size=4096):
            rows = range(row + 1, row + 1 + batch.num_rows)
            row += batch.num_rows
            if skipped.intersection(rows):
                batch = batch.filter(pa.array([r not in skipped for r in rows]))
            docs = np.arange(doc, doc + batch.num_rows)
            doc += batch.num_rows
            if decisions.annotate:
                batch = batch.append_column(
                    "cluster_id", pa.array(decisions.cluster_id[docs].astype(np.int64))
                )
                batch = batch.append_column(
                    "cluster_size", pa.array(decisions.cluster_size[docs].astype(np.int64))
                )
                batch = batch.append_column(
                    "duplicate_of", pa.array([decisions.duplicate_of[d] for d in docs], type=pa.string())
                )
            else:
                batch = batch.filter(pa.array(np.asarray(decisions.keep[docs], dtype=bool)))
            writer.write_batch(batch)
    return doc - first_doc
