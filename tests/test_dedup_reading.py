"""Reading corpora for dedup: the Rust JSONL reader gives exactly what ``json.loads`` gives, blocks
split anywhere, and ``--skip-bad`` leaves out unreadable lines (from the output too) and counts them."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nearcopy.inputs import InputError
from nearcopy.neardup import KeepFieldError, Params, dedup
from nearcopy.neardup.pipeline import _language_of
from nearcopy.neardup.reading import BadLines, Fields, parse_line, read_batches

FIELDS = Fields(text="text", id="id", language="language", keep="quality")
BIG = 1 << 30  # one batch per file


def reference(lines: list[bytes], label: str) -> list[tuple[str, str, str | None, float]]:
    """The obviously-correct reader: json.loads every non-blank line, then take the fields."""
    language_of = _language_of(None)
    out = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{label}:{number}"
        record = parse_line(line, where)
        text = record.get("text")
        if not isinstance(text, str):
            raise InputError(f"{where}: no string field 'text'")
        doc_id = record.get("id")
        keep = record.get("quality")
        if keep is not None and (isinstance(keep, bool) or not isinstance(keep, (int, float))):
            raise KeepFieldError(f"{where}: keep field 'quality' is not a number: {keep!r}")
        out.append(
            (
                text,
                f"{label}:{number}" if doc_id is None else str(doc_id),
                language_of(record.get("language")),
                math.nan if keep is None else float(keep),
            )
        )
    return out


def read_all(path: Path, block: int = BIG, bad: BadLines | None = None) -> list[tuple[Any, ...]]:
    rows = []
    for batch in read_batches(path, path.name, FIELDS, block, _language_of(None), bad):
        rows += list(zip(batch.texts, batch.id_strings(), batch.languages, batch.keep_values))
    return rows


def same(a: list[tuple[Any, ...]], b: list[tuple[Any, ...]]) -> bool:
    return [(*r[:3], repr(r[3])) for r in a] == [(*r[:3], repr(r[3])) for r in b]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
records = st.fixed_dictionaries(
    {"text": st.text() | json_values},
    optional={
        "id": json_values,
        "language": st.sampled_from(["python", "py", "en", "", "go"]) | json_values,
        "quality": st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | json_values,
        "other": json_values,
    },
)


@st.composite
def jsonl_lines(draw: st.DrawFn) -> list[bytes]:
    lines = []
    for record in draw(st.lists(records, max_size=12)):
        compact = draw(st.booleans())
        text = json.dumps(
            record, ensure_ascii=draw(st.booleans()), separators=(",", ":") if compact else None
        )
        lines.append(text.encode("utf-8", "surrogatepass"))
        if draw(st.integers(0, 9)) == 0:
            lines.append(draw(st.sampled_from([b"", b"  \t", b"{oops", b"[1]", b'{"text": "a", "text": 2}'])))
    return lines


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=jsonl_lines(), block=st.sampled_from([1, 7, 64, BIG]))
def test_the_rust_reader_reads_what_json_loads_reads(tmp_path: Path, lines: list[bytes], block: int) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(b"\n".join(lines))
    try:
        expected: Any = reference(lines, "in.jsonl")
    except InputError as err:
        expected = err
    if isinstance(expected, InputError):
        with pytest.raises(type(expected)) as raised:
            read_all(path, block)
        assert str(raised.value) == str(expected)
    else:
        assert same(read_all(path, block), expected)


def test_a_line_longer_than_a_block_is_read_whole(tmp_path: Path) -> None:
    text = "word " * 50_000
    path = tmp_path / "long.jsonl"
    path.write_text(json.dumps({"text": text, "id": 7}) + "\n" + json.dumps({"text": "b"}))
    assert [(r[0], r[1]) for r in read_all(path, block=1000)] == [(text, "7"), ("b", "long.jsonl:2")]


BASE = (
    "the committee met on tuesday to discuss the budget for the coming year and after a long debate "
    "about roads schools and the library it agreed on new rules for spending that will apply to every "
    "department from the first of april onwards unless the council decides otherwise before then"
)
LINES = [
    json.dumps({"id": "a", "text": BASE}),
    "{not json",
    json.dumps({"id": "b", "text": BASE + " again"}),
    json.dumps({"id": "c", "body": "no text"}),
    "",
    json.dumps({"id": "d", "text": "something else entirely, short"}),
]


def test_skip_bad_leaves_out_unreadable_lines_and_counts_them(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(LINES) + "\n")
    with pytest.raises(InputError, match=r"in\.jsonl:2: invalid JSON"):
        dedup(source, tmp_path / "out.jsonl", params=Params(threshold=0.6))
    assert not (tmp_path / "out.jsonl").exists()
    for annotate in (False, True):
        out = tmp_path / f"out-{annotate}.jsonl"
        report = dedup(source, out, params=Params(threshold=0.6), skip_bad=True, annotate=annotate)
        assert report.documents == 3 and report.skipped_lines == 2
        assert report.skipped_examples == [
            "in.jsonl:2: invalid JSON (Expecting property name enclosed in double quotes)",
            "in.jsonl:4: no string field 'text'",
        ]
        written = [json.loads(line) for line in out.read_text().splitlines()]
        if annotate:
            assert [(d["id"], d["duplicate_of"]) for d in written] == [("a", None), ("b", "a"), ("d", None)]
        else:
            assert [d["id"] for d in written] == ["a", "d"]


def test_skip_bad_on_parquet_rows(tmp_path: Path) -> None:
    source = tmp_path / "in.parquet"
    table = pa.table({"id": ["a", "b", "c", "d"], "text": [BASE, None, BASE + " again", "other words"]})
    pq.write_table(table, source)
    with pytest.raises(InputError, match=r"in\.parquet: row 2: no string field 'text'"):
        dedup(source, params=Params(threshold=0.6))
    out = tmp_path / "out.parquet"
    report = dedup(source, out, params=Params(threshold=0.6), skip_bad=True)
    assert report.skipped_lines == 1 and pq.read_table(out).column("id").to_pylist() == ["a", "d"]


def test_cli_skip_bad(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(LINES) + "\n")
    command = [sys.executable, "-m", "nearcopy", "dedup", str(source), "-o", str(tmp_path / "o.jsonl")]
    failed = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert failed.returncode == 2 and "in.jsonl:2: invalid JSON" in failed.stderr
    done = subprocess.run([*command, "--skip-bad"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "2 unreadable lines skipped (first: in.jsonl:2: invalid JSON" in done.stderr
    assert [json.loads(line)["id"] for line in (tmp_path / "o.jsonl").read_text().splitlines()] == ["a", "d"]
