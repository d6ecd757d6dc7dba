"""Load benchmark of `nearcopy serve` on loopback: requests/s and latency of /v1/check, the latency the
filtering proxy adds to whole and streamed answers over going to the upstream directly, per streamed
chunk, with 1 and 2 worker processes, and the service's memory before and after many requests.

The protected index is this Python's standard library (code, PSF licence); the upstream is the
scripted OpenAI-compatible server of the tests (`tests/openai_upstream.py`). Bounded in count and
time; targets are reported, never asserted.

    python -m nearcopy.benchsuite.bench_serve [--quick] [--out RESULT.json]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import socket
import statistics
import sysconfig
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from . import (
    benchutil,
    serve_harness,  # the process helpers of the serving tests
)

TARGET_ADDED_P99_MS = 2.0
TARGET_PER_CHUNK_MS = 1.0
CHUNK_CHARS = 4  # about one token per streamed delta


def protected_corpus(megabytes: float) -> list[dict[str, Any]]:
    docs, size = [], 0
    for path in sorted(Path(sysconfig.get_paths()["stdlib"]).rglob("*.py")):
        if "test" in path.parts or size > megabytes * 1e6:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        docs.append({"id": path.name, "text": text, "language": "python", "license": "PSF-2.0"})
        size += len(text)
    return docs


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * (len(ordered) - 1)))]


async def load(
    url: str, bodies: list[dict[str, Any]], concurrency: int, *, stream: bool = False
) -> tuple[list[float], float]:
    """Latency in ms of each request, and the wall time of all, `concurrency` at a time."""
    latencies: list[float] = []
    queue = list(reversed(bodies))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    nodelay = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]  # no Nagle delay between headers and body
    transport = httpx.AsyncHTTPTransport(limits=limits, socket_options=nodelay)
    async with httpx.AsyncClient(timeout=120, transport=transport) as client:

        async def worker() -> None:
            while queue:
                body = queue.pop()
                started = time.perf_counter()
                if stream:
                    async with client.stream("POST", url, json=body) as response:
                        async for _ in response.aiter_raw():
                            pass
                else:
                    response = await client.post(url, json=body)
                assert response.status_code == 200, response.status_code
                latencies.append(1000 * (time.perf_counter() - started))

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, time.perf_counter() - started


def summary(latencies: list[float], seconds: float) -> dict[str, float]:
    return {
        "requests": len(latencies),
        "rps": round(len(latencies) / seconds, 1),
        "p50_ms": round(statistics.median(latencies), 3),
        "p99_ms": round(percentile(latencies, 0.99), 3),
        "mean_ms": round(statistics.fmean(latencies), 3),
    }


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024  # type: ignore[union-attr]


def answers() -> tuple[str, str]:
    clean = serve_harness.CLEAN * 5
    return clean, clean + serve_harness.CODE_ANSWER


def measure(workers: int, args: argparse.Namespace, index: Path, upstream: str, tmp: Path) -> dict[str, Any]:
    service = serve_harness.start_service(
        tmp, index, "--upstream", upstream, "--workers", str(workers), name=f"serve{workers}"
    )
    clean, copied = answers()
    try:
        checks = [{"text": clean if i % 2 else copied} for i in range(args.checks)]
        asyncio.run(load(service.url + "/v1/check", checks[:50], args.concurrency))  # warm-up
        check = summary(*asyncio.run(load(service.url + "/v1/check", checks, args.concurrency)))
        whole = {"model": "m", "script": {"answer": clean}}
        streamed = {"model": "m", "stream": True, "script": {"answer": clean, "chunking": str(CHUNK_CHARS)}}
        rows: dict[str, Any] = {"workers": workers, "check": check}
        for name, body, stream in (("whole", whole, False), ("streamed", streamed, True)):
            bodies = [body] * args.streams
            for target in (upstream, service.url):  # warm both paths
                asyncio.run(load(target + "/v1/chat/completions", bodies[:5], 1, stream=stream))
            direct = summary(*asyncio.run(load(upstream + "/v1/chat/completions", bodies, 1, stream=stream)))
            proxied = summary(
                *asyncio.run(load(service.url + "/v1/chat/completions", bodies, 1, stream=stream))
            )
            added = {k: round(proxied[k] - direct[k], 3) for k in ("p50_ms", "p99_ms", "mean_ms")}
            rows[name] = {"direct": direct, "proxied": proxied, "added": added}
        chunks = len(clean) // CHUNK_CHARS + 1
        rows["streamed"]["chunks"] = chunks
        rows["streamed"]["added_per_chunk_ms"] = round(rows["streamed"]["added"]["mean_ms"] / chunks, 4)
        if workers == 1:
            before = rss_mb(service.proc.pid)
            many = [{"text": clean if i % 2 else copied} for i in range(args.memory_requests)]
            asyncio.run(load(service.url + "/v1/check", many, args.concurrency))
            rows["memory"] = {
                "requests": args.memory_requests,
                "rss_before_mb": round(before, 1),
                "rss_after_mb": round(rss_mb(service.proc.pid), 1),
            }
        return rows
    finally:
        service.stop()


def report(rows: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    lines = [
        f"# Serving benchmark ({meta['cores']} cores, loopback; index: {meta['index_mb']} MB of Python "
        f"stdlib, {meta['documents']} documents; /v1/check with {meta['concurrency']} concurrent clients, "
        "proxy latency one request at a time)",
        "",
        "| workers | check req/s | check p50 ms | check p99 ms | whole: added p50 / p99 ms | "
        "streamed: added p50 / p99 ms | added per streamed chunk ms |",
        "|---:" * 7 + "|",
    ]
    for r in rows:
        w, s = r["whole"]["added"], r["streamed"]["added"]
        lines.append(
            f"| {r['workers']} | {r['check']['rps']} | {r['check']['p50_ms']} | {r['check']['p99_ms']} | "
            f"{w['p50_ms']} / {w['p99_ms']} | {s['p50_ms']} / {s['p99_ms']} | "
            f"{r['streamed']['added_per_chunk_ms']} |"
        )
    first = rows[0]
    streamed = first["streamed"]
    memory = first["memory"]
    lines += [
        "",
        f"Streamed answer: {len(answers()[0])} characters in {streamed['chunks']} deltas of {CHUNK_CHARS} "
        f"characters; direct p50 {streamed['direct']['p50_ms']} ms, through the proxy "
        f"{streamed['proxied']['p50_ms']} ms. Memory of the service (1 worker): "
        f"{memory['rss_before_mb']} MB before, {memory['rss_after_mb']} MB after {memory['requests']:,} more "
        "checks.",
        "",
        "## Targets (reported, not asserted)",
        "",
        f"- proxy adds ≤ {TARGET_ADDED_P99_MS} ms p99 per (whole) request: "
        f"{benchutil.fmt(first['whole']['added']['p99_ms'], 3)} ms "
        f"({'met' if first['whole']['added']['p99_ms'] <= TARGET_ADDED_P99_MS else 'not met'})",
        f"- ≤ {TARGET_PER_CHUNK_MS} ms per streamed chunk: {streamed['added_per_chunk_ms']} ms "
        f"({'met' if streamed['added_per_chunk_ms'] <= TARGET_PER_CHUNK_MS else 'not met'})",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few requests of each kind (smoke test)")
    parser.add_argument("--mb", type=float, default=20.0, help="MB of stdlib source to protect")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    args.checks, args.streams, args.memory_requests = (60, 6, 200) if args.quick else (5000, 200, 100_000)
    if args.quick:
        args.mb = min(args.mb, 1.0)
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        docs = protected_corpus(args.mb)
        index = serve_harness.build_index(tmp / "index", docs)
        upstream = serve_harness.start_upstream(tmp)
        try:
            rows = [measure(workers, args, index, upstream.url, tmp) for workers in (1, 2)]
        finally:
            upstream.stop()
    meta = {
        "cores": benchutil.machine_info()["cpu_affinity"],
        "index_mb": round(sum(len(d["text"]) for d in docs) / 1e6, 1),
        "documents": len(docs),
        "concurrency": args.concurrency,
        "quick": args.quick,
    }
    benchutil.save_result(
        "serve",
        {"meta": meta, "machine": benchutil.machine_info(), "rows": rows},
        report(rows, meta),
        args.out,
    )


if __name__ == "__main__":
    main()
