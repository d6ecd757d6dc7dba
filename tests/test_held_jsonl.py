"""JSONL read with its texts held in Rust (nearcopy.held_jsonl, what `nearcopy index build` reads)
builds the same index, file for file and byte for byte, as the Python reader's documents do, and
fails on the same bad input with the same error."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from nearcopy import held_jsonl, inputs
from nearcopy.cli import main
from nearcopy.file_metadata import FileMetadata, documents_with_metadata, held_documents_with_metadata
from nearcopy.index import ProtectedIndex
from nearcopy.inputs import InputError
from nearcopy.protected_documents import AUTO, HeldDocument

NOTICE = "/*\n * Copyright (C) 2001 Someone\n * All rights reserved.\n */\n"
HELPER = (
    "var __importDefault = (this && this.__importDefault) || function (mod) {\n"
    '    return (mod && mod.__esModule) ? mod : { "default": mod };\n};\n'
)
PROSE = "It is a truth universally acknowledged, that a single man in possession of a good fortune. "


def records() -> list[Any]:
    """Lines of every kind the reader meets (str: written as they are; others: json.dumps'd)."""
    return [
        {"id": "a", "text": PROSE * 3, "license": "MIT", "url": "https://x/a", "n": 1.5, "big": 10**30},
        {"id": "b", "text": NOTICE + "int main(void) { return 0; }\n" * 5, "path": "src/b.c"},
        {"id": "c.py", "text": "def f(x):\n    return x + 1\n" * 8, "nested": {"a": [1, None, True]}},
        {"id": "d", "text": "import os\n" + HELPER + "console.log(1);\n", "language": "javascript"},
        {"text": "no id here: the file and line name it " * 4},
        {"id": 7, "text": "an integer id, " * 10, "license": None},
        {"id": 1.0, "text": "a float id", "source": "s"},
        {"id": "a", "text": "a repeated id " * 6},
        {"id": "e", "text": ""},
        {
            "id": "f",
            "text": "h\u00e9llo w\u00f6rld \U0001f600 \u4e2d\u6587 " * 9,
            "title": "\u00e9\U0001f600",
        },
        '{"id": "raw-utf8", "text": "caf\u00e9 na\u00efve \U0001f600 already UTF-8 on disk", "k": "\u00e9"}',
        '{"id": "lone", "text": "a lone surrogate \\ud800 in the text"}',
        '{"id": "lone-meta", "text": "fine text", "odd": "\\udc00"}',
        '{"id": "dup-meta", "text": "repeated metadata keys", "k": 1, "k": 2}',
        '{"id": "dup-text", "text": "first", "text": "second, which Python keeps"}',
        '{"id": "nan", "text": "NaN in the metadata", "score": NaN, "inf": -Infinity}',
        '{"id": "ws", "text": "spaces around"}   \r',
        "   ",
        "",
        '\t{"text": "a tab before", "id": "tab", "language": "Python"}',
        {"id": "text-key", "text": "metadata named like the fields", "path": "notes.md"},
        {"id": "auto", "text": "def g(y):\n    return y * 2\n" * 6},
        b'{"id": "not-utf8", "text": "kept as surrogates \xff\xfe", "m": "\xe9"}',
    ]


def write(path: Path, lines: list[Any], *, last_newline: bool = True) -> Path:
    def encoded(line: Any) -> bytes:
        if isinstance(line, bytes):
            return line
        return (line if isinstance(line, str) else json.dumps(line)).encode("utf-8")

    data = b"\n".join(map(encoded, lines)) + (b"\n" if last_newline else b"")
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


def index_files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "write.lock"
    }


def build_both(
    tmp_path: Path, sources: list[str], metadata: FileMetadata | None = None, **options: Any
) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """The index files of the Python reader's documents and of the held reader's."""
    fields = {k: options.pop(k) for k in ("text_field", "id_field") if k in options}
    old = documents_with_metadata(sources, metadata, **fields)
    new = held_documents_with_metadata(sources, metadata, **fields)
    ProtectedIndex.build(old, tmp_path / "old", **options)
    ProtectedIndex.build(new, tmp_path / "new", **options)
    return index_files(tmp_path / "old"), index_files(tmp_path / "new")


@pytest.mark.parametrize("chunk", [1, 7, 100, 4 << 20])
@pytest.mark.parametrize("name", ["corpus.jsonl", "corpus.jsonl.gz"])
def test_the_same_index_file_for_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int, name: str
) -> None:
    monkeypatch.setattr(held_jsonl, "CHUNK_BYTES", chunk)
    source = write(tmp_path / name, records(), last_newline=chunk != 7)
    old, new = build_both(tmp_path, [str(source)], batch_bytes=300)
    assert "seg-000002-00000.ncs" in old and old == new  # batches, merged
    docs = list(held_documents_with_metadata([str(source)]))
    held = [d for d in docs if isinstance(d, HeldDocument)]
    assert len(held) >= len(docs) - 5  # the odd lines: dicts
    assert all(len(d.held) == len(d.text) for d in held)  # what batches are cut by


@pytest.mark.parametrize("shards", [None, 3])
def test_defaults_other_fields_and_shards(tmp_path: Path, shards: int | None) -> None:
    lines = [{**r, "body": r.get("text", ""), "text": 5} if isinstance(r, dict) else r for r in records()]
    source = write(tmp_path / "c.jsonl", [r for r in lines if isinstance(r, dict)])
    metadata = FileMetadata(license="GPL-3.0-only", source="corpus", extra={"language": AUTO})
    old, new = build_both(
        tmp_path, [str(source)], metadata, text_field="body", id_field="license", shards=shards,
        batch_bytes=500,
    )  # fmt: skip
    assert old == new


def test_the_cli_builds_what_the_python_reader_builds(tmp_path: Path) -> None:
    source = write(tmp_path / "corpus.jsonl", records())
    other = write(tmp_path / "more.ndjson", records()[:5])
    assert (
        main(["index", "build", str(source), str(other), "-o", str(tmp_path / "cli"), "--license", "X"]) == 0
    )
    ProtectedIndex.build(
        documents_with_metadata([str(source), str(other)], FileMetadata(license="X")), tmp_path / "api"
    )
    assert index_files(tmp_path / "cli") == index_files(tmp_path / "api")


def bad_inputs() -> Iterator[tuple[str, list[Any]]]:
    good = [{"id": i, "text": f"document {i} " * 20} for i in range(5)]
    yield "invalid JSON", [*good[:2], '{"id": 3, "text": "unterminated', *good[2:]]
    yield "not an object", [*good, "[1, 2, 3]"]
    yield "no text", [*good[:1], {"id": "x", "body": "no text field"}, *good[1:]]
    yield "text not a string", [*good, {"id": "x", "text": ["a"]}]
    yield "long line", [*good[:3], {"id": "x", "text": "y" * 500}, *good[3:]]
    yield "long last line", [*good, "z" * 600]
    yield "overlong in the last chunk", [*good, "z" * 450, *good]


@pytest.mark.parametrize("case", [name for name, _ in bad_inputs()])
@pytest.mark.parametrize("chunk", [50, 4 << 20])
def test_bad_lines_give_the_python_readers_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], case: str, chunk: int
) -> None:
    monkeypatch.setattr(held_jsonl, "CHUNK_BYTES", chunk)
    monkeypatch.setattr(held_jsonl, "MAX_LINE_BYTES", 400)
    monkeypatch.setattr(inputs, "MAX_LINE_BYTES", 400)
    lines = dict(bad_inputs())[case]
    source = write(tmp_path / "bad.jsonl", lines, last_newline=case != "long last line")
    with pytest.raises(InputError) as old:
        ProtectedIndex.build(documents_with_metadata([str(source)]), tmp_path / "old")
    with pytest.raises(InputError) as new:
        ProtectedIndex.build(held_documents_with_metadata([str(source)]), tmp_path / "new")
    assert str(new.value) == str(old.value) and f"{source}:" in str(old.value)
    assert main(["index", "build", str(source), "-o", str(tmp_path / "cli")]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [f"nearcopy: error: {old.value}"]
    assert not (tmp_path / "cli" / "manifest.json").exists()


def test_a_truncated_gzip_fails_where_the_python_reader_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(held_jsonl, "CHUNK_BYTES", 1 << 16)
    lines: list[Any] = [{"id": i, "text": f"document {i} " * 50} for i in range(400)]
    lines[150] = '{"id": "bad", "text": '  # found by the Python reader before the truncation
    source = write(tmp_path / "t.jsonl.gz", lines)
    source.write_bytes(source.read_bytes()[: len(source.read_bytes()) // 2])
    errors = []
    for read in (documents_with_metadata, held_documents_with_metadata):
        with pytest.raises(InputError) as caught:
            list(read([str(source)]))
        errors.append(str(caught.value))
    assert errors[0] == errors[1] and ":151: invalid JSON" in errors[0]
    source.write_bytes(gzip.compress(b'{"text": "a"}\n' * 10)[:-12])
    with pytest.raises(InputError, match="cannot read"):
        list(held_documents_with_metadata([str(source)]))


def test_missing_files_and_directories(tmp_path: Path) -> None:
    for sources in ([str(tmp_path / "none.jsonl")], [str(tmp_path / "*.jsonl")]):
        errors = []
        for read in (documents_with_metadata, held_documents_with_metadata):
            with pytest.raises(InputError) as caught:
                list(read(sources))
            errors.append(str(caught.value))
        assert errors[0] == errors[1]


def test_index_add_and_a_text_field_that_is_the_id_field(tmp_path: Path) -> None:
    first = write(tmp_path / "first.jsonl", records()[:8])
    second = write(tmp_path / "second.jsonl.gz", records()[8:])
    assert main(["index", "build", str(first), "-o", str(tmp_path / "cli")]) == 0
    assert main(["index", "add", str(tmp_path / "cli"), str(second)]) == 0
    api = ProtectedIndex.build(documents_with_metadata([str(first)]), tmp_path / "api")
    api.add(documents_with_metadata([str(second)]))
    assert index_files(tmp_path / "cli") == index_files(tmp_path / "api")
    # The text read as the id too: the Python reader's business (the fast path does not apply).
    docs = list(held_documents_with_metadata([str(first)], text_field="text", id_field="text"))
    assert docs and not any(isinstance(d, HeldDocument) for d in docs)
