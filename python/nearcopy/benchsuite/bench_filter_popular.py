"""Popular passages: a function copied into many protected files, against idioms, per boilerplate setting.

A company's code base holds the same helper in many repositories (pasted, vendored, generated from
one template), so every fingerprint of it sits in dozens of protected documents. A fixed cut-off on
document frequency (``max_doc_frequency``) then takes the copied function for boilerplate and lets
its copies through. This benchmark takes the protected corpus of ``filter-real`` (real code of five
languages, a clone-dense corpus, prose), copies some of its protected functions into 5, 25 and 60
more protected files, and measures per setting of the boilerplate rule: how many verbatim and renamed
copies of those functions are flagged, how many of ``filter-real``'s negatives (unrelated and
same-task code, generated helpers, licence headers, idioms, prose) are, and the check time.

    python -m nearcopy.benchsuite.bench_filter_popular [--size quick] [--functions 60] [--out PATH]
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import random
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import nearcopy

from . import benchutil, real_cases
from .bench_filter_real import SIZES

COPIES = (5, 25, 60)
# (name, OutputFilter keyword arguments): the settings compared. The first is the default.
SETTINGS: list[tuple[str, dict[str, Any]]] = [
    ("default: common up to 200 documents, long passages x1.5", {}),
    ("common ignored (nearcopy before)", {"popular_doc_frequency": None}),
    ("common up to 200, long passages x2", {"popular_doc_frequency": 200, "popular_factor": 2}),
    ("common up to 200, long passages x3", {"popular_doc_frequency": 200, "popular_factor": 3}),
    ("common up to 1000, long passages x1.5", {"popular_doc_frequency": 1000, "popular_factor": 1.5}),
    ("max_doc_frequency 100", {"max_doc_frequency": 100, "popular_doc_frequency": None}),
]


def corpus_with_popular(
    size: str, functions: int, seed: int
) -> tuple[list[dict[str, Any]], list[Any], dict[str, int]]:
    """filter-real's documents plus copies of `functions` of its protected functions (a third each
    in 5, 25 and 60 more files of their own); the answers to check; copies per popular origin."""
    corpus = real_cases.build(seed, SIZES[size])
    rng = random.Random(seed)
    verbatim = [a for a in corpus.answers if a.group == "code" and a.case == "verbatim" and a.shape == "bare"]
    chosen = rng.sample(verbatim, min(functions, len(verbatim)))
    copies = {a.origin: COPIES[i % len(COPIES)] for i, a in enumerate(chosen)}
    extra = [
        {"id": f"popular-{i}-{j}", "text": a.text, "language": a.language}
        for i, a in enumerate(chosen)
        for j in range(copies[a.origin])
    ]
    return corpus.documents + extra, corpus.answers, copies


def measure(
    index: nearcopy.ProtectedIndex, answers: list[Any], copies: dict[str, int]
) -> list[dict[str, Any]]:
    rows = []
    popular = [
        a for a in answers if a.origin in copies and a.shape == "bare" and a.case in ("verbatim", "renamed")
    ]
    negatives = [a for a in answers if not a.positive]
    for name, settings in SETTINGS:
        output_filter = nearcopy.OutputFilter(index, **settings)
        flagged: dict[str, list[bool]] = defaultdict(list)
        for a in popular:
            flagged[f"{a.case}, in {copies[a.origin] + 1} files"].append(output_filter.check(a.text).flagged)
        false: dict[str, list[bool]] = defaultdict(list)
        seconds = []
        for a in negatives:
            started = time.perf_counter()
            false[a.group if a.group != "code" else "unrelated code"].append(
                output_filter.check(a.text).flagged
            )
            seconds.append(time.perf_counter() - started)
        seconds.sort()
        rows.append(
            {
                "setting": name,
                "settings": settings,
                "popular": {k: sum(v) / len(v) for k, v in sorted(flagged.items())},
                "false_positives": {k: sum(v) / len(v) for k, v in sorted(false.items())},
                "negatives": {k: len(v) for k, v in sorted(false.items())},
                "check_p50_ms": 1000 * statistics.median(seconds),
                "check_p99_ms": 1000 * seconds[int(0.99 * (len(seconds) - 1))],
            }
        )
    return rows


def report(result: dict[str, Any]) -> str:
    rows = result["rows"]
    popular = list(rows[0]["popular"])
    negatives = list(rows[0]["false_positives"])
    lines = [
        f"# Popular passages ({result['functions']} functions copied into 5, 25 and 60 more protected "
        f"files; {result['documents']} documents; size {result['size']})",
        "",
        "Flag rate of bare copies of the popular functions, false-positive rate on filter-real's "
        "negatives (answers: " + ", ".join(f"{k} {v}" for k, v in rows[0]["negatives"].items()) + "), "
        "and check time on those negatives, per setting of the boilerplate rule.",
        "",
        "| setting | "
        + " | ".join(popular)
        + " | "
        + " | ".join(f"FP {n}" for n in negatives)
        + " | p50 ms | p99 ms |",
        "|---|" + "---:|" * (len(popular) + len(negatives) + 2),
    ]
    for r in rows:
        cells = [f"{r['popular'][k]:.2f}" for k in popular] + [
            f"{r['false_positives'][k]:.3f}" for k in negatives
        ]
        lines.append(
            f"| {r['setting']} | "
            + " | ".join(cells)
            + f" | {r['check_p50_ms']:.3f} | {r['check_p99_ms']:.3f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=tuple(SIZES), default="quick")
    parser.add_argument("--functions", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    documents, answers, copies = corpus_with_popular(args.size, args.functions, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        index = nearcopy.ProtectedIndex.build(documents, Path(tmp) / "index")
        rows = measure(index, answers, copies)
    result = {
        "size": args.size,
        "functions": len(copies),
        "documents": len(documents),
        "rows": rows,
        "machine": benchutil.machine_info(),
    }
    benchutil.save_result("filter-popular", result, report(result), args.out)


if __name__ == "__main__":
    main()
