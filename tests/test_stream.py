"""The streaming filter: released text never carries a protected passage, however the output is
chunked, and each feed does work bounded by the delta."""

from __future__ import annotations

import random
from functools import cache
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from nearcopy.benchsuite import code_corpus, mutations
from nearcopy.filter import OutputFilter, Policy
from nearcopy.index import ProtectedIndex

PROSE = (
    "It is a truth universally acknowledged, that a single man in possession of a good fortune, must be "
    "in want of a wife. However little known the feelings or views of such a man may be on his first "
    "entering a neighbourhood, this truth is so well fixed in the minds of the surrounding families, "
    "that he is considered the rightful property of some one or other of their daughters."
)
ORIGINAL = (
    "Binary search keeps two bounds and halves the interval between them at every step, so it needs "
    "about log2(n) comparisons. Watch the off-by-one errors at the boundaries, and prefer the standard "
    "library's bisect module when you can.\n"
)


@cache
def protected() -> tuple[ProtectedIndex, str]:
    sources = code_corpus.sample("python", count=20, seed=9)
    function = next(f for _, s in sources for f in mutations.functions([s], min_lines=12))
    docs = [{"id": p, "text": s, "language": "python", "license": "PSF-2.0"} for p, s in sources]
    root = Path(__import__("tempfile").mkdtemp()) / "index"
    index = ProtectedIndex.build([*docs, {"id": "austen", "text": PROSE, "license": "PD"}], root)
    return index, function


def answers() -> list[str]:
    """Answers as models send them: prose, fenced code, bare code (a completion or a code
    assistant), code after one line of prose, an unclosed fence (a truncated answer), code in
    several blocks, and a clean answer."""
    _, function = protected()
    disguised = mutations.mutate(function, ["rename", "reformat", "comments"], seed=1)
    fence = "`" * 3
    helper = "def helper(values):\n    return [v * 2 for v in values]\n"
    return [
        f"Some context first. {PROSE.upper()} And a closing remark about the book.",
        f"Here you go:\n\n{fence}python\n{disguised}{fence}\n\nThat should do it.\n",
        ORIGINAL * 3,
        disguised,
        f"Here you go:\n{disguised}",
        f"Sure, this is it:\n\n{fence}python\n{disguised}",
        f"First a helper:\n\n{fence}python\n{helper}{fence}\n\nThen the main part:\n\n{fence}\n{disguised}"
        f"{fence}\n\nAnd a test:\n\n{fence}python\nassert helper([1]) == [2]\n{fence}\n",
    ]


def stream_through(
    output_filter: OutputFilter,
    text: str,
    rng: random.Random,
    steps: tuple[int, ...] = (1, 2, 5, 17, 60, 400),
) -> tuple[str, bool]:
    stream = output_filter.stream()
    out, i = [], 0
    while i < len(text):
        step = rng.choice(steps)
        out.append(stream.feed(text[i : i + step]))
        i += step
    out.append(stream.close())
    return "".join(out), stream.verdict.flagged


@settings(max_examples=int(__import__("os").environ.get("NEARCOPY_STREAM_EXAMPLES", "60")))
@given(
    st.integers(0, 6),
    st.integers(0, 2**32 - 1),
    st.sampled_from(["redact", "suppress", "replace"]),
    st.sampled_from([(1, 2, 5, 17, 60, 400), (1, 2, 3, 4, 5, 6, 7, 8)]),
)
def test_released_text_never_carries_a_protected_passage(
    which: int, seed: int, action: str, steps: tuple[int, ...]
) -> None:
    index, _ = protected()
    output_filter = OutputFilter(index, policy=Policy(default=action))  # type: ignore[arg-type]
    answer = answers()[which]
    released, flagged = stream_through(output_filter, answer, random.Random(seed), steps)
    assert flagged == output_filter.check(answer).flagged
    assert not output_filter.check(released).flagged, released
    if not flagged:
        assert released == answer, "a clean output streams through unchanged"


def test_every_copied_shape_is_flagged() -> None:
    index, _ = protected()
    output_filter = OutputFilter(index)
    flagged = [output_filter.check(answer).flagged for answer in answers()]
    assert flagged == [True, True, False, True, True, True, True]


def test_allow_and_annotate_release_everything() -> None:
    index, _ = protected()
    copied = answers()[0]
    allowed, flagged = stream_through(
        OutputFilter(index, policy=Policy(default="allow")), copied, random.Random(3)
    )
    assert flagged and allowed == copied
    noted, _ = stream_through(
        OutputFilter(index, policy=Policy(default="annotate")), copied, random.Random(3)
    )
    assert noted == copied + "\n\n[sources: austen]"


def test_work_per_feed_is_bounded_by_the_delta() -> None:
    index, _ = protected()
    stream = OutputFilter(index).stream()
    largest = 0
    text = ORIGINAL * 400  # ~100 KB of clean text, fed in small pieces
    for i in range(0, len(text), 40):
        stream.feed(text[i : i + 40])
        largest = max(largest, stream.last_window_chars)
    stream.close()
    assert largest < 3000, f"the checked window grew to {largest} chars"
    info = index.info()
    reach = max(info["k"], info["code_k"]) + max(info["w"], info["code_w"])
    assert (
        stream.holdback_tokens
        == max(OutputFilter(index).min_tokens, OutputFilter(index).min_code_tokens) + reach
    )
