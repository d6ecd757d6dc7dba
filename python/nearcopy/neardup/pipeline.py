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
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Callable, Union

import numpy as np

from nearcopy import _core
from nearcopy.answer import detect_language
from nearcopy.inputs import InputError
from nearcopy.minhash import signature_dtype
from nearcopy.neardup import formats
from nearcopy.neardup.clustering import Corpus, cluster_corpus, group_budget
from nearcopy.neardup.doc_ids import DocIds
from nearcopy.neardup.leftovers import make_work_dir, remove_work_dir
from nearcopy.neardup.ray_engine import RaySigner
from nearcopy.neardup.ray_stages import RayVerifier
from nearcopy.neardup.reading import BadLines, Batch, Fields, read_batches
from nearcopy.neardup.reference_index import ReferenceIndex, ReferenceWriter, is_reference_index
from nearcopy.neardup.report import DedupReport, Progress, cluster_stats, write_report
from nearcopy.neardup.spill import Spill, parse_size
from nearcopy.neardup.stages import Params, Signed, band_keys, sign
from nearcopy.neardup.writing import write_outputs

PathLike = Union[str, "os.PathLike[str]"]
KEEP_POLICIES = ("first", "longest", "shortest")
ENGINES = ("local", "ray")
REFERENCE_CHUNK_DOCS = 8192  # documents of a saved reference index loaded at a time


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
    save_reference: PathLike | None = None,
) -> DedupReport:
    """Removes near-duplicate documents from JSONL (plain, .gz, .zst) or Parquet files.

    ``keep``: which copies of a cluster stay: ``"first"`` (input order), ``"longest"``, ``"shortest"``
    or the name of a numeric field (higher kept; documents without it last); ``max_copies`` of them.
    ``reference``: files of a reference corpus, or reference indexes saved by an earlier run with
    ``save_reference`` (directories); input documents that near-duplicate one of its documents are
    removed and name it in ``duplicate_of``. ``save_reference``: a directory to save this run's input
    documents to, signed, for later runs to use as ``reference`` without signing them again.
    ``annotate``: write every document with ``cluster_id``, ``cluster_size`` and ``duplicate_of``
    instead of removing any. ``memory_limit`` bounds the memory of the run, per-document state
    included (signatures and band keys spill to ``work_dir``). Bad input raises
    ``nearcopy.inputs.InputError`` (a ``ValueError``) naming the file and line; a reference index
    signed with other settings, or damaged, raises ``ReferenceIndexError`` (one).

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
    references = _paths(reference) if reference is not None else []
    ref_indexes = [ReferenceIndex(r) for r in references if is_reference_index(r)]
    for index in ref_indexes:
        index.check(params)
    ref_datasets = [r for r in references if not is_reference_index(r)]
    ref_files = formats.expand(ref_datasets) if ref_datasets else []
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
    saver = None
    try:
        if save_reference is not None:
            saver = ReferenceWriter(Path(save_reference), params)
        spill = Spill(work, partitions, params.num_perm, dtype, group_budget=group_budget(budget))
        corpus = Corpus(DocIds(), [], [], [], [])
        batch_bytes = _batch_bytes(budget, engine, num_threads)
        if engine == "ray":
            signer = RaySigner(params, ray_address)
            closers.append(signer.close)
            ray = signer.ray
            sign_batches: Callable[[Iterator[Batch]], Iterator[tuple[Batch, Signed]]] = signer.sign
        else:
            sign_batches = _local_signer(params, num_threads)
        for number, (path, rel) in enumerate([*files, *ref_files]):
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
                if saver is not None and number < len(files):
                    saver.add(signed.sigs, signed.hashes, batch.id_strings(), signed.sets)
                show.update("reading", spill.docs, unit="documents")
            corpus.file_docs.append(spill.docs - before)
        for index in ref_indexes:
            _add_reference_index(index, spill, corpus, params, num_threads, show)
        spill.finish()
        show.done()
        timings["read_and_sign"] = time.perf_counter() - started
        n_input = sum(corpus.file_docs[: len(files)])
        n_total = spill.docs
        stats, decisions = cluster_corpus(
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
            write_outputs(files, targets, corpus, decisions, annotate, show, bad or BadLines(), ray)
            timings["write"] = time.perf_counter() - t0
        if saver is not None:
            saver.commit()
            saver = None
    finally:
        if saver is not None:
            saver.abort()
        for close in closers:
            close()
        if spill is not None:
            spill.finish()
        remove_work_dir(work)  # lock last, so a kill midway still leaves a leftover to clean up
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
            "reference_indexes": [str(index.path) for index in ref_indexes],
            "saved_reference": None if save_reference is None else os.fspath(save_reference),
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


def _add_reference_index(
    index: ReferenceIndex,
    spill: Spill,
    corpus: Corpus,
    params: Params,
    num_threads: int | None,
    show: Progress,
) -> None:
    """A saved reference index's documents, numbered on after those read so far: its signatures
    are banded with this run's bands and rows, nothing is signed again."""
    before = spill.docs
    for sigs, hashes, id_bytes, id_ends, sets in index.chunks(REFERENCE_CHUNK_DOCS):
        spill.add(sigs, band_keys(sigs, params, num_threads))
        if sets is not None and params.verify == "exact":
            spill.add_sets(*sets)
        corpus.ids.add_encoded(id_bytes, id_ends)
        corpus.hashes.append(hashes)
        corpus.lengths.append(np.zeros(len(sigs), dtype=np.int64))  # only inputs' lengths are used
        corpus.keep_values.append(np.full(len(sigs), np.nan))
        show.update("reading", spill.docs, unit="documents")
    corpus.file_docs.append(spill.docs - before)


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
