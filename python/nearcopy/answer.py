"""Model answers mix prose and code: split them, and tell which language the code is in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from nearcopy import _core


@dataclass(frozen=True)
class Segment:
    """A stretch of an answer. ``start:end`` are byte offsets into its UTF-8 encoding
    (``answer.encode("utf-8", "surrogatepass")``); ``text`` is that stretch as a str.

    For a fenced block the span is the content between the fence lines; ``info`` is the fence's info
    string. ``language`` is the fence tag's language, else the detected one, or None (prose, or a tag
    nearcopy does not parse such as ``bash``).
    """

    kind: Literal["prose", "code"]
    start: int
    end: int
    text: str
    language: str | None = None
    fenced: bool = False
    info: str = ""
    # Other readings the output filter also checks this stretch under, because the split may be
    # wrong here: None as prose, else code in that language.
    alternatives: tuple[str | None, ...] = ()


def language_hint(language: str | None) -> str | None:
    """The canonical form of a caller's language hint: None (or ``"auto"``: detect), ``"text"``
    (the output is prose only), or a language name or alias (the output's code is in that
    language; an output without fences is all code). Raises ValueError naming the value."""
    if language is None or language == "auto":
        return None
    if not isinstance(language, str):
        raise TypeError(f"language must be a str or None, got {type(language).__name__}")
    if language == "text":
        return "text"
    try:
        return _core.canonical_language(language)
    except ValueError:
        names = ", ".join(_core.languages())
        raise ValueError(f"language must be 'auto', 'text' or one of {names}; got {language!r}") from None


def split_answer(answer: str, *, language: str | None = None) -> list[Segment]:
    """Splits ``answer`` into prose and code segments, in order.

    Fenced blocks (``` or ~~~, with or without a language tag, indented as in lists, unclosed when
    the answer was cut off) are code. Outside fences, code is found line by line: a function with its
    docstrings, doc comments, decorators and blank lines is one code segment, the prose lines around
    it are not; a stretch that looks like code is confirmed by parsing it once, as its most likely
    language. ``language`` is a hint (see :func:`language_hint`): with a language, detection is
    skipped and an answer without fences is one code segment.
    """
    if not isinstance(answer, str):
        raise TypeError(f"answer must be a str, got {type(answer).__name__}")
    hint = language_hint(language)
    raw = answer.encode("utf-8", "surrogatepass")
    return [
        Segment(
            "code" if code else "prose",
            start,
            end,
            raw[start:end].decode("utf-8", "surrogatepass"),
            lang,
            fenced,
            info,
            tuple(alternatives),
        )
        for code, start, end, lang, fenced, info, alternatives in _core.split_answer(answer, hint)
    ]


def detect_language(code: str) -> str | None:
    """The most likely language of ``code`` (the grammar that parses it with the fewest errors,
    near-ties broken by tell-tale constructs), or None for empty input."""
    if not isinstance(code, str):
        raise TypeError(f"code must be a str, got {type(code).__name__}")
    language, _errors = _core.detect_language(code)
    return language
