"""The LSH benchmark's workers: one process per index (nearcopy's, datasketch's ``MinHashLSH``,
rensa's ``RMinHashLSH``) and threshold, so that each one's memory is its own.

    python -m nearcopy.benchsuite.lsh_peers METHOD DATA_DIR THRESHOLD OUT.json [--store S] [--batch N]
        [--bands B --rows R]

A worker loads the prepared signatures (``bench_lsh.prepare``), builds its index (timed), measures
the process's anonymous memory before and after, then times each query alone on one thread (after a
warm-up) and writes the keys each query returned, unverified (``raw``) and verified against the
threshold by the method's own signature estimate (``verified``), for the driver to score against
exact Jaccard. nearcopy's index is then reopened: its memory is what a fresh reader holds, its
disk bytes the index's files. Its queries are timed verified (the default) and raw
(``verify=False``: the candidates only, as the others return them), each on a reader of its own.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import gc
import json
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from nearcopy.minhash import Scheme

NUM_PERM = 128
WARM_UP = 100


def anon_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) / 1024
    return 0.0


def rensa_bands(threshold: float) -> int:
    """rensa needs bands dividing num_perm: the power of two datasketch's criterion (false positive
    plus false negative area, weighted 0.5/0.5) prefers at this threshold."""
    grid = np.linspace(0, 1, 2001)
    best = (float("inf"), 1)
    for bands in (2**i for i in range(8)):
        rows = NUM_PERM // bands
        collide = 1 - (1 - grid**rows) ** bands
        below, above = grid <= threshold, grid >= threshold
        error = _area(collide[below], grid[below]) + _area(1 - collide[above], grid[above])
        best = min(best, (float(error), bands))
    return best[1]


def _area(y: npt.NDArray[np.float64], x: npt.NDArray[np.float64]) -> float:
    return float(np.sum((y[1:] + y[:-1]) / 2 * np.diff(x)))


def latencies(run_query: Any, queries: list[Any]) -> tuple[list[Any], npt.NDArray[np.float64]]:
    """Each query run alone, after a warm-up: its results and microseconds. The garbage collector
    is off while the queries are timed, for every method (as ``timeit`` does): a worker holds
    millions of Python ints of earlier results, and a full collection that one query's allocations
    happened to trigger cost milliseconds, enough to move a p99 of 1,000 queries."""
    for q in queries[:WARM_UP]:
        run_query(q)
    found, times = [], []
    gc.collect()
    gc.disable()
    try:
        for q in queries:
            start = time.perf_counter_ns()
            found.append(run_query(q))
            times.append(time.perf_counter_ns() - start)
    finally:
        gc.enable()
    return found, np.array(times) / 1000


def estimate_filter(
    found: list[list[int]], sigs: npt.NDArray[Any], queries: npt.NDArray[Any], threshold: float
) -> list[list[int]]:
    """The candidates whose signature estimate (share of equal slots) reaches the threshold."""
    return [[k for k in keys if np.mean(sigs[k] == q) >= threshold] for keys, q in zip(found, queries)]


def nearcopy_worker(data: Path, threshold: float, args: argparse.Namespace) -> dict[str, Any]:
    from nearcopy.lsh import VERIFIED_WEIGHTS
    from nearcopy.lsh_index import LSHIndex

    datasketch_bands = args.method == "nearcopy-datasketch-bands"
    scheme: Scheme = "affine32" if datasketch_bands else "fast"
    # rensa's band layout, for a comparison at rensa's recall (nearcopy's own bands find more).
    bands: int | None = None
    band_rows: int | None = None
    if args.method == "nearcopy-rensa-bands":
        bands = rensa_bands(threshold)
        band_rows = NUM_PERM // bands
    elif args.bands:  # a layout the driver chose (``lsh_layouts``: the one at rensa's recall)
        bands, band_rows = args.bands, args.rows
    sigs = np.load(data / f"{scheme}.npy", mmap_mode="r")
    queries = np.load(data / f"q_{scheme}.npy")
    weights = (0.5, 0.5) if datasketch_bands else VERIFIED_WEIGHTS
    layout = f"{args.bands}x{args.rows}"
    root = data / f"index-{args.method}-{args.store}-{args.batch}-{layout}-{args.key_order}-{threshold}"
    index = LSHIndex.create(
        root, scheme=scheme, threshold=threshold, weights=weights, store=args.store, key_type="int",
        bands=bands, rows=band_rows,
    )  # fmt: skip
    batch = args.batch or len(sigs)
    # Row numbers as keys are stored as computed (no key column, no read per result); shuffled
    # ids, as a user's own ids may be, take the packed key column's read for each result.
    keys = np.arange(len(sigs), dtype=np.int64)
    if args.key_order == "shuffled":
        keys = np.random.default_rng(7).permutation(len(sigs)).astype(np.int64)
    row_of = np.argsort(keys)  # a result's key back to its row, which the truth is of
    seconds = 0.0
    for start in range(0, len(sigs), batch):
        part = np.ascontiguousarray(sigs[start : start + batch])
        begun = time.perf_counter()
        index.insert(keys[start : start + batch], part, check_duplicates=False)
        seconds += time.perf_counter() - begun
    del index
    gc.collect()
    opens = []
    for _ in range(20):
        begun = time.perf_counter()
        LSHIndex.open(root)
        opens.append(time.perf_counter() - begun)
    before = anon_mb()
    index = LSHIndex.open(root)
    rows = list(queries)

    def timed_query(q: npt.NDArray[Any]) -> None:
        index.query(q)  # the results are dropped: their memory is not the index's

    _, micros = latencies(timed_query, rows)
    memory = anon_mb() - before
    # A fresh reader pays for a page's mapping and its block's checksum the first time a query
    # reads it; a server that has run a while, or called warm() at start (which reads every
    # block), has paid. Both are timed: the peers hold everything in memory, always warm.
    index.warm(num_threads=1)
    _, warm = latencies(timed_query, rows)
    verified = [row_of[index.query(q).keys].tolist() for q in rows]
    raw = [row_of[n.keys].tolist() for n in index.query(queries, verify=False)]
    # The raw candidates alone (verify=False: band lookups, no stored signature read), the work
    # rensa's and datasketch's queries do: timed the same way, on a reader opened afresh, then read
    # through.
    fresh = LSHIndex.open(root)

    def raw_query(q: npt.NDArray[Any]) -> None:
        fresh.query(q, verify=False)

    _, raw_micros = latencies(raw_query, rows)
    fresh.warm(num_threads=1)
    _, raw_warm = latencies(raw_query, rows)
    info = index.info()
    disk = sum(p.stat().st_size for p in root.iterdir())
    shutil.rmtree(root)
    return {
        "insert_seconds": seconds,
        "bands": info["bands"],
        "rows": info["rows"],
        "segments": info["segments"],
        "anon_mb": memory,
        "disk_bytes": disk,
        "open_ms": float(np.median(opens) * 1000),
        "latency_us": micros.tolist(),
        "latency_warm_us": warm.tolist(),
        "latency_raw_us": raw_micros.tolist(),
        "latency_raw_warm_us": raw_warm.tolist(),
        "raw": raw,
        "verified": verified,
    }


def datasketch_worker(data: Path, threshold: float, args: argparse.Namespace) -> dict[str, Any]:
    from datasketch import MinHashLSH

    from nearcopy import to_datasketch

    sigs = np.load(data / "affine32.npy", mmap_mode="r")
    queries = np.load(data / "q_affine32.npy")
    lean = [to_datasketch(np.array(s), scheme="affine32") for s in sigs]  # inputs, before the timed part
    gc.collect()
    before = anon_mb()
    lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
    begun = time.perf_counter()
    for key, m in enumerate(lean):
        lsh.insert(key, m)
    seconds = time.perf_counter() - begun
    gc.collect()
    memory = anon_mb() - before
    probes = to_datasketch(queries, scheme="affine32")
    raw, micros = latencies(lambda q: lsh.query(q), probes)
    return {
        "insert_seconds": seconds,
        "bands": lsh.b,
        "rows": lsh.r,
        "anon_mb": memory,
        "disk_bytes": 0,
        "latency_us": micros.tolist(),
        "raw": raw,
        "verified": estimate_filter(raw, sigs, queries, threshold),
    }


def rensa_worker(data: Path, threshold: float, args: argparse.Namespace) -> dict[str, Any]:
    import rensa

    from nearcopy.benchsuite.bench_lsh import read_shingles

    bands = rensa_bands(threshold)
    chunks = [
        rensa.RMinHash.digest_matrix_from_token_sets(c, NUM_PERM, 42) for c in read_shingles(data, "docs")
    ]
    probes = [
        m for c in read_shingles(data, "queries") for m in rensa.RMinHash.from_token_sets(c, NUM_PERM, 42)
    ]
    gc.collect()
    before = anon_mb()
    lsh = rensa.RMinHashLSH(threshold, NUM_PERM, bands)
    begun = time.perf_counter()
    start = 0
    for chunk in chunks:
        lsh.insert_matrix(chunk, start)
        start += chunk.len()
    seconds = time.perf_counter() - begun
    gc.collect()
    memory = anon_mb() - before
    raw, micros = latencies(lambda q: lsh.query(q), probes)
    digests = np.array([row for c in chunks for row in c.to_rows()], dtype=np.uint64)
    q_digests = np.array([m.digest() for m in probes], dtype=np.uint64)
    return {
        "insert_seconds": seconds,
        "bands": bands,
        "rows": NUM_PERM // bands,
        "anon_mb": memory,
        "disk_bytes": 0,
        "latency_us": micros.tolist(),
        "raw": [list(map(int, r)) for r in raw],
        "verified": estimate_filter([list(map(int, r)) for r in raw], digests, q_digests, threshold),
    }


WORKERS = {
    "nearcopy": nearcopy_worker,
    "nearcopy-datasketch-bands": nearcopy_worker,
    "nearcopy-rensa-bands": nearcopy_worker,
    "datasketch": datasketch_worker,
    "rensa": rensa_worker,
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("method", choices=sorted(WORKERS))
    parser.add_argument("data", type=Path)
    parser.add_argument("threshold", type=float)
    parser.add_argument("out", type=Path)
    parser.add_argument("--store", default="8bit")
    parser.add_argument("--batch", type=int, default=0, help="documents per insert (default: all at once)")
    parser.add_argument("--bands", type=int, default=0, help="nearcopy: this many bands (default: its own)")
    parser.add_argument("--rows", type=int, default=0, help="nearcopy: rows per band, with --bands")
    parser.add_argument(
        "--key-order", choices=("rows", "shuffled"), default="rows", help="nearcopy: keys row numbers or not"
    )
    args = parser.parse_args(argv)
    result = WORKERS[args.method](args.data, args.threshold, args)
    args.out.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
