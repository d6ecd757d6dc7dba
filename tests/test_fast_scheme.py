"""The native `fast` scheme estimates Jaccard similarity as well as classic MinHash does.

With k slots, classic MinHash's estimate has standard deviation sqrt(J(1 − J)/k); one-permutation
hashing with optimal densification matches it (Shrivastava 2017). The sets here are seeded, so these
checks are deterministic, not statistical gambles.
"""

from __future__ import annotations

import random

import nearcopy
import numpy as np
import pytest


def random_pair(rng: random.Random) -> tuple[list[str], list[str], float]:
    size_a = rng.choice([3, 10, 40, 150, 600, 3000])
    size_b = max(1, int(size_a * rng.uniform(0.3, 1.5)))
    shared = rng.randint(0, min(size_a, size_b))
    base = rng.getrandbits(48)
    common = [f"c{base}-{i}" for i in range(shared)]
    a = common + [f"a{base}-{i}" for i in range(size_a - shared)]
    b = common + [f"b{base}-{i}" for i in range(size_b - shared)]
    return a, b, shared / (size_a + size_b - shared)


@pytest.mark.parametrize("num_perm", [64, 256])
def test_estimation_error_within_minhash_bound(num_perm: int) -> None:
    rng = random.Random(2024)
    pairs = [random_pair(rng) for _ in range(400)]
    sigs = nearcopy.minhash([p[0] for p in pairs] + [p[1] for p in pairs], num_perm=num_perm, seed=3)
    estimates = nearcopy.jaccard(sigs[: len(pairs)], sigs[len(pairs) :])
    exact = np.array([p[2] for p in pairs])
    sigma = np.sqrt(exact * (1 - exact) / num_perm)
    errors = np.asarray(estimates) - exact
    # Root-mean-square error against the classic MinHash standard error, averaged over the pairs.
    assert np.sqrt(np.mean(errors**2)) <= 1.2 * np.sqrt(np.mean(sigma**2))
    # No single estimate is wildly off, and the estimator is unbiased on average.
    assert np.all(np.abs(errors) <= 5 * sigma + 2 / num_perm)
    assert abs(np.mean(errors)) < 0.01


def test_identical_and_disjoint_sets_are_exact() -> None:
    a = [f"x{i}" for i in range(57)]
    b = [f"y{i}" for i in range(91)]
    sigs = nearcopy.minhash([a, list(reversed(a)), b], num_perm=128)
    assert nearcopy.jaccard(sigs[0], sigs[1]) == 1.0
    assert nearcopy.jaccard(sigs[0], sigs[2]) == 0.0


def test_tiny_sets_still_estimate() -> None:
    # One shared element of three: J = 1/3 even when most bins were empty before densification.
    sigs = nearcopy.minhash([["a", "b"], ["b", "c"]], num_perm=1024)
    assert abs(float(nearcopy.jaccard(sigs[0], sigs[1])) - 1 / 3) < 0.1
