"""Protected-index build throughput per core, prose and code apart, as a user runs it.

Each corpus is written to a JSONL file, and ``nearcopy index build FILE -o INDEX --threads 1``
runs on it in a child process: what is timed is the command's own build (reading the JSONL,
normalizing, winnowing, writing segments, the final merge; the interpreter's start-up is left out),
and the child's peak resident memory is read from the kernel. Prose is this machine's documentation,
man pages and licence texts (the text corpus without its code files, as much as there is); code is
the Linux kernel's C sources (glibc's and the system headers where the kernel's tarball is not
installed: the row names its corpus). For code, the raw tree-sitter parse of the same files (the Python
binding, one thread) is timed too, one pass beside each build run, best of each: the target is a
share of it, as that is what any tree-sitter user pays before nearcopy's normalization starts.

``--engines local ray`` also times ``--engine ray`` on a local Ray cluster this benchmark starts
(``--ray-cpus`` CPUs, 2 by default) before the clock starts, as a standing cluster would be: the
child joins it with ``--ray-address``. Its MB/s per core divides by the cluster's CPUs (the driver,
which cuts the JSONL into ranges and the batches from the read tasks' summaries, runs beside them),
and its peak memory is the driver's (the workers' is their block or batch each). Its build time
includes the command joining the cluster (a second or two on a quiet machine). ``--shards N``
builds sharded indexes (both engines).

    python -m nearcopy.benchsuite.bench_build_speed [--sizes 100 1000] [--engines local ray]
        [--shards N] [--out PATH]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nearcopy.protected_documents import as_document, content_language

from . import benchutil, code_corpus, code_reference, corpus, source_corpus

PROSE_TARGET_MB_S = 100.0
CODE_TARGET_SHARE = 0.85
# The text corpus of this size holds all of this machine's text (documentation, man pages, licences,
# the standard library); its prose is what the prose rows build.
TEXT_CORPUS_MB = 1000
REPEAT_UP_TO_MB = 200


def prose_documents(mb: int) -> Iterator[dict[str, Any]]:
    """Up to ``mb`` MB of the text corpus's prose (documents the build reads as prose)."""
    text_path, _ = corpus._paths(TEXT_CORPUS_MB, 0)
    total = 0
    for doc in source_corpus._jsonl(text_path):
        doc["path"] = doc["id"]
        if content_language(as_document(doc)) is not None:
            continue
        if total >= mb * 1_000_000:
            return
        total += len(doc["text"].encode("utf-8", "surrogatepass"))
        yield doc


def code_documents(mb: int) -> tuple[str, Iterator[dict[str, Any]]]:
    """Up to ``mb`` MB of C sources and the corpus's name: the Linux kernel's when its tarball is
    installed (``make bench`` installs it), else what this machine has (glibc's sources, which
    ``make test`` unpacks, and the system headers), so that the benchmark runs on any machine and
    says which corpus it measured."""
    path = source_corpus.kernel_sources(mb)
    if path is not None:
        return "Linux kernel C", source_corpus._jsonl(path)
    return "glibc C and system headers", _local_c_sources(mb)


def _local_c_sources(mb: int) -> Iterator[dict[str, Any]]:
    files = code_corpus._glibc_files() + sorted(Path("/usr/include").rglob("*.h"))
    total = 0
    for file in files:
        if total >= mb * 1_000_000:
            return
        try:
            data = file.read_bytes()
        except OSError:
            continue
        if not corpus.MIN_DOC_BYTES <= len(data) <= corpus.MAX_DOC_BYTES or b"\0" in data:
            continue
        total += len(data)
        yield {"id": str(file), "text": data.decode("utf-8", errors="replace"), "language": "c"}


def write_corpus(docs: Iterator[dict[str, Any]], path: Path) -> float:
    """Writes ``docs`` as JSONL; returns their text's megabytes."""
    total = 0
    with open(path, "w", encoding="utf-8") as out:
        for doc in docs:
            out.write(json.dumps(doc) + "\n")
            total += len(doc["text"].encode("utf-8", "surrogatepass"))
    return total / 1e6


# The child runs the CLI and then reports its own high-water mark of resident memory (VmHWM, which
# starts afresh at exec; the kernel's ru_maxrss would carry the parent's from before the exec).
CHILD = """
import sys
from nearcopy.cli import main
code = main(sys.argv[1:])
with open("/proc/self/status") as status:
    peak = next(line.split()[1] for line in status if line.startswith("VmHWM"))
print(peak, file=sys.stderr)
sys.exit(code)
"""


def timed_build(source: Path, index: Path, options: list[str]) -> dict[str, Any]:
    """One ``nearcopy index build --threads 1`` (and ``options``) in a child: its summary (with the
    build seconds it measured itself) and its peak resident memory."""
    command = [sys.executable, "-c", CHILD, "index", "build", str(source), "-o", str(index),
               "--threads", "1", "--json", *options]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the build failed: {done.stderr.strip()}")
    peak_kb = int(done.stderr.strip().splitlines()[-1])
    shutil.rmtree(index)
    return {"summary": json.loads(done.stdout), "peak_mb": peak_kb / 1024}


def raw_parse_mb_s(docs: list[dict[str, Any]], repeat: int = 2) -> float:
    """py-tree-sitter's C parse of every document, MB/s (best of ``repeat`` passes)."""
    parser = code_reference.parser("c")
    encoded = [d["text"].encode("utf-8") for d in docs]
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for source in encoded:
            parser.parse(source)
        best = min(best, time.perf_counter() - started)
    return sum(map(len, encoded)) / 1e6 / best


def measure(
    kind: str, mb: int, root: Path, engines: dict[str, tuple[list[str], int]]
) -> list[dict[str, Any]]:
    """The rows of one corpus: one per engine (its CLI options and the cores it builds on)."""
    source = root / f"{kind}-{mb}.jsonl"
    name, docs = ("this machine's prose", prose_documents(mb)) if kind == "prose" else code_documents(mb)
    megabytes = write_corpus(docs, source)
    # On disk before the clock starts: the build syncs its segments, and on ext4 a sync can wait for
    # the corpus's own dirty pages (a user's corpus was written long before its build).
    os.sync()
    # Best of three where a run is short (the machine may be shared; the first run also pays for
    # cold caches), one run at a gigabyte.
    repeat = 3 if mb <= REPEAT_UP_TO_MB else 1
    # Code is judged against the raw parse of every file the build parsed, one pass beside each build
    # run: the share is a ratio of two timings, and this machine's speed drifts by a third within
    # minutes, so the two are taken in the same minutes and each is its best.
    parsed = list(source_corpus._jsonl(source)) if kind == "code" else None
    raw_passes: list[float] = []
    rows = []
    for engine, (options, cores) in engines.items():
        runs = []
        for _ in range(repeat):
            if parsed is not None:
                raw_passes.append(raw_parse_mb_s(parsed, repeat=1))
            runs.append(timed_build(source, root / f"{kind}-{mb}.idx", options))
        built = min(runs, key=lambda run: run["summary"]["seconds"])
        summary = built["summary"]
        rows.append({
            "kind": kind, "corpus": name, "engine": engine, "cores": cores,
            "shards": len(summary.get("shards", [])),
            "requested_mb": mb, "mb": round(megabytes, 1), "documents": summary["documents"],
            "tokens": summary["tokens"], "build_s": summary["seconds"],
            "mb_s": round(megabytes / summary["seconds"], 1),
            "mb_s_per_core": round(megabytes / summary["seconds"] / cores, 1),
            "bytes_per_token": round(summary["bytes_per_token"], 2), "runs": len(runs),
            "peak_mb": round(max(run["peak_mb"] for run in runs), 1),
        })  # fmt: skip
    if raw_passes:
        raw = round(max(raw_passes), 1)
        for row in rows:
            row["raw_parse_mb_s"] = raw
            row["share_of_raw_parse"] = round(row["mb_s_per_core"] / raw, 3)
    source.unlink()
    return rows


def report(rows: list[dict[str, Any]]) -> str:
    lines = [
        "# Protected-index build throughput, one core",
        "",
        "`nearcopy index build FILE.jsonl --threads 1` in a child process; the command's own build "
        "time (reading, fingerprinting, writing, the final merge), not the interpreter's start-up. "
        "Code against py-tree-sitter's parse of the same files, one pass beside each build run.",
        "",
        "| corpus | engine | MB | documents | build s | MB/s per core | target | bytes/token | peak MB |",
        "|---|---|---:|---:|---:|---:|---|---:|---:|",
    ]
    for r in rows:
        if r["kind"] == "prose":
            verdict = "met" if r["mb_s_per_core"] >= PROSE_TARGET_MB_S else "short"
            target = f"{PROSE_TARGET_MB_S:.0f} MB/s: {verdict}"
        else:
            share = r["share_of_raw_parse"]
            verdict = "met" if share >= CODE_TARGET_SHARE else "short"
            raw = r["raw_parse_mb_s"]
            target = f"{share:.0%} of the raw parse ({raw} MB/s); {CODE_TARGET_SHARE:.0%}: {verdict}"
        engine = r["engine"] + (f", {r['cores']} CPUs" if r["engine"] == "ray" else "")
        engine += f", {r['shards']} shards" if r["shards"] else ""
        lines.append(
            f"| {r['kind']}: {r['corpus']} | {engine} | {r['mb']} | {r['documents']:,} | {r['build_s']} | "
            f"{r['mb_s_per_core']} | {target} | {r['bytes_per_token']} | {r['peak_mb']} |"
        )
    short = [r for r in rows if r["kind"] == "prose" and r["mb"] < r["requested_mb"] * 0.95]
    if short:
        lines += [
            "",
            f"This machine holds {short[0]['mb']} MB of prose: the larger prose sizes build all of it.",
        ]
    return "\n".join(lines) + "\n"


@contextlib.contextmanager
def _engines(
    names: list[str], ray_cpus: int, sharded: list[str]
) -> Iterator[dict[str, tuple[list[str], int]]]:
    """Each engine's CLI options and cores; for Ray, a local cluster started for the run (stopped
    after it), which the children join."""
    engines = {"local": (sharded, 1)} if "local" in names else {}
    if "ray" not in names:
        yield engines
        return
    import ray

    ray.init(num_cpus=ray_cpus, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        address = str(ray.get_runtime_context().gcs_address)
        engines["ray"] = ([*sharded, "--engine", "ray", "--ray-address", address], ray_cpus)
        yield engines
    finally:
        ray.shutdown()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000], metavar="MB")
    parser.add_argument("--kinds", nargs="+", default=["prose", "code"], choices=["prose", "code"])
    parser.add_argument("--engines", nargs="+", default=["local"], choices=["local", "ray"])
    parser.add_argument("--shards", type=int, default=None, metavar="N", help="build N shards")
    parser.add_argument("--ray-cpus", type=int, default=2, metavar="N", help="the Ray cluster's CPUs")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    source_corpus.prepare(TEXT_CORPUS_MB)
    rows: list[dict[str, Any]] = []
    seen_prose = None
    sharded = [] if args.shards is None else ["--shards", str(args.shards)]
    with tempfile.TemporaryDirectory() as tmp, _engines(args.engines, args.ray_cpus, sharded) as engines:
        for kind in args.kinds:
            for mb in args.sizes:
                if kind == "prose" and seen_prose is not None and seen_prose < mb * 0.95:
                    continue  # all of this machine's prose was built at the size before
                for row in measure(kind, mb, Path(tmp), engines):
                    if kind == "prose":
                        seen_prose = row["mb"]
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    benchutil.save_result("build-speed", {"rows": rows}, report(rows), args.out)


if __name__ == "__main__":
    main()
