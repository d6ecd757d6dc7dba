"""What an :class:`nearcopy.LSHIndex` takes, checked against its parameters: signature matrices
(or one signature) and keys, in the forms the native reader takes them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Union

import numpy as np
import numpy.typing as npt

Signatures = npt.NDArray[Union[np.uint32, np.uint64]]
KeysLike = Union[Sequence[str], Sequence[int], npt.NDArray[np.integer[Any]]]


def signature_rows(
    signatures: npt.ArrayLike, num_perm: int, dtype: np.dtype[Any], scheme: str
) -> tuple[Signatures, bool]:
    """``signatures`` as a C-contiguous ``(n, num_perm)`` matrix of ``dtype``, and whether one
    signature (1-D) was given; a ValueError says what does not fit."""
    sigs = np.asarray(signatures)
    single = sigs.ndim == 1
    if single:
        sigs = sigs[None, :]
    if sigs.ndim != 2 or sigs.shape[1] != num_perm:
        raise ValueError(f"expected signatures of {num_perm} slots, got shape {np.shape(signatures)}")
    if sigs.dtype != dtype:
        raise ValueError(f"signatures of scheme {scheme!r} are {dtype.name}, got {sigs.dtype}")
    return np.ascontiguousarray(sigs), single


def key_list(keys: Any, int_keys: bool) -> tuple[Any, bool]:
    """Keys as the reader takes them (a list of str, or an int64 array), and whether one key was
    given rather than a sequence."""
    single = isinstance(keys, (str, int, np.integer))
    items: Any = [keys] if single else keys
    if int_keys:
        values = np.asarray(items)
        if values.size and not np.issubdtype(values.dtype, np.integer):
            raise TypeError(f"this index has int keys, got {values.dtype}")
        return np.ascontiguousarray(values, dtype=np.int64).reshape(-1), single
    items = list(items)
    if not all(isinstance(k, str) for k in items):
        raise TypeError("this index has str keys")
    return items, single
