"""The datasketch-shaped ``MinHashLSH`` against datasketch's own: the same operations in the same
order give the same query results, membership and emptiness, through buffer flushes and reopening."""

from __future__ import annotations

from pathlib import Path

import datasketch
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nearcopy import minhash, to_datasketch
from nearcopy.lsh_compat import MinHashLSH

VOCABULARY = [f"v{i}" for i in range(30)]

tokens = st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=8)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("insert"), st.integers(0, 15), tokens),
        st.tuples(st.just("remove"), st.integers(0, 15), st.just([])),
        st.tuples(st.just("query"), st.just(0), tokens),
    ),
    min_size=1,
    max_size=40,
)


def lean(words: list[str], scheme: str) -> datasketch.LeanMinHash:
    return to_datasketch(minhash([words], num_perm=32, scheme=scheme)[0], scheme=scheme)  # type: ignore[arg-type]


@settings(max_examples=40, deadline=None)
@given(operations, st.sampled_from(["legacy", "affine32"]), st.sampled_from([0.4, 0.7]), st.integers(1, 4))
def test_the_same_operations_give_datasketchs_answers(
    ops: list[tuple[str, int, list[str]]], scheme: str, threshold: float, buffer_size: int
) -> None:
    theirs = datasketch.MinHashLSH(threshold=threshold, num_perm=32)
    with MinHashLSH(threshold=threshold, num_perm=32, buffer_size=buffer_size) as ours:
        assert (ours.b, ours.r) == (theirs.b, theirs.r)
        for op, key_number, words in ops:
            key = f"k{key_number}"
            if op == "insert":
                if key in theirs:
                    with pytest.raises(ValueError, match="already exists"):
                        ours.insert(key, lean(words, scheme))
                    continue
                theirs.insert(key, lean(words, scheme))
                ours.insert(key, lean(words, scheme))
            elif op == "remove":
                if key not in theirs:
                    with pytest.raises(ValueError, match="does not exist"):
                        ours.remove(key)
                    continue
                theirs.remove(key)
                ours.remove(key)
            else:
                assert sorted(ours.query(lean(words, scheme))) == sorted(theirs.query(lean(words, scheme)))
            assert all((f"k{n}" in ours) == (f"k{n}" in theirs) for n in range(16))
            assert ours.is_empty() == theirs.is_empty()


def test_inserts_persist_and_reopen(tmp_path: Path) -> None:
    docs = [[f"w{i}", f"w{i + 1}", f"w{i + 2}", "shared", "words"] for i in range(0, 60, 3)]
    path = str(tmp_path / "lsh")
    with (
        MinHashLSH(threshold=0.5, num_perm=32, path=path) as lsh,
        lsh.insertion_session(buffer_size=7) as session,
    ):
        for i, words in enumerate(docs):
            session.insert(i, lean(words, "affine32"))
    reopened = MinHashLSH(threshold=0.5, num_perm=32, path=path)
    reference = datasketch.MinHashLSH(threshold=0.5, num_perm=32)
    for i, words in enumerate(docs):
        reference.insert(i, lean(words, "affine32"))
    for words in docs:
        assert sorted(reopened.query(lean(words, "affine32"))) == sorted(
            reference.query(lean(words, "affine32"))
        )
    assert reopened.index is not None and len(reopened.index) == len(docs)
    assert reopened.index.params["key_type"] == "int"
    with pytest.raises(ValueError, match="scheme 'legacy' in an index of scheme 'affine32'"):
        reopened.insert(99, lean(docs[0], "legacy"))
    with pytest.raises(ValueError, match="holds an index of 32 slots, 8 bands x 4 rows"):
        MinHashLSH(threshold=0.9, num_perm=32, path=path)
    with pytest.raises(ValueError, match="length 32"):
        reopened.query(to_datasketch(minhash([["a"]], num_perm=16, scheme="affine32")[0], scheme="affine32"))
