"""The compact id store of a dedup run gives back exactly the ids a plain list of strings would."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from nearcopy.neardup.doc_ids import DocIds

# Any JSON string can be an id, lone surrogates ("\ud800" in JSON) and the empty string included.
ids = st.one_of(st.none(), st.text(), st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)))
batches = st.lists(
    st.tuples(st.sampled_from(["a.jsonl", "dir/b.jsonl", "c.parquet"]), st.lists(ids, max_size=6)),
    max_size=6,
)


@given(batches)
def test_ids_come_back_as_a_list_of_strings_would_hold_them(
    added: list[tuple[str, list[str | None]]],
) -> None:
    store, expected = DocIds(), list[str]()
    for label, batch in added:
        lines = list(range(len(expected) + 1, len(expected) + 1 + len(batch)))
        store.add(label, batch, lines)
        expected += [f"{label}:{n}" if i is None else i for i, n in zip(batch, lines)]
        assert len(store) == len(expected)
        assert [store[d] for d in range(len(store))] == expected  # also after more batches arrive
    docs = np.array([-1, *range(len(expected))], dtype=np.int64)
    assert store.strings(docs) == [None, *expected]


def test_an_id_costs_21_bytes_plus_its_utf8() -> None:
    store = DocIds()
    store.add("f.jsonl", [None] * 1000, list(range(1000)))
    store.add("f.jsonl", ["é" * 10] * 1000, list(range(1000, 2000)))
    store[0]  # joins the batches' arrays
    assert store.nbytes() == 2000 * 21 + 1000 * 20


def test_documents_out_of_range_and_mismatched_batches_are_errors() -> None:
    store = DocIds()
    store.add("f.jsonl", ["x"], [1])
    with pytest.raises(IndexError):
        store[1]
    with pytest.raises(IndexError):
        store[-1]
    with pytest.raises(ValueError, match="same length"):
        store.add("f.jsonl", ["x", "y"], [1])
