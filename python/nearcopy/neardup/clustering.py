"""Clustering a dedup run's documents after pass 1: the exact duplicates joined, every group of
band-key records cut into slices, paired, verified and joined by union-find, then each cluster's
copies chosen (``decide``). Reference documents are numbered after the input documents; an input
document's best reference match is kept on the side, never joined.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from nearcopy import _core
from nearcopy.neardup.doc_ids import DocIds
from nearcopy.neardup.formats import KeepFieldError
from nearcopy.neardup.ray_stages import RayVerifier
from nearcopy.neardup.report import Progress
from nearcopy.neardup.spill import PAIR_BYTES, Spill
from nearcopy.neardup.stages import (
    Params,
    UnionFind,
    candidate_pairs,
    decide,
    exact_groups,
    verified,
)

# The least memory given to the band-key groups and their pairs (or the whole limit, if smaller),
# whatever the per-document state leaves of the memory limit.
MIN_WORKING_BYTES = 64 << 20


@dataclass
class Corpus:
    """What pass 1 keeps per document (``cluster_corpus`` empties the per-batch lists once it has
    joined them)."""

    ids: DocIds
    hashes: list[npt.NDArray[np.uint64]]
    lengths: list[npt.NDArray[np.int64]]
    keep_values: list[npt.NDArray[np.float64]]
    file_docs: list[int]


def group_budget(budget: int) -> int:
    """Bytes for the band-key records loaded at once: half the memory limit (see ``cluster_corpus``)."""
    return budget // 2


def _priority(corpus: Corpus, keep: str, keep_field: str | None, n_input: int) -> npt.NDArray[np.float64]:
    if keep == "first":
        return np.zeros(n_input)
    if keep in ("longest", "shortest"):
        lengths = np.concatenate(corpus.lengths)[:n_input].astype(np.float64)
        return lengths if keep == "longest" else -lengths
    values = np.concatenate(corpus.keep_values)[:n_input]
    if n_input and np.isnan(values).all():
        raise KeepFieldError(f"keep field {keep_field!r} is not a number in any document")
    return values


def cluster_corpus(
    spill: Spill,
    corpus: Corpus,
    params: Params,
    n_input: int,
    n_total: int,
    budget: int,
    keep: str,
    max_copies: int,
    keep_field: str | None,
    num_threads: int | None,
    show: Progress,
    timings: dict[str, float],
    ray_verifier: RayVerifier | None = None,
) -> tuple[dict[str, int], Any]:
    """Exact groups, then candidates, verification and union-find per group of partitions (the
    candidates and their verification in Ray tasks when a ``ray_verifier`` is given)."""
    t0 = time.perf_counter()
    priority = _priority(corpus, keep, keep_field, n_input)
    hashes = np.concatenate(corpus.hashes) if corpus.hashes else np.empty((0, 2), dtype=np.uint64)
    # The per-batch lists are not needed again: dropped, they leave the memory limit to the groups.
    corpus.hashes, corpus.lengths, corpus.keep_values = [], [], []
    is_ref = np.zeros(n_total, dtype=bool)
    is_ref[n_input:] = True
    rep, is_rep = exact_groups(hashes, prefer=is_ref, num_threads=num_threads)
    uf = UnionFind(n_input)
    # Each input document's smallest exact copy among the inputs: already a union-find parent array.
    uf.parent = exact_groups(hashes[:n_input], num_threads=num_threads)[0]
    del hashes
    # Reference matches: the best reference document of each input document, and its similarity.
    best_ref = np.where(rep[:n_input] >= n_input, rep[:n_input].astype(np.int64) - n_input, -1)
    best_sim = np.where(best_ref >= 0, 1.0, -1.0)
    stats = {
        "exact": int(np.count_nonzero(~is_rep[:n_input] | (best_ref >= 0))),
        "candidates": 0,
        "verified": 0,
    }
    sigs = spill.signatures()
    sets = spill.sets() if params.verify == "exact" else None
    done = 0
    # The per-document state is counted against the memory limit; of what is left (at least
    # MIN_WORKING_BYTES), half for the loaded band-key records and a quarter for the pairs they make.
    held = [priority, is_ref, rep, is_rep, uf.parent, best_ref, best_sim]
    state = sum(a.nbytes for a in held) + corpus.ids.nbytes()
    working = max(min(budget, MIN_WORKING_BYTES), budget - state)
    slices = (
        records
        for loaded in spill.groups(group_budget(working))
        for records in key_slices(
            loaded[is_rep[loaded[:, 1].astype(np.int64)]],
            params.max_group,
            max(1024, working // 4 // PAIR_BYTES),
            num_threads,
        )
    )
    if ray_verifier is None:
        results = _verify_locally(slices, uf, params, n_input, sigs, sets, num_threads)
    else:
        # The tasks verified every pair; the local engine verifies the unconnected ones only, and
        # both are per-pair tests, so keeping the unconnected verified pairs gives the same edges.
        results = (
            (size, candidates, uf.unconnected(good_all), matched, similarity)
            for size, (candidates, good_all, matched, similarity) in ray_verifier.run(slices, sigs, sets)
        )
    # Lazy: each slice's edges are joined before the next slice is verified against the components.
    for size, candidates, good, matched, similarity in results:
        stats["candidates"] += candidates
        stats["verified"] += len(good) + len(matched)
        uf.union(good)
        _best_reference(matched, similarity, n_input, best_ref, best_sim)
        done += size
        show.update("clustering", done, unit="band keys")
    show.done()
    # Exact copies wrote no band records: they share their representative's reference match.
    copies = np.flatnonzero(~is_rep[:n_input])
    inherit = copies[(rep[copies] < n_input) & (best_ref[copies] < 0)]
    best_ref[inherit], best_sim[inherit] = best_ref[rep[inherit]], best_sim[rep[inherit]]
    del sigs, sets  # unmap before the work directory goes
    decisions = decide(uf.roots(), priority, max_copies, best_ref if n_total > n_input else None)
    stats["reference_matches"] = int(np.count_nonzero(best_ref >= 0))
    timings["cluster"] = time.perf_counter() - t0
    return stats, decisions


def _verify_locally(
    slices: Iterator[npt.NDArray[np.uint64]],
    uf: UnionFind,
    params: Params,
    n_input: int,
    sigs: Any,
    sets: Any,
    num_threads: int | None,
) -> Iterator[tuple[int, int, npt.NDArray[np.uint64], npt.NDArray[np.uint64], npt.NDArray[np.float64]]]:
    """Per slice: its records, its candidate count, the verified input pairs not yet connected (only
    those are worth verifying) and the verified input-reference pairs with their similarity."""
    for records in slices:
        pairs = candidate_pairs(records, params.max_group, num_threads)
        inner = uf.unconnected(pairs[pairs[:, 1] < n_input])
        good, _ = verified(inner, params, sigs=sigs, sets=sets, num_threads=num_threads)
        across = pairs[(pairs[:, 0] < n_input) & (pairs[:, 1] >= n_input)]
        matched, similarity = verified(across, params, sigs=sigs, sets=sets, num_threads=num_threads)
        yield len(records), len(pairs), good, matched, similarity


def key_slices(
    records: npt.NDArray[np.uint64], max_group: int, max_pairs: int, num_threads: int | None = None
) -> list[npt.NDArray[np.uint64]]:
    """``records`` sorted by key and cut at key boundaries into slices of at most about ``max_pairs``
    candidate pairs each (one key's group is never split): a heavily duplicated corpus yields far
    more pairs than band keys (a group of 200 copies makes 19,900), and this keeps them within the
    memory limit. Pairs repeated in two slices are merely filtered out again by the union-find."""
    if len(records) == 0:
        return []
    # Sorted by key, then document (as `candidate_pairs` wants them; it skips its own sort then).
    records = _core.dedup_sort_records(np.ascontiguousarray(records, dtype=np.uint64), num_threads)
    keys = records[:, 0]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    sizes = np.diff(np.r_[starts, len(keys)])
    pairs = np.where(sizes <= max_group, sizes * (sizes - 1) // 2, 2 * sizes)
    ends = np.cumsum(pairs)
    if ends[-1] <= max_pairs:
        return [records]
    # The first group of each slice: where the running pair count passes a multiple of max_pairs.
    firsts = np.unique(np.searchsorted(ends, np.arange(max_pairs, ends[-1], max_pairs), side="right"))
    cuts = [0, *starts[firsts[firsts < len(starts)]].tolist(), len(records)]
    return [records[a:b] for a, b in zip(cuts[:-1], cuts[1:]) if b > a]


def _best_reference(
    matched: npt.NDArray[np.uint64],
    similarity: npt.NDArray[np.float64],
    n_input: int,
    best_ref: npt.NDArray[np.int64],
    best_sim: npt.NDArray[np.float64],
) -> None:
    """Updates each input document's best reference match in place: the most similar reference
    document, ties to the earlier one, so the answer does not depend on the partition order."""
    if not len(matched):
        return
    docs, refs = matched[:, 0].astype(np.int64), matched[:, 1].astype(np.int64) - n_input
    order = np.lexsort((refs, -similarity, docs))
    doc, first = np.unique(docs[order], return_index=True)
    ref, sim = refs[order][first], similarity[order][first]
    better = (sim > best_sim[doc]) | ((sim == best_sim[doc]) & (ref < best_ref[doc]))
    best_ref[doc[better]], best_sim[doc[better]] = ref[better], sim[better]
