"""`nearcopy.dedup` and `nearcopy dedup` on real files: formats, keep policies, annotation,
reference mode, reports, bad input, and no half-written output on failure."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from nearcopy.cli import main
from nearcopy.inputs import InputError
from nearcopy.neardup import KeepFieldError, Params, dedup
from nearcopy.neardup import formats as dedup_formats

BASE = (
    "the committee met on tuesday to discuss the budget for the coming year and after a long debate "
    "about roads schools and the library it agreed on new rules for spending that will apply to every "
    "department from the first of april onwards unless the council decides otherwise before then"
)
OTHER = (
    "a quiet river runs past the old mill where children used to swim every summer afternoon long ago "
    "before the factory upstream closed and the water turned clear again so that fish came back and the "
    "herons with them standing still in the shallows at dawn"
)
THIRD = (
    "compilers translate source programs into machine code through parsing semantic analysis "
    "optimisation and code generation and each of these phases has its own data structures such as "
    "syntax trees symbol tables control flow graphs and register allocation maps"
)
PARAMS = Params(threshold=0.6, num_perm=128)


def edited(text: str, word: str) -> str:
    words = text.split()
    words[len(words) // 2] = word
    return " ".join(words)


DOCS: list[dict[str, Any]] = [
    {"id": "a", "text": BASE, "score": 0.2, "lang": "en"},
    {"id": "b", "text": edited(BASE, "x"), "score": 0.9, "nested": {"x": [1, 2]}},
    {"id": "c", "text": OTHER, "score": 0.5},
    {"id": "d", "text": BASE + " and then went home early", "score": 0.1},
    {"id": "e", "text": BASE, "score": 0.3},
    {"id": "f", "text": THIRD},
]


def write_jsonl(path: Path, docs: list[dict[str, Any]]) -> Path:
    data = "".join(json.dumps(d) + "\n" for d in docs).encode()
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    return [json.loads(line) for line in data.decode().splitlines()]


@pytest.mark.parametrize("name", ["in.jsonl", "in.jsonl.gz"])
def test_jsonl_round_trip_keeps_lines_byte_for_byte(tmp_path: Path, name: str) -> None:
    source = write_jsonl(tmp_path / name, DOCS)
    out = tmp_path / ("out" + name.removeprefix("in"))
    report = dedup(source, out, params=PARAMS)
    kept = read_jsonl(out)
    assert [d["id"] for d in kept] == ["a", "c", "f"]
    assert kept == [DOCS[0], DOCS[2], DOCS[5]]  # every field unchanged
    assert (report.documents, report.kept, report.removed, report.exact_duplicates) == (6, 3, 3, 1)
    assert report.largest_clusters[0]["size"] == 4 and report.largest_clusters[0]["examples"][:2] == [
        "a",
        "b",
    ]


def test_zstd_round_trip(tmp_path: Path) -> None:
    zstandard = pytest.importorskip("zstandard")
    source = tmp_path / "in.jsonl.zst"
    source.write_bytes(
        zstandard.ZstdCompressor().compress("".join(json.dumps(d) + "\n" for d in DOCS).encode())
    )
    dedup(source, tmp_path / "out.jsonl.zst", params=PARAMS)
    with zstandard.ZstdDecompressor().stream_reader(
        open(tmp_path / "out.jsonl.zst", "rb"), closefd=True
    ) as f:
        assert [json.loads(line)["id"] for line in f.read().decode().splitlines()] == ["a", "c", "f"]


def test_parquet_round_trip_and_annotation(tmp_path: Path) -> None:
    source = tmp_path / "in.parquet"
    pq.write_table(
        pa.Table.from_pylist([{k: v for k, v in d.items() if k != "nested"} for d in DOCS]), source
    )
    dedup(source, tmp_path / "out.parquet", params=PARAMS, keep="score")
    kept = pq.read_table(tmp_path / "out.parquet").to_pylist()
    assert [d["id"] for d in kept] == ["b", "c", "f"]
    assert kept[0] == {k: v for k, v in DOCS[1].items() if k != "nested"} | {"lang": None}
    dedup(source, tmp_path / "all.parquet", params=PARAMS, annotate=True, keep="score")
    rows = pq.read_table(tmp_path / "all.parquet").to_pylist()
    assert [r["duplicate_of"] for r in rows] == ["b", None, None, "b", "b", None]
    assert [r["cluster_size"] for r in rows] == [4, 4, 1, 4, 4, 1]
    assert len({r["cluster_id"] for r in rows}) == 3


@pytest.mark.parametrize(
    ("keep", "max_copies", "expected"),
    [
        ("first", 1, "acf"),
        ("longest", 1, "cdf"),
        ("shortest", 1, "bcf"),
        ("score", 1, "bcf"),
        ("score", 2, "bcef"),
    ],
)
def test_keep_policies(tmp_path: Path, keep: str, max_copies: int, expected: str) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", DOCS)
    dedup(source, tmp_path / "out.jsonl", params=PARAMS, keep=keep, max_copies=max_copies)
    assert "".join(d["id"] for d in read_jsonl(tmp_path / "out.jsonl")) == expected


def test_annotation_fields(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", DOCS)
    dedup(source, tmp_path / "out.jsonl", params=PARAMS, annotate=True)
    rows = read_jsonl(tmp_path / "out.jsonl")
    assert [(r["cluster_id"], r["cluster_size"], r["duplicate_of"]) for r in rows] == [
        (0, 4, None), (0, 4, "a"), (2, 1, None), (0, 4, "a"), (0, 4, "a"), (5, 1, None),
    ]  # fmt: skip
    assert {k: v for k, v in rows[1].items() if k in DOCS[1]} == DOCS[1]


def test_reference_mode_names_the_reference_document(tmp_path: Path) -> None:
    reference = write_jsonl(tmp_path / "ref.jsonl", [
        {"id": "ref-river", "text": edited(OTHER, "stream")},
        {"id": "ref-compiler", "text": THIRD},
        {"id": "ref-unrelated", "text": "nothing here resembles any input document at all whatsoever"},
    ])  # fmt: skip
    source = write_jsonl(tmp_path / "in.jsonl", DOCS)
    report = dedup(source, tmp_path / "out.jsonl", params=PARAMS, reference=reference, annotate=True)
    rows = {r["id"]: r["duplicate_of"] for r in read_jsonl(tmp_path / "out.jsonl")}
    assert rows == {"a": None, "b": "a", "c": "ref-river", "d": "a", "e": "a", "f": "ref-compiler"}
    assert (report.reference_documents, report.reference_matches) == (3, 2)
    dedup(source, tmp_path / "dropped.jsonl", params=PARAMS, reference=reference)
    assert [d["id"] for d in read_jsonl(tmp_path / "dropped.jsonl")] == ["a"]


def test_exact_copies_of_a_document_share_its_reference_match(tmp_path: Path) -> None:
    reference = write_jsonl(tmp_path / "ref.jsonl", [{"id": "ref", "text": edited(OTHER, "stream")}])
    docs = [{"id": "x", "text": OTHER}, {"id": "y", "text": OTHER}, {"id": "z", "text": THIRD}]
    source = write_jsonl(tmp_path / "in.jsonl", docs)
    dedup(source, tmp_path / "out.jsonl", params=PARAMS, reference=reference, annotate=True)
    assert [r["duplicate_of"] for r in read_jsonl(tmp_path / "out.jsonl")] == ["ref", "ref", None]


def test_directories_map_to_an_output_directory(tmp_path: Path) -> None:
    (tmp_path / "in" / "sub").mkdir(parents=True)
    write_jsonl(tmp_path / "in" / "one.jsonl", DOCS[:3])
    write_jsonl(tmp_path / "in" / "sub" / "two.jsonl.gz", DOCS[3:])
    (tmp_path / "in" / "settings.json").write_text('{\n  "not": "documents"\n}\n')  # skipped in a directory
    dedup(tmp_path / "in", tmp_path / "out", params=PARAMS)
    assert [d["id"] for d in read_jsonl(tmp_path / "out" / "one.jsonl")] == ["a", "c"]
    assert [d["id"] for d in read_jsonl(tmp_path / "out" / "sub" / "two.jsonl.gz")] == ["f"]
    (tmp_path / "in" / "notes.txt").write_text("not a corpus file")
    dedup(str(tmp_path / "in" / "*"), tmp_path / "globbed", params=PARAMS)  # files of other formats skipped
    assert [d["id"] for d in read_jsonl(tmp_path / "globbed" / "one.jsonl")] == ["a", "c"]


def test_a_failure_mid_write_leaves_no_partial_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "in").mkdir()
    write_jsonl(tmp_path / "in" / "one.jsonl", DOCS[:3])
    write_jsonl(tmp_path / "in" / "two.jsonl", DOCS[3:])
    out = tmp_path / "out"
    out.mkdir()
    (out / "one.jsonl").write_text("old\n")
    real = dedup_formats.write_jsonl
    calls = []

    def failing(*args: Any) -> int:
        calls.append(1)
        if len(calls) == 2:  # the second file, after the first is complete
            args[4].write(b'{"half": ')
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(dedup_formats, "write_jsonl", failing)
    with pytest.raises(KeyboardInterrupt):
        dedup(tmp_path / "in", out, params=PARAMS)
    assert sorted(p.name for p in out.iterdir()) == ["one.jsonl"]
    assert (out / "one.jsonl").read_text() == "old\n"


def test_bad_input_is_a_typed_error_naming_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "fine"}\n\n{"text": 1}\n')
    with pytest.raises(InputError, match=r"bad\.jsonl:3: no string field 'text'"):
        dedup(bad)
    bad.write_text('{"text": "fine"}\n{oops\n')
    with pytest.raises(InputError, match=r"bad\.jsonl:2: invalid JSON"):
        dedup(bad)
    source = write_jsonl(tmp_path / "in.jsonl", DOCS)
    with pytest.raises(KeepFieldError, match="'quality'"):
        dedup(source, keep="quality")
    with pytest.raises(InputError, match="format"):
        dedup(source, tmp_path / "out.parquet")


def test_cli_dedup_writes_output_and_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", DOCS)
    out, report = tmp_path / "out.jsonl", tmp_path / "report.json"
    argv = ["dedup", str(source), "-o", str(out), "--threshold", "0.6", "--report", str(report)]
    assert main([*argv, "--keep", "longest", "--scheme", "affine32"]) == 0
    assert [d["id"] for d in read_jsonl(out)] == ["c", "d", "f"]
    data = json.loads(report.read_text())
    assert data["removed_fraction"] == 0.5 and data["parameters"]["keep"] == "longest"
    assert {"read_and_sign", "cluster", "write"} <= data["timings"].keys()
    assert report.with_suffix(".png").read_bytes().startswith(b"\x89PNG")  # matplotlib is a test dependency
    assert "3 removed (50.0%)" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("lines", "extra", "message"),
    [
        ('{"text": "a"}\n{bad\n', [], "bad.jsonl:2: invalid JSON"),
        ('{"body": "a"}\n', [], "bad.jsonl:1: no string field 'text'"),
        ('{"text": "a"}\n', ["--keep", "quality"], "keep field 'quality'"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(
    tmp_path: Path, lines: str, extra: list[str], message: str
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(lines)
    result = subprocess.run(
        [sys.executable, "-m", "nearcopy", "dedup", str(bad), "-o", str(tmp_path / "o.jsonl"), *extra],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert not (tmp_path / "o.jsonl").exists()


def test_language_field_makes_code_documents(tmp_path: Path) -> None:
    a = "def total(items):\n    acc = 0\n    for it in items:\n        acc += it.price * 2\n    return acc\n"
    b = "def grand(xs):\n    s = 10\n    for x in xs:\n        s += x.price*3\n    return s\n"
    docs = [
        {"id": "a", "text": a, "language": "py"},
        {"id": "b", "text": b, "language": "python"},
        {"id": "c", "text": a + "# c\n", "language": "en"},
        {"id": "d", "text": b + "# d\n", "language": "en"},
    ]
    source = write_jsonl(tmp_path / "in.jsonl", docs)
    params = Params(threshold=0.9, code_ngram=5)
    dedup(source, tmp_path / "out.jsonl", params=params)
    assert [d["id"] for d in read_jsonl(tmp_path / "out.jsonl")] == ["a", "c", "d"]  # "en" is prose
    dedup(source, tmp_path / "code.jsonl", params=params, code="python")
    assert [d["id"] for d in read_jsonl(tmp_path / "code.jsonl")] == ["a"]  # comments are not code


def test_empty_input_gives_an_empty_output(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text("\n\n")
    report = dedup(source, tmp_path / "out.jsonl", report=tmp_path / "report.json")
    assert (tmp_path / "out.jsonl").read_bytes() == b"" and report.documents == 0
    assert "cluster sizes: none" in report.summary()
