"""Band layouts at rensa's recall, for the LSH benchmark's equal-recall comparison (``bench_lsh``).

Equal bands are not equal recall. The benchmark's true pairs come in clusters (a query near many
copies of one document), so the recall of one layout depends on the hash functions drawn, by a few
hundredths either way for every scheme (docs/lsh.md, "Equal recall"). rensa's one draw against
nearcopy's one is a comparison of draws as much as of indexes; comparing speed at equal recall
needs, for nearcopy, the layout that reaches rensa's recall on the same pairs.

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
# Pairs worked on at a time: at a million documents there are millions of true pairs, and a chunk's
# gathered signatures and temporaries stay in the tens of MB.
CHUNK = 1 << 16
# Pairs a layout is first tried on: a number of rows whose every band misses the recall by more
# than SCREEN_MARGIN on a sample is not tried on all pairs.
SCREEN_PAIRS = 200_000
SCREEN_MARGIN = 0.02


def equal_slots(
    sigs: npt.NDArray[Any], queries: npt.NDArray[Any], truth: list[dict[int, float]], threshold: float
) -> npt.NDArray[np.bool_]:
    """One row per true pair (query, document at exact Jaccard >= threshold): which slots agree."""
    pairs = np.array(
        [(q, d) for q, exact in enumerate(truth) for d, s in exact.items() if s >= threshold], dtype=np.int64
    ).reshape(-1, 2)
    pairs = pairs[np.argsort(pairs[:, 1], kind="stable")]  # the memory-mapped signatures in file order
    equal = np.empty((len(pairs), sigs.shape[1]), dtype=bool)
    for at in range(0, len(pairs), CHUNK):
        part = pairs[at : at + CHUNK]
        equal[at : at + CHUNK] = sigs[part[:, 1]] == queries[part[:, 0]]
    return equal


def first_bands(equal: npt.NDArray[np.bool_], rows: int) -> npt.NDArray[np.int64]:
    """For each pair, the first band (of ``rows`` contiguous slots) whose slots are all equal;
    ``NUM_PERM // rows`` where none is. A layout of b bands finds the pairs whose first band is
    below b."""
    most = NUM_PERM // rows
    first = np.empty(len(equal), dtype=np.int64)
    for at in range(0, len(equal), CHUNK):
        bands: npt.NDArray[np.bool_] = np.all(
            equal[at : at + CHUNK, : most * rows].reshape(-1, most, rows), axis=2
        )
        first[at : at + CHUNK] = np.where(bands.any(axis=1), bands.argmax(axis=1), most)
    return first


def layout_recall(equal: npt.NDArray[np.bool_], bands: int, rows: int) -> float:
    """The share of true pairs with at least one band (of ``rows`` contiguous slots) all equal
    among the first ``bands``: the raw recall of an index of that layout."""
    if len(equal) == 0:
        return 1.0
    return int(np.count_nonzero(first_bands(equal, rows) < bands)) / len(equal)


def fewest_bands(equal: npt.NDArray[np.bool_], rows: int, recall: float) -> int | None:
    """The fewest bands of ``rows`` rows whose recall reaches ``recall`` (None: not even all of them).
    The recall of b bands never falls as b grows: it is the share of first bands below b."""
    most, pairs = NUM_PERM // rows, len(equal)
    if pairs == 0:
        return 1
    # The fewest pairs found whose share reaches the recall (the share compared as the report
    # computes it: found / pairs in floating point).
    needed = max(0, int(np.ceil(recall * pairs)) - 1)
    while needed <= pairs and needed / max(pairs, 1) < recall:
        needed += 1
    if needed == 0:
        return 1
    if needed > pairs:
        return None
    # The needed-th smallest first band must be found, so b is one past it.
    band = int(np.partition(first_bands(equal, rows), needed - 1)[needed - 1])
    return band + 1 if band < most else None


def layouts_at_recall(equal: npt.NDArray[np.bool_], recall: float) -> list[dict[str, Any]]:
    """For each number of rows, the fewest bands reaching ``recall`` and that layout's recall; the
    ``TIMED_LAYOUTS`` with the most rows, most rows first."""
    sample = equal
    if len(equal) > SCREEN_PAIRS:
        sample = equal[np.random.default_rng(0).choice(len(equal), SCREEN_PAIRS, replace=False)]
    found = []
    for rows in range(NUM_PERM, 0, -1):
        if layout_recall(sample, NUM_PERM // rows, rows) < recall - SCREEN_MARGIN:
            continue
        bands = fewest_bands(equal, rows, recall)
        if bands is not None:
            found.append(
                {"bands": bands, "rows": rows, "predicted_recall": layout_recall(equal, bands, rows)}
            )
        if len(found) == TIMED_LAYOUTS:
            break
    return found
