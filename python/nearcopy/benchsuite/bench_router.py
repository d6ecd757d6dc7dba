"""Check latency through a router over shard servers against one ``nearcopy serve`` over the same
sharded index, on this machine: real processes over loopback HTTP.

The corpus and answers are those of ``bench_filter_shards`` (``source_corpus``; 2 KB answers cut
from held-out text, every other one carrying a 600-character protected passage). The sharded index
(``--shards``, default 4) is served twice: by one ``nearcopy serve --index SHARDED`` (every shard
mapped in one process), and by ``--shards`` shard servers (``nearcopy serve --index SHARDED
--shard I``) behind a router (``nearcopy serve --route-to URL ...``). Each answer is posted to
``/v1/check`` of each, one at a time, from one client; the two JSON answers must be equal (the
``same verdicts`` column). The router's cost is two round trips to every shard server (the second
only to those holding any of the answer's fingerprints) and each shard splitting and fingerprinting
the answer twice; on one machine the shard servers also share its cores.

    python -m nearcopy.benchsuite.bench_router --size quick [--shards 4] [--out PATH]
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from nearcopy.index import ProtectedIndex

from . import benchutil, corpus, serve_harness, source_corpus
from .bench_filter_speed import make_answers, protected_prose
from .benchutil import percentile

# --size: (MB of protected text, answers checked per service).
SIZES = {"tiny": (2, 60), "quick": (16, 400), "full": (256, 1000)}


def measure(url: str, answers: list[str]) -> tuple[list[float], list[dict[str, Any]]]:
    """Latencies (ms, client side) and the JSON of ``/v1/check`` for each answer, one at a time."""
    with httpx.Client(timeout=60) as client:
        for answer in answers[:20]:  # warm the connection, the page cache and the document tables
            client.post(f"{url}/v1/check", json={"text": answer})
        latencies, verdicts = [], []
        for answer in answers:
            started = time.perf_counter()
            response = client.post(f"{url}/v1/check", json={"text": answer})
            latencies.append(1000 * (time.perf_counter() - started))
            response.raise_for_status()
            verdicts.append(response.json())
    return latencies, verdicts


def row(layout: str, latencies: list[float], verdicts: list[dict[str, Any]], same: float) -> dict[str, Any]:
    ordered = sorted(latencies)
    return {"layout": layout, "check_p50_ms": round(statistics.median(ordered), 3),
            "check_p99_ms": round(percentile(ordered, 0.99), 3),
            "check_mean_ms": round(statistics.fmean(ordered), 3),
            "flagged": round(sum(v["flagged"] for v in verdicts) / len(verdicts), 3),
            "same_verdicts": round(same, 4)}  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="quick")
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--mb", type=int, default=None, help="MB of protected text (default: by --size)")
    parser.add_argument("--answers", type=int, default=None, help="answers checked (default: by --size)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    size_mb, count = SIZES[args.size]
    size_mb, count = args.mb or size_mb, args.answers or count
    source_corpus.prepare(size_mb)
    megabytes, prose = protected_prose(size_mb)
    held_out, _ = corpus.load_docs(mb=4, seed=99)
    answers = make_answers(held_out, prose, count)
    with tempfile.TemporaryDirectory() as scratch:
        tmp = Path(scratch)
        index = tmp / "sharded"
        ProtectedIndex.build(source_corpus.documents(size_mb), index, shards=args.shards)
        info = ProtectedIndex.describe(index)
        one = serve_harness.start_service(tmp, index, name="one")
        try:
            one_latencies, reference = measure(one.url, answers)
        finally:
            one.stop()
        with ThreadPoolExecutor(args.shards) as pool:
            shard_servers = list(pool.map(
                lambda i: serve_harness.start_service(tmp, index, "--shard", str(i), name=f"shard-{i}"),
                range(args.shards),
            ))  # fmt: skip
        router = None
        try:
            routes = [arg for s in shard_servers for arg in ("--route-to", s.url)]
            router = serve_harness.start_service(tmp, None, *routes, name="router")
            routed_latencies, routed = measure(router.url, answers)
        finally:
            for process in ([router] if router else []) + shard_servers:
                process.stop()
    same = sum(a == b for a, b in zip(routed, reference)) / len(answers)
    rows = [
        row(f"one nearcopy serve over {args.shards} shards", one_latencies, reference, 1.0),
        row(f"router over {args.shards} shard servers", routed_latencies, routed, same),
    ]
    cost = {key: round(rows[1][key] - rows[0][key], 3) for key in ("check_p50_ms", "check_p99_ms")}
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    lines = [
        f"# Check through a router vs one service ({megabytes:.0f} MB of text, {info['documents']} "
        f"documents in {args.shards} shards, {info['bytes'] / 1e6:.0f} MB of index; {count} answers of "
        f"2 KB, one at a time over loopback HTTP; {cores} cores shared by every process; size {args.size})",
        "",
        "| layout | check p50 ms | check p99 ms | check mean ms | flagged | same verdicts as one service |",
        "|---" + "|---:" * 5 + "|",
    ]
    for r in rows:
        lines.append(f"| {r['layout']} | {r['check_p50_ms']} | {r['check_p99_ms']} | {r['check_mean_ms']} | "
                     f"{r['flagged']} | {r['same_verdicts']} |")  # fmt: skip
    lines += [
        "",
        f"The router costs {cost['check_p50_ms']} ms at p50 and {cost['check_p99_ms']} ms at p99 here: two "
        "round trips to the shard servers (document counts, then matches with the summed counts) and "
        "the answer split and fingerprinted twice by each, against one process's lookups in every "
        "shard. Its verdicts are the single service's (the last column).",
    ]
    data = {"size": args.size, "mb": round(megabytes, 1), "shards": args.shards, "answers": count,
            "rows": rows, "router_cost_ms": cost}  # fmt: skip
    benchutil.save_result("router", data, "\n".join(lines), args.out)


if __name__ == "__main__":
    main()
