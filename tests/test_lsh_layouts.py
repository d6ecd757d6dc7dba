"""The LSH benchmark's equal-recall layouts (``benchsuite/lsh_layouts.py``): a layout's recall is
computed from the true pairs' equal slots, which is exact only if an index's raw candidates are
the pairs with one band of contiguous equal slots among its first ``bands * rows``. Checked here
against a slow reference and against real indexes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from nearcopy.benchsuite.lsh_layouts import (
    NUM_PERM,
    equal_slots,
    fewest_bands,
    layout_recall,
    layouts_at_recall,
)
from nearcopy.lsh_index import LSHIndex


def slow_recall(equal: np.ndarray, bands: int, rows: int) -> float:
    if len(equal) == 0:
        return 1.0
    found = 0
    for pair in equal.tolist():
        found += any(all(pair[b * rows : (b + 1) * rows]) for b in range(bands))
    return found / len(equal)


def planted(seed: int, pairs: int, keep: float) -> np.ndarray:
    """Slot-equality rows of pairs that agree on each slot with probability ``keep``."""
    return np.random.default_rng(seed).random((pairs, NUM_PERM)) < keep


@settings(max_examples=40, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    st.integers(0, 60),
    st.floats(0.3, 0.95),
    st.integers(1, NUM_PERM),
    st.data(),
)
def test_layout_recall_is_the_share_of_pairs_with_one_band_all_equal(
    seed: int, pairs: int, keep: float, rows: int, data: st.DataObject
) -> None:
    equal = planted(seed, pairs, keep)
    bands = data.draw(st.integers(1, NUM_PERM // rows))
    assert layout_recall(equal, bands, rows) == slow_recall(equal, bands, rows)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(0.4, 0.95), st.integers(1, 20), st.floats(0.3, 1.0))
def test_fewest_bands_is_the_first_that_reaches_the_recall(
    seed: int, keep: float, rows: int, wanted: float
) -> None:
    equal = planted(seed, 80, keep)
    bands = fewest_bands(equal, rows, wanted)
    recalls = [slow_recall(equal, b, rows) for b in range(1, NUM_PERM // rows + 1)]
    reaching = [b for b, r in enumerate(recalls, start=1) if r >= wanted]
    assert bands == (reaching[0] if reaching else None)


def test_layouts_at_recall_take_the_most_rows_first_each_with_its_fewest_bands() -> None:
    equal = planted(7, 300, 0.8)
    chosen = layouts_at_recall(equal, 0.6)
    assert [c["rows"] for c in chosen] == sorted((c["rows"] for c in chosen), reverse=True)
    assert len(chosen) == 3
    for c in chosen:
        assert c["predicted_recall"] >= 0.6
        assert c["bands"] == 1 or layout_recall(equal, c["bands"] - 1, c["rows"]) < 0.6
    more_rows = chosen[0]["rows"] + 1
    assert fewest_bands(equal, more_rows, 0.6) is None, "a layout with more rows was skipped"


def test_an_indexs_raw_candidates_find_the_true_pairs_the_prediction_says(tmp_path: Path) -> None:
    """Real indexes of ``fast``-scheme-shaped signatures: each query a copy of one document with a
    share of its slots changed; the recall of the index's raw candidates over those pairs is the
    predicted one, for layouts that use all slots or only the first few."""
    rng = np.random.default_rng(3)
    docs = rng.integers(0, 2**63, size=(400, NUM_PERM), dtype=np.uint64)
    copied = rng.integers(0, 400, size=150)
    queries = docs[copied].copy()
    for q, share in enumerate(rng.uniform(0.05, 0.6, size=150)):
        changed = rng.random(NUM_PERM) < share
        queries[q, changed] = rng.integers(0, 2**63, size=int(changed.sum()), dtype=np.uint64)
    truth = [{int(d): 1.0} for d in copied]
    equal = equal_slots(docs, queries, truth, 0.5)
    for bands, rows in [(32, 4), (5, 7), (1, 3), (9, 13)]:
        index = LSHIndex.create(tmp_path / f"{bands}x{rows}", bands=bands, rows=rows, key_type="int")
        index.insert(np.arange(len(docs)), docs, check_duplicates=False)
        found = index.query(queries, verify=False)
        measured = np.mean([int(d) in set(f.keys.tolist()) for d, f in zip(copied, found)])
        assert measured == layout_recall(equal, bands, rows), (bands, rows)
        assert 0 < measured < 1 or (bands, rows) == (32, 4), "a layout that tells nothing apart"
