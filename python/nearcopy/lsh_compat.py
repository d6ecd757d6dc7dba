"""datasketch's ``MinHashLSH``, on disk: existing code moves with a one-line change.

    from nearcopy.lsh_compat import MinHashLSH      # was: from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=0.8, num_perm=128, path="near-dups.lsh")  # path: optional, persistent
    lsh.insert("m1", m1)                            # datasketch MinHash / LeanMinHash objects
    lsh.query(m2)                                   # ["m1", ...]: the same candidates datasketch finds

Bands and rows are datasketch's (``weights`` 0.5/0.5 unless given), so ``query`` returns exactly the
keys datasketch's ``MinHashLSH`` returns on the same signatures (tested). Inserts are gathered in
memory, up to ``buffer_size``, and written as one segment (like datasketch's insertion sessions):
queries see them at once, ``flush()``, ``close()`` or leaving a ``with`` block makes them durable.
Keys are str or int (the index stores them; datasketch also takes other hashables). Without
``path`` the index lives in a temporary directory removed by ``close()``.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from nearcopy import _core
from nearcopy.datasketch_compat import from_datasketch
from nearcopy.lsh import optimal_bands
from nearcopy.lsh_index import LSHIndex
from nearcopy.minhash import Scheme, check_scheme

Key = Any  # str or int


class MinHashLSH:
    """A datasketch-shaped ``MinHashLSH`` over a persistent :class:`nearcopy.LSHIndex`."""

    def __init__(
        self,
        threshold: float = 0.9,
        num_perm: int = 128,
        weights: tuple[float, float] = (0.5, 0.5),
        params: tuple[int, int] | None = None,
        *,
        path: str | None = None,
        scheme: Scheme | None = None,
        store: str = "8bit",
        buffer_size: int = 50_000,
    ) -> None:
        if not 0.0 <= threshold <= 1.0:
            raise ValueError("threshold must be in [0.0, 1.0]")
        if num_perm < 2:
            raise ValueError("Too few permutation functions")
        self.h = num_perm
        self.b, self.r = params if params is not None else optimal_bands(threshold, num_perm, *weights)
        if self.b * self.r > num_perm:
            raise ValueError(f"The product of b and r in params is {self.b} * {self.r}, more than {num_perm}")
        self.threshold = threshold
        self._store, self.buffer_size = store, buffer_size
        self._temporary = path is None
        self._root = Path(tempfile.mkdtemp(prefix="nearcopy-lsh-")) / "index" if path is None else Path(path)
        if self._temporary:  # removed with this object, or at exit, if close() is never called
            weakref.finalize(self, shutil.rmtree, str(self._root.parent), True)
        self._index: LSHIndex | None = None
        self._scheme: Scheme | None = None if scheme is None else check_scheme(scheme)
        if (self._root / "manifest.json").exists():
            self._index = LSHIndex.open(self._root)
            p = self._index.params
            if (p["num_perm"], p["bands"], p["rows"]) != (num_perm, self.b, self.r):
                raise ValueError(
                    f"{self._root} holds an index of {p['num_perm']} slots, {p['bands']} bands x "
                    f"{p['rows']} rows; this MinHashLSH has {num_perm}, {self.b} x {self.r}"
                )
            self._scheme = p["scheme"]
        self._clear_buffer()

    def _clear_buffer(self) -> None:
        self._keys: list[Key] = []
        self._sigs: list[npt.NDArray[Any]] = []
        self._positions: dict[Key, list[int]] = {}
        self._tables: list[dict[int, list[int]]] = [{} for _ in range(self.b)]

    # Signatures ----------------------------------------------------------------------------------

    def _signature(self, minhash: Any) -> npt.NDArray[Any]:
        if isinstance(minhash, np.ndarray):
            if self._scheme is None:
                raise ValueError(
                    "give scheme= (or insert a datasketch MinHash first) to use signature arrays"
                )
            sig = minhash
        else:
            sig = from_datasketch(minhash)
            scheme = getattr(minhash, "scheme", "legacy")
            if self._scheme is not None and scheme != self._scheme:
                raise ValueError(f"MinHash of scheme {scheme!r} in an index of scheme {self._scheme!r}")
            self._scheme = check_scheme(scheme)
        if sig.shape != (self.h,):
            raise ValueError(f"Expecting minhash with length {self.h}, got {len(sig)}")
        return sig

    def _band_keys(self, sig: npt.NDArray[Any]) -> list[int]:
        return list(_core.dedup_band_keys(np.ascontiguousarray(sig[None, :]), self.b, self.r)[0].tolist())

    def _open_index(self, key: Key) -> LSHIndex:
        if self._index is None:
            key_type = "int" if isinstance(key, (int, np.integer)) else "str"
            assert self._scheme is not None
            self._index = LSHIndex.create(self._root, num_perm=self.h, scheme=self._scheme,
                                          threshold=max(self.threshold, 1e-6), bands=self.b, rows=self.r,
                                          store=self._store, key_type=key_type)  # fmt: skip
        return self._index

    # datasketch's API ----------------------------------------------------------------------------

    def insert(self, key: Key, minhash: Any, check_duplication: bool = True) -> None:
        """Adds ``key`` with its MinHash; a key already present raises ValueError (as datasketch)."""
        sig = self._signature(minhash)
        if not isinstance(key, (str, int, np.integer)) or isinstance(key, bool):
            raise TypeError(f"keys are str or int, got {type(key).__name__}")
        if check_duplication and key in self:
            raise ValueError("The given key already exists")
        self._open_index(key)
        position = len(self._keys)
        self._keys.append(key)
        self._sigs.append(sig)
        self._positions.setdefault(key, []).append(position)
        for table, band_key in zip(self._tables, self._band_keys(sig)):
            table.setdefault(band_key, []).append(position)
        if len(self._keys) >= self.buffer_size:
            self.flush()

    def query(self, minhash: Any) -> list[Key]:
        """The keys sharing a band with ``minhash``: datasketch's candidates, not verified."""
        sig = self._signature(minhash)
        found: set[Key] = set()
        if self._index is not None and len(self._index):
            keys = self._index.query(sig, verify=False).keys  # raw: no stored signature read
            found.update(keys.tolist() if isinstance(keys, np.ndarray) else keys)
        for table, band_key in zip(self._tables, self._band_keys(sig)):
            found.update(self._keys[p] for p in table.get(band_key, ()) if self._keys[p] is not None)
        return list(found)

    def __contains__(self, key: Key) -> bool:
        return bool(self._positions.get(key)) or (self._index is not None and key in self._index)

    def remove(self, key: Key) -> None:
        """Removes ``key``; a key not present raises ValueError (as datasketch)."""
        if key not in self:
            raise ValueError("The given key does not exist")
        for position in self._positions.pop(key, []):
            self._keys[position] = None  # the buffer's band tables skip it
        if self._index is not None and key in self._index:
            self._index.remove([key])

    def is_empty(self) -> bool:
        return not any(k is not None for k in self._keys) and (self._index is None or len(self._index) == 0)

    @contextmanager
    def insertion_session(self, buffer_size: int = 50_000) -> Iterator[MinHashLSH]:
        """Inserts gathered ``buffer_size`` at a time, all written when the block ends."""
        previous, self.buffer_size = self.buffer_size, buffer_size
        try:
            yield self
        finally:
            self.buffer_size = previous
            self.flush()

    # Persistence ---------------------------------------------------------------------------------

    def flush(self) -> None:
        """Writes the buffered inserts to the index as one segment."""
        live = [i for i, k in enumerate(self._keys) if k is not None]
        if live and self._index is not None:
            keys: Any = [self._keys[i] for i in live]
            if self._index.params["key_type"] == "int":
                keys = np.array(keys, dtype=np.int64)
            self._index.insert(keys, np.stack([self._sigs[i] for i in live]), check_duplicates=False)
        self._clear_buffer()

    def close(self) -> None:
        """Flushes; a temporary index (no ``path``) is removed instead."""
        if self._temporary:
            self._clear_buffer()
            shutil.rmtree(self._root.parent, ignore_errors=True)
            self._index = None
        else:
            self.flush()

    def __enter__(self) -> MinHashLSH:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def index(self) -> LSHIndex | None:
        """The persistent index behind this object (None until the first insert)."""
        return self._index
