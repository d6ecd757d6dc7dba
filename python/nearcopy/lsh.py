"""Locality-sensitive hashing over MinHash signatures: band parameters and candidate pairs.

Bands and rows are chosen as datasketch chooses them: the (b, r) with b·r <= num_perm minimizing the
weighted area under the false-positive curve (below the threshold) plus the false-negative curve
(above it), where a pair of similarity s collides in some band with probability 1 − (1 − s^r)^b.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt

# Bands and rows for an LSH whose candidates are all verified (dedup, the LSH index): false
# positives weigh 0.1 and false negatives 0.9 (datasketch weighs them 0.5/0.5), since a false
# positive then costs one comparison, not a wrong result. At 0.8 and 128 slots that is 14 x 9
# instead of 9 x 13: a pair at Jaccard 0.85 becomes a candidate with probability 0.975 instead of
# 0.686 (nearcopy/benchsuite/bench_dedup.py measures both).
VERIFIED_WEIGHTS = (0.1, 0.9)

_GRID = 2049  # Simpson's rule on this many points integrates these smooth curves to ~1e-12


def _simpson_weights(points: int) -> npt.NDArray[np.float64]:
    weights = np.ones(points)
    weights[1:-1:2] = 4.0
    weights[2:-1:2] = 2.0
    return weights


_SIMPSON = _simpson_weights(_GRID)


def _integrate(values: npt.NDArray[np.float64], low: float, high: float) -> npt.NDArray[np.float64]:
    """Simpson's rule along the last axis of samples taken on the even ``_GRID`` over [low, high]."""
    h = (high - low) / (_GRID - 1)
    return np.asarray(values @ _SIMPSON * h / 3.0, dtype=np.float64)


@lru_cache(maxsize=256)
def optimal_bands(
    threshold: float, num_perm: int, false_positive_weight: float = 0.5, false_negative_weight: float = 0.5
) -> tuple[int, int]:
    """``(bands, rows)`` for a Jaccard ``threshold`` (datasketch's ``_optimal_param``)."""
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must be between 0 and 1 (exclusive), got {threshold}")
    if num_perm < 2:
        raise ValueError(f"num_perm must be at least 2 for LSH, got {num_perm}")
    if false_positive_weight < 0 or false_negative_weight < 0:
        raise ValueError("false positive and false negative weights must not be negative")
    # (1 − s**r)**b for every band count b is kept as a running product, one multiplication per
    # band count, over a table of 1 − s**r for every r: numpy's elementwise pow made this search
    # cost ~30 ms per call, which every dedup run paid. The integral of 1 − x is the interval's
    # length minus the integral of x (Simpson's rule is exact on constants).
    below = np.linspace(0.0, threshold, _GRID)
    above = np.linspace(threshold, 1.0, _GRID)
    miss_below = 1.0 - np.cumprod(np.broadcast_to(below, (num_perm, _GRID)), axis=0)
    miss_above = 1.0 - np.cumprod(np.broadcast_to(above, (num_perm, _GRID)), axis=0)
    all_miss_below = np.ones_like(miss_below)
    all_miss_above = np.ones_like(miss_above)
    best = (float("inf"), 0, 0)
    for bands in range(1, num_perm + 1):
        max_rows = num_perm // bands
        all_miss_below[:max_rows] *= miss_below[:max_rows]
        all_miss_above[:max_rows] *= miss_above[:max_rows]
        false_positive = threshold - _integrate(all_miss_below[:max_rows], 0.0, threshold)
        false_negative = _integrate(all_miss_above[:max_rows], threshold, 1.0)
        error = false_positive * false_positive_weight + false_negative * false_negative_weight
        r = int(np.argmin(error))
        if error[r] < best[0]:
            best = (float(error[r]), bands, r + 1)
    return best[1], best[2]


def candidate_pairs(
    signatures: npt.NDArray[np.unsignedinteger], bands: int, rows: int, max_group: int = 64
) -> npt.NDArray[np.int64]:
    """Pairs ``(i, j)``, ``i < j``, of rows that agree on every slot of at least one band.

    Rows sharing a band are linked all-to-all when the group has at most ``max_group`` members and to
    the group's first member otherwise, so one very common band value cannot make the output
    quadratic; callers that need every pair of a large group verify and close it transitively.
    """
    sigs = np.ascontiguousarray(signatures)
    if sigs.ndim != 2 or bands * rows > sigs.shape[1]:
        raise ValueError(f"{bands} bands of {rows} rows do not fit signatures of shape {sigs.shape}")
    found: list[npt.NDArray[np.int64]] = []
    for band in range(bands):
        keys = np.ascontiguousarray(sigs[:, band * rows : (band + 1) * rows])
        key_bytes = keys.view(np.dtype((np.void, keys.dtype.itemsize * rows))).ravel()
        order = np.argsort(key_bytes, kind="stable")
        sorted_keys = key_bytes[order]
        starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
        sizes = np.diff(np.r_[starts, len(order)])
        for start, size in zip(starts[sizes > 1], sizes[sizes > 1]):
            members = np.sort(order[start : start + size])
            if size <= max_group:
                i, j = np.triu_indices(size, k=1)
                found.append(np.stack([members[i], members[j]], axis=1))
            else:
                found.append(np.stack([np.full(size - 1, members[0]), members[1:]], axis=1))
    if not found:
        return np.empty((0, 2), dtype=np.int64)
    return np.unique(np.concatenate(found).astype(np.int64), axis=0)
