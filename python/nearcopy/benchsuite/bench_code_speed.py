"""Code normalization throughput against the raw tree-sitter parse of the same files, same run.

nearcopy parses and then walks the tree to emit normalized tokens; the question is how much the walk
costs on top of the parse that any tree-sitter user pays. The raw parse is timed with the Python
`tree-sitter` binding over the same grammar and runtime version (one C call per file), nearcopy with
`code_tokens_batch` on one thread and on all cores.

    python -m nearcopy.benchsuite.bench_code_speed [--files 300] [--repeat 5] [--out PATH]
"""

from __future__ import annotations

import os

# numpy's OpenBLAS threads spin on the cores being measured unless told not to start.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nearcopy

from . import benchutil, code_corpus, code_reference

TARGET = 0.85  # nearcopy 1-thread throughput as a share of the raw parse's


def median_seconds(run: Callable[[], object], repeat: int) -> float:
    run()  # warm-up
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure(language: str, sources: list[str], cores: int, repeat: int) -> dict[str, Any]:
    """Raw parse, and nearcopy on one thread and on every core, over the same sources."""
    encoded = [s.encode("utf-8") for s in sources]
    megabytes = sum(map(len, encoded)) / 1e6
    ts_parser = code_reference.parser(language)
    raw = median_seconds(lambda: [ts_parser.parse(b) for b in encoded], repeat)
    one = median_seconds(lambda: nearcopy.code_tokens_batch(sources, language, num_threads=1), repeat)
    every = median_seconds(lambda: nearcopy.code_tokens_batch(sources, language, num_threads=cores), repeat)
    return {
        "language": language, "files": len(sources), "mb": round(megabytes, 2),
        "raw_parse_mb_s": megabytes / raw, "nearcopy_1_thread_mb_s": megabytes / one,
        "nearcopy_all_threads_mb_s": megabytes / every, "share_of_raw_parse": raw / one,
    }  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    rows = []
    for language in ("python", "javascript", "java", "c", "cpp", "rust", "go"):
        sources = [s for _, s in code_corpus.sample(language, count=args.files, seed=5)]
        if sources:
            rows.append(measure(language, sources, cores, args.repeat))
    lines = [
        f"# Code normalization speed ({cores} cores, median of {args.repeat} runs)",
        "",
        "| language | files | MB | raw parse MB/s | nearcopy 1 thread MB/s | share of raw parse | "
        f"nearcopy {cores} threads MB/s |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        verdict = "pass" if r["share_of_raw_parse"] >= TARGET else "short"
        lines.append(
            f"| {r['language']} | {r['files']} | {r['mb']:.1f} | {r['raw_parse_mb_s']:.1f} | "
            f"{r['nearcopy_1_thread_mb_s']:.1f} | {r['share_of_raw_parse']:.0%} ({verdict}) | "
            f"{r['nearcopy_all_threads_mb_s']:.1f} |"
        )
    lines += ["", f"Target: nearcopy on one thread at >= {TARGET:.0%} of the raw parse throughput."]
    benchutil.save_result("code-speed", {"cores": cores, "rows": rows}, "\n".join(lines), args.out)


if __name__ == "__main__":
    main()
