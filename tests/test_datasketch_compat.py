"""Signatures of the compatible schemes equal the installed datasketch's, bit for bit."""

from __future__ import annotations

import datasketch
import nearcopy
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from nearcopy import _core

COMPATIBLE = ["legacy", "affine32", "affine64"]
tokens = st.lists(st.one_of(st.text(max_size=12), st.binary(max_size=12)), max_size=40)
seeds = st.integers(0, 2**32 - 1)


def as_bytes(token: str | bytes) -> bytes:
    return token.encode("utf-8") if isinstance(token, str) else token


def datasketch_signature(doc: list[str | bytes], scheme: str, num_perm: int, seed: int) -> np.ndarray:
    m = datasketch.MinHash(num_perm=num_perm, seed=seed, scheme=scheme)
    m.update_batch([as_bytes(t) for t in doc])
    return np.asarray(m.hashvalues)


@pytest.mark.parametrize("scheme", COMPATIBLE)
@given(doc=tokens, seed=seeds, num_perm=st.integers(1, 300))
def test_token_lists_match_datasketch(scheme: str, doc: list[str | bytes], seed: int, num_perm: int) -> None:
    ours = nearcopy.minhash([doc], scheme=scheme, seed=seed, num_perm=num_perm)  # type: ignore[arg-type]
    theirs = datasketch_signature(doc, scheme, num_perm, seed)
    assert ours.dtype == theirs.dtype
    np.testing.assert_array_equal(ours[0], theirs)


@pytest.mark.parametrize("scheme", COMPATIBLE)
@given(docs=st.lists(tokens, min_size=1, max_size=8), seed=seeds)
def test_batches_match_datasketch_row_by_row(scheme: str, docs: list[list[str | bytes]], seed: int) -> None:
    ours = nearcopy.minhash(docs, scheme=scheme, seed=seed, num_perm=32)  # type: ignore[arg-type]
    for row, doc in zip(ours, docs):
        np.testing.assert_array_equal(row, datasketch_signature(doc, scheme, 32, seed))


@pytest.mark.parametrize("scheme", COMPATIBLE)
@given(text=st.text(max_size=200), seed=seeds)
def test_text_input_equals_datasketch_over_its_shingles(scheme: str, text: str, seed: int) -> None:
    ours = nearcopy.minhash([text], scheme=scheme, seed=seed, num_perm=16)  # type: ignore[arg-type]
    shingles = [s.encode("utf-8") for s in nearcopy.shingles(text)]
    np.testing.assert_array_equal(ours[0], datasketch_signature(shingles, scheme, 16, seed))  # type: ignore[arg-type]


@pytest.mark.parametrize("scheme", COMPATIBLE)
@given(seed=seeds, num_perm=st.integers(1, 64))
def test_permutation_parameters_match(scheme: str, seed: int, num_perm: int) -> None:
    a, b = _core.permutations(scheme, num_perm, seed)
    theirs = datasketch.MinHash(num_perm=num_perm, seed=seed, scheme=scheme).permutations
    np.testing.assert_array_equal(a, np.asarray(theirs[0], dtype=np.uint64))
    np.testing.assert_array_equal(b, np.asarray(theirs[1], dtype=np.uint64))


@pytest.mark.parametrize("scheme", COMPATIBLE)
def test_empty_document_is_datasketch_empty_signature(scheme: str) -> None:
    empties: list[list[str] | str] = [[], ""]
    for empty in empties:
        ours = nearcopy.minhash([empty], scheme=scheme, num_perm=8)  # type: ignore[arg-type]
        np.testing.assert_array_equal(ours[0], datasketch.MinHash(num_perm=8, scheme=scheme).hashvalues)
        assert np.all(ours == nearcopy.empty_value(scheme))  # type: ignore[arg-type]


def test_lone_surrogates_hash_as_surrogatepass_bytes() -> None:
    doc = ["ok", "\ud800", "a\udfffb"]
    ours = nearcopy.minhash([doc], scheme="affine32", num_perm=8)
    expected = datasketch_signature([t.encode("utf-8", "surrogatepass") for t in doc], "affine32", 8, 1)
    np.testing.assert_array_equal(ours[0], expected)


@pytest.mark.parametrize("scheme", COMPATIBLE)
def test_round_trip_through_lean_minhash(scheme: str) -> None:
    docs = [["a", "b", "c"], ["b", "c", "d"], []]
    signatures = nearcopy.minhash(docs, scheme=scheme, seed=7, num_perm=64)  # type: ignore[arg-type]
    leans = nearcopy.to_datasketch(signatures, scheme=scheme, seed=7)  # type: ignore[arg-type]
    assert all(isinstance(m, datasketch.LeanMinHash) for m in leans)
    assert leans[0].jaccard(leans[1]) == nearcopy.jaccard(signatures[0], signatures[1])
    np.testing.assert_array_equal(nearcopy.from_datasketch(leans), signatures)
    one = nearcopy.to_datasketch(signatures[0], scheme=scheme, seed=7)  # type: ignore[arg-type]
    assert one.seed == 7 and one.scheme == scheme
    np.testing.assert_array_equal(nearcopy.from_datasketch(one), signatures[0])
    # A datasketch MinHash built from the same tokens converts to the same row.
    m = datasketch.MinHash(num_perm=64, seed=7, scheme=scheme)
    m.update_batch([b"a", b"b", b"c"])
    np.testing.assert_array_equal(nearcopy.from_datasketch(m), signatures[0])


def test_conversion_errors_are_clear() -> None:
    fast = nearcopy.minhash([["a"]], scheme="fast", num_perm=8)
    with pytest.raises(ValueError, match="no datasketch equivalent"):
        nearcopy.to_datasketch(fast, scheme="fast")
    with pytest.raises(ValueError, match="uint32"):
        nearcopy.to_datasketch(fast, scheme="affine32")
    with pytest.raises(TypeError, match="MinHash"):
        nearcopy.from_datasketch(object())
    with pytest.raises(ValueError, match="same scheme"):
        nearcopy.from_datasketch(
            [datasketch.MinHash(num_perm=4), datasketch.MinHash(num_perm=4, scheme="legacy")]
        )
