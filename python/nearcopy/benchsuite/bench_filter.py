"""Output-filter quality on real corpora: flag rates per case, precision/recall over the thresholds.

The labelled answers are built by ``filter_cases.py`` (protected and held-out splits of the Python
standard library and Perl's documentation, negatives from independent projects and man pages, labels
from a lexical reference). Each answer is matched once with the thresholds at their minimum, and its
longest prose and code matches are kept, so the curves over ``min_tokens`` (prose) and
``min_code_tokens`` (code) come from one pass; the table is at the filter's defaults.

    python -m nearcopy.benchsuite.bench_filter [--functions 300] [--passages 300] [--negatives 1000]
        [--out PATH]
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from nearcopy.filter import (
    DEFAULT_MAX_DOC_FREQUENCY,
    DEFAULT_MIN_CODE_TOKENS,
    DEFAULT_MIN_TOKENS,
    OutputFilter,
)
from nearcopy.index import ProtectedIndex

from . import benchutil, filter_cases, ngram_peer

PROSE_THRESHOLDS = (10, 15, 20, 25, 30, 40, 50)
CODE_THRESHOLDS = (20, 25, 30, 40, 50, 60, 80)
# The targets: (cases, least flag rate) for positives, (cases, most flag rate) for negatives.
TARGETS: list[tuple[tuple[str, ...], str, float]] = [
    (
        (
            "code verbatim",
            "code reformatted",
            "code renamed",
            "code renamed + literals",
            "prose verbatim",
            "prose reformatted",
        ),
        ">=",
        0.98,
    ),
    (("code statement edited", "code embedded", "prose embedded"), ">=", 0.95),
    (("prose lightly edited",), ">=", 0.90),
    (
        (
            "code held-out (negative)",
            "code other projects (negative)",
            "prose held-out (negative)",
            "prose man pages (negative)",
        ),
        "<=",
        0.005,
    ),
    (("code idioms (negative)",), "<=", 0.01),
]


def measure(
    output_filter: OutputFilter, answers: list[filter_cases.Answer], peer: ngram_peer.PlainNgramFilter
) -> dict[str, list[dict[str, Any]]]:
    """Per case, per answer: longest prose and code match (normalized tokens), right source at the
    defaults, and check latency; and whether the plain n-gram filter (the peer) flags it."""
    index = output_filter.index
    rows: dict[str, list[dict[str, Any]]] = {}
    for answer in answers:
        found, _ = index.match_answer(
            answer.text, max_doc_frequency=output_filter.max_doc_frequency, min_tokens=1, min_code_tokens=1
        )
        prose = max((m[4] for m in found if m[6] is None), default=0)
        code = max((m[4] for m in found if m[6] is not None), default=0)
        started = time.perf_counter()
        verdict = output_filter.check(answer.text)
        seconds = time.perf_counter() - started
        right = bool(verdict.matches) and verdict.matches[0].doc_id == answer.source
        rows.setdefault(answer.case, []).append(
            {
                "prose": prose,
                "code": code,
                "flagged": verdict.flagged,
                "right": right,
                "seconds": seconds,
                "kind": answer.kind,
                "positive": answer.source is not None,
                "plain_flagged": peer.shared(answer.text) > 0,
            }
        )
    return rows


def flagged_at(row: dict[str, Any], prose: int, code: int) -> bool:
    return bool(row["prose"] >= prose or row["code"] >= code)


def curves(rows: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, float]]]:
    """Precision and recall over each threshold (the other at its default), pooled over the cases of
    that kind; precision is at this benchmark's mix of positives and negatives."""
    out: dict[str, list[dict[str, float]]] = {}
    for kind, thresholds in (("prose", PROSE_THRESHOLDS), ("code", CODE_THRESHOLDS)):
        pool = [r for case in rows.values() for r in case if r["kind"] == kind]
        points = []
        for t in thresholds:
            prose, code = (t, DEFAULT_MIN_CODE_TOKENS) if kind == "prose" else (DEFAULT_MIN_TOKENS, t)
            tp = sum(r["positive"] and flagged_at(r, prose, code) for r in pool)
            fp = sum(not r["positive"] and flagged_at(r, prose, code) for r in pool)
            positives = sum(r["positive"] for r in pool)
            negatives = len(pool) - positives
            points.append(
                {
                    "threshold": t,
                    "recall": tp / max(positives, 1),
                    "precision": tp / max(tp + fp, 1),
                    "false_positive_rate": fp / max(negatives, 1),
                }
            )
        out[kind] = points
    return out


def plot(result: dict[str, Any], path: Path) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    figure, axes = plt.subplots(1, 2, figsize=(10, 4))
    for axis, (kind, points) in zip(axes, result["curves"].items()):
        thresholds = [p["threshold"] for p in points]
        for metric in ("recall", "precision", "false_positive_rate"):
            axis.plot(thresholds, [p[metric] for p in points], marker="o", label=metric.replace("_", " "))
        default = result["defaults"]["min_tokens" if kind == "prose" else "min_code_tokens"]
        axis.axvline(default, color="grey", linestyle=":", label="default")
        axis.set_title(f"{kind}: flag threshold (normalized tokens)")
        axis.set_ylim(-0.02, 1.02)
        axis.legend(loc="center right")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    return path


def report(result: dict[str, Any]) -> str:
    defaults = result["defaults"]
    lines = [
        f"# Output filter quality ({result['protected_documents']} protected documents, "
        f"{result['protected_mb']:.1f} MB; check p50 {result['check_p50_ms']:.2f} ms, "
        f"p99 {result['check_p99_ms']:.2f} ms)",
        "",
        f"Defaults: prose min_tokens {defaults['min_tokens']}, code min_code_tokens "
        f"{defaults['min_code_tokens']}, max_doc_frequency {defaults['max_doc_frequency']}. "
        "Held-out material that the lexical reference found copied from the protected split was set "
        f"aside, not counted as negative: {result['set_aside']}.",
        "",
        f"The peer is a plain {ngram_peer.NGRAM}-gram filter (a Python set of hashed lowercased word "
        "n-grams of the same protected documents; flags an answer sharing one).",
        "",
        "| case | answers | flagged at defaults | right source | target | plain n-gram filter flagged |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in result["cases"].items():
        lines.append(
            f"| {name} | {row['answers']} | {row['flag_rate']:.3f} | "
            f"{benchutil.fmt(row['right_source'], 3)} | {row['target']} | "
            f"{benchutil.fmt(row.get('plain_ngram_flag_rate'), 3)} |"
        )
    for kind, points in result["curves"].items():
        lines += [
            "",
            f"{kind.capitalize()} threshold curve (pooled {kind} cases):",
            "",
            "| threshold | recall | precision | false-positive rate |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {p['threshold']} | {p['recall']:.3f} | {p['precision']:.3f} | "
            f"{p['false_positive_rate']:.4f} |"
            for p in points
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--functions", type=int, default=300)
    parser.add_argument("--passages", type=int, default=300)
    parser.add_argument("--negatives", type=int, default=1000, help="answers per negative case")
    for name in ("k", "w", "code-k", "code-w"):
        parser.add_argument(f"--{name}", type=int, default=None, help="winnowing (default: the index's)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    sizes = {name: getattr(args, name) for name in ("k", "w", "code_k", "code_w") if getattr(args, name)}
    documents, answers, set_aside = filter_cases.build(
        random.Random(7), args.functions, args.passages, args.negatives
    )
    protected_bytes = sum(len(d["text"].encode()) for d in documents)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        index = ProtectedIndex.build(documents, Path(tmp) / "index", **sizes)
        build_seconds = time.perf_counter() - started
        output_filter = OutputFilter(index)
        peer = ngram_peer.PlainNgramFilter()
        for document in documents:
            peer.add(document["text"])
        rows = measure(output_filter, answers, peer)
        info = {k: v for k, v in index.info().items() if k != "path"}  # a temporary path says nothing
    latencies = sorted(r["seconds"] for case in rows.values() for r in case)
    targets = {case: f"{op} {bound}" for cases, op, bound in TARGETS for case in cases}
    cases = {}
    for name, case in rows.items():
        flagged = [r for r in case if r["flagged"]]
        cases[name] = {
            "answers": len(case),
            "flag_rate": len(flagged) / len(case),
            "right_source": sum(r["right"] for r in flagged) / len(flagged)
            if flagged and case[0]["positive"]
            else None,
            "target": targets.get(name, ""),
            "plain_ngram_flag_rate": sum(r["plain_flagged"] for r in case) / len(case),
        }
    result: dict[str, Any] = {
        "protected_documents": len(documents),
        "protected_mb": protected_bytes / 1e6,
        "build_seconds": build_seconds,
        "index": info,
        "set_aside": set_aside,
        "defaults": {
            "min_tokens": output_filter.min_tokens,
            "min_code_tokens": output_filter.min_code_tokens,
            "max_doc_frequency": output_filter.max_doc_frequency,
        },
        "check_p50_ms": 1000 * statistics.median(latencies),
        "check_p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
        "cases": cases,
        "curves": curves(rows),
        "machine": benchutil.machine_info(),
    }
    assert output_filter.max_doc_frequency == DEFAULT_MAX_DOC_FREQUENCY
    saved = benchutil.save_result("filter-quality", result, report(result), args.out)
    if (png := plot(result, saved.with_suffix(".png"))) is not None:
        print(f"plot: {png}")


if __name__ == "__main__":
    main()
