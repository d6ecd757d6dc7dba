"""`nearcopy demo`: fingerprint a real corpus of this machine and print the near-duplicates in it.

This is the main job until the protected index and output filter exist: it shows normalization,
shingling, MinHash and LSH at work on real text, and verifies every reported pair with exact Jaccard.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from nearcopy.code import CodeOptions
from nearcopy.corpus import iter_corpus
from nearcopy.lsh import candidate_pairs, optimal_bands
from nearcopy.minhash import Scheme, empty_value, jaccard, minhash
from nearcopy.neardup.report import plural
from nearcopy.options import TextOptions
from nearcopy.text import shingles


@dataclass(frozen=True)
class NearDuplicate:
    a: str
    b: str
    estimated: float
    exact: float


@dataclass(frozen=True)
class DemoReport:
    documents: int
    megabytes: float
    fingerprint_seconds: float
    bands: int
    rows: int
    candidates: int
    pairs: list[NearDuplicate]


def find_near_duplicates(
    roots: list[Path] | None = None,
    *,
    threshold: float = 0.8,
    num_perm: int = 128,
    scheme: Scheme = "fast",
    options: TextOptions | CodeOptions | None = None,
    limit: int | None = None,
) -> DemoReport:
    """Near-duplicate pairs (exact shingle Jaccard >= ``threshold``) of the corpus under ``roots``."""
    docs = list(iter_corpus(roots, limit))
    texts = [doc.text for doc in docs]
    started = time.perf_counter()
    signatures = minhash(texts, num_perm=num_perm, scheme=scheme, options=options)
    elapsed = time.perf_counter() - started
    bands, rows = optimal_bands(threshold, num_perm)
    # Documents without a single token (empty __init__.py files) all share the empty signature; they
    # are not copies of one another.
    has_tokens = np.flatnonzero(~(signatures == empty_value(scheme)).all(axis=1))
    candidates = has_tokens[candidate_pairs(signatures[has_tokens], bands, rows)]
    shingle_sets: dict[int, set[str]] = {}

    def exact(i: int) -> set[str]:
        if i not in shingle_sets:
            shingle_sets[i] = set(shingles(texts[i], options))
        return shingle_sets[i]

    pairs = []
    for i, j in candidates.tolist():
        a, b = exact(i), exact(j)
        similarity = len(a & b) / len(a | b)
        if similarity >= threshold:
            estimate = jaccard(signatures[i], signatures[j])
            pairs.append(NearDuplicate(docs[i].id, docs[j].id, float(estimate), similarity))
    pairs.sort(key=lambda p: (-p.exact, p.a, p.b))
    megabytes = sum(len(t.encode("utf-8", "surrogatepass")) for t in texts) / 1e6
    return DemoReport(len(docs), megabytes, elapsed, bands, rows, len(candidates), pairs)


def groups(pairs: list[NearDuplicate]) -> list[list[str]]:
    """Connected components of the verified pairs, largest first (a preview of `nearcopy dedup`)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for pair in pairs:
        parent[find(pair.a)] = find(pair.b)
    members: dict[str, list[str]] = {}
    for doc in parent:
        members.setdefault(find(doc), []).append(doc)
    return sorted((sorted(m) for m in members.values()), key=lambda m: (-len(m), m[0]))


def print_report(report: DemoReport, show: int, as_json: bool) -> None:
    if as_json:
        json.dump(asdict(report), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    rate = report.megabytes / report.fingerprint_seconds if report.fingerprint_seconds > 0 else float("inf")
    print(
        f"fingerprinted {report.documents} documents ({report.megabytes:.1f} MB) in "
        f"{report.fingerprint_seconds:.2f} s ({rate:.0f} MB/s)"
    )
    identical = [p for p in report.pairs if p.exact == 1.0]
    near = [p for p in report.pairs if p.exact < 1.0]
    print(
        f"LSH with {report.bands} bands x {report.rows} rows: {report.candidates} candidate pairs, "
        f"{len(report.pairs)} verified: {len(identical)} identical after normalization, "
        f"{len(near)} near-duplicates"
    )
    if near:
        print(f"\nnear-duplicates that are not identical (top {min(show, len(near))}):")
        print(f"{'exact J':>8} {'est. J':>7}  documents")
        for pair in near[:show]:
            print(f"{pair.exact:8.3f} {pair.estimated:7.3f}  {pair.a}\n{'':17}~ {pair.b}")
    clusters = groups(report.pairs)
    if clusters:
        print(f"\n{plural(len(clusters), 'group')} of near-copies; the largest:")
        for members in clusters[:5]:
            print(f"{len(members):6d} documents, e.g. {', '.join(members[:3])}")


def mean_estimation_error(report: DemoReport) -> float:
    """Mean |estimated − exact| over the reported pairs (printed by the CLI as a sanity figure)."""
    if not report.pairs:
        return 0.0
    return float(np.mean([abs(p.estimated - p.exact) for p in report.pairs]))
