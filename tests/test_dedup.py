"""Dedup stages against slow, obviously correct references: brute-force band collisions, all-pairs
signature agreement, connected components by relaxation; and invariance of the clusters to the
partition count, memory limit and thread count."""

from __future__ import annotations

import itertools
import json
import math
import tempfile
from pathlib import Path

import numpy as np
import pytest
from datasketch import MinHash, MinHashLSH
from hypothesis import given, settings
from hypothesis import strategies as st
from nearcopy import TextOptions, _core, shingles
from nearcopy.neardup import Params, cluster, clustering, dedup, spill
from nearcopy.neardup.stages import UnionFind, band_keys, candidate_pairs, decide, exact_groups, verified
from nearcopy.neardup.stages import signatures as sign

WORDS = ["red", "green", "blue", "cyan", "gold", "gray", "pink", "teal"]


def reference_clusters(sigs: np.ndarray, params: Params) -> np.ndarray:
    """Components of pairs that share a band and agree on >= threshold of slots; label = smallest doc."""
    n, rows = len(sigs), params.row_count
    label = np.arange(n)
    need = np.ceil(params.threshold * params.num_perm - 1e-9)
    for i, j in itertools.combinations(range(n), 2):
        share = any(
            (sigs[i, b * rows : (b + 1) * rows] == sigs[j, b * rows : (b + 1) * rows]).all()
            for b in range(params.band_count)
        )
        if share and np.count_nonzero(sigs[i] == sigs[j]) >= need:
            low, high = sorted((label[i], label[j]))
            label[label == high] = low
    return label


corpora = st.lists(
    st.lists(st.sampled_from(WORDS), min_size=0, max_size=12).map(" ".join), min_size=1, max_size=30
)


@given(corpora, st.sampled_from([(4, 2), (8, 1), (2, 4), (3, 3)]), st.sampled_from([0.3, 0.5, 0.75]))
@settings(max_examples=60)
def test_clusters_equal_components_of_verified_band_collisions(
    texts: list[str], shape: tuple[int, int], threshold: float
) -> None:
    bands, rows = shape
    params = Params(threshold, 12, bands, rows, text=TextOptions(ngram=2), max_group=10_000)
    sigs = sign(texts, [None] * len(texts), params)
    decisions = cluster(texts, params)
    np.testing.assert_array_equal(decisions.cluster, reference_clusters(sigs, params))
    sizes = np.bincount(decisions.cluster.astype(int), minlength=len(texts))
    np.testing.assert_array_equal(decisions.size, sizes[decisions.cluster.astype(int)])
    # One copy kept per cluster, the first; the others point at it.
    kept = decisions.keep
    assert kept.sum() == len(np.unique(decisions.cluster))
    assert (decisions.duplicate_of[~kept] == decisions.cluster[~kept].astype(int)).all()


@given(st.lists(st.tuples(st.integers(0, 19), st.integers(0, 19)), max_size=40), st.integers(1, 4))
def test_union_find_in_pieces_gives_the_components(edges: list[tuple[int, int]], pieces: int) -> None:
    uf = UnionFind(20)
    pairs = np.array(edges, dtype=np.uint64).reshape(-1, 2)
    for part in np.array_split(pairs, pieces):
        uf.union(uf.unconnected(part))
    label = np.arange(20)
    for _ in range(20):
        for a, b in edges:
            label[a] = label[b] = min(label[a], label[b])
    np.testing.assert_array_equal(uf.roots(), label)


def test_verification_is_exact_at_the_threshold() -> None:
    params = Params(threshold=0.5, num_perm=4, bands=1, rows=4)
    sigs = np.array([[1, 2, 3, 4], [1, 2, 0, 0], [1, 0, 0, 0]], dtype=np.uint64)
    pairs = np.array([[0, 1], [0, 2]], dtype=np.uint64)
    good, similarity = verified(pairs, params, sigs=sigs)
    assert good.tolist() == [[0, 1]] and similarity.tolist() == [0.5]


def test_exact_groups_prefer_the_given_documents() -> None:
    hashes = _core.dedup_content_hashes(["a", "b", "a", "a", "b"])
    rep, is_rep = exact_groups(hashes)
    assert rep.tolist() == [0, 1, 0, 0, 1] and is_rep.tolist() == [True, True, False, False, False]
    rep, _ = exact_groups(hashes, prefer=np.array([False, False, False, True, False]))
    assert rep.tolist() == [3, 1, 3, 3, 1]


def test_keep_policies_and_max_copies() -> None:
    roots = np.array([0, 0, 0, 3, 0], dtype=np.uint64)
    priority = np.array([1.0, 5.0, np.nan, 2.0, 5.0])
    d = decide(roots, priority, max_copies=2)
    assert d.keep.tolist() == [False, True, False, True, True]
    assert d.duplicate_of.tolist() == [1, -1, 1, -1, -1]
    assert d.size.tolist() == [4, 4, 4, 1, 4]
    matched = np.array([-1, 0, -1, -1, -1])
    d = decide(roots, priority, max_copies=1, reference_match=matched)
    assert d.keep.tolist() == [False, False, False, True, True]
    assert d.duplicate_of.tolist() == [4, 5, 4, -1, -1]  # 5 = n + reference 0


def numpy_exact_groups(hashes: np.ndarray, prefer: np.ndarray) -> np.ndarray:
    """The reference: a lexsort by hash, preferred documents first, then document."""
    n = len(hashes)
    rep = np.arange(n, dtype=np.uint64)
    if n == 0:
        return rep
    order = np.lexsort((np.arange(n), ~prefer, hashes[:, 1], hashes[:, 0]))
    sorted_hashes = hashes[order]
    starts = np.r_[True, np.any(sorted_hashes[1:] != sorted_hashes[:-1], axis=1)]
    rep[order] = order[np.maximum.accumulate(np.where(starts, np.arange(n), 0))]
    return rep


def numpy_decide(
    roots: np.ndarray, priority: np.ndarray, k: int, matched: np.ndarray
) -> tuple[list[int], list[bool], list[int]]:
    """The reference: a lexsort by cluster, matched last, NaN last, priority descending, document."""
    n = len(roots)
    index = np.arange(n)
    is_matched, is_nan = matched >= 0, np.isnan(priority)
    order = np.lexsort((index, -np.where(is_nan, 0.0, priority), is_nan, is_matched, roots))
    sorted_roots = roots[order]
    starts = np.r_[True, sorted_roots[1:] != sorted_roots[:-1]]
    first = np.maximum.accumulate(np.where(starts, index, 0))
    rank, best = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    rank[order], best[order] = index - first, order[first]
    keep = (rank < k) & ~is_matched
    duplicate_of = np.where(is_matched, n + matched, np.where(keep, -1, best))
    size = np.bincount(roots.astype(np.int64), minlength=n)[roots.astype(np.int64)]
    return size.tolist(), keep.tolist(), duplicate_of.tolist()


@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 1), st.booleans()), max_size=40))
def test_exact_groups_equal_the_numpy_reference(rows: list[tuple[int, int, bool]]) -> None:
    hashes = np.array([r[:2] for r in rows], dtype=np.uint64).reshape(-1, 2)
    prefer = np.array([r[2] for r in rows], dtype=bool)
    for threads in (1, 2):
        rep, is_rep = exact_groups(hashes, prefer, num_threads=threads)
        assert rep.tolist() == numpy_exact_groups(hashes, prefer).tolist()
        assert is_rep.tolist() == (rep == np.arange(len(rows))).tolist()


priorities = st.sampled_from([0.0, -0.0, 1.5, -2.0, math.nan, math.inf, -math.inf])


@given(
    st.lists(st.tuples(st.integers(0, 7), priorities, st.integers(-3, 2)), min_size=1, max_size=40),
    st.integers(1, 3),
)
def test_decisions_equal_the_numpy_reference(docs: list[tuple[int, float, int]], k: int) -> None:
    n = len(docs)
    roots = np.array([min(r, n - 1) for r, _, _ in docs], dtype=np.uint64)
    priority = np.array([p for _, p, _ in docs])
    matched = np.array([m for _, _, m in docs], dtype=np.int64)
    for matches in (matched, None):
        d = decide(roots, priority, k, matches)
        reference = numpy_decide(roots, priority, k, np.full(n, -1) if matches is None else matches)
        assert (d.size.tolist(), d.keep.tolist(), d.duplicate_of.tolist()) == reference


def test_exact_verification_uses_shingle_sets() -> None:
    texts = ["a b c d e f g h", "a b c d e f g x", "a b c d e f g h"]
    # One slot per band: every pair agreeing anywhere is a candidate, so the verification decides.
    params = Params(threshold=0.7, num_perm=64, bands=64, rows=1, text=TextOptions(ngram=1), verify="exact")
    assert cluster(texts, params).cluster.tolist() == [0, 0, 0]  # exact Jaccard 7/9 = 0.78
    strict = Params(threshold=0.8, num_perm=64, bands=64, rows=1, text=TextOptions(ngram=1), verify="exact")
    assert cluster(texts, strict).cluster.tolist() == [0, 1, 0]


def test_code_documents_cluster_through_renaming() -> None:
    a = "def total(items):\n    acc = 0\n    for it in items:\n        acc += it.price * 2\n    return acc\n"
    b = "def grand(xs):\n    s = 10\n    for x in xs:\n        s += x.price*3\n    return s\n"
    params = Params(threshold=0.9, num_perm=64, code_ngram=5)
    assert cluster([a, b], params, languages=["python", "py"]).cluster.tolist() == [0, 0]
    assert cluster([a, b], params).cluster.tolist() == [0, 1]  # as prose they differ


@pytest.mark.parametrize("scheme", ["affine32", "legacy"])
def test_candidates_agree_with_datasketch_minhash_lsh(scheme: str) -> None:
    rng = np.random.default_rng(3)
    texts = [" ".join(rng.choice(WORDS, size=int(rng.integers(3, 14)))) for _ in range(120)]
    params = Params(threshold=0.5, num_perm=32, scheme=scheme, text=TextOptions(ngram=2))  # type: ignore[arg-type]
    sigs = sign(texts, [None] * len(texts), params)
    records, _ = _core.dedup_bucket_records(band_keys(sigs, params), 0, 1)
    ours = {tuple(p) for p in candidate_pairs(records, 10_000).tolist()}
    lsh = MinHashLSH(num_perm=32, params=(params.band_count, params.row_count))
    theirs = set()
    for i, text in enumerate(texts):
        m = MinHash(num_perm=32, seed=1, scheme=scheme)
        m.update_batch([s.encode() for s in shingles(text, params.text)])
        assert (m.hashvalues == sigs[i]).all()
        theirs |= {(int(j), i) for j in lsh.query(m)}
        lsh.insert(i, m)
    assert ours == theirs


def _corpus(path: Path, rng: np.random.Generator, n: int = 150) -> list[str]:
    texts: list[str] = []
    for i in range(n):
        if i > 10 and rng.random() < 0.4:
            words = texts[int(rng.integers(0, len(texts)))].split()
            words[int(rng.integers(0, len(words)))] = "edited"
            texts.append(" ".join(words))
        else:
            texts.append(" ".join(rng.choice(WORDS * 3 + [f"x{i}"], size=40)))
    path.write_text("".join(json.dumps({"id": f"doc{i}", "text": t}) + "\n" for i, t in enumerate(texts)))
    return texts


@pytest.mark.parametrize(
    ("partitions", "memory", "threads", "spilled"),
    [(1, "1G", 1, False), (7, "1M", 2, False), (64, "1M", 1, False), (7, "1M", 1, True)],
)
def test_clusters_do_not_depend_on_partitions_memory_or_threads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, partitions: int, memory: str, threads: int, spilled: bool
) -> None:
    if spilled:  # records priced at 1 MiB each: written to the partition files, loaded one by one
        monkeypatch.setattr(spill, "BYTES_PER_LOADED_RECORD", 1 << 20)
    source = tmp_path / "in.jsonl"
    texts = _corpus(source, np.random.default_rng(1))
    params = Params(threshold=0.7, num_perm=64, max_group=10_000)
    expected = cluster(texts, params)
    out = tmp_path / "out.jsonl"
    dedup(
        source,
        out,
        params=params,
        annotate=True,
        partitions=partitions,
        memory_limit=memory,
        num_threads=threads,
    )
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["cluster_id"] for r in rows] == expected.cluster.tolist()
    assert [r["duplicate_of"] is None for r in rows] == expected.keep.tolist()
    assert expected.keep.sum() < len(texts)


@pytest.mark.parametrize("group_budget", [0, 40 * spill.BYTES_PER_LOADED_RECORD, 1 << 30])
def test_spill_holds_records_in_memory_only_while_they_fit(tmp_path: Path, group_budget: int) -> None:
    # Three batches of 30 records: never held (0), spilled once the second batch arrives (40
    # records' worth), or held to the end (1 GiB); the groups hold the same records every way, each
    # key's records in document order, and no partition file outlives the groups.
    rng = np.random.default_rng(0)
    work = tmp_path / "work"
    work.mkdir()
    store = spill.Spill(work, 8, 4, np.uint64, group_budget=group_budget)
    for _ in range(3):
        store.add(np.zeros((10, 4), dtype=np.uint64), rng.integers(0, 20, size=(10, 3), dtype=np.uint64))
    store.finish()
    written = sorted(p.name for p in work.glob("bucket-*"))
    assert bool(written) == (group_budget < 90 * spill.BYTES_PER_LOADED_RECORD)
    groups = list(store.groups(group_budget or 10 * spill.BYTES_PER_LOADED_RECORD))
    records = np.concatenate(groups)
    assert len(records) == 90
    for key in np.unique(records[:, 0]):
        docs = records[records[:, 0] == key, 1]
        assert (np.diff(docs.astype(np.int64)) >= 0).all()
    assert not list(work.glob("bucket-*"))


@pytest.mark.parametrize("flush_records", [1, 25, 1000])
def test_spilled_records_reach_the_files_in_batch_order_whatever_the_flush_size(
    tmp_path: Path, flush_records: int
) -> None:
    # Once spilling, records are appended in flushes of about `flush_records` (every batch, every
    # few, or only when the groups are read): each partition file then holds its records in batch
    # order, exactly as if every batch had been appended on arrival.
    rng = np.random.default_rng(1)
    work = tmp_path / "work"
    work.mkdir()
    store = spill.Spill(work, 4, 4, np.uint64, group_budget=0)
    store._flush_bytes = flush_records * spill.RECORD_BYTES
    keys_drawn_from = rng.integers(0, 1 << 63, size=12, dtype=np.uint64) * np.uint64(2)
    batches = [rng.choice(keys_drawn_from, size=(7, 3)) for _ in range(9)]
    for keys in batches:
        store.add(np.zeros((len(keys), 4), dtype=np.uint64), keys)
    store.finish()
    arrived = [
        (key, 7 * batch + doc)
        for batch, keys in enumerate(batches)
        for doc, row in enumerate(keys.tolist())
        for key in row
    ]
    in_files = sorted(arrived, key=lambda record: (record[0] * 4) >> 64)  # stable: arrival order kept
    assert np.concatenate(list(store.groups(1 << 30))).tolist() == [list(r) for r in in_files]
    assert not list(work.glob("bucket-*"))


@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 50)), max_size=60), st.integers(1, 8))
def test_key_slices_cover_every_record_and_never_split_a_key(
    records: list[tuple[int, int]], max_pairs: int
) -> None:
    array = np.array(records, dtype=np.uint64).reshape(-1, 2)
    slices = clustering.key_slices(array, 3, max_pairs)
    assert (
        sorted(map(tuple, np.concatenate(slices).tolist())) == sorted(map(tuple, array.tolist()))
        if slices
        else not records
    )
    keys = [set(s[:, 0].tolist()) for s in slices]
    assert all(not (a & b) for a, b in itertools.combinations(keys, 2))


def test_clusters_do_not_depend_on_slicing_of_pairs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "in.jsonl"
    texts = _corpus(source, np.random.default_rng(2))
    params = Params(threshold=0.7, num_perm=64, max_group=10_000)
    real = clustering.key_slices
    monkeypatch.setattr(clustering, "key_slices", lambda r, g, _, threads=None: real(r, g, 5, threads))
    dedup(source, tmp_path / "out.jsonl", params=params, annotate=True)
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [r["cluster_id"] for r in rows] == cluster(texts, params).cluster.tolist()


# Inputs drawn with repeats from a small corpus (exact copies), references edited from it (matches).
input_and_reference = corpora.flatmap(
    lambda base: st.tuples(
        st.lists(st.sampled_from(base), min_size=1, max_size=20),
        st.lists(st.sampled_from(base).map(lambda t: t + " " + WORDS[len(t) % 8]), max_size=8),
    )
)


@given(input_and_reference)
@settings(max_examples=40)
def test_reference_mode_names_the_most_similar_verified_reference(
    corpus: tuple[list[str], list[str]],
) -> None:
    inputs, refs = corpus
    params = Params(0.5, 12, 4, 3, text=TextOptions(ngram=2), max_group=10_000)
    every = inputs + refs
    sigs = sign(every, [None] * len(every), params)
    n = len(inputs)
    expected: list[str | None] = []
    for i in range(n):
        best: tuple[float, int] | None = None
        for r in range(len(refs)):
            a, b = sigs[i], sigs[n + r]
            share = any((a[k * 3 : k * 3 + 3] == b[k * 3 : k * 3 + 3]).all() for k in range(4))
            similarity = float(np.count_nonzero(a == b)) / 12
            if (share and similarity >= 0.5) or every[i] == refs[r]:
                similarity = 1.0 if every[i] == refs[r] else similarity
                if best is None or (-similarity, r) < (-best[0], best[1]):
                    best = (similarity, r)
        expected.append(None if best is None else f"r{best[1]}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "in.jsonl").write_text(
            "".join(json.dumps({"id": f"i{k}", "text": t}) + "\n" for k, t in enumerate(inputs))
        )
        (root / "ref.jsonl").write_text(
            "".join(json.dumps({"id": f"r{k}", "text": t}) + "\n" for k, t in enumerate(refs))
        )
        dedup(
            root / "in.jsonl", root / "out.jsonl", params=params, reference=root / "ref.jsonl", annotate=True
        )
        rows = [json.loads(line) for line in (root / "out.jsonl").read_text().splitlines()]
    got = [
        r["duplicate_of"] if r["duplicate_of"] and r["duplicate_of"].startswith("r") else None for r in rows
    ]
    assert got == expected
