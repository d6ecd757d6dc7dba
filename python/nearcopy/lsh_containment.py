"""Containment queries of an LSH index: the documents that hold most of a (short) query, as
datasketch's ``MinHashLSHEnsemble`` answers them, on the index's own storage.

A passage of ``q`` shingles inside a document of ``x`` has Jaccard similarity
``J = c * q / (q + x - c * q)`` with it (``c``: the share of the passage the document holds): about
0.02 for 60 words in 2,000, out of reach of any Jaccard band of several slots. An index created with
``containment=True`` has single-slot bands (``rows = 1``; ``num_perm`` of them by default), each a
table of one signature slot, so a pair is a candidate with probability ``1 - (1 - J)^bands`` (0.92
at J = 0.02 and 128 bands), and records each document's set size (its number of distinct
shingles) in its segments. A query gives its own set sizes; the bands a candidate shares are its
agreeing slots, which estimate ``J`` (``shared / bands``), and the containment estimate is
``J * (q + x) / ((1 + J) * q)``, at most ``min(1, x / q)``. Candidates are kept when it reaches the
threshold (``verify=False``: every candidate, each with its estimate).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import numpy.typing as npt

from nearcopy.lsh_results import Neighbors, NeighborsBatch
from nearcopy.lsh_store import damage_is_index_error

SET_SIZES = "set_sizes"  # the manifest's name of the column


class ContainmentUnsupportedError(ValueError):
    """A containment query (or insert with set sizes) on an index created without
    ``containment=True``: it records no set sizes and has no single-slot bands."""


def containment_bands(num_perm: int, bands: int | None, rows: int | None) -> tuple[int, int]:
    """The bands x rows of a containment index: single-slot bands, ``num_perm`` unless ``bands``."""
    if rows not in (None, 1):
        raise ValueError(f"a containment index has single-slot bands (rows=1), got rows={rows}")
    return (num_perm if bands is None else bands), 1


def is_containment(manifest: dict[str, Any]) -> bool:
    return SET_SIZES in manifest.get("columns", [])


def refuse_unless_containment(root: Any, containment: bool) -> None:
    """Raises :class:`ContainmentUnsupportedError` for the index at ``root`` unless ``containment``."""
    if not containment:
        raise ContainmentUnsupportedError(
            f"{root}: this index records no set sizes (created without containment=True, "
            "`nearcopy lsh build --containment`); containment queries need an index built with them"
        )


def checked_sizes(sizes: npt.ArrayLike, rows: int, what: str = "sizes") -> npt.NDArray[np.uint64]:
    """``sizes`` as one non-negative integer per signature row, or a ValueError saying what is wrong."""
    values = np.asarray(sizes)
    if values.ndim == 0:
        values = values.reshape(1)
    if values.shape != (rows,):
        raise ValueError(f"{what} must give one set size per signature ({rows}), got shape {values.shape}")
    if values.size and not np.issubdtype(values.dtype, np.integer):
        raise TypeError(f"{what} must be integers (numbers of distinct shingles), got {values.dtype}")
    if values.size and (values.min() < 0 or values.max() >= 2**32):
        raise ValueError(f"{what} must be between 0 and 2^32 - 1")
    return np.ascontiguousarray(values, dtype=np.uint64)


def shingle_counts(bounds: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint32]:
    """Set sizes from shingle-set bounds (``n + 1`` offsets, as ``dedup_shingle_sets`` gives them)."""
    return np.diff(np.asarray(bounds, dtype=np.int64)).astype(np.uint32)


class ContainmentQueries:
    """:meth:`query_containment` of :class:`nearcopy.LSHIndex` (which provides these attributes)."""

    path: Any
    _manifest: dict[str, Any]
    _reader: Any
    _signatures: Callable[[npt.ArrayLike], tuple[Any, bool]]

    @damage_is_index_error
    def query_containment(
        self,
        signatures: npt.ArrayLike,
        sizes: npt.ArrayLike,
        *,
        threshold: float | None = None,
        top_k: int | None = None,
        verify: bool = True,
        boundary_recall: float = 0.5,
        num_threads: int | None = None,
    ) -> Any:
        """The documents that hold at least ``threshold`` (default: the index's) of each query's
        shingles, estimated: :class:`Neighbors` for one signature, :class:`NeighborsBatch` for a
        matrix, the most contained first, ``similarity`` being the estimated containment.

        ``sizes``: each query's set size (its number of distinct shingles; one int for one
        signature). Candidates share a single-slot band with the query; the bands shared estimate
        their Jaccard similarity, which with the two set sizes estimates the containment
        (``nearcopy/lsh_containment.py``). A candidate is kept when it shares as many bands as a
        document holding exactly ``threshold`` of the query does with probability above
        ``1 - boundary_recall`` (0.5: the median; higher keeps more, less precisely).
        ``verify=False`` gives every candidate with its estimate.
        An index created without ``containment=True`` raises :class:`ContainmentUnsupportedError`.
        """
        refuse_unless_containment(self.path, is_containment(self._manifest))
        limit = float(self._manifest["params"]["threshold"]) if threshold is None else float(threshold)
        if top_k is not None and top_k < 1:
            raise ValueError(f"top_k must be at least 1, got {top_k}")
        if not 0.0 <= boundary_recall <= 1.0:
            raise ValueError(f"boundary_recall must be in [0, 1], got {boundary_recall}")
        sigs, single = self._signatures(signatures)
        taken = checked_sizes(sizes, len(sigs))
        bounds, keys, contained = self._reader.query_containment(
            sigs, taken, limit, verify, top_k or 0, boundary_recall, num_threads
        )
        if single:
            return Neighbors(keys, contained)
        return NeighborsBatch(bounds, keys, contained)
