"""Containment queries of the LSH index as a specification: the results a slot-by-slot scan of the
stored signatures gives (hypothesis), short passages found inside long documents, the answers
unchanged by reopening, merging and removing, and indexes without set sizes refused by type."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nearcopy import ContainmentUnsupportedError, LSHIndex, minhash, shingles
from nearcopy.cli import main
from nearcopy.lsh_shards import LSHShards
from nearcopy.lsh_store import LSHIndexError

VOCABULARY = [f"t{i}" for i in range(60)]
NUM_PERM = 32
token_lists = st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=40)


def binomial_cdf(m: int, n: int, p: float) -> float:
    return sum(math.comb(n, j) * p**j * (1 - p) ** (n - j) for j in range(m + 1))


def reference(
    stored: np.ndarray, sizes: list[int], query: np.ndarray, q: int, threshold: float, boundary_recall: float
) -> dict[int, float]:
    """Every stored row agreeing with the query on a slot, its containment estimated from the share
    of agreeing slots and the two set sizes, kept when a document holding exactly ``threshold`` of
    the query agrees on at most as many slots with probability above ``1 - boundary_recall``."""
    found = {}
    for doc, (row, x) in enumerate(zip(stored, sizes)):
        shared = int((row == query).sum())
        if not shared:
            continue
        j = shared / NUM_PERM
        estimate = min(j * (q + x) / ((1 + j) * q), 1.0, x / q)
        at_threshold = threshold * q / (q + x - threshold * q)
        possible = threshold * q <= x
        if possible and binomial_cdf(shared, NUM_PERM, min(at_threshold, 1.0)) > 1 - boundary_recall:
            found[doc] = estimate
    return found


@settings(max_examples=40, deadline=None)
@given(
    st.lists(token_lists, min_size=1, max_size=30),
    st.lists(token_lists, min_size=1, max_size=8),
    st.sampled_from([0.3, 0.5, 0.8]),
    st.sampled_from([0.5, 0.8]),
)
def test_results_are_the_slot_by_slot_reference(
    tmp_path_factory: pytest.TempPathFactory,
    stored: list[list[str]],
    queries: list[list[str]],
    threshold: float,
    boundary_recall: float,
) -> None:
    sigs, probes = minhash(stored, num_perm=NUM_PERM), minhash(queries, num_perm=NUM_PERM)
    sizes, q_sizes = [len(set(d)) for d in stored], [len(set(d)) for d in queries]
    index = LSHIndex.create(
        tmp_path_factory.mktemp("c") / "lsh", num_perm=NUM_PERM, threshold=threshold, key_type="int",
        containment=True,
    )  # fmt: skip
    index.insert(np.arange(len(stored)), sigs, sizes=sizes)
    found = index.query_containment(probes, q_sizes, boundary_recall=boundary_recall)
    for probe, q, neighbors in zip(probes, q_sizes, found):
        want = reference(sigs, sizes, probe, q, threshold, boundary_recall)
        assert sorted(neighbors.keys.tolist()) == sorted(want)
        assert neighbors.similarity.tolist() == sorted(neighbors.similarity.tolist(), reverse=True)
        for key, estimate in neighbors:
            assert estimate == pytest.approx(want[int(key)], abs=1e-9)
    # Unverified: every row agreeing on a slot.
    for probe, neighbors in zip(probes, index.query_containment(probes, q_sizes, verify=False)):
        assert sorted(neighbors.keys.tolist()) == sorted(np.flatnonzero((sigs == probe).any(axis=1)).tolist())


def _long_documents(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(5000)]
    return [" ".join(rng.choice(words, size=400)) for _ in range(n)]


def test_short_passages_are_found_inside_long_documents_and_survive_reopening(tmp_path: Path) -> None:
    docs = _long_documents(60, 1)
    passages = [" ".join(d.split()[100:160]) for d in docs[:20]]  # 60 words of documents 0..19
    sizes = [len(set(shingles(d))) for d in docs]
    path = tmp_path / "within.lsh"
    index = LSHIndex.create(path, threshold=0.5, containment=True)
    assert (index.params["bands"], index.params["rows"], index.containment) == (128, 1, True)
    keys = [f"d{i}" for i in range(60)]
    index.insert(keys[:30], minhash(docs[:30]), sizes=sizes[:30])
    index.insert(keys[30:], minhash(docs[30:]), sizes=sizes[30:])  # a second segment
    q_sizes = [len(set(shingles(p))) for p in passages]
    found = index.query_containment(minhash(passages), q_sizes)
    # The Jaccard similarity of a passage with its document is about 56 / 396: far below any
    # Jaccard index's reach, yet the document comes first, held about whole.
    for i, neighbors in enumerate(found):
        assert neighbors.keys[0] == f"d{i}"
        assert neighbors.similarity[0] > 0.6
        assert set(neighbors.keys) <= {f"d{i}"}  # the other documents share no passage
    assert len(LSHIndex.create(tmp_path / "jaccard.lsh", threshold=0.5).path.name) > 0
    reopened = LSHIndex.open(path)
    assert [n.keys for n in reopened.query_containment(minhash(passages), q_sizes)] == [n.keys for n in found]
    one = reopened.query_containment(minhash(passages[:1])[0], q_sizes[0], top_k=1)
    assert one.keys == ["d0"] and one.similarity.dtype == np.float64
    reopened.remove(["d0"])
    reopened.merge()
    assert reopened.info()["segments"] == 1 and "set_sizes" in reopened.info()["columns"]
    after = reopened.query_containment(minhash(passages), q_sizes)
    assert "d0" not in after[0].keys
    assert [n.keys for n in after[1:]] == [n.keys for n in found[1:]]
    reopened.verify()


def test_indexes_without_set_sizes_are_refused_by_type(tmp_path: Path) -> None:
    docs = _long_documents(4, 2)
    sigs, sizes = minhash(docs), [len(set(shingles(d))) for d in docs]
    plain = LSHIndex.create(tmp_path / "plain.lsh")
    plain.insert(["a", "b", "c", "d"], sigs)
    reopened = LSHIndex.open(tmp_path / "plain.lsh")  # opens unchanged, Jaccard queries as before
    assert reopened.query(sigs[0]).keys == ["a"] and not reopened.containment
    with pytest.raises(ContainmentUnsupportedError, match="records no set sizes"):
        reopened.query_containment(sigs, sizes)
    with pytest.raises(ContainmentUnsupportedError):
        reopened.insert(["e"], sigs[:1], sizes=sizes[:1])
    within = LSHIndex.create(tmp_path / "within.lsh", containment=True)
    with pytest.raises(ValueError, match="needs sizes"):
        within.insert(["a"], sigs[:1])
    with pytest.raises(ValueError, match="one set size per signature"):
        within.insert(["a", "b"], sigs[:2], sizes=[3])
    with pytest.raises(TypeError, match="integers"):
        within.insert(["a"], sigs[:1], sizes=[2.5])
    with pytest.raises(ValueError, match="between 0 and 2"):
        within.insert(["a"], sigs[:1], sizes=[-1])
    assert len(within) == 0  # nothing refused went in
    with pytest.raises(ValueError, match="rows=1"):
        LSHIndex.create(tmp_path / "banded.lsh", containment=True, bands=16, rows=8)
    with pytest.raises(ValueError, match="boundary_recall"):
        within.query_containment(sigs, sizes, boundary_recall=2.0)
    # A manifest claiming set sizes with banded tables is damage, not a containment index.
    manifest_path = tmp_path / "within.lsh" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["params"]["rows"] = 2
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(LSHIndexError):
        LSHIndex.open(tmp_path / "within.lsh")


def test_the_command_line_builds_adds_and_queries_by_containment(tmp_path: Path) -> None:
    docs = _long_documents(30, 3)
    corpus, more, queries = tmp_path / "docs.jsonl", tmp_path / "more.jsonl", tmp_path / "q.jsonl"
    corpus.write_text("".join(json.dumps({"id": f"d{i}", "text": d}) + "\n" for i, d in enumerate(docs[:20])))
    more.write_text(
        "".join(json.dumps({"id": f"d{i}", "text": d}) + "\n" for i, d in enumerate(docs) if i >= 20)
    )
    passages = [" ".join(d.split()[50:110]) for d in docs]
    queries.write_text("".join(json.dumps({"id": f"q{i}", "text": p}) + "\n" for i, p in enumerate(passages)))
    index = tmp_path / "within.lsh"
    assert main(["lsh", "build", str(corpus), "-o", str(index), "--containment", "--threshold", "0.5"]) == 0
    assert main(["lsh", "add", str(index), str(more)]) == 0
    out = tmp_path / "found.jsonl"
    assert main(["lsh", "query", str(index), str(queries), "--containment", "0.5", "-o", str(out)]) == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["id"] for line in lines] == [f"q{i}" for i in range(30)]
    assert all(line["matches"][0]["key"] == f"d{i}" for i, line in enumerate(lines))
    assert all(0.6 < line["matches"][0]["containment"] <= 1.0 for line in lines)
    # The same passages against a Jaccard index: exit 2, one line on stderr naming the index.
    plain = tmp_path / "plain.lsh"
    assert main(["lsh", "build", str(corpus), "-o", str(plain)]) == 0
    refused = subprocess.run(
        [sys.executable, "-m", "nearcopy", "lsh", "query", str(plain), str(queries), "--containment", "0.5"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.count("\n") == 1 and "records no set sizes" in refused.stderr
    assert (
        main(["lsh", "query", str(index), str(queries), "--containment", "0.5", "--shard", str(plain)]) == 2
    )
    assert (
        main(["lsh", "build", str(corpus), "-o", str(tmp_path / "x.lsh"), "--containment", "--rows", "2"])
        == 2
    )


def test_shards_answer_as_one_index(tmp_path: Path) -> None:
    docs = _long_documents(40, 4)
    passages = [" ".join(d.split()[200:260]) for d in docs]
    sizes, q_sizes = [len(set(shingles(d))) for d in docs], [len(set(shingles(p))) for p in passages]
    whole = LSHIndex.create(tmp_path / "whole.lsh", threshold=0.5, containment=True)
    whole.insert([f"d{i}" for i in range(40)], minhash(docs), sizes=sizes)
    for n in range(2):
        shard = LSHIndex.create(tmp_path / f"shard-{n}.lsh", threshold=0.5, containment=True)
        part = range(n * 20, n * 20 + 20)
        shard.insert(
            [f"d{i}" for i in part], minhash([docs[i] for i in part]), sizes=[sizes[i] for i in part]
        )
    shards = LSHShards([tmp_path / "shard-0.lsh", tmp_path / "shard-1.lsh"])
    probes = minhash(passages)
    assert [list(n) for n in shards.query_containment(probes, q_sizes)] == [
        list(n) for n in whole.query_containment(probes, q_sizes)
    ]
    assert shards.query_containment(probes[5], q_sizes[5], top_k=1).keys == ["d5"]
    plain = LSHIndex.create(tmp_path / "plain.lsh")
    plain.insert(["x"], probes[:1])
    with pytest.raises(ContainmentUnsupportedError):
        LSHShards([tmp_path / "shard-0.lsh", tmp_path / "plain.lsh"]).query_containment(probes, q_sizes)


def test_the_datasketch_shaped_ensemble_finds_what_datasketch_finds(tmp_path: Path) -> None:
    import datasketch
    from nearcopy.lsh_ensemble_compat import MinHashLSHEnsemble

    def sketch(text: str) -> datasketch.MinHash:
        m = datasketch.MinHash(num_perm=128)
        m.update_batch([s.encode() for s in shingles(text)])
        return m

    docs = _long_documents(30, 5)
    entries = [(f"d{i}", sketch(d), len(set(shingles(d)))) for i, d in enumerate(docs)]
    theirs = datasketch.MinHashLSHEnsemble(threshold=0.5, num_perm=128)
    theirs.index(entries)
    ours = MinHashLSHEnsemble(threshold=0.5, num_perm=128, path=str(tmp_path / "within.lsh"))
    assert ours.is_empty()
    ours.index(entries)
    assert "d3" in ours and "d99" not in ours and not ours.is_empty()
    for i, d in enumerate(docs):
        passage = " ".join(d.split()[300:360])
        m, size = sketch(passage), len(set(shingles(passage)))
        assert f"d{i}" in set(theirs.query(m, size))
        assert list(ours.query(m, size)) == [f"d{i}"]  # verified: the other documents hold none of it
    reopened = LSHIndex.open(tmp_path / "within.lsh")
    assert reopened.containment and reopened.params["scheme"] == "affine32" and len(reopened) == 30
