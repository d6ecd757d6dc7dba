"""The stages of near-duplicate clustering, each a function over numpy arrays.

signature -> band keys -> bucketed (key, doc) records -> candidate pairs per bucket -> verified
pairs -> union-find -> keep decisions. The local pipeline (``pipeline.py``) strings them together
over spilled buckets; another engine can run the same functions on its own partitions: only the
union-find needs every verified pair, and it is a few bytes per document.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from nearcopy import _core
from nearcopy.code import CodeOptions, IdentifierMode, LiteralMode
from nearcopy.lsh import VERIFIED_WEIGHTS, optimal_bands
from nearcopy.minhash import Scheme, Signatures, check_scheme, minhash
from nearcopy.options import TextOptions

U64 = npt.NDArray[np.uint64]
Verify = Literal["signature", "exact"]

# Bands and rows minimize false positives x 0.1 + false negatives x 0.9: every candidate is
# verified (see nearcopy.lsh.VERIFIED_WEIGHTS).
DEFAULT_WEIGHTS = VERIFIED_WEIGHTS

# Band groups above this size are linked as a star plus a chain instead of all-to-all (see
# `candidate_pairs`); 200 keeps the all-pairs work of one group at 20,000 verifications.
DEFAULT_MAX_GROUP = 200


@dataclass(frozen=True)
class Params:
    """Every setting that changes which documents cluster together."""

    threshold: float = 0.8
    num_perm: int = 128
    bands: int | None = None  # from `optimal_bands(threshold, num_perm, *weights)` when not given
    rows: int | None = None
    scheme: Scheme = "fast"
    seed: int = 1
    text: TextOptions = field(default_factory=TextOptions)
    code_ngram: int = 10
    identifiers: IdentifierMode = "placeholder"
    literals: LiteralMode = "abstract"
    verify: Verify = "signature"
    max_group: int = DEFAULT_MAX_GROUP
    weights: tuple[float, float] = DEFAULT_WEIGHTS  # (false positive, false negative) for the bands

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {self.threshold}")
        check_scheme(self.scheme)
        if self.verify not in ("signature", "exact"):
            raise ValueError(f"verify must be 'signature' or 'exact', got {self.verify!r}")
        if (self.bands is None) != (self.rows is None):
            raise ValueError("give both bands and rows, or neither (they follow from the threshold)")
        if self.bands is None:
            threshold = min(self.threshold, 0.99)  # optimal_bands needs a threshold below 1
            bands, rows = optimal_bands(threshold, self.num_perm, *self.weights)
            object.__setattr__(self, "bands", bands)
            object.__setattr__(self, "rows", rows)
        if self.band_count < 1 or self.row_count < 1 or self.band_count * self.row_count > self.num_perm:
            raise ValueError(f"{self.bands} bands of {self.rows} rows do not fit num_perm = {self.num_perm}")
        if self.max_group < 2:
            raise ValueError(f"max_group must be at least 2, got {self.max_group}")
        CodeOptions("python", ngram=self.code_ngram, identifiers=self.identifiers, literals=self.literals)

    @property
    def band_count(self) -> int:
        return int(self.bands or 0)

    @property
    def row_count(self) -> int:
        return int(self.rows or 0)

    def describe(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "num_perm": self.num_perm,
            "bands": self.bands,
            "rows": self.rows,
            "scheme": self.scheme,
            "seed": self.seed,
            "ngram": self.text.ngram,
            "unit": self.text.unit,
            "code_ngram": self.code_ngram,
            "identifiers": self.identifiers,
            "literals": self.literals,
            "verify": self.verify,
            "weights": list(self.weights),
            "max_group": self.max_group,
        }


def signatures(
    texts: Sequence[str], languages: Sequence[str | None], params: Params, num_threads: int | None = None
) -> Signatures:
    """MinHash rows of a batch: prose with ``params.text``, each code language with its own
    ``CodeOptions``, in one array in the batch's order."""
    if len(texts) != len(languages):
        raise ValueError("texts and languages must have the same length")
    langs = np.array([lang or "" for lang in languages], dtype=object)
    if not langs.any():
        return minhash(
            list(texts),
            num_perm=params.num_perm,
            scheme=params.scheme,
            seed=params.seed,
            options=params.text,
            num_threads=num_threads,
        )
    out = np.empty(
        (len(texts), params.num_perm), dtype=np.uint32 if params.scheme == "affine32" else np.uint64
    )
    for lang in sorted(set(langs.tolist())):
        rows = np.flatnonzero(langs == lang)
        options: TextOptions | CodeOptions = params.text
        if lang:
            options = CodeOptions(
                lang, ngram=params.code_ngram, identifiers=params.identifiers, literals=params.literals
            )
        out[rows] = minhash(
            [texts[i] for i in rows.tolist()],
            num_perm=params.num_perm,
            scheme=params.scheme,
            seed=params.seed,
            options=options,
            num_threads=num_threads,
        )
    return out


def shingle_sets(
    texts: Sequence[str], languages: Sequence[str | None], params: Params, num_threads: int | None = None
) -> tuple[U64, U64]:
    """Sorted distinct shingle hashes of each document (``--verify exact``): ``(values, bounds)``."""
    t = params.text
    return _core.dedup_shingle_sets(
        list(texts),
        list(languages),
        t.ngram,
        t.unit,
        t.nfkc,
        t.casefold,
        params.code_ngram,
        params.identifiers,
        params.literals,
        num_threads,
    )


def band_keys(sigs: Signatures, params: Params, num_threads: int | None = None) -> U64:
    """``(docs, bands)`` uint64 keys; two documents share key ``b`` iff their band ``b`` slots agree."""
    return _core.dedup_band_keys(np.ascontiguousarray(sigs), params.band_count, params.row_count, num_threads)


def candidate_pairs(records: U64, max_group: int, num_threads: int | None = None) -> U64:
    """Sorted distinct pairs ``(i, j)``, ``i < j``, sharing a key among ``(key, doc)`` records."""
    return _core.dedup_candidate_pairs(np.ascontiguousarray(records, dtype=np.uint64), max_group, num_threads)


def verified(
    pairs: U64,
    params: Params,
    *,
    sigs: Signatures | None = None,
    sets: tuple[U64, U64] | None = None,
    num_threads: int | None = None,
) -> tuple[U64, npt.NDArray[np.float64]]:
    """The pairs whose similarity reaches the threshold, and that similarity: the signature
    estimate (equal slots over ``num_perm``), or exact shingle-set Jaccard when ``sets`` is given."""
    pairs = np.ascontiguousarray(pairs, dtype=np.uint64).reshape(-1, 2)
    if sets is not None:
        similarity = _core.dedup_exact_jaccard(sets[0], sets[1], pairs, num_threads)
        ok = similarity >= params.threshold
    else:
        if sigs is None:
            raise ValueError("verification needs signatures or shingle sets")
        equal = _core.dedup_equal_slots(sigs, pairs, num_threads)
        # Integer comparison: equal / num_perm >= threshold, without rounding surprises at the edge.
        ok = equal >= np.ceil(params.threshold * params.num_perm - 1e-9)
        similarity = equal / params.num_perm
    return pairs[ok], np.asarray(similarity[ok], dtype=np.float64)


@dataclass
class Signed:
    """What pass 1 computes for a batch of documents: signatures, band keys, content hashes
    (``(n, 2)`` XXH3-128 of the raw text) and, for ``verify="exact"``, the shingle sets."""

    sigs: Signatures
    keys: U64
    hashes: U64
    sets: tuple[U64, U64] | None


def sign(
    texts: Sequence[str], languages: Sequence[str | None], params: Params, num_threads: int | None = None
) -> Signed:
    """Every per-document stage of a batch (the local engine runs it in the driver, the Ray engine
    in map tasks)."""
    sigs = signatures(texts, languages, params, num_threads)
    return Signed(
        sigs,
        band_keys(sigs, params, num_threads),
        _core.dedup_content_hashes(list(texts), num_threads),
        shingle_sets(texts, languages, params, num_threads) if params.verify == "exact" else None,
    )


class UnionFind:
    """Components of documents ``0..n``; the root of a component is its smallest document."""

    def __init__(self, n: int) -> None:
        self.parent: U64 = np.arange(n, dtype=np.uint64)

    def union(self, pairs: U64) -> int:
        return int(
            _core.dedup_union(self.parent, np.ascontiguousarray(pairs, dtype=np.uint64).reshape(-1, 2))
        )

    def unconnected(self, pairs: U64) -> U64:
        """The pairs not yet inside one component (the only ones worth verifying)."""
        return _core.dedup_unconnected(
            self.parent, np.ascontiguousarray(pairs, dtype=np.uint64).reshape(-1, 2)
        )

    def roots(self) -> U64:
        return _core.dedup_roots(self.parent)


def exact_groups(
    hashes: U64, prefer: npt.NDArray[np.bool_] | None = None, num_threads: int | None = None
) -> tuple[U64, npt.NDArray[np.bool_]]:
    """Documents with identical content hashes (``(n, 2)`` rows): each document's representative
    (the group's smallest ``prefer``-red document if any, else its smallest document) and a mask of
    representatives. Only representatives need band keys: a copy's signature is the same."""
    flags = None if prefer is None else np.ascontiguousarray(prefer, dtype=bool)
    return _core.dedup_exact_groups(
        np.ascontiguousarray(hashes, dtype=np.uint64).reshape(-1, 2), flags, num_threads
    )


@dataclass
class Decisions:
    """Per input document: its cluster (root document), cluster size, whether it is kept, and the
    document it duplicates (an input index, or ``n + r`` for reference document ``r``; -1 if kept)."""

    cluster: U64
    size: npt.NDArray[np.int64]
    keep: npt.NDArray[np.bool_]
    duplicate_of: npt.NDArray[np.int64]


def decide(
    roots: U64,
    priority: npt.NDArray[np.float64],
    max_copies: int = 1,
    reference_match: npt.NDArray[np.int64] | None = None,
) -> Decisions:
    """Keeps the ``max_copies`` highest-``priority`` documents of each cluster (ties: the earlier
    document; NaN lowest); a document matching a reference document (``reference_match >= 0``) is
    never kept. ``roots``: each document's cluster, named by one of its documents."""
    if max_copies < 1:
        raise ValueError(f"max_copies must be at least 1, got {max_copies}")
    roots = np.ascontiguousarray(roots, dtype=np.uint64)
    matches = None if reference_match is None else np.ascontiguousarray(reference_match, dtype=np.int64)
    size, keep, duplicate_of = _core.dedup_decide(
        roots, np.ascontiguousarray(priority, dtype=np.float64), max_copies, matches
    )
    return Decisions(roots, size, keep, duplicate_of)


def cluster(
    texts: Sequence[str],
    params: Params | None = None,
    *,
    languages: Sequence[str | None] | None = None,
    priority: npt.ArrayLike | None = None,
    max_copies: int = 1,
    num_threads: int | None = None,
) -> Decisions:
    """Every stage in memory, for a list of texts (the file pipeline spills the same stages)."""
    params = params or Params()
    langs = list(languages) if languages is not None else [None] * len(texts)
    sigs = signatures(texts, langs, params, num_threads)
    rep, is_rep = exact_groups(_core.dedup_content_hashes(list(texts), num_threads))
    uf = UnionFind(len(texts))
    uf.union(np.stack([rep, np.arange(len(texts), dtype=np.uint64)], axis=1))
    records, _ = _core.dedup_bucket_records(band_keys(sigs, params, num_threads), 0, 1, is_rep)
    pairs = uf.unconnected(candidate_pairs(records, params.max_group, num_threads))
    sets = shingle_sets(texts, langs, params, num_threads) if params.verify == "exact" else None
    good, _ = verified(pairs, params, sigs=sigs, sets=sets, num_threads=num_threads)
    uf.union(good)
    prio = np.zeros(len(texts)) if priority is None else np.asarray(priority, dtype=np.float64)
    return decide(uf.roots(), prio, max_copies)
