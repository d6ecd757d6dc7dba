"""LSH band choice and candidate pairs, against datasketch and a brute-force reference."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from datasketch.lsh import _optimal_param
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from nearcopy.lsh import candidate_pairs, optimal_bands


@pytest.mark.parametrize("num_perm", [16, 128, 256])
@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.7, 0.8, 0.9, 0.95])
def test_bands_match_datasketch(threshold: float, num_perm: int) -> None:
    assert optimal_bands(threshold, num_perm) == _optimal_param(threshold, num_perm, 0.5, 0.5)
    assert optimal_bands(threshold, num_perm, 0.2, 0.8) == _optimal_param(threshold, num_perm, 0.2, 0.8)


def test_band_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="threshold"):
        optimal_bands(1.0, 128)
    with pytest.raises(ValueError, match="num_perm"):
        optimal_bands(0.5, 1)


@given(
    arrays(np.uint32, st.tuples(st.integers(0, 12), st.just(6)), elements=st.integers(0, 2)),
    st.sampled_from([(1, 6), (2, 3), (3, 2), (6, 1), (2, 2)]),
)
def test_candidates_are_exactly_the_rows_sharing_a_band(
    signatures: np.ndarray, shape: tuple[int, int]
) -> None:
    bands, rows = shape
    expected = {
        (i, j)
        for i, j in itertools.combinations(range(len(signatures)), 2)
        if any(
            (signatures[i, b * rows : (b + 1) * rows] == signatures[j, b * rows : (b + 1) * rows]).all()
            for b in range(bands)
        )
    }
    found = candidate_pairs(signatures, bands, rows, max_group=1000)
    assert {tuple(p) for p in found.tolist()} == expected


def test_large_groups_are_linked_to_their_first_member() -> None:
    signatures = np.zeros((100, 4), dtype=np.uint64)
    pairs = candidate_pairs(signatures, 2, 2, max_group=10)
    assert pairs.tolist() == [[0, j] for j in range(1, 100)]
