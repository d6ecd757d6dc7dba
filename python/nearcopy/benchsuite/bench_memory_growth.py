"""Memory over an hour of checks: does a long-running filter grow?

One process opens a protected index built from the benchmark corpus (`corpus.py`, the machine's
documentation) and runs the checks a serving process would see in one hour: the default count is
the measured `/v1/check` rate of `bench_serve` on this kind of machine (928 requests/s at 8
clients on 2 cores, README "Serving") times 3600 s = 3.34 M checks, back to back (so the hour takes
minutes here). The mix follows the service: single `check` calls (2 KB answers, a third with a
protected passage planted), one `check_batch` of 32 and one streamed answer (`FilterStream`, 7
characters per delta) every 1000 checks, each on a fresh answer string so nothing is cached by
identity. RSS (VmRSS) is sampled every `--every` checks; reported: RSS after warm-up, at the end,
the growth between them, and the slope of a least-squares line over the second half (KB per
million checks), which a leak makes positive and steady-state allocation noise does not.

    python -m nearcopy.benchsuite.bench_memory_growth [--checks 3340000] [--rate 928] [--every 50000]
    python -m nearcopy.benchsuite.bench_memory_growth --quick     # a few thousand checks (smoke test)

Not in the suite's registry: the full run takes about 20 minutes on 2 cores, a third of the `full`
suite's hour, for one figure that changes only when a leak appears.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import random
import re
import tempfile
import time
from pathlib import Path
from typing import Any

from nearcopy.filter import OutputFilter
from nearcopy.index import ProtectedIndex

from . import benchutil, corpus

SERVE_RATE = 928  # /v1/check requests per second, bench_serve (README "Serving")
ANSWER_CHARS = 2000


def rss_mb() -> float:
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024  # type: ignore[union-attr]


def answers(texts: list[str], count: int, seed: int) -> list[str]:
    """2 KB answers: cut from held-out text, a third with 400 protected characters planted."""
    rng = random.Random(seed)
    held_out, protected = texts[: len(texts) // 2], texts[len(texts) // 2 :]
    out = []
    for n in range(count):
        base = rng.choice(held_out)
        start = rng.randrange(max(1, len(base) - ANSWER_CHARS))
        answer = base[start : start + ANSWER_CHARS]
        if n % 3 == 0:
            source = rng.choice(protected)
            at = rng.randrange(max(1, len(source) - 400))
            answer = (
                answer[: ANSWER_CHARS // 2] + " " + source[at : at + 400] + " " + answer[ANSWER_CHARS // 2 :]
            )
        out.append(answer)
    return out


def slope_kb_per_million(samples: list[tuple[int, float]]) -> float:
    """Least-squares slope of RSS over checks in the second half of the samples."""
    half = samples[len(samples) // 2 :]
    if len(half) < 2:
        return 0.0
    xs, ys = [c / 1e6 for c, _ in half], [r * 1024 for _, r in half]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    var = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / var if var else 0.0


def run(checks: int, every: int, mb: int) -> dict[str, Any]:
    docs, _ = corpus.load_docs(mb=mb, seed=11)
    texts = [d["text"] for d in docs if len(d["text"]) > ANSWER_CHARS]
    pool = answers(texts, 4000, seed=1)
    with tempfile.TemporaryDirectory() as tmp:
        protected = texts[len(texts) // 2 :]
        index = ProtectedIndex.build(
            ({"id": str(i), "text": t} for i, t in enumerate(protected)), f"{tmp}/idx"
        )
        output_filter = OutputFilter(index)
        for answer in pool[:2000]:  # warm-up: page cache, lazy tables, the worker pool
            output_filter.check(answer)
        samples: list[tuple[int, float]] = [(0, rss_mb())]
        flagged = 0
        started = time.perf_counter()
        for n in range(1, checks + 1):
            answer = pool[n % len(pool)]
            flagged += output_filter.check(answer + " ").flagged  # a new string each time
            if n % 1000 == 0:
                output_filter.check_batch([a + "." for a in pool[:32]])
                stream = output_filter.stream()
                for i in range(0, len(answer), 7):
                    stream.feed(answer[i : i + 7])
                stream.close()
            if n % every == 0 or n == checks:
                samples.append((n, rss_mb()))
        seconds = time.perf_counter() - started
    return {"samples": samples, "seconds": seconds, "flagged": flagged, "documents": len(protected)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--checks", type=int, default=None, help="checks to run (default: one hour at --rate)"
    )
    parser.add_argument("--rate", type=int, default=SERVE_RATE, help="checks per second in production")
    parser.add_argument("--every", type=int, default=50_000, help="checks between RSS samples")
    parser.add_argument("--mb", type=int, default=16, help="MB of benchmark corpus (half is indexed)")
    parser.add_argument("--quick", action="store_true", help="a few thousand checks, for the smoke test")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.checks, args.every, args.mb = 3000, 500, 2
    checks = args.checks if args.checks is not None else args.rate * 3600
    result = run(checks, args.every, args.mb)
    samples = result["samples"]
    start, end = samples[0][1], samples[-1][1]
    data = {
        "machine": benchutil.machine_info(),
        "checks": checks,
        "equivalent_seconds": checks / args.rate,
        "rate_per_s": args.rate,
        "wall_seconds": round(result["seconds"], 1),
        "checks_per_s": round(checks / result["seconds"]),
        "flagged": result["flagged"],
        "indexed_documents": result["documents"],
        "rss_start_mb": round(start, 1),
        "rss_end_mb": round(end, 1),
        "rss_growth_mb": round(end - start, 2),
        "slope_kb_per_million_checks": round(slope_kb_per_million(samples), 1),
        "samples": [{"checks": c, "rss_mb": round(r, 2)} for c, r in samples],
    }
    shown = samples[:: max(1, len(samples) // 12)]
    shown += [] if shown[-1] == samples[-1] else [samples[-1]]
    rows = [[f"{c:,}", f"{r:.1f}"] for c, r in shown]
    report = (
        f"# Memory over {checks:,} checks ({checks / args.rate / 3600:.2f} h at {args.rate} checks/s)\n\n"
        f"{data['wall_seconds']} s of wall time ({data['checks_per_s']:,} checks/s on one thread), "
        f"{result['flagged']:,} flagged, against an index of {result['documents']} documents.\n"
        f"RSS {start:.1f} MB after warm-up, {end:.1f} MB at the end ({end - start:+.2f} MB); slope over the "
        f"second half {data['slope_kb_per_million_checks']:+.1f} KB per million checks.\n\n"
        + benchutil.md_table(["checks", "RSS MB"], rows)
    )
    benchutil.save_result("memory-growth", data, report, args.out)


if __name__ == "__main__":
    main()
