"""Dedup at scale: time and memory of `nearcopy dedup` on a large JSONL corpus under a memory limit.

The corpus is made of real text from this machine (`corpus.py`): windows of 50-300 words at random
offsets of its documents (overlapping windows of one document are natural near duplicates), a tenth
of them copied exactly and a tenth with 2% of their words edited. The CLI runs in its own process;
its resident memory is sampled every 50 ms: anonymous memory (what the memory limit governs) and the
whole resident set (which also counts the memory-mapped signatures, page cache that the kernel can
drop).

    python -m nearcopy.benchsuite.bench_dedup_scale [--docs 1000000] [--memory-limit 512M] [--out PATH]
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from . import benchutil, corpus


def corpus_texts(docs: int, seed: int, source_mb: int = 64) -> Iterator[str]:
    """The documents: windows of 50-300 words of real text, a tenth exact copies of the document
    before and a tenth copies with 2% of their words changed (also used by the LSH benchmark)."""
    rng = random.Random(seed)
    sources = [t.split() for t in corpus.load_corpus(source_mb, seed)]
    sources = [w for w in sources if len(w) >= 60]
    vocab = sorted({w for words in sources[:100] for w in words})
    previous: list[str] = []
    for _ in range(docs):
        roll = rng.random()
        if previous and roll < 0.1:
            words = previous
        elif previous and roll < 0.2:
            words = [rng.choice(vocab) if rng.random() < 0.02 else w for w in previous]
        else:
            source = rng.choice(sources)
            size = rng.randint(50, min(300, len(source)))
            start = rng.randrange(len(source) - size + 1)
            words = source[start : start + size]
        previous = words
        yield " ".join(words)


def make_corpus(path: Path, docs: int, seed: int, source_mb: int = 64) -> int:
    """Writes the JSONL corpus; returns its size in bytes of text."""
    total = 0
    with open(path, "w", encoding="utf-8") as out:
        for i, text in enumerate(corpus_texts(docs, seed, source_mb)):
            total += len(text.encode())
            out.write(json.dumps({"id": f"d{i}", "text": text, "n": i}, ensure_ascii=False) + "\n")
    return total


def run_sampled(command: list[str]) -> dict[str, Any]:
    """Runs `command`, sampling its memory; returns seconds and peak anonymous and resident MB."""
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak_anon = peak_rss = 0
    while child.poll() is None:
        try:
            with open(f"/proc/{child.pid}/status", encoding="ascii") as status:
                fields = dict(line.split(":", 1) for line in status if ":" in line)
            peak_anon = max(peak_anon, int(fields.get("RssAnon", "0 kB").split()[0]))
            peak_rss = max(peak_rss, int(fields.get("VmRSS", "0 kB").split()[0]))
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    _, stderr = child.communicate()
    if child.returncode != 0:
        raise SystemExit(f"dedup failed ({child.returncode}): {stderr[-2000:]}")
    return {"seconds": seconds, "peak_anon_mb": peak_anon / 1024, "peak_rss_mb": peak_rss / 1024}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--docs", type=int, default=1_000_000)
    parser.add_argument("--memory-limit", default="512M")
    parser.add_argument("--partitions", type=int, default=64)
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--source-mb", type=int, default=64, help="real text the documents are cut from")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=benchutil.cache_dir(create=True)) as tmp:
        data, out, report = Path(tmp) / "corpus.jsonl", Path(tmp) / "out.jsonl", Path(tmp) / "report.json"
        t0 = time.perf_counter()
        nbytes = make_corpus(data, args.docs, args.seed, args.source_mb)
        made = time.perf_counter() - t0
        command = [
            sys.executable,
            "-m",
            "nearcopy",
            "dedup",
            str(data),
            "-o",
            str(out),
            "--quiet",
            "--threshold",
            str(args.threshold),
            "--memory-limit",
            args.memory_limit,
            "--partitions",
            str(args.partitions),
            "--report",
            str(report),
            "--work-dir",
            tmp,
        ]
        measured = run_sampled(command)
        result = json.loads(report.read_text())
        file_mb = data.stat().st_size / 1e6
    data_out = {
        "machine": benchutil.machine_info(),
        "versions": {"nearcopy": benchutil.package_version("nearcopy")},
        "params": {
            "docs": args.docs,
            "memory_limit": args.memory_limit,
            "partitions": args.partitions,
            "threshold": args.threshold,
            "source_mb": args.source_mb,
        },
        "corpus": {"text_mb": nbytes / 1e6, "file_mb": file_mb, "seconds_to_make": made},
        "run": measured,
        "report": {
            k: result[k]
            for k in (
                "documents",
                "kept",
                "removed",
                "removed_fraction",
                "exact_duplicates",
                "clusters",
                "candidate_pairs",
                "verified_pairs",
                "timings",
            )
        },
    }
    r, m = data_out["report"], measured
    rows = [
        [
            f"{args.docs:,}",
            f"{nbytes / 1e6:,.0f}",
            args.memory_limit,
            args.partitions,
            f"{m['seconds']:.1f}",
            f"{args.docs / m['seconds']:,.0f}",
            f"{nbytes / 1e6 / m['seconds']:.1f}",
            f"{m['peak_anon_mb']:.0f}",
            f"{m['peak_anon_mb'] * 2**20 / args.docs:.0f}",
            f"{m['peak_rss_mb']:.0f}",
            f"{r['removed_fraction']:.3f}",
        ]
    ]
    stages = ", ".join(f"{k} {v:.1f} s" for k, v in r["timings"].items())
    report_md = "\n".join(
        [
            f"# Dedup at scale ({args.docs:,} documents of real text, {nbytes / 1e6:,.0f} MB; "
            f"{data_out['machine']['cpu_affinity']} cores)",
            "",
            benchutil.md_table(
                [
                    "documents",
                    "text MB",
                    "memory limit",
                    "partitions",
                    "seconds",
                    "docs/s",
                    "MB/s",
                    "peak anon MB",
                    "anon bytes/doc",
                    "peak RSS MB",
                    "removed",
                ],
                rows,
            ),
            "",
            f"Stages: {stages}. {r['candidate_pairs']:,} candidate pairs, {r['verified_pairs']:,} verified; "
            f"{r['exact_duplicates']:,} exact duplicates. Seconds are the whole CLI run (start-up, "
            "reading and parsing JSON, writing the output). Peak anon is the process's own memory; "
            "peak RSS adds the memory-mapped signatures (page cache).",
        ]
    )
    benchutil.save_result("dedup-scale", data_out, report_md, args.out)


if __name__ == "__main__":
    main()
