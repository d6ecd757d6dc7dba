"""Reading JSONL for the index build with each text held in Rust, never made a Python str.

``nearcopy index build FILE.jsonl`` read each line with ``json.loads`` (the text decoded into a
Python string), only to hand the strings to the kernel, which encoded them back to UTF-8: about 1 s
per 100 MB of prose, more than the fingerprinting. Here the lines are read a few megabytes at a
time and split by ``_core.jsonl_texts``: the text field is decoded in Rust into a
:class:`~nearcopy._core.HeldText` (what ``build_segment`` and ``licence_notices`` take in place of
a str) and the other fields come back as one JSON array, decoded by ``json.loads``, so that ids
and metadata read exactly as :func:`nearcopy.inputs.file_documents` reads them. The documents are
those of :func:`nearcopy.inputs.file_documents`, in its order, with its errors:

- a line Rust does not take (invalid JSON or UTF-8, not an object, no string text, a lone
  surrogate, a repeated text field) is parsed by :func:`nearcopy.inputs.parse_record`, which
  raises its error for it or gives its record (a plain dict document, its text a str);
- a line longer than :data:`~nearcopy.inputs.MAX_LINE_BYTES` is the same error, at its place;
- when reading the file fails (a truncated gzip, an I/O error), the file is read again by the
  Python reader, the documents already given skipped: it fails where it always did, after the same
  documents.

``tests/test_held_jsonl.py`` builds the same inputs both ways and compares the index files.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from nearcopy import _core
from nearcopy.inputs import MAX_LINE_BYTES, InputError, _jsonl_documents, parse_record, unreadable
from nearcopy.protected_documents import HeldDocument

# Read this much at a time: whole lines are split in Rust (the GIL released), the last, unfinished
# one kept for the next read. Memory: a chunk and its texts, beside the build's batch. (Reads of
# 4 MB cost 1.6 times as much as of 1 MB: each new buffer was fresh pages to fault in.)
CHUNK_BYTES = 1048576


def held_jsonl_documents(
    path: Path, text_field: str, id_field: str, defaults: Mapping[str, Any], num_threads: int | None = None
) -> Iterator[HeldDocument | dict[str, Any]]:
    """The documents of a JSONL file (plain or gzip), as ``file_documents`` reads them with
    ``defaults``: a :class:`HeldDocument` for each line Rust splits, a dict for the others."""
    given = 0
    try:
        for document in _held_documents(path, text_field, id_field, defaults, num_threads):
            yield document
            given += 1
    except _ReadFailed:
        # The Python reader fails at the point it always did: the documents before it, first.
        for n, record in enumerate(_jsonl_documents(path, text_field, id_field)):
            if n >= given:
                yield {**defaults, **record} if defaults else record


class _ReadFailed(Exception):
    """Reading the file failed after it was opened (handed over to the Python reader)."""


def _held_documents(
    path: Path, text_field: str, id_field: str, defaults: Mapping[str, Any], num_threads: int | None
) -> Iterator[HeldDocument | dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        handle = opener(path, "rb")
    except OSError as err:
        raise unreadable(path, err) from None
    with handle:
        # The unfinished line's pieces (joined once its end is read: a long line costs its length).
        unfinished: list[bytes] = []
        held, lines_before = 0, 0
        while True:
            try:
                chunk = handle.read(CHUNK_BYTES)
            except (OSError, EOFError, UnicodeDecodeError):
                raise _ReadFailed() from None
            last = not chunk
            if last or b"\n" in chunk:
                pending = b"".join(unfinished)
                texts, rests, numbers, spans, lines, consumed = _core.jsonl_texts(
                    pending, chunk, text_field, MAX_LINE_BYTES, last, num_threads
                )
                block = _Block(path, pending, chunk, consumed, lines_before)
                yield from block.documents(texts, rests, numbers, spans, text_field, id_field, defaults)
                lines_before += lines
                unfinished, chunk = [], chunk[consumed:]
                held = 0
            if last:
                return
            if chunk:
                unfinished.append(chunk)
                held += len(chunk)
            if held > MAX_LINE_BYTES:
                # Not skippable: the rest of the line would be read as the next ones.
                raise InputError(f"{path}:{lines_before + 1}: line longer than {MAX_LINE_BYTES} bytes")


class _Block:
    """The whole lines of one read (``pending`` and the start of ``chunk``), numbered after
    ``lines_before`` lines of the file."""

    def __init__(self, path: Path, pending: bytes, chunk: bytes, consumed: int, lines_before: int) -> None:
        self.path, self.pending, self.chunk, self.consumed = path, pending, chunk, consumed
        self.lines_before = lines_before
        self._buffer: bytes | None = None

    def raw(self, span: tuple[int, int]) -> bytes:
        """A line's bytes, newline included (only lines Rust did not take are asked for)."""
        if self._buffer is None:
            self._buffer = self.pending + self.chunk[: self.consumed]
        return self._buffer[span[0] : span[1]]

    def documents(
        self, texts: list[_core.HeldText | None], rests: bytes, numbers: list[int],
        spans: list[tuple[int, int]], text_field: str, id_field: str, defaults: Mapping[str, Any],
    ) -> Iterator[HeldDocument | dict[str, Any]]:  # fmt: skip
        path = self.path
        try:
            records: list[dict[str, Any] | None] = json.loads(rests)
        except (ValueError, RecursionError):
            # What json.loads refuses in a record's other fields (an integer too long to convert):
            # every line of the block read by the Python reader, which raises it at its line.
            records, texts = [None] * len(texts), [None] * len(texts)
        for held, record, line, span in zip(texts, records, numbers, spans):
            number = self.lines_before + line + 1
            if held is None or record is None:
                yield self._slow(self.raw(span), number, text_field, id_field, defaults)
                continue
            doc_id = str(record.get(id_field, f"{path}:{number}"))
            record.pop(id_field, None)
            if defaults or "id" in record or "text" in record:
                # As file_documents merges them: the defaults, then the record's fields (the
                # document's own id and text stand for any fields of those names).
                fields = {**defaults, **record}
                record = {k: v for k, v in fields.items() if k not in ("id", "text")}
            yield HeldDocument(doc_id, record, held)

    def _slow(
        self, raw: bytes, number: int, text_field: str, id_field: str, defaults: Mapping[str, Any]
    ) -> dict[str, Any]:
        """A line as the Python reader reads it (its error, or its record)."""
        where = f"{self.path}:{number}"
        if len(raw) > MAX_LINE_BYTES:
            raise InputError(f"{where}: line longer than {MAX_LINE_BYTES} bytes")
        record = parse_record(raw, where, text_field)
        metadata = {k: v for k, v in record.items() if k not in (text_field, id_field)}
        doc_id = str(record.get(id_field, f"{self.path}:{number}"))
        document = {**metadata, "id": doc_id, "text": record[text_field]}
        return {**defaults, **document} if defaults else document
