"""Reading documents from files for the CLI: JSONL (plain or gzip), plain text files, directories."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


class InputError(ValueError):
    """An input file is missing, unreadable or malformed; the message names the file (and line)."""


@dataclass(frozen=True)
class Record:
    id: str
    text: str


def _jsonl_records(path: Path, text_field: str, id_field: str) -> Iterator[Record]:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8", errors="surrogateescape") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as err:
                    raise InputError(f"{path}:{number}: invalid JSON ({err.msg})") from None
                if not isinstance(record, dict):
                    raise InputError(f"{path}:{number}: expected a JSON object, got {type(record).__name__}")
                text = record.get(text_field)
                if not isinstance(text, str):
                    raise InputError(f"{path}:{number}: no string field {text_field!r}")
                doc_id = record.get(id_field, f"{path}:{number}")
                yield Record(str(doc_id), text)
    except (OSError, EOFError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: cannot read: {err}") from None


def _is_jsonl(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith((".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz"))


def read_records(paths: list[str], text_field: str = "text", id_field: str = "id") -> Iterator[Record]:
    """Documents from JSONL files (one per line), text files (one per file) and directories of either."""
    for name in paths:
        path = Path(name)
        if not path.exists():
            raise InputError(f"input not found: {name}")
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if _is_jsonl(file):
                yield from _jsonl_records(file, text_field, id_field)
                continue
            try:
                data = file.read_bytes()
            except OSError as err:
                raise InputError(f"{file}: cannot read: {err}") from None
            if b"\0" in data[:4096] and path.is_dir():
                continue  # binary file inside a directory: not a document
            yield Record(str(file), data.decode("utf-8", errors="replace"))
