"""The Rust text normalizer and shingler against the plain-Python reference."""

from __future__ import annotations

import unicodedata

import nearcopy
import pytest
import reference_normalizer as ref
from hypothesis import given
from hypothesis import strategies as st

# Characters worth a special look: case folding that changes length, compatibility forms, combining
# marks (alone and after ASCII), no-space scripts, Hangul, fullwidth forms, lone surrogates, NUL.
SPECIAL = list("aZ09 _-.,'\t\nﬁßẞİıΣσςÅé½①ＡＢｃ中文日本語あカｶกไ한글\u0301\u0308\u0327\u200b\u3000\0\ufffd")
SPECIAL += ["\ud800", "\udfff", "e\u0301", "\u1100\u1161", "A\u030a"]

# Characters assigned in this Python's Unicode database (the tables of the Rust side come from it).
assigned = st.characters(exclude_categories=["Cn"])
texts = st.lists(st.one_of(st.sampled_from(SPECIAL), assigned), max_size=60).map("".join)


def rust_tokens(text: str, nfkc: bool = True, casefold: bool = True) -> list[tuple[str, int, int]]:
    result = nearcopy.normalize(text, nearcopy.TextOptions(nfkc=nfkc, casefold=casefold))
    return list(zip(result.texts, result.starts.tolist(), result.ends.tolist()))


def ref_tokens(text: str, nfkc: bool = True, casefold: bool = True) -> list[tuple[str, int, int]]:
    return [(t.text, t.start, t.end) for t in ref.tokens(text, nfkc, casefold)]


@given(texts, st.booleans(), st.booleans())
def test_tokens_and_spans_match_reference(text: str, nfkc: bool, casefold: bool) -> None:
    assert rust_tokens(text, nfkc=nfkc, casefold=casefold) == ref_tokens(text, nfkc=nfkc, casefold=casefold)


# Mostly-ASCII text, long enough to cross the 64-byte blocks of the ASCII fast path.
long_texts = st.text(alphabet=st.sampled_from([*"abcXYZ019 .,-_\n", "é", "\u0301", "中", "ß"]), max_size=600)


@given(long_texts, st.booleans())
def test_long_mostly_ascii_text_matches_reference(text: str, casefold: bool) -> None:
    assert rust_tokens(text, casefold=casefold) == ref_tokens(text, casefold=casefold)


@given(texts, st.integers(1, 7), st.sampled_from(["word", "char"]))
def test_shingles_match_reference(text: str, ngram: int, unit: str) -> None:
    options = nearcopy.TextOptions(ngram=ngram, unit=unit)  # type: ignore[arg-type]
    assert nearcopy.shingles(text, options) == ref.shingles(text, ngram, unit)


@given(st.text(alphabet=st.sampled_from(SPECIAL[:40]), max_size=80))
def test_spans_cover_the_original_spelling(text: str) -> None:
    raw = text.encode("utf-8", "surrogatepass")
    result = nearcopy.normalize(text)
    for token, start, end in zip(result.texts, result.starts, result.ends):
        original = raw[start:end].decode("utf-8", "surrogatepass")
        folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", original).casefold())
        assert token in folded


def test_examples_from_the_docs() -> None:
    assert nearcopy.normalize("Hello,   WORLD! It's ﬁne.").texts == ["hello", "world", "it", "s", "fine"]
    assert nearcopy.normalize("中文abc").texts == ["中", "文", "abc"]
    assert nearcopy.shingles("The quick brown fox", nearcopy.TextOptions(ngram=2)) == [
        "the quick",
        "quick brown",
        "brown fox",
    ]
    assert nearcopy.shingles("Two words") == ["two words"]  # shorter than ngram: one shingle
    assert nearcopy.shingles(" ... ") == []


def test_casing_spacing_and_punctuation_do_not_change_shingles() -> None:
    original = "It was the best of times, it was the worst of times."
    disguised = "IT  WAS the BEST of times -- it was THE worst of   times!!!"
    assert nearcopy.shingles(original) == nearcopy.shingles(disguised)


def test_options_must_be_text_options() -> None:
    with pytest.raises(TypeError, match="TextOptions"):
        nearcopy.normalize("x", {"ngram": 3})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="str"):
        nearcopy.normalize(b"bytes")  # type: ignore[arg-type]
