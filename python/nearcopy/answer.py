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


def split_answer(answer: str) -> list[Segment]:
    """Splits ``answer`` into prose and code segments, in order.

    Fenced blocks (``` or ~~~, with or without a language tag, indented as in lists, unclosed when
    the answer was cut off) are code; so is an unfenced paragraph that looks like code and parses
    with few syntax errors.
    """
    if not isinstance(answer, str):
        raise TypeError(f"answer must be a str, got {type(answer).__name__}")
    raw = answer.encode("utf-8", "surrogatepass")
    return [
        Segment(
            "code" if code else "prose",
            start,
            end,
            raw[start:end].decode("utf-8", "surrogatepass"),
            language,
            fenced,
            info,
        )
        for code, start, end, language, fenced, info in _core.split_answer(answer)
    ]


def detect_language(code: str) -> str | None:
    """The most likely language of ``code`` (the grammar that parses it with the fewest errors,
    near-ties broken by tell-tale constructs), or None for empty input."""
    if not isinstance(code, str):
        raise TypeError(f"code must be a str, got {type(code).__name__}")
    language, _errors = _core.detect_language(code)
    return language
