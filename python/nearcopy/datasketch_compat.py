"""Conversion to and from datasketch's ``LeanMinHash``, so existing indexes keep working.

datasketch is an optional dependency (``pip install nearcopy[datasketch]``); it is imported only
when these functions are called.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from nearcopy.minhash import COMPATIBLE_SCHEMES, Scheme, Signatures, check_scheme, signature_dtype


def _datasketch() -> Any:
    try:
        import datasketch
    except ImportError as err:  # pragma: no cover - exercised only without the extra
        raise ImportError(
            "datasketch is not installed; install it with: pip install 'nearcopy[datasketch]'"
        ) from err
    return datasketch


def _datasketch_has_schemes(datasketch: Any) -> bool:
    return hasattr(datasketch.MinHash(num_perm=1), "scheme")


def to_datasketch(signatures: npt.ArrayLike, *, scheme: Scheme, seed: int = 1) -> Any:
    """A ``datasketch.LeanMinHash`` for a signature row, or a list of them for a matrix.

    ``scheme`` and ``seed`` must be those the signatures were computed with: signatures carry no trace
    of either. Only the datasketch-compatible schemes convert (``fast`` has no datasketch equivalent).
    """
    check_scheme(scheme)
    if scheme not in COMPATIBLE_SCHEMES:
        raise ValueError(f"scheme {scheme!r} has no datasketch equivalent; use one of {COMPATIBLE_SCHEMES}")
    values = np.asarray(signatures)
    if values.ndim not in (1, 2) or values.shape[-1] == 0:
        raise ValueError(f"expected a signature row or matrix, got shape {values.shape}")
    expected = np.dtype(signature_dtype(scheme))
    if values.dtype != expected:
        raise ValueError(f"signatures of scheme {scheme!r} are {expected.name}, got {values.dtype}")
    datasketch = _datasketch()
    with_schemes = _datasketch_has_schemes(datasketch)
    if not with_schemes and scheme != "legacy":
        raise ValueError(f"the installed datasketch predates scheme {scheme!r} (it needs datasketch >= 2.0)")

    def lean(row: npt.NDArray[Any]) -> Any:
        if with_schemes:
            return datasketch.LeanMinHash(seed=seed, hashvalues=row, scheme=scheme)
        return datasketch.LeanMinHash(seed=seed, hashvalues=row)

    if values.ndim == 1:
        return lean(values)
    return [lean(row) for row in values]


def from_datasketch(minhashes: Any) -> Signatures:
    """The signature row of a datasketch ``MinHash``/``LeanMinHash``, or a matrix for a sequence of them.

    All must share one scheme (datasketch < 2.0 sketches are ``legacy``) and one ``num_perm``.
    """
    if isinstance(minhashes, Sequence) and not isinstance(minhashes, (str, bytes)):
        rows = [from_datasketch(m) for m in minhashes]
        if not rows:
            raise ValueError("from_datasketch needs at least one MinHash")
        dtypes = {row.dtype for row in rows}
        if len(dtypes) != 1 or len({row.shape for row in rows}) != 1:
            raise ValueError("all MinHash must have the same scheme and num_perm")
        return cast(Signatures, np.stack(rows))
    hashvalues = getattr(minhashes, "hashvalues", None)
    if hashvalues is None:
        raise TypeError(f"expected a datasketch MinHash or LeanMinHash, got {type(minhashes).__name__}")
    scheme = getattr(minhashes, "scheme", "legacy")
    return cast(Signatures, np.array(hashvalues, dtype=signature_dtype(check_scheme(scheme))))
