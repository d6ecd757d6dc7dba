"""The one options object shared by every API that normalizes or shingles text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from nearcopy import _core

ShingleUnit = Literal["word", "char"]


@dataclass(frozen=True)
class TextOptions:
    """How text becomes shingles.

    Text is normalized (Unicode NFKC, full case folding, punctuation and whitespace folded away) into
    word tokens; characters of scripts written without spaces (CJK, Thai, ...) are tokens of their own.
    Shingles are ``ngram`` consecutive tokens joined by one space (``unit="word"``), or ``ngram``
    consecutive characters of that token stream (``unit="char"``). A document with fewer than
    ``ngram`` units yields one shingle holding all of them.

    Frozen and picklable, so it can be shared by worker processes and stored with an index.
    """

    ngram: int = 5
    unit: ShingleUnit = "word"
    nfkc: bool = True
    casefold: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.ngram, bool) or not isinstance(self.ngram, int):
            raise TypeError(f"ngram must be an int, got {type(self.ngram).__name__}")
        if not 1 <= self.ngram <= _core.MAX_NGRAM:
            raise ValueError(f"ngram must be between 1 and {_core.MAX_NGRAM}, got {self.ngram}")
        if self.unit not in ("word", "char"):
            raise ValueError(f"unit must be 'word' or 'char', got {self.unit!r}")
        for name in ("nfkc", "casefold"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be a bool, got {type(getattr(self, name)).__name__}")


DEFAULT_OPTIONS = TextOptions()


def resolve_options(options: TextOptions | None) -> TextOptions:
    """``options`` or the defaults, rejecting anything that is not a TextOptions."""
    if options is None:
        return DEFAULT_OPTIONS
    if not isinstance(options, TextOptions):
        raise TypeError(f"options must be a nearcopy.TextOptions, got {type(options).__name__}")
    return options
