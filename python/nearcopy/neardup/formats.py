"""Reading corpora a batch at a time, and writing the same format back with documents dropped or
annotated: JSONL (plain, ``.gz``, ``.zst``) and Parquet.

Input is read twice: once to fingerprint it, once to write it out. Nothing but a few numbers per
document is held in between, so memory does not grow with the text of the corpus. A kept JSONL
line is written back byte for byte; an annotated one is re-serialized with its fields unchanged and
three fields added. Parquet batches are filtered (and given three columns) with pyarrow.
"""

from __future__ import annotations

import glob
import gzip
import io
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Callable

from nearcopy.inputs import InputError

JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
COMPRESSIONS = ("", ".gz", ".zst")
ANNOTATIONS = ("cluster_id", "cluster_size", "duplicate_of")


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
        if any(c in name for c in "*?["):
            matches = [Path(p) for p in sorted(glob.glob(name, recursive=True))]
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
            files = sorted(
                p for p in path.rglob("*") if p.is_file() and file_format(p) and not _plain_json(p)
            )
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


@dataclass
class Batch:
    """Documents read from one file: texts and what the dedup needs of each; no other content."""

    texts: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    languages: list[str | None] = field(default_factory=list)
    keep_values: list[float] = field(default_factory=list)
    nbytes: int = 0


@dataclass(frozen=True)
class Fields:
    text: str = "text"
    id: str = "id"
    language: str | None = "language"
    keep: str | None = None  # a numeric field ranking the copies of a cluster (higher kept)


def _keep_value(record: dict[str, Any], fields: Fields, where: str) -> float:
    if fields.keep is None or fields.keep not in record or record[fields.keep] is None:
        return math.nan
    value = record[fields.keep]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise KeepFieldError(f"{where}: keep field {fields.keep!r} is not a number: {value!r}")
    return float(value)


def _add(
    batch: Batch,
    record: dict[str, Any],
    fields: Fields,
    where: str,
    fallback_id: str,
    language_of: Callable[[Any], str | None],
) -> None:
    text = record.get(fields.text)
    if not isinstance(text, str):
        raise InputError(f"{where}: no string field {fields.text!r}")
    doc_id = record.get(fields.id)
    batch.texts.append(text)
    batch.ids.append(fallback_id if doc_id is None else str(doc_id))
    batch.languages.append(language_of(record.get(fields.language)) if fields.language else None)
    batch.keep_values.append(_keep_value(record, fields, where))
    batch.nbytes += len(text)


def read_batches(
    path: Path,
    label: str,
    fields: Fields,
    batch_bytes: int,
    language_of: Callable[[Any], str | None],
) -> Iterator[Batch]:
    """Documents of one file in batches of about ``batch_bytes`` of text; errors name ``file:line``
    (``label`` is the file's name in messages and default ids)."""
    kind = (file_format(path) or ("", ""))[0]
    batch = Batch()
    if kind == "parquet":
        for number, record in _parquet_records(path, fields):
            _add(batch, record, fields, f"{label}: row {number}", f"{label}:{number}", language_of)
            if batch.nbytes >= batch_bytes:
                yield batch
                batch = Batch()
    else:
        for number, record, _ in jsonl_records(path, label):
            _add(batch, record, fields, f"{label}:{number}", f"{label}:{number}", language_of)
            if batch.nbytes >= batch_bytes:
                yield batch
                batch = Batch()
    if batch.texts:
        yield batch


def jsonl_records(path: Path, label: str) -> Iterator[tuple[int, dict[str, Any], bytes]]:
    """``(line number, record, raw line)`` of every non-blank line of a JSONL file."""
    try:
        with open_binary(path) as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except (json.JSONDecodeError, UnicodeDecodeError) as err:
                    reason = err.msg if isinstance(err, json.JSONDecodeError) else "not UTF-8"
                    raise InputError(f"{label}:{number}: invalid JSON ({reason})") from None
                if not isinstance(record, dict):
                    raise InputError(f"{label}:{number}: expected a JSON object, got {type(record).__name__}")
                yield number, record, line
    except (OSError, EOFError) as err:
        raise InputError(f"{label}: cannot read: {err}") from None


def _parquet_file(path: Path) -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError(f"{path}: reading Parquet needs pyarrow: pip install 'nearcopy[parquet]'") from None
    try:
        return pq.ParquetFile(path)
    except Exception as err:  # pyarrow raises its own error types for damaged files
        raise InputError(f"{path}: not a readable Parquet file: {err}") from None


def _parquet_records(path: Path, fields: Fields) -> Iterator[tuple[int, dict[str, Any]]]:
    parquet = _parquet_file(path)
    names = parquet.schema_arrow.names
    if fields.text not in names:
        raise InputError(f"{path}: no column {fields.text!r} (columns: {', '.join(names)})")
    wanted = [n for n in (fields.text, fields.id, fields.language, fields.keep) if n and n in names]
    row = 0
    for batch in parquet.iter_batches(batch_size=4096, columns=sorted(set(wanted))):
        for record in batch.to_pylist():
            row += 1
            yield row, record


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


def write_jsonl(source: Path, label: str, first_doc: int, decisions: Annotator, out: IO[bytes]) -> int:
    """Writes ``source``'s documents (numbered from ``first_doc``) that are kept, or all of them
    annotated; returns how many documents the file held."""
    compression = (file_format(source) or ("", ""))[1]
    sink: Any = out
    if compression == ".gz":
        sink = gzip.GzipFile(fileobj=out, mode="wb", mtime=0)
    elif compression == ".zst":
        sink = _zstandard().ZstdCompressor().stream_writer(out, closefd=False)
    doc = first_doc
    for _, record, line in jsonl_records(source, label):
        if decisions.written(doc):
            if decisions.annotate:
                record.update(decisions.fields(doc))
                line = json.dumps(record, ensure_ascii=False).encode("utf-8", "surrogatepass") + b"\n"
            elif not line.endswith(b"\n"):
                line += b"\n"
            sink.write(line)
        doc += 1
    if sink is not out:
        sink.close()  # flushes the compressed stream's trailer; `out` itself stays open
    return doc - first_doc


def write_parquet(source: Path, first_doc: int, decisions: Annotator, out: IO[bytes]) -> int:
    """The Parquet counterpart of :func:`write_jsonl`: every column kept, rows filtered."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    parquet = _parquet_file(source)
    schema = parquet.schema_arrow
    if decisions.annotate:
        schema = (
            schema.append(pa.field("cluster_id", pa.int64()))
            .append(pa.field("cluster_size", pa.int64()))
            .append(pa.field("duplicate_of", pa.string()))
        )
    doc = first_doc
    with pq.ParquetWriter(out, schema) as writer:
        for batch in parquet.iter_batches(batch_size=4096):
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
