"""Estimation error and bit-compatibility checks for bench_minhash.

Both work on shingle lists from nearcopy.shingles, so every method hashes the
exact same sets and the exact Jaccard of those sets is the ground truth.
"""

from __future__ import annotations

import math
from types import ModuleType
from typing import Any

import numpy as np
from datasketch import MinHash
from rensa import RMinHash

COMPAT_SCHEMES = ("legacy", "affine32", "affine64")
ALL_SCHEMES = ("fast", *COMPAT_SCHEMES)


def ds_minhash(shingles: list[bytes], scheme: str, num_perm: int, seed: int = 1) -> MinHash:
    """A datasketch MinHash the way users build one: new object, update_batch."""
    m = MinHash(num_perm=num_perm, seed=seed, scheme=scheme)
    m.update_batch(shingles)
    return m


def exact_jaccard(a: list[str], b: list[str]) -> float:
    sa, sb = set(a), set(b)
    union = len(sa | sb)
    return len(sa & sb) / union if union else 1.0


def _error_stats(estimates: np.ndarray, exact: np.ndarray) -> dict[str, float]:
    err = estimates - exact
    return {
        "mae": float(np.mean(np.abs(err))),
        "rmse": float(np.sqrt(np.mean(err**2))),
        "bias": float(np.mean(err)),  # signed: a systematic over/under-estimate
        "max_abs": float(np.max(np.abs(err))),
    }


def estimation_error(pairs: list[tuple[str, str]], nearcopy: ModuleType, num_perm: int) -> dict[str, Any]:
    """MAE/RMSE of estimated vs exact Jaccard, per method, on the same pairs."""
    sa = [nearcopy.shingles(a) for a, _ in pairs]
    sb = [nearcopy.shingles(b) for _, b in pairs]
    exact = np.array([exact_jaccard(x, y) for x, y in zip(sa, sb)])
    estimates: dict[str, np.ndarray] = {}
    for scheme in ALL_SCHEMES:
        ma = nearcopy.minhash(sa, num_perm=num_perm, scheme=scheme, seed=1)
        mb = nearcopy.minhash(sb, num_perm=num_perm, scheme=scheme, seed=1)
        estimates[f"nearcopy {scheme}"] = np.asarray(nearcopy.jaccard(ma, mb), dtype=float)
    ea = [[s.encode() for s in x] for x in sa]
    eb = [[s.encode() for s in y] for y in sb]
    for scheme in COMPAT_SCHEMES:
        estimates[f"datasketch {scheme}"] = np.array(
            [ds_minhash(x, scheme, num_perm).jaccard(ds_minhash(y, scheme, num_perm)) for x, y in zip(ea, eb)]
        )
    rensa_est = []
    for x, y in zip(sa, sb):
        ra, rb = RMinHash(num_perm=num_perm, seed=1), RMinHash(num_perm=num_perm, seed=1)
        ra.update(x)
        rb.update(y)
        rensa_est.append(ra.jaccard(rb))
    estimates["rensa"] = np.array(rensa_est)

    # Standard error of the classic k-permutation estimator, a binomial
    # proportion: sqrt(J(1-J)/k). Its mean is comparable to MAE-ish numbers,
    # its root-mean-square (sqrt of mean variance) is the expected RMSE.
    var = exact * (1 - exact) / num_perm
    return {
        "pairs": len(pairs),
        "num_perm": num_perm,
        "exact_jaccard": {
            "min": float(exact.min()),
            "median": float(np.median(exact)),
            "max": float(exact.max()),
            "mean": float(exact.mean()),
        },
        "theory_mean_se": float(np.mean(np.sqrt(var))),
        "theory_rmse": float(math.sqrt(float(np.mean(var)))),
        "methods": {name: _error_stats(est, exact) for name, est in estimates.items()},
    }


def _rows_equal(a: np.ndarray, b: np.ndarray) -> int | None:
    """Number of documents whose signatures differ (None if shapes differ)."""
    if a.shape != b.shape:
        return None
    return int(np.sum(np.any(a.astype(np.uint64) != b.astype(np.uint64), axis=1)))


def bit_compat(
    texts: list[str],
    lists: list[list[str]],
    nearcopy: ModuleType,
    num_perm: int,
    seeds: tuple[int, ...] = (1, 12345),
) -> dict[str, Any]:
    """Verify, don't trust: nearcopy's compatible schemes vs datasketch itself.

    Also checks that raw-text input gives the same signatures as feeding
    nearcopy.shingles(text) back in, for every scheme, since the benchmark's
    two input modes (and users) assume they agree.
    """
    encoded = [[s.encode() for s in doc] for doc in lists]
    checks: list[dict[str, Any]] = []
    for seed in seeds:
        for scheme in COMPAT_SCHEMES:
            nc = np.asarray(nearcopy.minhash(lists, num_perm=num_perm, scheme=scheme, seed=seed))
            ds = np.stack([ds_minhash(e, scheme, num_perm, seed).hashvalues for e in encoded])
            differing = _rows_equal(nc, ds)
            checks.append(
                {
                    "check": f"nearcopy {scheme} == datasketch {scheme}",
                    "seed": seed,
                    "values_identical": differing == 0,
                    "docs_differing": differing,
                    "dtype": str(nc.dtype),
                    "expected_dtype": str(ds.dtype),
                    "identical": differing == 0 and nc.dtype == ds.dtype,
                }
            )
    for scheme in ALL_SCHEMES:
        from_text = np.asarray(nearcopy.minhash(texts, num_perm=num_perm, scheme=scheme, seed=1))
        from_lists = np.asarray(nearcopy.minhash(lists, num_perm=num_perm, scheme=scheme, seed=1))
        differing = _rows_equal(from_text, from_lists)
        checks.append(
            {
                "check": f"nearcopy {scheme}: raw text == shingles(text)",
                "seed": 1,
                "values_identical": differing == 0,
                "docs_differing": differing,
                "dtype": str(from_text.dtype),
                "expected_dtype": str(from_lists.dtype),
                "identical": differing == 0 and from_text.dtype == from_lists.dtype,
            }
        )
    return {
        "docs": len(lists),
        "shingles": sum(len(doc) for doc in lists),
        "checks": checks,
        "identical": all(c["identical"] for c in checks),
    }
