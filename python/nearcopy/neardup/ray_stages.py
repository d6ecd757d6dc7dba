"""The grouping, verification and writing stages of ``engine="ray"``, as Ray tasks.

Grouping and verification: the driver cuts the spilled band-key records into the same key-sorted
slices as the local engine, keeps only the keys shared by two or more documents, and sends each
slice to a task with the signatures (or shingle sets) of just the documents it names, renumbered
``0..m``. The task makes the candidate pairs, verifies every one of them against the full
signature (or the exact Jaccard), and returns only the edges that pass, in the original numbering.
The driver then runs the union-find on those edges, slice by slice in the local engine's order.

Why the results (and the counts in the report) are the local engine's: the renumbering preserves
order, so the candidate pairs are the same, in the same order; the local engine verifies only the
pairs that are not yet connected (``UnionFind.unconnected``, a per-pair test against the current
components) and verification is a per-pair test too, so filtering the verified edges by
``unconnected`` gives exactly the pairs the local engine verifies and accepts.

Writing: one task per output file writes it to its temporary name (workers must see the output
directory: on a cluster of several machines, a shared filesystem); the driver renames them all
into place only when every one is complete.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Any, Callable

import numpy as np
import numpy.typing as npt

from nearcopy.neardup.stages import Params, candidate_pairs, verified

U64 = npt.NDArray[np.uint64]
SliceResult = tuple[int, U64, U64, npt.NDArray[np.float64]]


def _verify_slice(
    records: U64,
    doc_ids: U64,
    sigs: npt.NDArray[Any] | None,
    sets: tuple[U64, U64] | None,
    params: Params,
    n_input: int,
) -> SliceResult:
    """The task: candidate pairs of ``records`` (documents numbered ``0..len(doc_ids)``), verified;
    returns the candidate count, the verified input pairs and the verified input-reference pairs
    (with their similarity), numbered as ``doc_ids`` says."""
    pairs = candidate_pairs(records, params.max_group, num_threads=1)
    ids = doc_ids[pairs] if len(pairs) else np.empty((0, 2), dtype=np.uint64)
    inner = pairs[ids[:, 1] < n_input]
    good, _ = verified(inner, params, sigs=sigs, sets=sets, num_threads=1)
    across = pairs[(ids[:, 0] < n_input) & (ids[:, 1] >= n_input)]
    matched, similarity = verified(across, params, sigs=sigs, sets=sets, num_threads=1)
    return len(pairs), doc_ids[good].reshape(-1, 2), doc_ids[matched].reshape(-1, 2), similarity


def shared_keys(records: U64) -> U64:
    """The records, sorted by key, of the keys two or more documents share (the others make no
    pairs)."""
    keys = records[:, 0]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    sizes = np.diff(np.r_[starts, len(keys)])
    shared: U64 = records[np.repeat(sizes >= 2, sizes)]
    return shared


def _gather_sets(sets: tuple[U64, U64], docs: U64) -> tuple[U64, U64]:
    """The shingle sets of ``docs`` only, as ``(values, bounds)``."""
    values, bounds = sets
    starts, ends = bounds[docs].astype(np.int64), bounds[docs + 1].astype(np.int64)
    lengths = ends - starts
    new_bounds = np.zeros(len(docs) + 1, dtype=np.uint64)
    new_bounds[1:] = np.cumsum(lengths)
    # Positions start_i, start_i + 1, ..., end_i - 1 for every document, without a Python loop.
    offsets = np.arange(int(lengths.sum()), dtype=np.int64) - np.repeat(
        new_bounds[:-1].astype(np.int64), lengths
    )
    return np.asarray(values[np.repeat(starts, lengths) + offsets], dtype=np.uint64), new_bounds


class RayVerifier:
    """Runs :func:`_verify_slice` on the cluster for a stream of slices, a few at a time, and
    yields the results in the order of the slices."""

    def __init__(self, ray: Any, params: Params, n_input: int) -> None:
        self._ray = ray
        self._params, self._n_input = params, n_input
        self._task = ray.remote(num_cpus=1)(_verify_slice)
        self._in_flight = max(2, 2 * int(ray.cluster_resources().get("CPU", 1)))

    def _submit(self, records: U64, sigs: npt.NDArray[Any], sets: tuple[U64, U64] | None) -> Any:
        records = shared_keys(records)
        doc_ids = np.unique(records[:, 1])
        local = records.copy()
        local[:, 1] = np.searchsorted(doc_ids, records[:, 1])
        if sets is not None:
            return self._task.remote(
                local, doc_ids, None, _gather_sets(sets, doc_ids), self._params, self._n_input
            )
        return self._task.remote(local, doc_ids, np.asarray(sigs[doc_ids]), None, self._params, self._n_input)

    def run(
        self, slices: Iterator[U64], sigs: npt.NDArray[Any], sets: tuple[U64, U64] | None
    ) -> Iterator[tuple[int, SliceResult]]:
        """``(records in the slice, the task's result)`` per slice, in order."""
        pending: deque[tuple[int, Any]] = deque()
        for records in slices:
            pending.append((len(records), self._submit(records, sigs, sets)))
            while len(pending) >= self._in_flight:
                size, ref = pending.popleft()
                yield size, self._ray.get(ref)
        while pending:
            size, ref = pending.popleft()
            yield size, self._ray.get(ref)


def write_files(ray: Any, jobs: list[tuple[Callable[..., int], tuple[Any, ...]]]) -> list[int]:
    """Runs each ``(write function, its arguments)`` as a Ray task; the documents each wrote."""
    remote = ray.remote(num_cpus=1)(_call)
    return [int(n) for n in ray.get([remote.remote(fn, args) for fn, args in jobs])]


def _call(fn: Callable[..., int], args: tuple[Any, ...]) -> int:
    return fn(*args)
