"""``nearcopy.neardup.dedup``: near-duplicate removal over files, in bounded memory.

Pass 1 reads the inputs (then the reference corpus) a batch at a time: signatures and band-key
records are spilled to a work directory, and only a few numbers per document stay in memory (a
content hash, a length, the keep value, the id). Then the exact duplicates are joined, every spilled
partition is grouped into candidate pairs, verified and joined by union-find, and each cluster's
copies are chosen. Pass 2 reads the inputs again and writes what is kept (or everything, annotated)
to temporary files beside the outputs, renamed into place only when all of them are complete.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Union

import numpy as np
import numpy.typing as npt

from nearcopy import _core
from nearcopy.answer import detect_language
from nearcopy.inputs import InputError
from nearcopy.minhash import signature_dtype
from nearcopy.neardup import formats
from nearcopy.neardup.doc_ids import DocIds
from nearcopy.neardup.formats import Annotator, KeepFieldError
from nearcopy.neardup.leftovers import make_work_dir, temporary_output
from nearcopy.neardup.ray_engine import RaySigner
from nearcopy.neardup.ray_stages import RayVerifier, write_files
from nearcopy.neardup.reading import BadLines, Batch, Fields, read_batches
from nearcopy.neardup.report import DedupReport, Progress, cluster_stats, write_report
from nearcopy.neardup.spill import PAIR_BYTES, Spill, parse_size
from nearcopy.neardup.stages import (
    Params,
    Signed,
    UnionFind,
    candidate_pairs,
    decide,
    exact_groups,
    sign,
    verified,
)

PathLike = Union[str, "os.PathLike[str]"]
KEEP_POLICIES = ("first", "longest", "shortest")
ENGINES = ("local", "ray")


def _paths(value: PathLike | Sequence[PathLike]) -> list[str]:
    if isinstance(value, (str, os.PathLike)):
        return [os.fspath(value)]
    return [os.fspath(v) for v in value]


def _language_of(code: bool | str | None) -> Callable[[Any], str | None]:
    """Maps a document's language field to a code language: every document is ``code`` when it names
    a language; otherwise a field naming a supported language makes its document code."""
    if isinstance(code, str) and code != "auto":
        fixed = _core.canonical_language(code)
        return lambda _value: fixed
    cache: dict[str, str | None] = {}

    def resolve(value: Any) -> str | None:
        if not isinstance(value, str) or not value:
            return None
        if value not in cache:
            try:
                cache[value] = _core.canonical_language(value)
            except ValueError:  # "en", "fr": natural languages are prose
                cache[value] = None
        return cache[value]

    return resolve


@dataclass
class _Corpus:
    """What pass 1 keeps per document."""

    ids: DocIds
    hashes: list[npt.NDArray[np.uint64]]
    lengths: list[npt.NDArray[np.int64]]
    keep_values: list[npt.NDArray[np.float64]]
    file_docs: list[int]


def _plan_outputs(inputs: list[str], files: list[tuple[Path, Path]], output: Path) -> list[Path]:
    """One output per input file: ``output`` itself when the input is one named file (the output
    then has its format), else ``output/<name relative to its input>`` (for directories and globs,
    whatever they match)."""
    one_file = len(inputs) == 1 and Path(inputs[0]).is_file()
    if one_file and not output.is_dir() and not str(output).endswith(os.sep):
        wanted, given = formats.file_format(files[0][0]), formats.file_format(output)
        if given != wanted:
            suffix = (
                ".parquet" if wanted and wanted[0] == "parquet" else f".jsonl{wanted[1] if wanted else ''}"
            )
            raise InputError(f"{output}: the output has the input's format; name it *{suffix}")
        return [output]
    targets = [output / rel for _, rel in files]
    if len(set(targets)) != len(targets):
        raise InputError("two inputs have the same file name; give directories instead of globs")
    return targets


def dedup(
    inputs: PathLike | Sequence[PathLike],
    output: PathLike | None = None,
    *,
    params: Params | None = None,
    keep: str = "first",
    max_copies: int = 1,
    reference: PathLike | Sequence[PathLike] | None = None,
    annotate: bool = False,
    code: bool | str | None = None,
    text_field: str = "text",
    id_field: str = "id",
    language_field: str | None = "language",
    report: PathLike | None = None,
    memory_limit: int | str = "1G",
    partitions: int = 64,
    num_threads: int | None = None,
    work_dir: PathLike | None = None,
    progress: bool | None = None,
    engine: str = "local",
    ray_address: str | None = None,
    skip_bad: bool = False,
) -> DedupReport:
    """Removes near-duplicate documents from JSONL (plain, .gz, .zst) or Parquet files.

    ``keep``: which copies of a cluster stay: ``"first"`` (input order), ``"longest"``, ``"shortest"``
    or the name of a numeric field (higher kept; documents without it last); ``max_copies`` of them.
    ``reference``: files of a reference corpus; input documents that near-duplicate one of its
    documents are removed and name it in ``duplicate_of``. ``annotate``: write every document with
    ``cluster_id``, ``cluster_size`` and ``duplicate_of`` instead of removing any. ``memory_limit``
    bounds the memory of the run (signatures and band keys spill to ``work_dir``). Bad input raises
    ``nearcopy.inputs.InputError`` (a ``ValueError``) naming the file and line.

    ``engine``: ``"local"`` (this process's threads) or ``"ray"``: the per-document stages as Ray
    Data map tasks (``pip install 'nearcopy[ray]'``) on the cluster at ``ray_address``, else on the
    Ray runtime already initialized in this process, else on a local one started (and stopped) for
    the run; the output and report are the same as the local engine's.

    ``skip_bad``: leave out lines that are not readable documents (invalid JSON, no string text
    field, a keep value that is not a number) instead of stopping at the first; the report counts
    them and names the first few (``skipped_lines``, ``skipped_examples``).
    """
    params = params or Params()
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if max_copies < 1:
        raise ValueError(f"max_copies must be at least 1, got {max_copies}")
    budget = parse_size(memory_limit)
    show = Progress(progress if progress is not None else False)
    timings: dict[str, float] = {}
    files = formats.expand(_paths(inputs))
    ref_files = formats.expand(_paths(reference)) if reference is not None else []
    targets = _plan_outputs(_paths(inputs), files, Path(output)) if output is not None else []
    keep_field = None if keep in KEEP_POLICIES else keep
    fields = Fields(text_field, id_field, language_field, keep_field)
    language_of = _language_of(code)
    dtype = signature_dtype(params.scheme)
    started = time.perf_counter()
    work, work_lock = make_work_dir(work_dir)  # and removes those of killed runs
    spill = None
    closers: list[Callable[[], None]] = []
    bad = BadLines() if skip_bad else None
    ray: Any = None
    try:
        spill = Spill(work, partitions, params.num_perm, dtype, group_budget=_group_budget(budget))
        corpus = _Corpus(DocIds(), [], [], [], [])
        batch_bytes = _batch_bytes(budget, engine, num_threads)
        if engine == "ray":
            signer = RaySigner(params, ray_address)
            closers.append(signer.close)
            ray = signer.ray
            sign_batches: Callable[[Iterator[Batch]], Iterator[tuple[Batch, Signed]]] = signer.sign
        else:
            sign_batches = _local_signer(params, num_threads)
        for path, rel in [*files, *ref_files]:
            before = spill.docs
            batches = read_batches(path, str(rel), fields, batch_bytes, language_of, bad, num_threads)
            if code is True or code == "auto":
                batches = map(_detect_languages, batches)
            for batch, signed in sign_batches(batches):
                spill.add(signed.sigs, signed.keys)
                if signed.sets is not None:
                    spill.add_sets(*signed.sets)
                corpus.ids.add(batch.label, batch.ids, batch.lines)
                corpus.hashes.append(signed.hashes)
                corpus.lengths.append(np.array([len(t) for t in batch.texts], dtype=np.int64))
                corpus.keep_values.append(np.array(batch.keep_values, dtype=np.float64))
                show.update("reading", spill.docs, unit="documents")
            corpus.file_docs.append(spill.docs - before)
        spill.finish()
        show.done()
        timings["read_and_sign"] = time.perf_counter() - started
        n_input = sum(corpus.file_docs[: len(files)])
        n_total = spill.docs
        stats, decisions = _cluster(
            spill,
            corpus,
            params,
            n_input,
            n_total,
            budget,
            keep,
            max_copies,
            keep_field,
            num_threads,
            show,
            timings,
            RayVerifier(ray, params, n_input) if ray is not None else None,
        )
        if targets:
            t0 = time.perf_counter()
            _write(files, targets, corpus, decisions, annotate, show, bad or BadLines(), ray)
            timings["write"] = time.perf_counter() - t0
    finally:
        for close in closers:
            close()
        if spill is not None:
            spill.finish()
        shutil.rmtree(work, ignore_errors=True)
        work_lock.close()
    clusters, histogram, largest = cluster_stats(decisions.cluster, corpus.ids)
    result = DedupReport(
        documents=n_input,
        kept=int(decisions.keep.sum()),
        removed=n_input - int(decisions.keep.sum()),
        exact_duplicates=stats["exact"],
        reference_documents=n_total - n_input,
        reference_matches=stats["reference_matches"],
        clusters=clusters,
        candidate_pairs=stats["candidates"],
        verified_pairs=stats["verified"],
        cluster_size_histogram=histogram,
        largest_clusters=largest,
        parameters={
            **params.describe(),
            "keep": keep,
            "max_copies": max_copies,
            "partitions": partitions,
            "memory_limit": budget,
            "annotate": annotate,
            "engine": engine,
            "skip_bad": skip_bad,
        },
        timings={k: round(v, 3) for k, v in timings.items()},
        outputs=[str(t) for t in targets],
        skipped_lines=bad.count if bad else 0,
        skipped_examples=bad.examples if bad else [],
    )
    if report is not None:
        write_report(result, Path(report))
    return result


def _batch_bytes(budget: int, engine: str, num_threads: int | None) -> int:
    """Input bytes read and signed at a time. Locally, about 1 MiB per thread: the block, its texts
    and their signatures then stay in the CPU caches and reuse the memory of the batch before (a
    20,000-document run took 0.40 s with 64 MiB blocks, 0.27 s with 1 MiB ones, the first-touch
    page faults of fresh memory being most of the difference). A Ray batch is a Ray Data job
    spread over the cluster, so it is as large as the memory limit allows."""
    largest = max(1 << 20, min(64 << 20, budget // 16))
    if engine == "ray":
        return largest
    threads = num_threads if num_threads is not None else _core.default_threads()
    return min(largest, max(1, threads) << 20)


def _group_budget(budget: int) -> int:
    """Bytes for the band-key records loaded at once: half the memory limit (see ``_cluster``)."""
    return budget // 2


def _detect_languages(batch: Batch) -> Batch:
    batch.languages = [lang or detect_language(t) for lang, t in zip(batch.languages, batch.texts)]
    return batch


def _local_signer(
    params: Params, num_threads: int | None
) -> Callable[[Iterator[Batch]], Iterator[tuple[Batch, Signed]]]:
    def sign_batches(batches: Iterator[Batch]) -> Iterator[tuple[Batch, Signed]]:
        for batch in batches:
            yield batch, sign(batch.texts, batch.languages, params, num_threads)

    return sign_batches


def _priority(corpus: _Corpus, keep: str, keep_field: str | None, n_input: int) -> npt.NDArray[np.float64]:
    if keep == "first":
        return np.zeros(n_input)
    if keep in ("longest", "shortest"):
        lengths = np.concatenate(corpus.lengths)[:n_input].astype(np.float64)
        return lengths if keep == "longest" else -lengths
    values = np.concatenate(corpus.keep_values)[:n_input]
    if n_input and np.isnan(values).all():
        raise KeepFieldError(f"keep field {keep_field!r} is not a number in any document")
    return values


def _cluster(
    spill: Spill,
    corpus: _Corpus,
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
    is_ref = np.arange(n_total) >= n_input
    rep, is_rep = exact_groups(hashes, prefer=is_ref)
    uf = UnionFind(n_input)
    input_rep, _ = exact_groups(hashes[:n_input])
    uf.union(np.stack([input_rep, np.arange(n_input, dtype=np.uint64)], axis=1))
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
    # Half the memory limit for the loaded band-key records, a quarter for the pairs they make; the
    # rest for the per-document arrays (hashes, union-find parents, ...) and the interpreter.
    slices = (
        records
        for loaded in spill.groups(_group_budget(budget))
        for records in key_slices(
            loaded[is_rep[loaded[:, 1].astype(np.int64)]],
            params.max_group,
            max(1024, budget // 4 // PAIR_BYTES),
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
    copies = np.flatnonzero(rep[:n_input] != np.arange(n_input, dtype=np.uint64))
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


def _write_file(
    source: Path, label: str, tmp: Path, first: int, annotator: Annotator, skipped: set[int]
) -> int:
    """One output, complete and synced, at its temporary name; the documents its input held."""
    with open(tmp, "wb") as handle:
        if formats.file_format(source) == ("parquet", ""):
            written = formats.write_parquet(source, first, annotator, handle, skipped)
        else:
            written = formats.write_jsonl(source, label, first, annotator, handle, skipped)
        handle.flush()
        os.fsync(handle.fileno())
    return written


def _write(
    files: list[tuple[Path, Path]],
    targets: list[Path],
    corpus: _Corpus,
    decisions: Any,
    annotate: bool,
    show: Progress,
    bad: BadLines,
    ray: Any = None,
) -> None:
    """Every output to a temporary file beside it, synced; all renamed into place only when every
    one is complete. Any failure (Ctrl-C included) removes the temporary files and leaves the
    outputs as they were. With ``ray``, each file is written by a task of its own."""
    pending: list[tuple[Path, Path]] = []
    locks: list[int] = []  # held while the temporary files may be written (see leftovers.py)
    try:
        jobs = []
        first = 0
        for (source, rel), target, count in zip(files, targets, corpus.file_docs):
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp, lock = temporary_output(target)
            locks.append(lock)
            pending.append((tmp, target))
            end = first + count
            # Each job gets its own documents' decisions only, numbered from 0; the ids of the
            # documents they duplicate are made only when they are written.
            annotator = Annotator(
                decisions.keep[first:end],
                decisions.cluster[first:end],
                decisions.size[first:end],
                corpus.ids.strings(decisions.duplicate_of[first:end]) if annotate else [],
                annotate,
            )
            skipped = bad.by_file.get(str(rel), set())
            jobs.append((_write_file, (source.resolve(), str(rel), tmp, 0, annotator, skipped)))
            first = end
        if ray is not None:
            written = write_files(ray, jobs)
            show.update("writing", first, len(decisions.keep), unit="documents")
        else:
            written, done = [], 0
            for fn, args in jobs:
                written.append(fn(*args))
                done += written[-1]
                show.update("writing", done, len(decisions.keep), unit="documents")
        for (source, _), count, wrote in zip(files, corpus.file_docs, written):
            if wrote != count:
                raise InputError(
                    f"{source}: changed while being deduplicated ({count} then {wrote} documents)"
                )
        for tmp, target in pending:
            os.replace(tmp, target)
        show.done()
    except BaseException:
        for tmp, _ in pending:
            tmp.unlink(missing_ok=True)
        raise
    finally:
        for lock in locks:
            os.close(lock)
