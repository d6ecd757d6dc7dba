"""A reference corpus saved as an index (``save_reference``) stands in for the corpus itself: same
matches, same output, any threshold; indexes signed differently or damaged are refused by name. The
index is an LSH index (``nearcopy.LSHIndex``): one format for both."""

from __future__ import annotations

import fcntl
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from nearcopy import LSHIndex, minhash
from nearcopy.cli import main
from nearcopy.lsh_store import MANIFEST
from nearcopy.neardup import Params, dedup
from nearcopy.neardup.reference_index import ReferenceIndexError, is_reference_index
from nearcopy.neardup.stages import Verify

WORDS = [
    "river",
    "stone",
    "lamp",
    "orchard",
    "violet",
    "harbour",
    "engine",
    "quiet",
    "ledger",
    "copper",
    "meadow",
    "signal",
]


def _texts(rng: np.random.Generator, n: int, tag: str) -> list[str]:
    return [" ".join(rng.choice(WORDS * 3 + [f"{tag}{i}"], size=40)) for i in range(n)]


def _write(path: Path, texts: list[str], prefix: str) -> Path:
    path.write_text(
        "".join(json.dumps({"id": f"{prefix}{i}", "text": t}) + "\n" for i, t in enumerate(texts))
    )
    return path


@pytest.fixture
def corpora(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A reference (benchmarks), a second reference, and an input holding exact and edited copies
    of both beside documents of its own."""
    rng = np.random.default_rng(3)
    bench, licensed = _texts(rng, 40, "b"), _texts(rng, 30, "l")
    mine = _texts(rng, 40, "m")
    copies = [bench[i] for i in range(0, 40, 7)] + [licensed[i] for i in range(0, 30, 5)]
    edited = []
    for text in [bench[i] for i in range(3, 40, 6)] + [licensed[i] for i in range(2, 30, 4)]:
        words = text.split()
        words[int(rng.integers(0, len(words)))] = "edited"
        edited.append(" ".join(words))
    inputs = mine + copies + edited
    order = rng.permutation(len(inputs))
    return (
        _write(tmp_path / "bench.jsonl", bench, "bench-"),
        _write(tmp_path / "licensed.jsonl", licensed, "lic-"),
        _write(tmp_path / "train.jsonl", [inputs[i] for i in order], "train-"),
    )


def _verify(name: str) -> Verify:
    return "exact" if name == "exact" else "signature"


def _annotated(path: Path) -> list[tuple[str, str | None, int]]:
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    return [(r["id"], r["duplicate_of"], r["cluster_size"]) for r in rows]


@pytest.mark.parametrize("verify", ["signature", "exact"])
def test_a_saved_reference_matches_as_the_corpus_does_at_any_threshold(
    tmp_path: Path, corpora: tuple[Path, Path, Path], verify: str
) -> None:
    bench, licensed, train = corpora
    index = tmp_path / "bench.ncref"
    saved = dedup(bench, params=Params(threshold=0.8, verify=_verify(verify)), save_reference=index)
    assert is_reference_index(index) and saved.parameters["saved_reference"] == str(index)
    for threshold in (0.5, 0.8, 0.95):
        params = Params(threshold=threshold, verify=_verify(verify))
        by_index, by_corpus = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
        report = dedup(train, by_index, params=params, reference=[index, licensed], annotate=True)
        dedup(train, by_corpus, params=params, reference=[bench, licensed], annotate=True)
        assert _annotated(by_index) == _annotated(by_corpus)
        assert report.reference_matches > 0 and report.reference_documents == 70
        matched = {m for _, m, _ in _annotated(by_index) if m}
        assert any(m.startswith("bench-") for m in matched) and any(m.startswith("lic-") for m in matched)


def test_indexes_signed_with_other_settings_are_refused_naming_them(
    tmp_path: Path, corpora: tuple[Path, Path, Path]
) -> None:
    bench, _, train = corpora
    index = tmp_path / "bench.ncref"
    dedup(bench, save_reference=index)
    with pytest.raises(ReferenceIndexError, match=r"num_perm 128 \(this run: 64\).*seed 1 \(this run: 7\)"):
        dedup(train, reference=index, params=Params(num_perm=64, seed=7))
    with pytest.raises(ReferenceIndexError, match="without shingle sets"):
        dedup(train, reference=index, params=Params(verify="exact"))
    done = subprocess.run(
        [sys.executable, "-m", "nearcopy", "dedup", str(train), "--reference", str(index), "--ngram", "3"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"nearcopy: error: {index}: signed with other settings: ngram 5 (this run: 3)"
    ]


def _segment(index: Path) -> Path:
    return next(index.glob("lsh-*.ncl"))


def _flip_a_bit(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 1
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: _segment(d).write_bytes(_segment(d).read_bytes()[:-8]), "truncated"),
        (lambda d: _flip_a_bit(_segment(d)), "checksum mismatch"),
        (lambda d: (d / MANIFEST).write_text("{"), "not a readable reference index"),
        (lambda d: (d / MANIFEST).write_text(json.dumps({"format": "other"})), "not a nearcopy LSH index"),
        (lambda d: _edit_manifest(d, version=99), "version 99"),
        (lambda d: _segment(d).unlink(), "not a readable reference index"),
        (lambda d: (d / "nearcopy-reference.json").write_text("{}"), "older format"),
    ],
)
def test_a_damaged_index_is_refused(
    tmp_path: Path, corpora: tuple[Path, Path, Path], damage: Callable[[Path], object], message: str
) -> None:
    bench, _, train = corpora
    index = tmp_path / "bench.ncref"
    dedup(bench, save_reference=index)
    damage(index)
    with pytest.raises(ReferenceIndexError, match=message):
        dedup(train, tmp_path / "out.jsonl", reference=index)
    assert not (tmp_path / "out.jsonl").exists()


def test_a_saved_reference_is_an_lsh_index_and_an_lsh_index_is_a_reference(
    tmp_path: Path, corpora: tuple[Path, Path, Path]
) -> None:
    bench, _, train = corpora
    saved = tmp_path / "bench.ncref"
    dedup(bench, save_reference=saved)
    first = json.loads(bench.read_text().splitlines()[0])
    index = LSHIndex.open(saved)
    assert len(index) == 40 and index.query(minhash([first["text"]])[0]).keys[0] == first["id"]
    built = tmp_path / "built.lsh"
    assert main(["lsh", "build", str(bench), "-o", str(built), "--store", "full"]) == 0
    by_saved, by_built = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    dedup(train, by_saved, reference=saved, annotate=True)
    dedup(train, by_built, reference=built, annotate=True)
    assert _annotated(by_saved) == _annotated(by_built)
    eight_bit = tmp_path / "8bit.lsh"
    assert main(["lsh", "build", str(bench), "-o", str(eight_bit)]) == 0
    with pytest.raises(ReferenceIndexError, match="without full signatures"):
        dedup(train, reference=eight_bit)


def _edit_manifest(index: Path, **changes: object) -> None:
    manifest = json.loads((index / MANIFEST).read_text())
    (index / MANIFEST).write_text(json.dumps({**manifest, **changes}))


def test_saving_again_replaces_the_index_and_a_failed_run_leaves_it(
    tmp_path: Path, corpora: tuple[Path, Path, Path]
) -> None:
    bench, licensed, _ = corpora
    index = tmp_path / "ref.ncref"
    dedup(bench, save_reference=index)
    dedup(licensed, save_reference=index)
    assert LSHIndex.describe(index)["documents"] == 30
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": "x", "text": "fine"}\n{"id": "y", "text": \n')
    with pytest.raises(ValueError, match=r"broken\.jsonl:2"):
        dedup(broken, save_reference=index)
    assert LSHIndex.describe(index)["documents"] == 30
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    (tmp_path / "notes").mkdir()
    with pytest.raises(ValueError, match="not a reference index; not overwritten"):
        dedup(bench, save_reference=tmp_path / "notes")


def test_a_killed_saves_leftover_is_removed_by_the_next_save_and_a_live_ones_is_kept(
    tmp_path: Path, corpora: tuple[Path, Path, Path]
) -> None:
    bench, _, _ = corpora
    dead, live = tmp_path / ".ref.ncref.dead.tmp", tmp_path / ".ref.ncref.live.tmp"
    for leftover in (dead, live):
        leftover.mkdir()
        (leftover / "signatures.bin").write_bytes(b"\0" * 64)
        (leftover / ".lock").write_bytes(b"")
    with open(live / ".lock", "rb") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)  # another run, still saving
        dedup(bench, save_reference=tmp_path / "ref.ncref")
    assert not dead.exists() and live.exists()
    published = sorted(p.name for p in (tmp_path / "ref.ncref").iterdir())
    assert published == [*sorted(p.name for p in (tmp_path / "ref.ncref").glob("lsh-*.ncl")), MANIFEST]
    assert len(published) > 1, "segments and the manifest: no lock, nothing else"
