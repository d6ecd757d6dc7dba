"""Dedup end to end, side by side: nearcopy on one core and on all, datasketch, rensa; same job, same run.

The job, for every method: read a JSONL file, shingle each text (word 5-grams), MinHash it (128
permutations), find candidates by LSH, keep a document unless it near-duplicates (Jaccard >= 0.8)
one kept before it, and write the kept lines to a JSONL file. Seconds run from opening the input to
closing the output; imports and interpreter start-up are not counted. Each run is its own process
(so its peak memory is its own); the figures are medians over ``--repeats`` runs with their spread.

- nearcopy: ``nearcopy.dedup`` (the CLI's code path) with its defaults (the ``fast`` scheme,
  bands weighted to recall, every candidate verified against the full signature), on 1 thread and
  on every core.
- datasketch: what its users write (and text-dedup does): ``json.loads`` per line, lower-cased
  ``\\w+`` words joined into 5-grams in Python, ``MinHash.update_batch``, ``MinHashLSH`` query then
  insert at its default bands for the threshold, each candidate checked with ``MinHash.jaccard``,
  union-find, the first of each cluster kept.
- nearcopy ray: ``engine="ray"`` on a local Ray cluster (2 CPUs) that the run starts (and
  stops: its start-up, a few seconds, is counted); one machine, so it shows Ray's overhead.
- rensa: the same reading and shingling, then rensa's deduplicator
  (``RMinHashDeduplicator.add_pairs``: token lists hashed and checked in bulk in Rust, LSH with 16
  bands, the first copy kept).

Quality on the same labelled set as ``bench_dedup.py`` (real text; copies by edits, cuts,
concatenation, reformatting; truth = exact shingle Jaccard): precision, recall and F1 of the
removals (a removal is right when the document has a true duplicate earlier in the file).

    python -m nearcopy.benchsuite.bench_dedup_speed [--bases 10000] [--repeats 3] [--quick] [--out PATH]
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from . import bench_dedup, benchutil

NUM_PERM = 128
RENSA_BANDS = 16  # rensa needs bands dividing 128; 16x8 has recall 0.95 at 0.8
WORD = re.compile(r"\w+")
METHODS = ("nearcopy 1 thread", "nearcopy all cores", "datasketch", "rensa")
RAY = "nearcopy ray, local cluster"  # not in --quick: starting Ray takes seconds


def py_shingles(text: str, n: int = 5) -> list[str]:
    """What a datasketch or rensa user writes: lower-cased \\w+ words, 5-grams."""
    words = WORD.findall(text.lower())
    if len(words) < n:
        return [" ".join(words)] if words else []
    return [" ".join(words[i : i + n]) for i in range(len(words) - n + 1)]


def run_nearcopy(data: Path, out: Path, threshold: float, threads: int | None, engine: str = "local") -> None:
    import nearcopy

    params = nearcopy.DedupParams(threshold=threshold, num_perm=NUM_PERM)
    nearcopy.dedup(data, out, params=params, num_threads=threads, memory_limit="1G", engine=engine)


def run_datasketch(data: Path, out: Path, threshold: float) -> None:
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
    sketches: list[Any] = []
    parent: list[int] = []

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    with open(data, "rb") as source:
        lines = [line for line in source if line.strip()]
    for i, line in enumerate(lines):
        m = MinHash(num_perm=NUM_PERM, seed=1)
        m.update_batch([s.encode() for s in py_shingles(json.loads(line)["text"])])
        parent.append(i)
        for j in lsh.query(m):
            if m.jaccard(sketches[j]) >= threshold:  # verified, as nearcopy does
                a, b = find(i), find(j)
                parent[max(a, b)] = min(a, b)
        lsh.insert(i, m)
        sketches.append(m)
    with open(out, "wb") as sink:
        sink.writelines(line for i, line in enumerate(lines) if find(i) == i)


def run_rensa(data: Path, out: Path, threshold: float) -> None:
    from rensa import RMinHashDeduplicator

    with open(data, "rb") as source:
        lines = [line for line in source if line.strip()]
    entries = [(str(i), py_shingles(json.loads(line)["text"])) for i, line in enumerate(lines)]
    dedup = RMinHashDeduplicator(threshold, NUM_PERM, True, RENSA_BANDS)
    added = dedup.add_pairs(entries)
    with open(out, "wb") as sink:
        sink.writelines(line for line, new in zip(lines, added) if new)


def worker(method: str, data: Path, out: Path, threshold: float) -> None:
    """Runs one method once; prints seconds and peak memory as JSON."""
    if method.startswith("nearcopy"):
        import nearcopy  # noqa: F401  # imported before the clock starts, like the peers' modules
    elif method == "datasketch":
        import datasketch  # noqa: F401
    else:
        import rensa  # noqa: F401
    baseline = bench_dedup.peak_mb()
    started = time.perf_counter()
    if method == "nearcopy 1 thread":
        run_nearcopy(data, out, threshold, 1)
    elif method == "nearcopy all cores":
        run_nearcopy(data, out, threshold, None)
    elif method == RAY:
        run_nearcopy(data, out, threshold, None, engine="ray")
    elif method == "datasketch":
        run_datasketch(data, out, threshold)
    else:
        run_rensa(data, out, threshold)
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "peak_mb": bench_dedup.peak_mb(), "baseline_mb": baseline}))


def removal_scores(kept_ids: set[str], items: list[dict[str, Any]], expected: np.ndarray) -> dict[str, float]:
    """Precision, recall, F1 of removals: a document should go when a true duplicate precedes it."""
    first_of: dict[int, int] = {}
    should_go = np.zeros(len(items), dtype=bool)
    for i, label in enumerate(expected.tolist()):
        if label in first_of:
            should_go[i] = True
        else:
            first_of[label] = i
    removed = np.array([it["id"] not in kept_ids for it in items])
    right = int(np.count_nonzero(removed & should_go))
    p = right / removed.sum() if removed.any() else 1.0
    r = right / should_go.sum() if should_go.any() else 1.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0}


def measure(method: str, data: Path, out: Path, threshold: float, repeats: int) -> dict[str, Any]:
    runs = []
    for _ in range(repeats):
        command = [
            sys.executable,
            "-m",
            "nearcopy.benchsuite.bench_dedup_speed",
            "--threshold",
            str(threshold),
            "--worker",
            method,
            str(data),
            str(out),
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    seconds = [r["seconds"] for r in runs]
    return {
        "median_s": statistics.median(seconds),
        "min_s": min(seconds),
        "max_s": max(seconds),
        "runs_s": seconds,
        "peak_mb": max(r["peak_mb"] for r in runs),
        "baseline_mb": min(r["baseline_mb"] for r in runs),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bases", type=int, default=10000, help="originals (default 10000)")
    parser.add_argument("--mb", type=int, default=160, help="real text to draw originals from (default 160)")
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="300 originals from 4 MB, one run (smoke test)")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--worker", nargs=3, metavar=("METHOD", "DATA", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker[0], Path(args.worker[1]), Path(args.worker[2]), args.threshold)
        return
    if args.quick:
        args.bases, args.mb, args.repeats = 300, 4, 1
    items, source = bench_dedup.build_set(args.bases, args.mb, args.seed)
    expected, _ = bench_dedup.truth(items, args.threshold)
    nbytes = sum(len(it["text"].encode()) for it in items)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "set.jsonl"
        data.write_text("".join(json.dumps({"id": it["id"], "text": it["text"]}) + "\n" for it in items))
        file_mb = data.stat().st_size / 1e6
        for method in METHODS if args.quick else (*METHODS, RAY):
            out = Path(tmp) / "out.jsonl"
            timing = measure(method, data, out, args.threshold, args.repeats)
            kept = {json.loads(line)["id"] for line in out.read_text().splitlines()}
            results[method] = {
                **timing,
                **removal_scores(kept, items, expected),
                "kept": len(kept),
                "docs_per_s": len(items) / timing["median_s"],
                "mb_per_s": file_mb / timing["median_s"],
            }
    cores = os.cpu_count() or 1
    one = results["nearcopy 1 thread"]["docs_per_s"]
    data_out = {
        "machine": benchutil.machine_info(),
        "versions": {
            "nearcopy": benchutil.package_version("nearcopy"),
            "datasketch": benchutil.package_version("datasketch"),
            "rensa": benchutil.package_version("rensa"),
        },
        "params": {"threshold": args.threshold, "num_perm": NUM_PERM, "ngram": 5, "repeats": args.repeats},
        "set": {"documents": len(items), "text_bytes": nbytes, "file_mb": file_mb, **source},
        "cores": cores,
        "ratios_per_core": {
            "datasketch": one / results["datasketch"]["docs_per_s"],
            "rensa": one / results["rensa"]["docs_per_s"],
        },
        "results": results,
    }
    benchutil.save_result("dedup-speed", data_out, render(data_out), args.out)


def render(d: dict[str, Any]) -> str:
    s, p, m = d["set"], d["params"], d["machine"]
    lines = [
        f"# Dedup end to end ({s['documents']:,} documents, {s['file_mb']:.1f} MB of JSONL; "
        f"{d['cores']} cores)",
        "",
        f"{m['cpu_model']}, {m['memory_gb']} GB; threshold {p['threshold']}, {p['num_perm']} permutations, "
        "word 5-grams; "
        f"median of {p['repeats']} runs (min-max). Read JSONL, shingle, sign, LSH, verify, cluster, "
        "write the kept lines. Quality: the removals against the truth (exact Jaccard).",
        "",
    ]
    rows = []
    for name, r in d["results"].items():
        rows.append(
            [
                name,
                f"{r['median_s']:.2f} ({r['min_s']:.2f}-{r['max_s']:.2f})",
                f"{r['docs_per_s']:,.0f}",
                f"{r['mb_per_s']:.1f}",
                f"{r['precision']:.3f}",
                f"{r['recall']:.3f}",
                f"{r['f1']:.3f}",
                f"{r['peak_mb']:.0f}",
            ]
        )
    headers = ["method", "seconds", "docs/s", "MB/s", "precision", "recall", "F1", "peak MB"]
    lines.append(benchutil.md_table(headers, rows))
    ratios = d["ratios_per_core"]
    lines += [
        "",
        f"Per core, nearcopy (1 thread) is **{ratios['datasketch']:.1f}x datasketch** (target 25x) and "
        f"**{ratios['rensa']:.1f}x rensa** (target 5x); the peers run on one core. Peak MB is the "
        "process's peak resident memory, Python and the libraries included.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
