"""datasketch's ``MinHashLSHEnsemble`` (containment queries), on disk: existing code moves with its
import line.

    from nearcopy.lsh_ensemble_compat import MinHashLSHEnsemble  # was: from datasketch import ...

    ensemble = MinHashLSHEnsemble(threshold=0.5, num_perm=128, path="within.lsh")  # path: optional
    ensemble.index([("doc1", m1, size1), ("doc2", m2, size2)])  # datasketch MinHash objects, set sizes
    list(ensemble.query(m, size))                                # keys of the documents holding m

An :class:`nearcopy.LSHIndex` created with ``containment=True`` answers it: single-slot bands serve
every set size, so datasketch's partitioning parameters (``num_part``, ``m``, ``weights``) are
accepted and not needed. ``query`` returns verified candidates (``boundary_recall``, see
``LSHIndex.query_containment``), not every candidate as datasketch's does; ``verify=False`` gives
those. ``index`` may be called more than once here (each call is a new segment). Keys are str or
int. Without ``path`` the index lives in a temporary directory removed with this object.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from nearcopy.datasketch_compat import from_datasketch
from nearcopy.lsh_index import LSHIndex
from nearcopy.minhash import check_scheme


class MinHashLSHEnsemble:
    """A datasketch-shaped ``MinHashLSHEnsemble`` over a persistent containment :class:`LSHIndex`."""

    def __init__(
        self,
        threshold: float = 0.9,
        num_perm: int = 128,
        num_part: int = 16,
        m: int = 8,
        weights: tuple[float, float] = (0.5, 0.5),
        *,
        path: str | None = None,
        store: str = "8bit",
        boundary_recall: float = 0.5,
        verify: bool = True,
    ) -> None:
        if not 0.0 <= threshold <= 1.0:
            raise ValueError("threshold must be in [0.0, 1.0]")
        if num_perm < 2:
            raise ValueError("Too few permutation functions")
        del num_part, m, weights  # datasketch's partitions: single-slot bands serve every size
        self.threshold, self.h = threshold, num_perm
        self._store, self._boundary_recall, self._verify = store, boundary_recall, verify
        self._root = (
            Path(tempfile.mkdtemp(prefix="nearcopy-ensemble-")) / "index" if path is None else Path(path)
        )
        if path is None:
            weakref.finalize(self, shutil.rmtree, str(self._root.parent), True)
        self._index: LSHIndex | None = None
        if (self._root / "manifest.json").exists():
            self._index = LSHIndex.open(self._root)
            if not self._index.containment or self._index.num_perm != num_perm:
                raise ValueError(f"{self._root} holds no containment index of {num_perm} slots")

    @property
    def index_(self) -> LSHIndex | None:
        """The :class:`LSHIndex` behind it (None before the first :meth:`index`)."""
        return self._index

    def index(self, entries: Iterable[tuple[Any, Any, int]]) -> None:
        """Adds ``(key, minhash, size)`` entries: ``size`` is the set's number of distinct elements."""
        listed = list(entries)
        if not listed:
            raise ValueError("entries is empty")
        keys, minhashes, sizes = zip(*listed)
        if any(not isinstance(k, (str, int, np.integer)) or isinstance(k, bool) for k in keys):
            raise TypeError("keys are str or int")
        if any(m.hashvalues.shape != (self.h,) for m in minhashes):
            raise ValueError(f"Expecting minhash with length {self.h}")
        scheme = check_scheme(getattr(minhashes[0], "scheme", "legacy"))
        sigs = from_datasketch(list(minhashes))
        if self._index is None:
            key_type = "int" if isinstance(keys[0], (int, np.integer)) else "str"
            self._index = LSHIndex.create(
                self._root, num_perm=self.h, scheme=scheme, threshold=max(self.threshold, 1e-6),
                store=self._store, key_type=key_type, containment=True,
            )  # fmt: skip
        taken: Any = np.array(keys, dtype=np.int64) if self._index.params["key_type"] == "int" else list(keys)
        self._index.insert(taken, sigs, sizes=np.array(sizes, dtype=np.int64))

    def query(self, minhash: Any, size: int) -> Iterator[Any]:
        """The keys of the indexed sets holding about ``threshold`` of the query's ``size`` elements."""
        if self._index is None:
            return iter(())
        found = self._index.query_containment(
            from_datasketch(minhash), size, threshold=self.threshold, verify=self._verify,
            boundary_recall=self._boundary_recall,
        )  # fmt: skip
        keys = found.keys.tolist() if isinstance(found.keys, np.ndarray) else found.keys
        return iter(keys)

    def __contains__(self, key: Any) -> bool:
        return self._index is not None and key in self._index

    def is_empty(self) -> bool:
        return self._index is None or len(self._index) == 0
