"""Code normalization with tree-sitter: the code half of the fingerprinting vocabulary.

A source file or snippet is parsed with its language's grammar (all compiled into nearcopy); comments
and layout are dropped, keywords, operators and punctuation kept, identifiers and literals abstracted,
so a copied function with every name changed and its formatting redone still yields the same stream.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from nearcopy import _core

IdentifierMode = Literal["keep", "placeholder", "consistent", "members"]
LiteralMode = Literal["keep", "abstract"]
_IDENTIFIER_MODES = ("keep", "placeholder", "consistent", "members")
_LITERAL_MODES = ("keep", "abstract")


class TokenKind(enum.IntEnum):
    """What a normalized code token stands for (the values of ``CodeTokens.kinds``)."""

    SYMBOL = 0  # keyword, operator, punctuation or another fixed leaf
    IDENTIFIER = 1
    MEMBER = 2  # a member/attribute/property name: obj.<name>
    STRING = 3
    NUMBER = 4


def languages() -> list[str]:
    """The supported languages' canonical names (aliases such as ``py``, ``c++``, ``golang`` work too)."""
    return list(_core.languages())


def language_for_extension(extension: str) -> str | None:
    """The language of a file extension (``"py"`` or ``".py"``), or None."""
    return _core.language_for_extension(extension.lstrip("."))


@dataclass(frozen=True)
class CodeOptions:
    """How source code becomes shingles; pass it wherever a ``TextOptions`` goes.

    ``language``: a name from :func:`languages` or an alias (``py``, ``js``, ``ts``, ``c++``, ``golang``,
    ``rs``, ``cs``, ``rb``, ...). ``identifiers``: ``"placeholder"`` (every name one symbol, as Dolos
    does), ``"consistent"`` (numbered by first occurrence), ``"members"`` (placeholder, but member names
    such as ``obj.append`` kept) or ``"keep"``. ``literals``: ``"abstract"`` (strings and numbers become
    one symbol per kind) or ``"keep"``. Shingles are ``ngram`` consecutive normalized tokens.
    """

    language: str
    ngram: int = 10
    identifiers: IdentifierMode = "placeholder"
    literals: LiteralMode = "abstract"

    def __post_init__(self) -> None:
        if not isinstance(self.language, str):
            raise TypeError(f"language must be a str, got {type(self.language).__name__}")
        # Canonical name, so equal options compare equal whatever alias was used.
        object.__setattr__(self, "language", _core.canonical_language(self.language))
        if isinstance(self.ngram, bool) or not isinstance(self.ngram, int):
            raise TypeError(f"ngram must be an int, got {type(self.ngram).__name__}")
        if not 1 <= self.ngram <= _core.MAX_NGRAM:
            raise ValueError(f"ngram must be between 1 and {_core.MAX_NGRAM}, got {self.ngram}")
        if self.identifiers not in _IDENTIFIER_MODES:
            raise ValueError(f"identifiers must be one of {_IDENTIFIER_MODES}, got {self.identifiers!r}")
        if self.literals not in _LITERAL_MODES:
            raise ValueError(f"literals must be one of {_LITERAL_MODES}, got {self.literals!r}")


def _options(language: str | CodeOptions) -> CodeOptions:
    if isinstance(language, CodeOptions):
        return language
    if isinstance(language, str):
        return CodeOptions(language)
    raise TypeError(f"language must be a str or CodeOptions, got {type(language).__name__}")


@dataclass(frozen=True)
class CodeTokens:
    """Normalized tokens of one source: parallel arrays, plus the normalized symbols as text.

    ``starts[i]:ends[i]`` is the byte span of token ``i`` in the UTF-8 of the source;
    ``symbols[i]`` is a stable 64-bit id of ``texts[i]``.
    """

    texts: list[str]
    kinds: npt.NDArray[np.uint8]
    symbols: npt.NDArray[np.uint64]
    starts: npt.NDArray[np.int64]
    ends: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.texts)


@dataclass(frozen=True)
class CodeTokenBatch:
    """Normalized tokens of many sources, flattened: source ``d`` holds tokens
    ``doc_bounds[d]:doc_bounds[d + 1]`` of the parallel arrays."""

    doc_bounds: npt.NDArray[np.int64]
    kinds: npt.NDArray[np.uint8]
    symbols: npt.NDArray[np.uint64]
    starts: npt.NDArray[np.int64]
    ends: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.doc_bounds) - 1

    def tokens_of(self, d: int) -> slice:
        """The slice of the flat arrays that holds source ``d``'s tokens."""
        return slice(int(self.doc_bounds[d]), int(self.doc_bounds[d + 1]))


def code_tokens(source: str, language: str | CodeOptions) -> CodeTokens:
    """Normalized tokens of one source (``language``: a name, an alias, or a CodeOptions)."""
    opts = _options(language)
    if not isinstance(source, str):
        raise TypeError(f"source must be a str, got {type(source).__name__}")
    texts, (kinds, symbols, starts, ends) = _core.code_tokens(
        source, opts.language, opts.identifiers, opts.literals
    )
    return CodeTokens(texts, kinds, symbols, starts, ends)


def code_tokens_batch(
    sources: Sequence[str], language: str | CodeOptions, *, num_threads: int | None = None
) -> CodeTokenBatch:
    """Normalized tokens of many sources, parsed in parallel without the GIL."""
    opts = _options(language)
    if isinstance(sources, str):
        raise TypeError("sources must be a sequence of str, not a single str; wrap it: [source]")
    batch = sources if isinstance(sources, list) else list(sources)
    bounds, (kinds, symbols, starts, ends) = _core.code_tokens_batch(
        batch, opts.language, opts.identifiers, opts.literals, num_threads
    )
    return CodeTokenBatch(bounds, kinds, symbols, starts, ends)
