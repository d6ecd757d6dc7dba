"""Runs the benchmarks of the suite and gathers them into one results.json and one report.md.

Each benchmark runs in its own process, with `OPENBLAS_NUM_THREADS=1` (numpy's idle BLAS threads
otherwise spin on the cores being measured) and the corpus cache shared through
`NEARCOPY_BENCH_CACHE`. A benchmark that fails is recorded with the tail of its stderr and the suite
goes on; one whose required peer or extra is not installed is recorded as skipped with the reason.
"""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import benchutil, corpus, headlines, registry, suite_report

SCHEMA = 1
PACKAGES = (
    "nearcopy", "numpy", "datasketch", "rensa", "matplotlib", "tree-sitter",
    "starlette", "uvicorn", "httpx", "ray",
)  # fmt: skip


@dataclass
class SuiteOptions:
    size: str = "quick"
    only: list[str] | None = None
    out: Path = Path("bench-results")
    cache_dir: Path | None = None
    plots: bool = True
    echo: bool = True  # pass each benchmark's own output through (the CLI); tests keep it quiet


def versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {"python": sys.version.split()[0]}
    for name in PACKAGES:
        found[name] = benchutil.package_version(name)
    return found


def corpora(cache: Path) -> list[dict[str, Any]]:
    """The corpora in the cache after the run, which the benchmarks read theirs from: the manifests of
    the text corpora (seed, size, documents, sha256) and the sha256 of the kernel-source top-ups, so
    a result names exactly which text it was measured on."""
    out: list[dict[str, Any]] = []
    for path in sorted((cache / "bench-corpus").glob("*.manifest.json")):
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        keep = ("mb", "seed", "doc_count", "total_bytes", "docs_per_source", "sha256", "format_version")
        out.append({"file": path.name, **{k: manifest[k] for k in keep if k in manifest}})
    for path in sorted((cache / "bench-corpus").glob("linux-c-*.jsonl")):
        with open(path, "rb") as handle:
            lines = sum(1 for _ in handle)
        out.append({"file": path.name, "doc_count": lines, "total_bytes": path.stat().st_size,
                    "sha256": corpus.sha256_of(path)})  # fmt: skip
    return out


def run_one(bench: registry.Benchmark, opts: SuiteOptions, env: dict[str, str]) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "what": bench.what,
        "peers": list(bench.peers),
        "args": list(bench.args[opts.size]),
    }
    missing = bench.missing()
    if missing:
        return {**entry, "status": "skipped", "reason": f"not installed: {', '.join(missing)}"}
    if bench.missing_optional():
        entry["skipped_peers"] = bench.missing_optional()
    target = opts.out / "benchmarks" / f"{bench.name}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", f"nearcopy.benchsuite.{bench.module}", *bench.args[opts.size]]
    command += ["--out", str(target)]
    target.unlink(missing_ok=True)  # a result left by an earlier run must not pass for this one's
    started = time.perf_counter()
    # stderr carries the benchmark's progress: shown as it comes (with echo), its tail kept for the
    # report if the benchmark fails.
    tail: collections.deque[str] = collections.deque(maxlen=12)
    with subprocess.Popen(
        command, env=env, text=True, stdout=None if opts.echo else subprocess.DEVNULL, stderr=subprocess.PIPE
    ) as child:
        assert child.stderr is not None
        for line in child.stderr:
            tail.append(line.rstrip("\n"))
            if opts.echo:
                sys.stderr.write(line)
                sys.stderr.flush()
    entry["seconds"] = round(time.perf_counter() - started, 1)
    if child.returncode != 0 or not target.exists():
        return {**entry, "status": "failed", "reason": f"exit {child.returncode}", "stderr_tail": list(tail)}
    result = json.loads(target.read_text(encoding="utf-8"))
    entry.update(
        status="ok",
        headline=headlines.headline(bench.name, result),
        report_md=str(target.with_suffix(".md").relative_to(opts.out)),
        result=result,
    )
    return entry


def run(opts: SuiteOptions) -> dict[str, Any]:
    """Runs the chosen benchmarks; writes `results.json`, `report.md` and `plots/` under `opts.out`
    and returns the results."""
    if opts.size not in registry.SIZES:
        raise ValueError(f"size must be one of {', '.join(registry.SIZES)}, not {opts.size!r}")
    chosen = registry.select(opts.only)
    opts.out.mkdir(parents=True, exist_ok=True)
    cache = (opts.cache_dir or benchutil.cache_dir()).resolve()
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "NEARCOPY_BENCH_CACHE": str(cache)}
    started, t0 = time.strftime("%Y-%m-%d %H:%M:%S %Z"), time.perf_counter()
    benchmarks: dict[str, Any] = {}
    for number, bench in enumerate(chosen, 1):
        print(f"[{number}/{len(chosen)}] {bench.name}: {bench.what}", file=sys.stderr, flush=True)
        benchmarks[bench.name] = run_one(bench, opts, env)
        entry = benchmarks[bench.name]
        done = f"{entry['status']} {entry.get('reason', '')} ({entry.get('seconds', 0)} s)"
        print(f"[{number}/{len(chosen)}] {bench.name}: {done}", file=sys.stderr, flush=True)
    only = ["--only", *(b.name for b in chosen)] if opts.only else []
    results = {
        "schema": SCHEMA,
        "suite": {
            "size": opts.size,
            "only": [b.name for b in chosen],
            "started": started,
            "seconds": round(time.perf_counter() - t0, 1),
            "command": " ".join(["nearcopy bench --size", opts.size, *only]),
        },
        "machine": benchutil.machine_info(),
        "versions": versions(),
        "corpora": corpora(cache),
        "benchmarks": benchmarks,
    }
    (opts.out / "results.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    plots = suite_report.plot_all(results, opts.out / "plots") if opts.plots else []
    (opts.out / "report.md").write_text(suite_report.render(results, opts.out, plots), encoding="utf-8")
    return results


def load(path: Path) -> dict[str, Any]:
    """A results.json (or the directory holding one), checked to be a suite result."""
    if path.is_dir():
        path = path / "results.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or "benchmarks" not in data or data.get("schema") != SCHEMA:
        raise ValueError(f"{path} is not a results.json of nearcopy bench")
    return data
