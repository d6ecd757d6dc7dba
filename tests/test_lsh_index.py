"""The LSH index as a specification: the candidates datasketch's ``MinHashLSH`` finds, verified
results a brute-force scan agrees with, and insert/remove/contains that survive reopening and merges."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from datasketch import MinHashLSH
from hypothesis import given, settings
from hypothesis import strategies as st
from nearcopy import Scheme, jaccard, minhash, to_datasketch
from nearcopy.lsh import optimal_bands
from nearcopy.lsh_index import LSHIndex
from nearcopy.lsh_segments import MERGE_FACTOR
from nearcopy.lsh_store import DuplicateKeyError, LSHIndexError, MissingKeyError

VOCABULARY = [f"t{i}" for i in range(40)]

documents = st.lists(st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=12), min_size=1, max_size=40)


@settings(max_examples=40, deadline=None)
@given(documents, documents, st.sampled_from(["legacy", "affine32"]), st.sampled_from([0.3, 0.5, 0.8]))
def test_candidates_are_datasketchs_on_the_same_signatures(
    stored: list[list[str]], queries: list[list[str]], scheme: Scheme, threshold: float
) -> None:
    num_perm = 32
    sigs = minhash(stored, num_perm=num_perm, scheme=scheme)
    probes = minhash(queries, num_perm=num_perm, scheme=scheme)
    reference = MinHashLSH(threshold=threshold, num_perm=num_perm)
    for i, lean in enumerate(to_datasketch(sigs, scheme=scheme)):
        reference.insert(f"d{i}", lean)
    with tempfile.TemporaryDirectory() as tmp:
        index = LSHIndex.create(
            Path(tmp) / "lsh",
            num_perm=num_perm,
            scheme=scheme,
            threshold=threshold,
            weights=(0.5, 0.5),
        )
        assert (index.params["bands"], index.params["rows"]) == (reference.b, reference.r)
        index.insert([f"d{i}" for i in range(len(sigs))], sigs)
        found = index.query(probes, verify=False)
        for q, (lean, neighbors) in enumerate(zip(to_datasketch(probes, scheme=scheme), found)):
            assert sorted(neighbors.keys) == sorted(reference.query(lean))
            single = index.query(probes[q], verify=False)  # the short path of one signature
            assert single.keys == neighbors.keys and np.isnan(single.similarity).all()


def _corpus(n: int, seed: int) -> tuple[list[str], np.ndarray]:
    """``n`` documents in families of near-copies (one word changed per copy)."""
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(2000)]
    texts = []
    for _ in range(n // 4):
        base = list(rng.choice(words, size=80))
        texts.append(" ".join(base))
        for _ in range(3):
            copy = list(base)
            copy[int(rng.integers(0, 80))] = str(rng.choice(words))
            texts.append(" ".join(copy))
    return [f"doc{i}" for i in range(len(texts))], minhash(texts, scheme="fast")


@pytest.mark.parametrize("store", ["full", "8bit", "16bit"])
def test_verified_results_are_what_a_scan_of_every_document_finds(tmp_path: Path, store: str) -> None:
    keys, sigs = _corpus(800, 1)
    index = LSHIndex.create(tmp_path / "lsh", threshold=0.7, store=store)
    index.insert(keys, sigs)
    found = index.query(sigs[:100])
    for q, neighbors in enumerate(found):
        estimates = np.asarray(jaccard(sigs, sigs[q]))
        names = set(neighbors.keys)
        # Every document the scan puts well above the threshold is found (LSH may miss one near it)...
        assert {keys[i] for i in np.flatnonzero(estimates >= 0.9)} <= names
        # ...and nothing found is far below it (an 8-bit store estimates within a few slots).
        slack = 0.0 if store == "full" else 0.08
        assert all(estimates[keys.index(k)] >= 0.7 - slack for k in names)
        assert list(neighbors.similarity) == sorted(neighbors.similarity, reverse=True)
        if store == "full":
            assert np.allclose(neighbors.similarity, [estimates[keys.index(k)] for k in neighbors.keys])
    top = index.query(sigs[:100], top_k=2, threshold=0.0)
    assert all(len(n) <= 2 for n in top) and top[0].keys[0] == "doc0"
    single = index.query(sigs[4])
    assert single == found[4] and "doc4" in single.keys


def test_one_signature_in_any_form_gives_the_rows_results(tmp_path: Path) -> None:
    keys, sigs = _corpus(300, 5)
    index = LSHIndex.create(tmp_path / "lsh", threshold=0.6)
    index.insert(keys[:150], sigs[:150])
    index.insert(keys[150:], sigs[150:])  # two segments: candidates from both, each once
    index.remove(["doc3", "doc160"])
    batch = index.query(sigs[:200], threshold=0.3)
    for q in range(0, 200, 7):
        strided = np.repeat(sigs[q], 2)[::2]  # not contiguous: converted, then the short path
        forms = [sigs[q], strided, sigs[q : q + 1][0], sigs[q].copy(order="F")]
        assert all(index.query(f, threshold=0.3) == batch[q] for f in forms)
        top = index.query(sigs[q], threshold=0.3, top_k=3)
        assert list(top) == list(batch[q])[:3]
        raw = index.query(sigs[q], verify=False)
        assert set(batch[q].keys) <= set(raw.keys) and len(set(raw.keys)) == len(raw)
    assert "doc3" not in index.query(sigs[3], verify=False).keys
    with pytest.raises(ValueError, match="are uint64"):
        index.query(sigs[0].astype(np.int64))
    with pytest.raises(ValueError, match="128 slots"):
        index.query(sigs[0][:64])


def test_raw_candidates_are_the_verified_paths_before_it_filters(tmp_path: Path) -> None:
    keys, sigs = _corpus(400, 7)
    index = LSHIndex.create(tmp_path / "lsh", threshold=0.6)
    index.insert(keys[:250], sigs[:250])
    index.insert(keys[250:], sigs[250:])
    index.remove(["doc3", "doc300"])
    probes = np.concatenate([sigs[::9], minhash(["nothing alike at all", "w1 w2 w3 w4 w5 w6"])])
    raw = index.query(probes, verify=False)
    # A threshold of 0 keeps every candidate, estimated: the same documents, ranked.
    estimated = index.query(probes, threshold=0.0)
    verified = index.query(probes)
    assert raw.counts().tolist() == estimated.counts().tolist() and raw.counts().sum() > len(probes)
    for q, probe in enumerate(probes):
        assert set(raw[q].keys) == set(estimated[q].keys) >= set(verified[q].keys)
        assert len(set(raw[q].keys)) == len(raw[q]) and np.isnan(raw[q].similarity).all()
        assert index.query(probe, verify=False).keys == raw[q].keys  # one signature: the same order
    assert "doc3" not in raw[0].keys and "doc0" in raw[0].keys
    # top_k needs the estimates to rank: verified or not, the candidates are estimated then.
    top = index.query(probes, verify=False, top_k=2)
    assert [list(n) for n in top] == [list(n)[:2] for n in estimated]


def test_insert_remove_contains_and_len(tmp_path: Path) -> None:
    keys, sigs = _corpus(200, 2)
    index = LSHIndex.create(tmp_path / "lsh", threshold=0.8)
    index.insert(keys[:100], sigs[:100])
    index.insert(keys[100:], sigs[100:])
    assert len(index) == 200 and "doc7" in index and "doc999" not in index and 7 not in index
    assert index.contains(["doc1", "nope", "doc199"]).tolist() == [True, False, True]
    with pytest.raises(DuplicateKeyError, match="already in the index: 'doc5'"):
        index.insert(["new", "doc5"], sigs[:2])
    with pytest.raises(DuplicateKeyError, match="given twice"):
        index.insert(["x", "x"], sigs[:2])
    assert len(index) == 200 and "new" not in index, "a refused insert inserts nothing"
    with pytest.raises(MissingKeyError, match="'gone'"):
        index.remove(["doc3", "gone"])
    assert "doc3" in index, "a refused removal removes nothing"
    assert index.remove(["doc3", "doc150", "gone"], missing="ignore") == 2
    assert len(index) == 198 and "doc3" not in index
    assert "doc3" not in index.query(sigs[3], threshold=0.0).keys
    index.insert(["doc3"], sigs[3:4])  # a removed key may come back
    assert "doc3" in index.query(sigs[3]).keys
    reopened = LSHIndex.open(tmp_path / "lsh")
    assert (
        len(reopened) == 199
        and reopened.query(sigs[:50]).counts().tolist() == index.query(sigs[:50]).counts().tolist()
    )


def test_int_keys_and_repeated_keys(tmp_path: Path) -> None:
    _, sigs = _corpus(40, 3)
    index = LSHIndex.create(tmp_path / "lsh", key_type="int", threshold=0.8)
    index.insert(np.arange(40) * 1000, sigs)
    found = index.query(sigs[1])
    assert found.keys.dtype == np.int64 and 1000 in found.keys.tolist()
    assert 39000 in index and "39000" not in index
    with pytest.raises(TypeError, match="int keys"):
        index.insert(["a"], sigs[:1])
    index.insert(np.array([1000]), sigs[5:6], check_duplicates=False)  # key 1000 now names two documents
    assert index.remove([1000]) == 2 and 1000 not in index


def test_row_numbers_as_keys_answer_as_any_int_keys_do(tmp_path: Path) -> None:
    """Keys that are the row numbers (stored as computed, no key column) against the same rows
    under shuffled keys, through inserts in two batches, a merge, removals and a second merge."""
    _, sigs = _corpus(600, 6)
    shuffled = np.random.default_rng(6).permutation(600) + 10**12
    rows = {"in order": np.arange(600) + 5, "shuffled": shuffled}
    indexes = {name: LSHIndex.create(tmp_path / name, key_type="int", threshold=0.7) for name in rows}

    def answers() -> dict[str, list[list[tuple[int, float]]]]:
        out = {}
        for name, index in indexes.items():
            row_of = {int(k): r for r, k in enumerate(rows[name])}
            out[name] = [
                sorted((row_of[int(k)], float(s)) for k, s in zip(found.keys, found.similarity))
                for found in index.query(sigs, threshold=0.6)
            ]
        return out

    for name, index in indexes.items():
        index.insert(rows[name][:250], sigs[:250])
        index.insert(rows[name][250:], sigs[250:])
    first = answers()
    assert first["in order"] == first["shuffled"] and sum(map(len, first["in order"])) > 600
    for index in indexes.values():
        index.merge()
    assert answers() == first
    assert indexes["in order"].info()["bytes"] < indexes["shuffled"].info()["bytes"], "no key column"
    for name, index in indexes.items():
        index.remove(rows[name][100:400:3])
        index.merge()
        index.verify()
    after = answers()
    assert after["in order"] == after["shuffled"] and after != first
    assert 105 not in indexes["in order"] and 104 in indexes["in order"]  # row 100 removed, 99 kept


def test_merges_keep_every_result_and_leave_removed_documents_out(tmp_path: Path) -> None:
    keys, sigs = _corpus(400, 4)
    index = LSHIndex.create(tmp_path / "lsh", threshold=0.7)
    step = 400 // (MERGE_FACTOR + 2)
    for start in range(0, 400, step):
        index.insert(keys[start : start + step], sigs[start : start + step])
    assert index.info()["segments"] < MERGE_FACTOR, "a full tier was merged"
    index.remove(keys[::5])
    before = index.query(sigs, threshold=0.6)
    index.merge()
    info = index.info()
    assert (info["segments"], info["removed"], info["documents"]) == (1, 0, 320)
    after = index.query(sigs, threshold=0.6)
    for b, a in zip(before, after):
        assert sorted(b) == sorted(a)
    index.verify()
    assert len(list((tmp_path / "lsh").glob("*.ncl"))) == 1 and not list((tmp_path / "lsh").glob("*.ncd"))


def test_wrong_signatures_and_parameters_are_refused(tmp_path: Path) -> None:
    index = LSHIndex.create(tmp_path / "lsh", num_perm=64, scheme="affine32")
    with pytest.raises(ValueError, match="64 slots"):
        index.query(np.zeros(128, dtype=np.uint32))
    with pytest.raises(ValueError, match="uint32"):
        index.query(np.zeros(64, dtype=np.uint64))
    with pytest.raises(ValueError, match="3 keys for 2"):
        index.insert(["a", "b", "c"], np.zeros((2, 64), dtype=np.uint32))
    with pytest.raises(ValueError, match="store"):
        LSHIndex.create(tmp_path / "x", store="4bit")
    with pytest.raises(ValueError, match="bands of"):
        LSHIndex.create(tmp_path / "y", bands=20, rows=20)
    with pytest.raises(FileExistsError):
        LSHIndex.create(tmp_path / "lsh")
    with pytest.raises(LSHIndexError, match="not a nearcopy LSH index"):
        LSHIndex.open(tmp_path / "nothing")
    assert optimal_bands(0.8, 64, 0.1, 0.9) == (index.params["bands"], index.params["rows"])
