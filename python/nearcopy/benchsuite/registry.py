"""The benchmarks of the suite: what each measures, which module runs it, and its arguments per size.

Each benchmark is a module of this package with a `main(argv)` that writes one JSON result and a
Markdown report beside it (`benchutil.save_result`). The suite runs each in its own process
(`python -m nearcopy.benchsuite.<module>`), so that one benchmark's memory peak, thread pools or
crash cannot leak into the next one's figures.

Sizes: `full` is what the committed results and the README come from (under an hour on 2 cores);
`quick` is the same code on small inputs (under 5 minutes on 2 cores); `tiny` is the smoke-test
setting of the test suite (every code path, smallest inputs, about a minute).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field

SIZES = ("tiny", "quick", "full")


@dataclass(frozen=True)
class Benchmark:
    name: str
    module: str
    what: str
    peers: tuple[str, ...]
    args: dict[str, tuple[str, ...]]
    # Importable modules the benchmark cannot run without; a missing one skips it (with the reason).
    needs: tuple[str, ...] = ()
    # Optional peers: a missing one is named in the report as skipped, the benchmark still runs.
    optional: tuple[str, ...] = field(default=())

    def missing(self) -> list[str]:
        return [name for name in self.needs if importlib.util.find_spec(name) is None]

    def missing_optional(self) -> list[str]:
        return [name for name in self.optional if importlib.util.find_spec(name) is None]


BENCHMARKS: tuple[Benchmark, ...] = (
    Benchmark(
        "minhash",
        "bench_minhash",
        "MinHash signatures per scheme, end to end and pre-shingled, 1 and all threads; estimation "
        "error; bit-compatibility",
        ("datasketch", "rensa"),
        {
            "tiny": ("--mb", "1", "--repeat", "1", "--min-seconds", "0", "--pairs", "30"),
            "quick": ("--mb", "2", "--repeat", "3", "--pairs", "100"),
            "full": ("--mb", "16", "--repeat", "5", "--pairs", "300"),
        },
        needs=("datasketch", "rensa"),
    ),
    Benchmark(
        "code-speed",
        "bench_code_speed",
        "code normalization throughput per language, 1 and all threads, against the bare tree-sitter parse",
        ("tree-sitter parse",),
        {
            "tiny": ("--files", "8", "--repeat", "1"),
            "quick": ("--files", "60", "--repeat", "3"),
            "full": ("--files", "300", "--repeat", "5"),
        },
        needs=("tree_sitter",),
    ),
    Benchmark(
        "code-quality",
        "bench_code_quality",
        "identifier modes: recall on disguised copies against false matches between unrelated code",
        (),
        {"tiny": ("--functions", "20"), "quick": ("--functions", "80"), "full": ("--functions", "300")},
        needs=("tree_sitter",),
    ),
    Benchmark(
        "code-detect",
        "bench_code_detect",
        "language detection accuracy and time on unlabelled snippets",
        (),
        {"tiny": ("--snippets", "5"), "quick": ("--snippets", "20"), "full": ("--snippets", "80")},
        needs=("tree_sitter",),
    ),
    Benchmark(
        "filter-quality",
        "bench_filter",
        "output filter: flag rates per kind of copy and of clean answer, precision/recall curves",
        ("plain 13-gram filter",),
        {
            "tiny": ("--functions", "15", "--passages", "15", "--negatives", "30"),
            "quick": ("--functions", "60", "--passages", "60", "--negatives", "200"),
            "full": (),
        },
        needs=("tree_sitter",),
    ),
    Benchmark(
        "filter-real",
        "bench_filter_real",
        "output filter on real outputs: bare and fenced code of five languages in nine answer shapes, "
        "a clone-dense corpus, generated helpers and licence headers, prose; the splitter's own accuracy",
        ("exact 8-gram matcher", "tree-sitter k-gram reference"),
        {"tiny": ("--size", "tiny"), "quick": ("--size", "quick"), "full": ("--size", "full")},
        needs=("tree_sitter",),
    ),
    Benchmark(
        "filter-popular",
        "bench_filter_popular",
        "the boilerplate rule: copies of functions held by many protected files against idioms, per setting",
        (),
        {
            "tiny": ("--size", "tiny", "--functions", "6"),
            "quick": ("--size", "quick"),
            "full": ("--size", "full"),
        },
        needs=("tree_sitter",),
    ),
    Benchmark(
        "filter-speed",
        "bench_filter_speed",
        "index build MB/s, index bytes per token, check latency p50/p99 versus index size",
        ("plain 13-gram filter (up to 100 MB)",),
        {
            "tiny": ("--sizes", "2", "--answers", "20"),
            "quick": ("--sizes", "2", "10", "--answers", "300", "--one-core-up-to", "10"),
            "full": ("--sizes", "10", "100", "1000", "--answers", "1000"),
        },
    ),
    Benchmark(
        "filter-shards",
        "bench_filter_shards",
        "check latency p50/p99 over one index and the same corpus in 1, 4 and 16 shards; sharded "
        "verdicts against one index's",
        (),
        {"tiny": ("--size", "tiny"), "quick": ("--size", "quick"), "full": ("--size", "full")},
    ),
    Benchmark(
        "router",
        "bench_router",
        "check latency p50/p99 through a router over 4 shard servers against one nearcopy serve over "
        "the same sharded index (real processes, loopback HTTP); the router's verdicts against its",
        (),
        {"tiny": ("--size", "tiny"), "quick": ("--size", "quick"), "full": ("--size", "full")},
    ),
    Benchmark(
        "build-speed",
        "bench_build_speed",
        "protected-index build MB/s per core, prose and code apart, from JSONL through the CLI; peak "
        "memory, bytes per token; code against the raw tree-sitter parse",
        ("tree-sitter parse",),
        {"tiny": ("--sizes", "2"), "quick": ("--sizes", "10", "30"), "full": ("--sizes", "100", "1000")},
    ),
    Benchmark(
        "dedup-quality",
        "bench_dedup",
        "near-dup clustering precision/recall/F1 per kind of copy, against datasketch MinHashLSH",
        ("datasketch",),
        {"tiny": ("--quick",), "quick": ("--bases", "800", "--mb", "16"), "full": ()},
        needs=("datasketch",),
    ),
    Benchmark(
        "dedup-speed",
        "bench_dedup_speed",
        "dedup end to end from JSONL (1 thread, all cores, Ray in full) against datasketch and rensa",
        ("datasketch", "rensa"),
        {
            "tiny": ("--quick",),
            "quick": ("--bases", "1500", "--mb", "16", "--repeats", "3"),
            "full": ("--repeats", "3"),
        },
        needs=("datasketch", "rensa"),
        optional=("ray",),
    ),
    Benchmark(
        "dedup-scale",
        "bench_dedup_scale",
        "dedup CLI at scale under a memory limit: seconds per stage, peak memory",
        (),
        {
            "tiny": ("--docs", "3000", "--partitions", "4", "--source-mb", "4"),
            "quick": ("--docs", "100000", "--partitions", "16", "--source-mb", "16"),
            "full": ("--docs", "1000000"),
        },
    ),
    Benchmark(
        "lsh",
        "bench_lsh",
        "the persistent LSH index against datasketch MinHashLSH and rensa RMinHashLSH: insert docs/s, "
        "query p50/p99, recall and precision against exact Jaccard, bytes per document, open time",
        ("datasketch", "rensa"),
        {
            "tiny": (
                "--docs",
                "3000",
                "--queries",
                "200",
                "--variants",
                "--containment-docs",
                "100",
                "--containment-passages",
                "30",
            ),
            "quick": ("--docs", "100000", "--queries", "1000", "--variants", "--containment-docs", "300"),
            "full": ("--docs", "100000", "1000000", "--queries", "1000", "--variants"),
        },
        needs=("datasketch", "rensa"),
    ),
    Benchmark(
        "serve",
        "bench_serve",
        "service load: /v1/check req/s and p50/p99, latency the proxy adds to whole and streamed "
        "answers and per streamed chunk (streaming overhead), memory after many checks",
        (),
        {"tiny": ("--quick",), "quick": ("--quick",), "full": ()},
        needs=("starlette", "uvicorn", "httpx"),
    ),
)

NAMES = tuple(b.name for b in BENCHMARKS)


def select(names: list[str] | None) -> list[Benchmark]:
    """The benchmarks named (in suite order), or all; an unknown name is a ValueError."""
    if not names:
        return list(BENCHMARKS)
    unknown = sorted(set(names) - set(NAMES))
    if unknown:
        raise ValueError(f"unknown benchmark {', '.join(unknown)} (choose from {', '.join(NAMES)})")
    return [b for b in BENCHMARKS if b.name in names]
