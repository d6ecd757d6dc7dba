"""Cosmetic edits of real functions (CPython's standard library) leave the normalized stream as it
was: renaming every identifier, reformatting, rewriting comments, changing literals."""

from __future__ import annotations

import random
from functools import cache

import nearcopy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nearcopy.benchsuite import code_corpus, mutations


@cache
def held_out_functions() -> list[str]:
    return mutations.functions([source for _, source in code_corpus.sample("python", count=120, seed=7)])


def stream(source: str, identifiers: nearcopy.code.IdentifierMode) -> list[str]:
    return nearcopy.code_tokens(source, nearcopy.CodeOptions("python", identifiers=identifiers)).texts


functions = st.integers(0, 10**6).map(lambda i: held_out_functions()[i % len(held_out_functions())])
seeds = st.integers(0, 2**32 - 1)


def test_the_harness_has_real_functions() -> None:
    assert len(held_out_functions()) >= 50


@settings(max_examples=60)
@given(functions, seeds)
def test_renaming_reformatting_and_comments_leave_the_stream_identical(function: str, seed: int) -> None:
    disguised = mutations.mutate(function, ["rename", "reformat", "comments"], seed)
    assert disguised != function
    for mode in ("placeholder", "consistent"):
        assert stream(disguised, mode) == stream(function, mode), mode
    assert stream(disguised, "keep") != stream(function, "keep")


@settings(max_examples=60)
@given(functions, seeds)
def test_members_mode_sees_through_renaming_of_everything_but_members(function: str, seed: int) -> None:
    renamed = mutations.mutate(function, ["reformat", "comments"], seed)
    renamed = mutations.rename_identifiers(renamed, random.Random(seed), members=False)
    assert stream(renamed, "members") == stream(function, "members")


@settings(max_examples=60)
@given(functions, seeds)
def test_changed_literals_are_abstracted(function: str, seed: int) -> None:
    changed = mutations.mutate(function, ["literals"], seed)
    assert stream(changed, "placeholder") == stream(function, "placeholder")


@settings(max_examples=60)
@given(functions, seeds)
def test_offsets_of_disguised_code_slice_back_to_the_token(function: str, seed: int) -> None:
    disguised = mutations.mutate(function, ["rename", "reformat", "comments", "literals", "edit"], seed)
    raw = disguised.encode("utf-8")
    kept = nearcopy.code_tokens(
        disguised, nearcopy.CodeOptions("python", identifiers="keep", literals="keep")
    )
    for text, start, end in zip(kept.texts, kept.starts, kept.ends):
        original = raw[start:end].decode("utf-8")
        assert text == original or len(original) > 32 or any(c.isspace() for c in original)


@pytest.mark.parametrize("language", ["javascript", "java", "c", "cpp", "go", "rust", "ruby"])
def test_other_languages_see_through_renaming_and_reformatting(language: str) -> None:
    sources = [s for _, s in code_corpus.sample(language, count=15, seed=3) if len(s) < 30_000]
    if not sources:
        pytest.skip(f"no {language} sources on this machine")
    for seed, source in enumerate(sources):
        rng = random.Random(seed)
        disguised = mutations.reformat_in(
            mutations.rename_identifiers_in(source, language, rng), language, rng
        )
        original = nearcopy.code_tokens(source, language).texts
        assert nearcopy.code_tokens(disguised, language).texts == original, f"{language} source {seed}"
