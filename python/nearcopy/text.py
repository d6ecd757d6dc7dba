"""Text normalization and shingling (the work is done in Rust; these are typed wrappers)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from nearcopy import _core
from nearcopy.code import CodeOptions
from nearcopy.options import TextOptions, resolve_options


@dataclass(frozen=True)
class Tokens:
    """Normalized tokens of a text, with where each came from.

    ``starts[i]:ends[i]`` is the byte span of token ``i`` in the UTF-8 encoding of the original text
    (``text.encode("utf-8", "surrogatepass")``), so ``text.encode()[starts[i]:ends[i]].decode()`` is
    the original spelling of the token.
    """

    texts: list[str]
    starts: npt.NDArray[np.int64]
    ends: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.texts)


def _require_str(text: object) -> str:
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return text


def normalize(text: str, options: TextOptions | None = None) -> Tokens:
    """Normalizes ``text`` into word tokens with their byte spans in the original."""
    opts = resolve_options(options)
    texts, starts, ends = _core.normalize(_require_str(text), opts.nfkc, opts.casefold)
    return Tokens(texts, starts, ends)


def shingles(text: str, options: TextOptions | CodeOptions | None = None) -> list[str]:
    """The shingles :func:`nearcopy.minhash` hashes for ``text`` (prose, or code with CodeOptions).

    ``minhash([text])`` equals ``minhash([shingles(text)])`` for every scheme, so shingles computed
    here can be fed to datasketch (``m.update(s.encode())``) to get the same signature.
    """
    if isinstance(options, CodeOptions):
        return _core.code_shingles(
            _require_str(text), options.language, options.ngram, options.identifiers, options.literals
        )
    opts = resolve_options(options)
    return _core.shingles(_require_str(text), opts.ngram, opts.unit, opts.nfkc, opts.casefold)
