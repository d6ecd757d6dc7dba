"""Output-filter speed against indexes of growing size, built from what this machine has.

For each size, the benchmark corpus (documentation, man pages, licences, the standard library, then
the Linux kernel's C sources from Debian's linux-source package: ``source_corpus.py``) is streamed
into an index by a child process (so its peak memory can be read, and is that of building, not of
holding the corpus), the index is opened, and `check` is timed on 2 KB answers: half cut from text
that is not in the index, half with a protected passage in them. Reported: build MB/s, index bytes
per normalized token, open time, peak memory of the build, and check latency p50/p99 on one core.

    python -m nearcopy.benchsuite.bench_filter_speed [--sizes 10 100 1000] [--answers 400] [--out PATH]
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import multiprocessing
import random
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from nearcopy.filter import DEFAULT_MAX_DOC_FREQUENCY, OutputFilter
from nearcopy.index import ProtectedIndex

from . import benchutil, corpus, ngram_peer, source_corpus

ANSWER_CHARS = 2000


def make_answers(held_out: list[dict[str, Any]], prose: list[str], count: int) -> list[str]:
    """``count`` answers of 2 KB cut from ``held_out`` documents, every other one carrying a
    600-character passage of ``prose`` (protected text). The same held-out cuts for every index
    (only the planted passages come from each index's corpus)."""
    answers = []
    rng, plant = random.Random(5), random.Random(6)
    for i in range(count):
        source = rng.choice(held_out)["text"]
        start = rng.randrange(max(1, len(source) - ANSWER_CHARS))
        answer = source[start : start + ANSWER_CHARS]
        if i % 2:  # half the answers carry a protected passage
            protected = plant.choice(prose)
            at = plant.randrange(max(1, len(protected) - 600))
            answer = answer[:1000] + protected[at : at + 600] + answer[1000:1400]
        answers.append(answer)
    return answers


def protected_prose(size: int) -> tuple[float, list[str]]:
    """The megabytes of the ``size`` MB corpus, and up to 2000 of its prose documents to plant."""
    megabytes = 0.0
    prose: list[str] = []
    for d in source_corpus.documents(size):
        megabytes += len(d["text"].encode("utf-8", "surrogatepass")) / 1e6
        if len(prose) < 2000 and d.get("language") is None and not d["id"].endswith(".py"):
            prose.append(d["text"])
    return megabytes, prose


def build(megabytes: int, path: str, threads: int | None = None) -> None:
    """Runs in a child process, so the parent can read its peak memory."""
    ProtectedIndex.build(source_corpus.documents(megabytes), path, num_threads=threads)


def timed_build(megabytes: int, path: str, threads: int | None = None) -> float:
    child = multiprocessing.get_context("spawn").Process(target=build, args=(megabytes, path, threads))
    started = time.perf_counter()
    child.start()
    child.join()
    if child.exitcode != 0:
        raise SystemExit(f"building the {megabytes} MB index failed (exit {child.exitcode})")
    return time.perf_counter() - started


def peer_table(rows: list[dict[str, Any]]) -> list[str]:
    """nearcopy next to the plain n-gram filter on the same documents and answers."""
    lines = [
        f"## Against a plain {ngram_peer.NGRAM}-gram filter (a Python set of hashed word n-grams)",
        "",
        "Same documents, same answers (half with a verbatim 600-character protected passage). The plain "
        "filter builds on one core; its memory is its process's growth. Ratios: nearcopy's speed over the "
        "plain filter's (check: its p50 over nearcopy's), the plain filter's memory over nearcopy's. The "
        "'clean' answers are cut from a second draw of this machine's text, which can share files with the "
        "index: compare the two methods' rates, not the rate with zero.",
        "",
        "| text MB | method | build MB/s | memory MB | check p50 ms | check p99 ms "
        "| flagged: planted / clean |",
        "|---:|---|---:|---:|---:|---:|---|",
    ]
    ratios = []
    for r in rows:
        peer = r.get("plain_ngram")
        if not peer:
            continue
        lines.append(
            f"| {r['mb']} | nearcopy | {r['build_1core_mb_s'] or r['build_mb_s']} | {r['index_mb']} (file) | "
            f"{r['check_p50_ms']} | {r['check_p99_ms']} | {r['flagged_planted']} / {r['flagged_clean']} |"
        )
        lines.append(
            f"| {r['mb']} | plain n-gram | {peer['build_mb_s']} | {peer['memory_mb']} (RAM) | "
            f"{peer['check_p50_ms']} | {peer['check_p99_ms']} | "
            f"{peer['flagged_planted']} / {peer['flagged_clean']} |"
        )
        check = peer["check_p50_ms"] / r["check_p50_ms"] if r["check_p50_ms"] else None
        memory = peer["memory_mb"] / r["index_mb"] if r["index_mb"] else None
        ratios.append(f"{r['mb']} MB: check p50 {benchutil.fmt(check, 2)}x faster, "
                      f"{benchutil.fmt(memory, 1)}x less memory than the plain filter")  # fmt: skip
    if not ratios:
        return []
    reasons = [
        f"{r['mb']} MB: of the {r['planted_missed']} planted passages nearcopy did not flag, "
        f"{r['planted_missed_boilerplate']} are flagged with the boilerplate cutoff lifted: they are "
        f"boilerplate, repeated in more than max_doc_frequency ({DEFAULT_MAX_DOC_FREQUENCY}) protected "
        "documents, which the filter ignores by design (the plain filter has no such cutoff)"
        for r in rows
        if r.get("plain_ngram") and "planted_missed" in r
    ]
    return [*lines, "", *(f"- {line}" for line in ratios + reasons)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[10, 100, 1000], help="index sizes in MB of text"
    )
    parser.add_argument("--answers", type=int, default=1000)
    parser.add_argument(
        "--one-core-up-to", type=int, default=100, help="also build on one core up to this MB"
    )
    parser.add_argument(
        "--peer-up-to", type=int, default=100, help="also run the plain n-gram filter up to this MB"
    )
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    held_out, _ = corpus.load_docs(mb=4, seed=99)
    rows = []
    for size in args.sizes:
        source_corpus.prepare(size)
        megabytes, prose = protected_prose(size)  # prose: protected text to plant in answers
        with tempfile.TemporaryDirectory() as tmp:
            path = str(Path(tmp) / "index")
            build_seconds = timed_build(size, path)
            peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            one_core = timed_build(size, str(Path(tmp) / "one"), 1) if size <= args.one_core_up_to else None
            started = time.perf_counter()
            index = ProtectedIndex.open(path)
            open_ms = 1000 * (time.perf_counter() - started)
            output_filter = OutputFilter(index)
            answers = make_answers(held_out, prose, args.answers)
            output_filter.check(answers[0])  # warm the page cache of the mapped index
            latencies, flagged = [], []
            for answer in answers:
                started = time.perf_counter()
                verdict = output_filter.check(answer)
                latencies.append(1000 * (time.perf_counter() - started))
                flagged.append(verdict.flagged)
            latencies.sort()
            again = benchutil.latencies_ms(output_filter.check, answers)
            warmed = benchutil.warmed_pass(path, answers)
            info = index.info()
            # Why a planted passage goes unflagged: the passages flagged once the boilerplate
            # cutoff is lifted are repeated in more than max_doc_frequency protected documents.
            lifted = OutputFilter(index, max_doc_frequency=1 << 30)
            missed = [a for i, a in enumerate(answers) if i % 2 and not flagged[i]]
            boilerplate = sum(lifted.check(a).flagged for a in missed)
        peer = ngram_peer.measure(size, answers) if size <= args.peer_up_to else None
        rows.append({
            "mb": round(megabytes, 1), "documents": info["documents"], "tokens": info["tokens"],
            "build_s": round(build_seconds, 2), "build_mb_s": round(megabytes / build_seconds, 1),
            "build_1core_mb_s": round(megabytes / one_core, 1) if one_core else None,
            "bytes_per_token": round(info["bytes_per_token"], 2), "index_mb": round(info["bytes"] / 1e6, 1),
            "open_ms": round(open_ms, 2), "peak_build_mb": round(peak_mb),
            "check_p50_ms": round(statistics.median(latencies), 3),
            "check_p99_ms": round(benchutil.percentile(latencies, 0.99), 3),
            "check_p50_again_ms": round(statistics.median(again), 3),
            "check_p99_again_ms": round(benchutil.percentile(again, 0.99), 3),
            **warmed,
            **ngram_peer.flag_rates(flagged), "plain_ngram": peer,
            "planted_missed": len(missed), "planted_missed_boilerplate": boilerplate,
        })  # fmt: skip
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    lines = [
        f"# Output filter speed ({cores} cores; build on all cores, check on one; "
        f"{args.answers} answers of 2 KB)",
        "",
        "| text MB | documents | tokens | build s | build MB/s | build MB/s, 1 core | index MB | "
        "bytes/token | open ms | peak build MB | check p50 ms | check p99 ms | second pass: p50 / p99 ms | "
        "warm s | warmed: p50 / p99 ms | warmed, best of 3: p50 / p99 ms |",
        "|---:" * 16 + "|",
    ]
    for r in rows:
        lines.append(
            f"| {r['mb']} | {r['documents']} | {r['tokens']:,} | {r['build_s']} | {r['build_mb_s']} | "
            f"{r['build_1core_mb_s'] or 'n/a'} | "
            f"{r['index_mb']} | {r['bytes_per_token']} | {r['open_ms']} | {r['peak_build_mb']} | "
            f"{r['check_p50_ms']} | {r['check_p99_ms']} | "
            f"{r['check_p50_again_ms']} / {r['check_p99_again_ms']} | {r['warm_s']} | "
            f"{r['check_p50_warm_ms']} / {r['check_p99_warm_ms']} | "
            f"{r['check_p50_best3_ms']} / {r['check_p99_best3_ms']} |"
        )
    lines += [
        "",
        "Peak build memory is that of the building process, which streams the documents from disk. "
        "Check: each answer once on the index just opened (a lookup's first read of a page maps it and "
        "checks its block's checksum), then the second pass, the same answers again, as on a server "
        "that has run a while; warmed: the index opened afresh and warmed first (`index.warm()`, one "
        "thread: every block read and checked once, as `nearcopy serve` does before serving), then "
        "each answer once; best of 3: each answer's fastest of that pass and two more (the check's "
        "cost without a shared machine's hiccups).",
        "",
        *peer_table(rows),
    ]
    benchutil.save_result("filter-speed", rows, "\n".join(lines), args.out)


if __name__ == "__main__":
    main()
