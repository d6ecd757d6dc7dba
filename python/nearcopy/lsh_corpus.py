"""Documents from files, signed for an LSH index: what ``nearcopy lsh build|add|query`` and the Ray
build read.

Files are read as ``nearcopy dedup`` reads them (JSON Lines plain, ``.gz`` or ``.zst``, Parquet,
directories and globs; the Rust JSONL reader) and signed by dedup's stages, so an index built here
and a dedup run with the same settings compute the same signatures. How they were signed is
recorded in the index's manifest (``signing``), and later additions and queries sign the same way.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from nearcopy.lsh_containment import shingle_counts
from nearcopy.lsh_index import LSHIndex
from nearcopy.neardup import formats
from nearcopy.neardup.pipeline import _language_of
from nearcopy.neardup.reading import BadLines, Fields, read_batches
from nearcopy.neardup.reference_index import signature_settings
from nearcopy.neardup.stages import Params, shingle_sets, sign
from nearcopy.options import TextOptions

# Documents are read about this many bytes of text at a time, and inserted into the index about
# this many signature bytes at a time (one segment each; tiers of segments are merged as they fill).
READ_BYTES = 4 << 20
INSERT_SIGNATURE_BYTES = 128 << 20


def params_from_signing(signing: Mapping[str, Any], threshold: float = 0.8) -> Params:
    """dedup's ``Params`` that sign as ``signing`` (an index's recorded settings) says."""
    text = TextOptions(
        ngram=signing["ngram"], unit=signing["unit"], nfkc=signing["nfkc"], casefold=signing["casefold"]
    )
    return Params(
        threshold=threshold,
        num_perm=signing["num_perm"],
        scheme=signing["scheme"],
        seed=signing["seed"],
        text=text,
        code_ngram=signing["code_ngram"],
        identifiers=signing["identifiers"],
        literals=signing["literals"],
    )


@dataclass
class SignedDocs:
    """A batch of signed documents: ids (the id field, else ``file:line``), signatures, the
    content hashes (``(n, 2)`` XXH3-128 of the text) and, when asked for, the set sizes (each
    document's number of distinct shingles, as it was signed: for containment indexes)."""

    ids: list[str]
    sigs: npt.NDArray[Any]
    hashes: npt.NDArray[np.uint64]
    sizes: npt.NDArray[np.uint32] | None = None


def signed_documents(
    inputs: Sequence[str | os.PathLike[str]],
    params: Params,
    *,
    text_field: str = "text",
    id_field: str = "id",
    language_field: str | None = "language",
    skip_bad: bool | BadLines = False,
    num_threads: int | None = None,
    with_sizes: bool = False,
) -> Iterator[SignedDocs]:
    """The documents of ``inputs``, signed, about ``READ_BYTES`` of text per batch. Bad input
    raises ``nearcopy.inputs.InputError`` naming file and line (skipped with ``skip_bad``; a
    ``BadLines`` given there counts what was skipped, for the caller to report). ``with_sizes``:
    also each document's set size, from the shingles it was signed with."""
    fields = Fields(text_field, id_field, language_field, None)
    language_of = _language_of(None)
    bad = skip_bad if isinstance(skip_bad, BadLines) else BadLines() if skip_bad else None
    for path, rel in formats.expand([os.fspath(p) for p in inputs]):
        for batch in read_batches(path, str(rel), fields, READ_BYTES, language_of, bad, num_threads):
            signed = sign(batch.texts, batch.languages, params, num_threads)
            sizes = None
            if with_sizes:
                _, bounds = shingle_sets(batch.texts, batch.languages, params, num_threads)
                sizes = shingle_counts(bounds)
            yield SignedDocs(batch.id_strings(), signed.sigs, signed.hashes, sizes)


def insert_documents(
    index: LSHIndex,
    docs: Iterator[SignedDocs],
    *,
    check_duplicates: bool = True,
    num_threads: int | None = None,
) -> int:
    """Inserts signed batches into ``index``, gathered to about ``INSERT_SIGNATURE_BYTES`` per
    insert (so memory stays bounded whatever the corpus); returns how many documents went in."""
    columns = index.info()["columns"]
    if "shingle_sets" in columns:
        raise ValueError(
            f"{index.path}: holds shingle sets (a reference saved by `nearcopy dedup --verify exact`), "
            "which documents added here would lack; save the reference again with `nearcopy dedup`"
        )
    with_hashes = "content_hashes" in columns
    pending: list[SignedDocs] = []
    size = total = 0

    def flush() -> None:
        if pending:
            ids = [i for p in pending for i in p.ids]
            hashes = np.concatenate([p.hashes for p in pending]) if with_hashes else None
            sigs = np.concatenate([p.sigs for p in pending])
            sizes = None
            if index.containment:
                if any(p.sizes is None for p in pending):
                    raise ValueError(f"{index.path}: a containment index needs the documents' set sizes")
                sizes = np.concatenate([p.sizes for p in pending if p.sizes is not None])
            index.insert(
                ids, sigs, check_duplicates=check_duplicates, content_hashes=hashes, sizes=sizes,
                num_threads=num_threads,
            )  # fmt: skip
            pending.clear()

    for batch in docs:
        pending.append(batch)
        size += batch.sigs.nbytes
        total += len(batch.ids)
        if size >= INSERT_SIGNATURE_BYTES:
            flush()
            size = 0
    flush()
    return total


def create_for_documents(
    path: str | os.PathLike[str],
    params: Params,
    *,
    store: str = "8bit",
    weights: tuple[float, float] | None = None,
    containment: bool = False,
) -> LSHIndex:
    """A new index whose bands, rows and threshold are ``params``' (dedup's choice) and which
    records how ``params`` sign, so that additions and queries sign the same way. An index of full
    signatures also keeps content hashes: ``dedup --reference`` can then use it. ``containment``:
    single-slot bands and set sizes (:meth:`LSHIndex.query_containment`), not dedup's bands."""
    columns = ["content_hashes"] if store == "full" else []
    # Given weights choose the bands (as datasketch's do); else they are dedup's.
    bands: dict[str, Any] = (
        {"containment": True}
        if containment
        else {"weights": weights}
        if weights is not None
        else {"bands": params.band_count, "rows": params.row_count}
    )
    return LSHIndex.create(
        path, num_perm=params.num_perm, scheme=params.scheme, seed=params.seed,
        threshold=params.threshold, store=store, signing=signature_settings(params), columns=columns,
        **bands,
    )  # fmt: skip


def signing_of(index: LSHIndex) -> Params:
    """How the documents of ``index`` were signed, or a ValueError if it does not record it."""
    if index.signing is None:
        raise ValueError(
            f"{index.path}: built from signatures given in Python; it does not record how documents are "
            "signed, so it can only be queried with signatures"
        )
    return params_from_signing(index.signing, index.threshold)
