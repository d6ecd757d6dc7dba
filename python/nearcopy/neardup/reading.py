"""Reading a corpus a batch at a time: the text and the few fields dedup needs of each document.

JSON Lines are read in large blocks of whole lines and parsed by the Rust core
(``_core.jsonl_extract``), which takes the wanted fields and skips the rest of each record unparsed.
A line it cannot read exactly as Python's ``json.loads`` would (invalid JSON, not an object, a
missing text, an odd id or keep value) is parsed here, the slow way, so every error names the same
file, line and problem as before. Parquet is read column-wise with pyarrow.

Lines that cannot be read as documents stop the run with an :class:`InputError`, or, with
``skip_bad``, are counted in :class:`BadLines` and left out (of the output too).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, cast

import numpy as np

from nearcopy import _core
from nearcopy.inputs import InputError
from nearcopy.neardup.formats import KeepFieldError, file_format, line_blocks, parquet_file


@dataclass
class Batch:
    """Documents read from one file: texts and what the dedup needs of each; no other content.
    ``ids`` are the id fields' values (None: the document has none, and is named ``label:line``)."""

    label: str
    texts: list[str] = field(default_factory=list)
    ids: list[str | None] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)  # line numbers (JSONL) or row numbers (Parquet)
    languages: list[str | None] = field(default_factory=list)
    keep_values: list[float] = field(default_factory=list)
    nbytes: int = 0

    def id_strings(self) -> list[str]:
        """Every document's id, those without an id field named ``label:line``."""
        return [f"{self.label}:{n}" if i is None else i for i, n in zip(self.ids, self.lines)]


@dataclass(frozen=True)
class Fields:
    text: str = "text"
    id: str = "id"
    language: str | None = "language"
    keep: str | None = None  # a numeric field ranking the copies of a cluster (higher kept)


@dataclass
class BadLines:
    """Lines (JSONL) or rows (Parquet) skipped because they are not readable documents."""

    count: int = 0
    examples: list[str] = field(default_factory=list)  # the first few problems, "file:line: why"
    by_file: dict[str, set[int]] = field(default_factory=dict)  # label -> skipped line/row numbers
    max_examples: int = 10

    def skip(self, label: str, number: int, problem: InputError) -> None:
        self.count += 1
        self.by_file.setdefault(label, set()).add(number)
        if len(self.examples) < self.max_examples:
            self.examples.append(str(problem))


def _keep_value(record: dict[str, Any], fields: Fields, where: str) -> float:
    if fields.keep is None or fields.keep not in record or record[fields.keep] is None:
        return math.nan
    value = record[fields.keep]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise KeepFieldError(f"{where}: keep field {fields.keep!r} is not a number: {value!r}")
    return float(value)


def parse_line(line: bytes, where: str) -> dict[str, Any]:
    """One JSONL line as a record, or an InputError naming ``where`` and the problem."""
    try:
        record = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        reason = err.msg if isinstance(err, json.JSONDecodeError) else "not UTF-8"
        raise InputError(f"{where}: invalid JSON ({reason})") from None
    if not isinstance(record, dict):
        raise InputError(f"{where}: expected a JSON object, got {type(record).__name__}")
    return record


def _document(record: dict[str, Any], fields: Fields, where: str) -> tuple[str, Any, Any, float]:
    """``(text, id or None, raw language value, keep value)`` of a record."""
    text = record.get(fields.text)
    if not isinstance(text, str):
        raise InputError(f"{where}: no string field {fields.text!r}")
    doc_id = record.get(fields.id)
    language = record.get(fields.language) if fields.language else None
    return text, None if doc_id is None else str(doc_id), language, _keep_value(record, fields, where)


def _jsonl_batches(
    path: Path,
    label: str,
    fields: Fields,
    block_bytes: int,
    language_of: Callable[[Any], str | None],
    bad: BadLines | None,
    num_threads: int | None,
) -> Iterator[Batch]:
    first_line = 1
    for block in line_blocks(path, label, block_bytes):
        texts, ids, languages, keep, numbers, starts, ends, slow, newlines = _core.jsonl_extract(
            block, fields.text, fields.id, fields.language or None, fields.keep, num_threads
        )
        lines = (numbers + first_line).tolist()
        first_line += newlines
        raw_languages: list[Any] = languages
        skipped: list[int] = []
        for i in np.flatnonzero(slow).tolist():
            where = f"{label}:{lines[i]}"
            try:
                record = parse_line(block[int(starts[i]) : int(ends[i])], where)
                texts[i], ids[i], raw_languages[i], keep[i] = _document(record, fields, where)
            except InputError as err:
                if bad is None:
                    raise
                bad.skip(label, lines[i], err)
                skipped.append(i)
        if skipped:
            wanted = np.ones(len(texts), dtype=bool)
            wanted[skipped] = False
            keep = keep[wanted]
            texts, ids, raw_languages, lines = (
                [x for x, w in zip(column, wanted) if w] for column in (texts, ids, raw_languages, lines)
            )
        yield Batch(
            label=label,
            texts=cast(list[str], texts),  # every None was filled in or dropped above
            ids=ids,
            lines=lines,
            languages=[language_of(v) for v in raw_languages] if fields.language else [None] * len(texts),
            keep_values=keep.tolist(),
            nbytes=len(block),
        )


def _parquet_batches(
    path: Path,
    label: str,
    fields: Fields,
    batch_bytes: int,
    language_of: Callable[[Any], str | None],
    bad: BadLines | None,
) -> Iterator[Batch]:
    parquet = parquet_file(path)
    names = parquet.schema_arrow.names
    if fields.text not in names:
        raise InputError(f"{path}: no column {fields.text!r} (columns: {', '.join(names)})")
    wanted = [n for n in (fields.text, fields.id, fields.language, fields.keep) if n and n in names]
    batch, row = Batch(label), 0
    for arrow_batch in parquet.iter_batches(batch_size=4096, columns=sorted(set(wanted))):
        for record in arrow_batch.to_pylist():
            row += 1
            where = f"{label}: row {row}"
            try:
                text, doc_id, language, keep = _document(record, fields, where)
            except InputError as err:
                if bad is None:
                    raise
                bad.skip(label, row, err)
                continue
            batch.texts.append(text)
            batch.ids.append(doc_id)
            batch.lines.append(row)
            batch.languages.append(language_of(language) if fields.language else None)
            batch.keep_values.append(keep)
            batch.nbytes += len(text)
        if batch.nbytes >= batch_bytes:
            yield batch
            batch = Batch(label)
    if batch.texts:
        yield batch


def read_batches(
    path: Path,
    label: str,
    fields: Fields,
    batch_bytes: int,
    language_of: Callable[[Any], str | None],
    bad: BadLines | None = None,
    num_threads: int | None = None,
) -> Iterator[Batch]:
    """Documents of one file in batches of about ``batch_bytes``; errors name ``file:line`` (or
    ``file: row N``), ``label`` being the file's name in messages and default ids. With ``bad``,
    unreadable lines are recorded there and skipped instead. JSONL is parsed on ``num_threads``."""
    if (file_format(path) or ("", ""))[0] == "parquet":
        return _parquet_batches(path, label, fields, batch_bytes, language_of, bad)
    return _jsonl_batches(path, label, fields, batch_bytes, language_of, bad, num_threads)
