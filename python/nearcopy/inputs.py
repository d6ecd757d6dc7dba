"""Reading documents from files for the CLI: JSONL (plain or gzip), plain text files, directories."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from nearcopy._paths import glob_paths, is_pattern, walk_files
from nearcopy.protected_documents import HeldDocument

# The longest JSONL line (one document with its fields) read, decompressed; a longer one is an
# InputError. Reading stops there, so a line without end (a .gz of zeros) cannot exhaust memory.
MAX_LINE_BYTES = 64 << 20


class InputError(ValueError):
    """An input file is missing, unreadable or malformed; the message names the file (and line)."""


@dataclass(frozen=True)
class Record:
    id: str
    text: str


def _jsonl_records(path: Path, text_field: str, id_field: str) -> Iterator[Record]:
    for document in _jsonl_documents(path, text_field, id_field):
        yield Record(document["id"], document["text"])


def _is_jsonl(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith((".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz"))


def read_records(paths: list[str], text_field: str = "text", id_field: str = "id") -> Iterator[Record]:
    """Documents from JSONL files (one per line), text files (one per file) and directories of either."""
    for name in paths:
        path = Path(name)
        if not path.exists():
            raise InputError(f"input not found: {name}")
        files = walk_files(path) if path.is_dir() else [path]
        for file in files:
            if _is_jsonl(file):
                yield from _jsonl_records(file, text_field, id_field)
                continue
            data = _read_bounded(file)
            if data is None:
                raise InputError(f"{file}: larger than {MAX_DOCUMENT_BYTES} bytes")
            if b"\0" in data[:4096] and path.is_dir():
                continue  # binary file inside a directory: not a document
            yield Record(str(file), data.decode("utf-8", errors="replace"))


# Files above this size are skipped when a directory is indexed (reported in the summary).
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024


@dataclass
class LoadReport:
    skipped_binary: int = 0
    skipped_large: int = 0


def _read_bounded(file: Path) -> bytes | None:
    """The bytes of ``file``, or None if it holds more than MAX_DOCUMENT_BYTES. Reads at most one
    byte more than that, so a device or pipe named as input (``/dev/zero``) cannot exhaust memory."""
    try:
        with open(file, "rb") as handle:
            data = handle.read(MAX_DOCUMENT_BYTES + 1)
    except OSError as err:
        raise InputError(f"{file}: cannot read: {err.strerror or err}") from None
    return None if len(data) > MAX_DOCUMENT_BYTES else data


def _expand(name: str) -> list[Path]:
    """A path, or the sorted matches of a glob pattern."""
    if is_pattern(name):
        return glob_paths(name)
    path = Path(name)
    if not path.exists():
        raise InputError(f"input not found: {name}")
    return [path]


# The metadata of a text file: given the file, the source (directory or file) it was found under and
# the file's bytes. See nearcopy.file_metadata.
FileDescriber = Callable[[Path, Path, bytes], Mapping[str, Any]]


def read_documents(
    paths: list[str], text_field: str = "text", id_field: str = "id", report: LoadReport | None = None,
    *, describe_file: FileDescriber | None = None, record_defaults: Mapping[str, Any] | None = None,
) -> Iterator[dict[str, Any]]:  # fmt: skip
    """Protected documents as mappings (``id``, ``text``, metadata): every record of JSONL files (all
    fields but the text kept as metadata, ``record_defaults`` filling in those a record lacks), and
    every text file of directories, files and globs (with its ``path`` and what ``describe_file``
    says of it; binary and oversized files skipped and counted in ``report``)."""
    documents = _documents(paths, text_field, id_field, report, describe_file, record_defaults, held=None)
    return cast(Iterator[dict[str, Any]], documents)


def read_held_documents(
    paths: list[str], text_field: str = "text", id_field: str = "id", report: LoadReport | None = None,
    *, describe_file: FileDescriber | None = None, record_defaults: Mapping[str, Any] | None = None,
    num_threads: int | None = None,
) -> Iterator[dict[str, Any] | HeldDocument]:  # fmt: skip
    """:func:`read_documents`' documents, those of JSONL files as :class:`HeldDocument`, their
    texts held in Rust (:mod:`nearcopy.held_jsonl`, its lines split on ``num_threads`` threads):
    what the index build takes, faster."""
    held = num_threads or 0  # (0: all cores)
    return _documents(paths, text_field, id_field, report, describe_file, record_defaults, held=held)


def _documents(
    paths: list[str], text_field: str, id_field: str, report: LoadReport | None,
    describe_file: FileDescriber | None, record_defaults: Mapping[str, Any] | None, held: int | None,
) -> Iterator[dict[str, Any] | HeldDocument]:  # fmt: skip
    """The documents of ``paths``; ``held``: JSONL texts held in Rust, split on that many threads
    (0: all cores); None: read by Python."""
    report = report if report is not None else LoadReport()
    defaults = dict(record_defaults or {})
    for name in paths:
        for path in _expand(name):
            files = walk_files(path) if path.is_dir() else [path]
            for file in files:
                yield from _file_documents(
                    file, path, text_field, id_field, report, describe_file, defaults, held
                )


def file_documents(
    file: Path, source: Path, text_field: str, id_field: str, report: LoadReport,
    describe_file: FileDescriber | None = None, defaults: Mapping[str, Any] | None = None,
) -> Iterator[dict[str, Any]]:  # fmt: skip
    """The documents of one file found under ``source``, as :func:`read_documents` reads them: the
    records of a JSONL or Parquet file (``defaults`` filling in the fields a record lacks), else the
    file as one document (binary and oversized files skipped and counted in ``report``)."""
    documents = _file_documents(file, source, text_field, id_field, report, describe_file, defaults, None)
    return cast(Iterator[dict[str, Any]], documents)


def _file_documents(
    file: Path, source: Path, text_field: str, id_field: str, report: LoadReport,
    describe_file: FileDescriber | None, defaults: Mapping[str, Any] | None, held: int | None,
) -> Iterator[dict[str, Any] | HeldDocument]:  # fmt: skip
    if held is not None and _is_jsonl(file) and text_field != id_field:
        from nearcopy.held_jsonl import held_jsonl_documents  # (it reads lines as this module does)

        yield from held_jsonl_documents(file, text_field, id_field, defaults or {}, held or None)
        return
    if _is_jsonl(file) or file.suffix.lower() == ".parquet":
        read = _jsonl_documents if _is_jsonl(file) else _parquet_documents
        for record in read(file, text_field, id_field):
            yield {**defaults, **record} if defaults else record
        return
    data = _read_bounded(file)
    if data is None:
        report.skipped_large += 1
        return
    if b"\0" in data[:4096]:
        report.skipped_binary += 1
        return
    described = describe_file(file, source, data) if describe_file else {}
    yield {**described, "id": str(file), "text": data.decode("utf-8", errors="replace"), "path": str(file)}


def parse_record(raw: bytes, where: str, text_field: str) -> dict[str, Any]:
    """The record of one JSONL line (``where``: its file and line number, for the error), an
    InputError unless it is a JSON object with a string ``text_field``."""
    try:
        # Parsed from the bytes (one copy fewer than decoding first); a line that is not UTF-8
        # keeps its bytes as surrogates, as the text of a file does.
        try:
            record = json.loads(raw)
        except UnicodeDecodeError:
            record = json.loads(raw.decode("utf-8", errors="surrogateescape"))
    except json.JSONDecodeError as err:
        raise InputError(f"{where}: invalid JSON ({err.msg})") from None
    if not isinstance(record, dict):
        raise InputError(f"{where}: expected a JSON object, got {type(record).__name__}")
    if not isinstance(record.get(text_field), str):
        raise InputError(f"{where}: no string field {text_field!r}")
    return record


def unreadable(path: Path, err: OSError) -> InputError:
    """The error that names why the JSONL file ``path`` could not be opened or read."""
    if isinstance(err, FileNotFoundError):
        return InputError(f"input not found: {path}")
    if isinstance(err, IsADirectoryError):
        return InputError(
            f"{path}: a directory; give the JSONL files in it, or a glob such as {path}/*.jsonl"
        )
    return InputError(f"{path}: cannot read: {err.strerror or err}")


def jsonl_objects(
    path: Path, text_field: str, on_bad: Callable[[str], None] | None = None
) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` for every record of a JSONL file (plain or gzip), each checked to be
    an object with a string ``text_field``; an ``InputError`` names the file and line otherwise, or,
    with ``on_bad``, the line is skipped and ``on_bad`` told why ("file:line: problem")."""
    opener = gzip.open if path.suffix == ".gz" else open

    def bad(problem: str) -> None:
        if on_bad is None:
            raise InputError(problem)
        on_bad(problem)

    try:
        with opener(path, "rb") as handle:
            for number, raw in enumerate(iter(lambda: handle.readline(MAX_LINE_BYTES + 1), b""), start=1):
                if len(raw) > MAX_LINE_BYTES:
                    # Not skippable: the rest of the line would be read as the next ones.
                    raise InputError(f"{path}:{number}: line longer than {MAX_LINE_BYTES} bytes")
                if raw.isspace() or not raw:  # (a scan, where strip() would copy the line)
                    continue
                try:
                    record = parse_record(raw, f"{path}:{number}", text_field)
                except InputError as err:
                    bad(str(err))
                    continue
                yield number, record
    except OSError as err:
        raise unreadable(path, err) from None
    except (EOFError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: cannot read: {err}") from None


def _jsonl_documents(path: Path, text_field: str, id_field: str) -> Iterator[dict[str, Any]]:
    """Every record of a JSONL file (plain or gzip) as ``{"id", "text", **other fields}``."""
    for number, record in jsonl_objects(path, text_field):
        metadata = {k: v for k, v in record.items() if k not in (text_field, id_field)}
        doc_id = str(record.get(id_field, f"{path}:{number}"))
        yield {**metadata, "id": doc_id, "text": record[text_field]}


def _parquet_documents(
    path: Path, text_field: str, id_field: str, row_groups: tuple[int, int] | None = None, first_row: int = 1
) -> Iterator[dict[str, Any]]:
    """Every row of a Parquet file as ``{"id", "text", **other columns}``, read a batch at a time;
    with ``row_groups`` (start, end), the rows of those row groups alone, the first of them row
    ``first_row`` of the file (a Ray read task's part of it)."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError(f"{path}: reading Parquet needs pyarrow: pip install 'nearcopy[parquet]'") from None
    try:
        parquet = pq.ParquetFile(path)
    except Exception as err:  # pyarrow raises its own error types for damaged files
        raise InputError(f"{path}: not a readable Parquet file: {err}") from None
    if text_field not in parquet.schema_arrow.names:
        raise InputError(
            f"{path}: no column {text_field!r} (columns: {', '.join(parquet.schema_arrow.names)})"
        )
    row = first_row - 1
    groups = None if row_groups is None else list(range(*row_groups))
    for batch in parquet.iter_batches(batch_size=4096, row_groups=groups):
        for record in batch.to_pylist():
            row += 1
            if not isinstance(record.get(text_field), str):
                raise InputError(f"{path}: row {row}: column {text_field!r} is not a string")
            metadata = {k: v for k, v in record.items() if k not in (text_field, id_field) and v is not None}
            yield {**metadata, "id": str(record.get(id_field) or f"{path}:{row}"), "text": record[text_field]}
