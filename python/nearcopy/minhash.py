"""Batch MinHash signatures and Jaccard estimates."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Union, cast

import numpy as np
import numpy.typing as npt

from nearcopy import _core
from nearcopy.code import CodeOptions
from nearcopy.options import TextOptions, resolve_options

Scheme = Literal["fast", "legacy", "affine32", "affine64"]
SCHEMES: tuple[Scheme, ...] = ("fast", "legacy", "affine32", "affine64")
"""``fast`` is nearcopy's own; the others are bit-identical to datasketch's schemes of the same name."""

COMPATIBLE_SCHEMES: tuple[Scheme, ...] = ("legacy", "affine32", "affine64")

Token = Union[str, bytes]
Documents = Union[Sequence[str], Sequence[Sequence[Token]]]
Signatures = npt.NDArray[np.unsignedinteger[Any]]
"""uint64 rows, or uint32 rows for ``affine32``."""


def signature_dtype(scheme: Scheme) -> type[np.uint32] | type[np.uint64]:
    """numpy dtype of signatures of ``scheme``: uint32 for ``affine32``, uint64 for the others."""
    return np.uint32 if check_scheme(scheme) == "affine32" else np.uint64


def empty_value(scheme: Scheme) -> int:
    """The value of a slot that no token reached (datasketch's empty signature)."""
    return (1 << 32) - 1 if check_scheme(scheme) in ("legacy", "affine32") else (1 << 64) - 1


def check_scheme(scheme: object) -> Scheme:
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {', '.join(map(repr, SCHEMES))}, got {scheme!r}")
    return scheme


def _check_int(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if not low <= int(value) <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value}")
    return int(value)


def minhash(
    docs: Documents,
    *,
    num_perm: int = 128,
    scheme: Scheme = "fast",
    seed: int = 1,
    options: TextOptions | CodeOptions | None = None,
    num_threads: int | None = None,
) -> Signatures:
    """MinHash signatures of many documents, as one ``(len(docs), num_perm)`` array.

    ``docs`` is either a sequence of ``str`` (normalized and shingled in Rust as ``options`` say: a
    ``TextOptions`` for prose, a ``CodeOptions`` for source code) or a sequence of token lists
    (``str`` or ``bytes`` items, hashed as given, as datasketch does). The work runs in parallel with
    the GIL released; results do not depend on ``num_threads`` (default: all cores for large batches).

    ``scheme``: ``"fast"`` (nearcopy's one-permutation scheme, uint64), or datasketch's ``"legacy"``
    (1.x, uint64), ``"affine32"`` (2.x default, uint32), ``"affine64"`` (uint64), bit-identical to
    ``datasketch.MinHash(num_perm, seed, scheme=...)`` updated with the same token bytes.
    """
    scheme = check_scheme(scheme)
    num_perm = _check_int("num_perm", num_perm, 1, _core.MAX_NUM_PERM)
    seed = _check_int("seed", seed, 0, (1 << 32) - 1)
    threads = None if num_threads is None else _check_int("num_threads", num_threads, 1, 1024)
    if isinstance(docs, (str, bytes)):
        raise TypeError("docs must be a sequence of documents, not a single str or bytes; wrap it: [doc]")
    code = options if isinstance(options, CodeOptions) else None
    text = resolve_options(None if isinstance(options, CodeOptions) else options)
    batch = docs if isinstance(docs, list) else list(docs)
    if not batch:
        return np.empty((0, num_perm), dtype=signature_dtype(scheme))
    if not isinstance(batch[0], str):
        if options is not None:
            raise ValueError("options apply to texts and source code; token lists are hashed as given")
        return _core.minhash_tokens(batch, num_perm, scheme, seed, threads)
    sources = cast(list[str], batch)
    if code is not None:
        return _core.minhash_code(
            sources,
            num_perm,
            scheme,
            seed,
            code.language,
            code.ngram,
            code.identifiers,
            code.literals,
            threads,
        )
    return _core.minhash_texts(
        sources, num_perm, scheme, seed, text.ngram, text.unit, text.nfkc, text.casefold, threads
    )


def jaccard(a: npt.ArrayLike, b: npt.ArrayLike, /) -> float | npt.NDArray[np.float64]:
    """Estimated Jaccard similarity: the fraction of slots where two signatures agree.

    Two rows give a float; a matrix and a row give one estimate per matrix row; two matrices of the
    same shape give one estimate per pair of rows (row ``i`` against row ``i``).
    """
    x, y = np.asarray(a), np.asarray(b)
    if x.ndim not in (1, 2) or y.ndim not in (1, 2):
        raise ValueError(f"signatures must be 1-D rows or 2-D matrices, got shapes {x.shape} and {y.shape}")
    if x.shape[-1] != y.shape[-1] or x.shape[-1] == 0:
        raise ValueError(f"signatures must have the same non-zero num_perm, got {x.shape} and {y.shape}")
    if x.ndim == 2 and y.ndim == 2 and x.shape[0] != y.shape[0]:
        raise ValueError(f"matrices must have the same number of rows, got {x.shape} and {y.shape}")
    equal = np.count_nonzero(x == y, axis=-1) / x.shape[-1]
    if x.ndim == 1 and y.ndim == 1:
        return float(equal)
    return np.asarray(equal, dtype=np.float64)
