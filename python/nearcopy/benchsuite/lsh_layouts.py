"""Band layouts at rensa's recall, for the LSH benchmark's equal-recall comparison (``bench_lsh``).

Equal bands are not equal recall. rensa's MinHash and nearcopy's ``fast`` scheme (one-permutation
hashing, densified) give a pair at Jaccard J an equal slot with probability about J each, but not
independently: one-permutation bins partition the shingles, so on a short document a band of r
bins all equal is rarer than J^r (sampling without replacement: 50-300-word windows have 46-296
shingles). At rensa's 32 x 4 nearcopy finds fewer true pairs and fewer false ones. Comparing speed
at equal recall therefore needs, for nearcopy, the layout that reaches rensa's recall.

That layout is found without an index: a raw candidate is a pair with one band of equal slots, and
bands are contiguous runs of a signature's first ``bands * rows`` slots (``lsh/build.rs``), so the
recall of any layout is computed from the true pairs' slot-equality matrix alone. For each number
of rows the fewest bands that reach the recall are chosen (candidates only grow with bands, since
the first b bands are a subset of the first b + 1); the benchmark then builds and times an index
of each of the few layouts with the most rows, and its measured recall is checked against this
prediction.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

NUM_PERM = 128
# Layouts timed: those with the most rows among those that reach the recall (the steepest S-curves,
# so the fewest false candidates; fewer rows need fewer bands but let more unrelated pairs through).
TIMED_LAYOUTS = 3


def equal_slots(
    sigs: npt.NDArray[Any], queries: npt.NDArray[Any], truth: list[dict[int, float]], threshold: float
) -> npt.NDArray[np.bool_]:
    """One row per true pair (query, document at exact Jaccard >= threshold): which slots agree."""
    pairs = [(q, d) for q, exact in enumerate(truth) for d, s in exact.items() if s >= threshold]
    if not pairs:
        return np.zeros((0, sigs.shape[1]), dtype=bool)
    q_idx = np.array([q for q, _ in pairs])
    d_idx = np.array([d for _, d in pairs])
    order = np.argsort(d_idx)  # read the memory-mapped signatures in file order
    rows = np.empty((len(pairs), sigs.shape[1]), dtype=sigs.dtype)
    rows[order] = sigs[d_idx[order]]
    equal: npt.NDArray[np.bool_] = rows == queries[q_idx]
    return equal


def layout_recall(equal: npt.NDArray[np.bool_], bands: int, rows: int) -> float:
    """The share of true pairs with at least one band (of ``rows`` contiguous slots) all equal."""
    if len(equal) == 0:
        return 1.0
    used = equal[:, : bands * rows].reshape(len(equal), bands, rows)
    return float(used.all(axis=2).any(axis=1).mean())


def fewest_bands(equal: npt.NDArray[np.bool_], rows: int, recall: float) -> int | None:
    """The fewest bands of ``rows`` rows whose recall reaches ``recall`` (None: not even all of them).
    Binary search: the recall of b bands never falls as b grows."""
    most = NUM_PERM // rows
    if layout_recall(equal, most, rows) < recall:
        return None
    low, high = 1, most
    while low < high:
        middle = (low + high) // 2
        if layout_recall(equal, middle, rows) >= recall:
            high = middle
        else:
            low = middle + 1
    return low


def layouts_at_recall(equal: npt.NDArray[np.bool_], recall: float) -> list[dict[str, Any]]:
    """For each number of rows, the fewest bands reaching ``recall`` and that layout's recall; the
    ``TIMED_LAYOUTS`` with the most rows, most rows first."""
    found = []
    for rows in range(NUM_PERM, 0, -1):
        bands = fewest_bands(equal, rows, recall)
        if bands is not None:
            found.append(
                {"bands": bands, "rows": rows, "predicted_recall": layout_recall(equal, bands, rows)}
            )
        if len(found) == TIMED_LAYOUTS:
            break
    return found
