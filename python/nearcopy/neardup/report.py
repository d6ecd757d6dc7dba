"""What a dedup run did: counts, cluster sizes, the largest clusters, parameters, timings; as a
dataclass, as JSON, as a short summary for stderr and as a PNG histogram (with matplotlib)."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from nearcopy._files import write_atomically
from nearcopy.neardup.doc_ids import DocIds


@dataclass
class DedupReport:
    documents: int
    kept: int
    removed: int
    exact_duplicates: int  # documents whose text equals an earlier document's (or a reference's)
    reference_documents: int
    reference_matches: int  # input documents that near-duplicate a reference document
    clusters: int  # clusters of two or more input documents
    candidate_pairs: int
    verified_pairs: int
    cluster_size_histogram: dict[str, int]
    largest_clusters: list[dict[str, Any]]
    parameters: dict[str, Any]
    timings: dict[str, float]
    outputs: list[str] = field(default_factory=list)
    skipped_lines: int = 0  # unreadable lines left out (skip_bad)
    skipped_examples: list[str] = field(default_factory=list)  # the first few, "file:line: problem"

    @property
    def removed_fraction(self) -> float:
        return self.removed / self.documents if self.documents else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "removed_fraction": round(self.removed_fraction, 6)}

    def summary(self) -> str:
        seconds = sum(self.timings.values())
        lines = [
            f"dedup: {plural(self.documents, 'document')}, {self.kept:,} kept, {self.removed:,} removed "
            f"({self.removed_fraction:.1%}) in {seconds:.1f} s",
            f"  {plural(self.exact_duplicates, 'exact duplicate')}; {plural(self.clusters, 'cluster')} of 2 "
            f"or more; {self.verified_pairs:,} of {plural(self.candidate_pairs, 'candidate pair')} verified",
        ]
        if self.reference_documents:
            matches = "document matches" if self.reference_matches == 1 else "documents match"
            lines.append(
                f"  {self.reference_matches:,} {matches} one of "
                f"{plural(self.reference_documents, 'reference document')}"
            )
        if self.skipped_lines:
            first = self.skipped_examples[0] if self.skipped_examples else ""
            lines.append(f"  {plural(self.skipped_lines, 'unreadable line')} skipped (first: {first})")
        sizes = ", ".join(f"{k}: {v:,}" for k, v in self.cluster_size_histogram.items())
        lines.append(f"  cluster sizes: {sizes or 'none'}")
        for c in self.largest_clusters[:3]:
            lines.append(f"  cluster {c['cluster_id']} ({c['size']} documents): {', '.join(c['examples'])}")
        return "\n".join(lines)


def plural(count: int, noun: str) -> str:
    """``1 cluster``, ``2 clusters``, ``1,000 clusters``: a count and its noun, agreeing."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def size_bins(sizes: npt.NDArray[np.int64]) -> dict[str, int]:
    """Clusters per size band (1, 2, 3-4, 5-8, ...): counts of clusters, not of documents."""
    out: dict[str, int] = {}
    low = 1
    while sizes.size and low <= sizes.max():
        high = low if low <= 2 else 2 * (low - 1)  # 1, 2, 3-4, 5-8, 9-16, ...
        count = int(np.count_nonzero((sizes >= low) & (sizes <= high)))
        if count:
            out[str(low) if low == high else f"{low}-{high}"] = count
        low = high + 1
    return out


def cluster_stats(
    cluster: npt.NDArray[np.uint64], ids: DocIds, largest: int = 10, examples: int = 5
) -> tuple[int, dict[str, int], list[dict[str, Any]]]:
    """(clusters of 2+, size histogram of all clusters, the largest clusters with example ids)."""
    roots, counts = np.unique(cluster, return_counts=True)
    top = np.argsort(-counts, kind="stable")[:largest]
    biggest = []
    for t in top:
        if counts[t] < 2:
            break
        members = np.flatnonzero(cluster == roots[t])[:examples]
        biggest.append(
            {"cluster_id": int(roots[t]), "size": int(counts[t]), "examples": [ids[int(m)] for m in members]}
        )
    return int(np.count_nonzero(counts > 1)), size_bins(counts.astype(np.int64)), biggest


def write_report(report: DedupReport, path: Path) -> Path | None:
    """Writes the JSON report, and a PNG histogram beside it when matplotlib is installed."""
    write_atomically(path, (json.dumps(report.to_dict(), indent=2) + "\n").encode())
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    figure, axes = plt.subplots(figsize=(6, 3.5))
    labels = list(report.cluster_size_histogram)
    axes.bar(labels, [report.cluster_size_histogram[k] for k in labels])
    axes.set_yscale("log")
    axes.set_xlabel("cluster size (documents)")
    axes.set_ylabel("clusters")
    axes.set_title(f"{report.documents:,} documents, {report.removed_fraction:.1%} removed")
    figure.tight_layout()
    png = path.with_suffix(".png")
    write_atomically(png, lambda handle: figure.savefig(handle, format="png", dpi=100))
    plt.close(figure)
    return png


class Progress:
    """One self-overwriting line on stderr per stage, at most a few times a second."""

    def __init__(self, enabled: bool, stream: IO[str] | None = None) -> None:
        self.enabled, self.stream = enabled, stream or sys.stderr
        self._last = 0.0
        self._open = False

    def update(self, stage: str, done: int, total: int | None = None, unit: str = "") -> None:
        now = time.monotonic()
        if not self.enabled or now - self._last < 0.2:
            return
        self._last = now
        amount = f"{done:,}/{total:,}" if total else f"{done:,}"
        self.stream.write(f"\r{stage}: {amount} {unit}".rstrip() + "\x1b[K")
        self.stream.flush()
        self._open = True

    def done(self) -> None:
        if self.enabled and self._open:
            self.stream.write("\n")
            self.stream.flush()
            self._open = False
