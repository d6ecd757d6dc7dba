"""Check latency over a sharded protected index: the same corpus as one index and in 1, 4 and 16
shards (``ProtectedIndex.build(..., shards=N)``), checked one answer at a time on one core.

The corpus is that of ``bench_filter_speed`` (``source_corpus``: this machine's documentation and
sources, then the Linux kernel's C sources), the answers too (2 KB cut from held-out text, every
other one carrying a 600-character protected passage). A sharded index maps every shard's segments
into one reader, so a lookup searches one segment per shard: the figures say what that costs. Each
sharded index's verdicts are compared with the single index's (flagged, matched documents, spans,
score), answer by answer: the share that are identical should be 1.

    python -m nearcopy.benchsuite.bench_filter_shards --size quick [--shards 1 4 16] [--out PATH]
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from nearcopy.filter import OutputFilter, Verdict
from nearcopy.index import ProtectedIndex
from nearcopy.neardup.report import plural

from . import benchutil, corpus, source_corpus
from .bench_filter_speed import make_answers, protected_prose

# --size: (MB of protected text, answers checked per index).
SIZES = {"tiny": (2, 40), "quick": (64, 1000), "full": (1000, 1000)}


def summary(verdict: Verdict) -> tuple[Any, ...]:
    """What must be equal between one index and its shards (matches in a fixed order: among equally
    long ones, a sharded index lists them shard by shard)."""
    return (verdict.flagged, verdict.action, verdict.score,
            sorted((m.doc_id, m.start, m.end, m.tokens, m.kind) for m in verdict.matches))  # fmt: skip


def measure(index: ProtectedIndex, answers: list[str]) -> tuple[list[float], list[Verdict], list[float]]:
    """Check latencies (ms) and verdicts, one answer at a time (a check is single-threaded), and the
    latencies of a second pass (sorted; see ``benchutil.latencies_ms``)."""
    output_filter = OutputFilter(index)
    for answer in answers[:20]:  # warm the page cache of the mapped segments and the document tables
        output_filter.check(answer)
    latencies, verdicts = [], []
    for answer in answers:
        started = time.perf_counter()
        verdicts.append(output_filter.check(answer))
        latencies.append(1000 * (time.perf_counter() - started))
    return latencies, verdicts, benchutil.latencies_ms(output_filter.check, answers)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="quick")
    parser.add_argument("--shards", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--mb", type=int, default=None, help="MB of protected text (default: by --size)")
    parser.add_argument("--answers", type=int, default=None, help="answers per index (default: by --size)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    size_mb, count = SIZES[args.size]
    size_mb, count = args.mb or size_mb, args.answers or count
    source_corpus.prepare(size_mb)
    megabytes, prose = protected_prose(size_mb)
    held_out, _ = corpus.load_docs(mb=4, seed=99)
    answers = make_answers(held_out, prose, count)
    rows: list[dict[str, Any]] = []
    reference: list[tuple[Any, ...]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for shards in [None, *args.shards]:
            path = Path(tmp) / f"index-{shards or 'one'}"
            started = time.perf_counter()
            ProtectedIndex.build(source_corpus.documents(size_mb), path, shards=shards)
            build_s = time.perf_counter() - started
            started = time.perf_counter()
            index = ProtectedIndex.open(path)
            open_ms = 1000 * (time.perf_counter() - started)
            latencies, verdicts, again = measure(index, answers)
            warmed = benchutil.warmed_pass(path, answers)
            summaries = [summary(v) for v in verdicts]
            if shards is None:
                reference = summaries
            same = sum(a == b for a, b in zip(summaries, reference)) / len(answers)
            latencies.sort()
            info = index.info()
            rows.append({
                "shards": shards or 0, "layout": plural(shards, "shard") if shards else "one index",
                "documents": info["documents"], "segments": info["segments"],
                "index_mb": round(info["bytes"] / 1e6, 1), "build_s": round(build_s, 2),
                "build_mb_s": round(megabytes / build_s, 1), "open_ms": round(open_ms, 2),
                "check_p50_ms": round(statistics.median(latencies), 3),
                "check_p99_ms": round(benchutil.percentile(latencies, 0.99), 3),
                "check_mean_ms": round(statistics.fmean(latencies), 3),
                "check_p50_again_ms": round(statistics.median(again), 3),
                "check_p99_again_ms": round(benchutil.percentile(again, 0.99), 3),
                **warmed,
                "flagged": round(sum(v.flagged for v in verdicts) / len(verdicts), 3),
                "same_verdicts": round(same, 4),
            })  # fmt: skip
            del index
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    lines = [
        f"# Sharded index check latency ({megabytes:.0f} MB of text, {rows[0]['documents']} documents; "
        f"{cores} cores, check on one; {count} answers of 2 KB; size {args.size})",
        "",
        "| layout | segments | index MB | build s | open ms | check p50 ms | check p99 ms | check mean ms "
        "| second pass: p50 / p99 ms | warm s | warmed: p50 / p99 ms | warmed, best of 3: p50 / p99 ms "
        "| flagged | same verdicts as one index |",
        "|---" + "|---:" * 13 + "|",
    ]
    for r in rows:
        lines.append(
            f"| {r['layout']} | {r['segments']} | {r['index_mb']} | {r['build_s']} | {r['open_ms']} | "
            f"{r['check_p50_ms']} | {r['check_p99_ms']} | {r['check_mean_ms']} | "
            f"{r['check_p50_again_ms']} / {r['check_p99_again_ms']} | {r['warm_s']} | "
            f"{r['check_p50_warm_ms']} / {r['check_p99_warm_ms']} | "
            f"{r['check_p50_best3_ms']} / {r['check_p99_best3_ms']} | {r['flagged']} | "
            f"{r['same_verdicts']} |"
        )
    lines += [
        "",
        "A sharded index is one reader over every shard's segments: each fingerprint of an answer is "
        "looked up in each shard (a binary search per segment), so a check costs more with more shards; "
        "the document frequencies of the boilerplate rule are counted over all of them, which is why the "
        "verdicts are those of one index. The second pass checks the same answers again: the first "
        "pass's lookups mapped the pages they read and checked their blocks' checksums, as a server "
        "that has run a while has. Warmed: the index opened afresh and warmed first (`index.warm()`, "
        "one thread), as `nearcopy serve` does before serving, then each answer once; best of 3: each "
        "answer's fastest of that pass and two more, the check's cost without a shared machine's "
        "hiccups (a single pass's p99 moved by up to 0.3 ms between runs minutes apart here).",
    ]
    benchutil.save_result("filter-shards", {"size": args.size, "mb": round(megabytes, 1), "rows": rows},
                          "\n".join(lines), args.out)  # fmt: skip


if __name__ == "__main__":
    main()
