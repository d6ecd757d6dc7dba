"""What checking an index's checksums costs: open time, and check latency on the first pass over
fresh answers (each block of the index a check reads is checked the first time it is read) and on a
second pass (every block it reads already checked).

Run it with two builds of nearcopy on the same machine, one after the other, to compare (the index
is built by the nearcopy that runs it, in its own format):

    python benches/checksum_cost.py --mb 100 --answers 1000 --index /tmp/idx-new

The answers are those of `bench_filter_speed` (2 KB cut from held-out documentation, half with a
600-character protected passage planted). Page cache: the index is read once before timing, so the
figures are of hashing and lookups, not of the disk. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from pathlib import Path

import nearcopy
from nearcopy.benchsuite import corpus, source_corpus
from nearcopy.filter import OutputFilter
from nearcopy.index import ProtectedIndex


def answers(megabytes: int, count: int) -> list[str]:
    held_out, _ = corpus.load_docs(mb=4, seed=99)
    prose = [d["text"] for d in source_corpus.documents(megabytes)
             if d.get("language") is None and not d["id"].endswith(".py")][:2000]  # fmt: skip
    rng, plant = random.Random(5), random.Random(6)
    out = []
    for i in range(count):
        source = rng.choice(held_out)["text"]
        start = rng.randrange(max(1, len(source) - 2000))
        answer = source[start : start + 2000]
        if i % 2:
            protected = plant.choice(prose)
            at = plant.randrange(max(1, len(protected) - 600))
            answer = answer[:1000] + protected[at : at + 600] + answer[1000:1400]
        out.append(answer)
    return out


def percentiles(ms: list[float]) -> dict[str, float]:
    ms = sorted(ms)
    return {"p50": round(statistics.median(ms), 4), "p99": round(ms[int(0.99 * (len(ms) - 1))], 4),
            "mean": round(statistics.fmean(ms), 4)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=100)
    parser.add_argument("--answers", type=int, default=1000)
    parser.add_argument("--index", type=Path, required=True, help="built here unless it exists")
    args = parser.parse_args()
    source_corpus.prepare(args.mb)
    if not (args.index / "manifest.json").exists():
        ProtectedIndex.build(source_corpus.documents(args.mb), args.index)
    for path in args.index.iterdir():  # into the page cache
        path.read_bytes()
    texts = answers(args.mb, args.answers)
    opens = []
    for _ in range(51):
        started = time.perf_counter()
        ProtectedIndex.open(args.index)
        opens.append(1000 * (time.perf_counter() - started))
    started = time.perf_counter()
    ProtectedIndex.open(args.index).verify()
    verify_ms = 1000 * (time.perf_counter() - started)
    checker = OutputFilter(ProtectedIndex.open(args.index))
    passes = []
    for _ in range(2):
        latencies = []
        for text in texts:
            started = time.perf_counter()
            checker.check(text)
            latencies.append(1000 * (time.perf_counter() - started))
        passes.append(percentiles(latencies))
    info = checker.index.info()
    print(json.dumps({
        "nearcopy": nearcopy.__version__, "index_mb": round(info["bytes"] / 1e6, 1),
        "documents": info["documents"], "open_ms": round(statistics.median(opens), 4),
        "verify_ms": round(verify_ms, 1), "first_pass_ms": passes[0], "second_pass_ms": passes[1],
    }))  # fmt: skip


if __name__ == "__main__":
    main()
