"""Small helpers shared by the benchmarks: timing, machine info, markdown."""

from __future__ import annotations

import gc
import importlib.metadata
import json
import os
import platform
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def time_it(
    fn: Callable[[], Any],
    repeat: int,
    warmup: Callable[[], Any] | None = None,
    *,
    min_total_s: float = 0.5,
    max_runs: int = 50,
) -> dict[str, Any]:
    """Wall-clock seconds of fn(): median, min, max and every run.

    The warm-up (usually fn on a few documents) pays one-off costs that a
    long-running user would not see per call: imports, lazy tables, thread
    pool start-up, first-touch of allocator arenas. A full gc before each run
    keeps garbage from the previous run from being billed to the next one.
    Runs of a few milliseconds (fast libraries on --quick corpora) are noisy,
    so beyond `repeat` runs we keep going until min_total_s of timed work.
    """
    if warmup is not None:
        warmup()
    runs: list[float] = []
    while len(runs) < max(1, repeat) or (sum(runs) < min_total_s and len(runs) < max_runs):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return {"median_s": statistics.median(runs), "min_s": min(runs), "max_s": max(runs), "runs_s": runs}


def timed_ms(run: Callable[[Any], Any], items: list[Any]) -> list[float]:
    """Milliseconds of ``run(item)`` for each item, one after another, in the items' order."""
    out = []
    for item in items:
        started = time.perf_counter()
        run(item)
        out.append(1000 * (time.perf_counter() - started))
    return out


def latencies_ms(run: Callable[[Any], Any], items: list[Any]) -> list[float]:
    """Milliseconds of ``run(item)`` for each item, one after another, sorted.

    The check benchmarks time their answers twice: first on an index just opened (a lookup's first
    read of a page maps it, and of a block checks its checksum: at 1 GB most answers' lookups reach
    pages no earlier one read), then again, as on a server that has run a while."""
    return sorted(timed_ms(run, items))


def warmed_pass(path: str | os.PathLike[str], answers: list[str]) -> dict[str, float]:
    """The check benchmarks' third pass, as `nearcopy serve` opens an index: opened afresh and warmed
    (``index.warm()``, one thread: every block read and checked once), then each answer once. Row
    fields: the warm's seconds and the pass's p50 and p99 in ms; and, the answers checked twice
    more, the p50 and p99 of each answer's fastest of the three: what a check costs without the
    hiccups a single pass takes from a shared machine (on this VM they moved a single pass's p99 of
    the 1 GB index in 4 shards by up to 0.3 ms between runs minutes apart)."""
    from nearcopy.filter import OutputFilter
    from nearcopy.index import ProtectedIndex

    index = ProtectedIndex.open(path)
    started = time.perf_counter()
    index.warm(num_threads=1)
    warm_s = time.perf_counter() - started
    check = OutputFilter(index).check
    passes = [timed_ms(check, answers) for _ in range(3)]
    warmed = sorted(passes[0])
    fastest = sorted(map(min, zip(*passes)))
    return {
        "warm_s": round(warm_s, 2),
        "check_p50_warm_ms": round(statistics.median(warmed), 3),
        "check_p99_warm_ms": round(percentile(warmed, 0.99), 3),
        "check_p50_best3_ms": round(statistics.median(fastest), 3),
        "check_p99_best3_ms": round(percentile(fastest, 0.99), 3),
    }


def percentile(sorted_values: list[float], share: float) -> float:
    return sorted_values[int(share * (len(sorted_values) - 1))]


def throughput(timing: dict[str, Any], *, docs: int, nbytes: int, shingles: int) -> dict[str, Any]:
    """Rates from the median time, plus the MB/s spread from fastest/slowest run."""
    med, lo, hi = timing["median_s"], timing["min_s"], timing["max_s"]
    return {
        **timing,
        "docs": docs,
        "bytes": nbytes,
        "shingles": shingles,
        "mb_per_s": nbytes / 1e6 / med,
        "mb_per_s_min": nbytes / 1e6 / hi,  # slowest run
        "mb_per_s_max": nbytes / 1e6 / lo,  # fastest run
        "docs_per_s": docs / med,
        "shingles_per_s": shingles / med,
    }


def repo_root() -> Path | None:
    """The nearcopy checkout the benchmarks run from (the working directory), if they do: its
    git-ignored `.cache/` and its `benches/results/` are then the defaults."""
    pyproject = Path.cwd() / "pyproject.toml"
    try:
        if 'name = "nearcopy"' in pyproject.read_text(encoding="utf-8"):
            return Path.cwd()
    except OSError:
        pass
    return None


def cache_dir(*, create: bool = False) -> Path:
    """Where corpora and scratch files are cached between runs: `NEARCOPY_BENCH_CACHE` (set by
    `nearcopy bench --cache-dir`), else `.cache/` of a checkout, else the user's cache directory.
    Only a location: nothing measured depends on it."""
    chosen = os.environ.get("NEARCOPY_BENCH_CACHE")
    root = repo_root()
    if chosen:
        path = Path(chosen)
    elif root is not None:
        path = root / ".cache"
    else:
        path = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "nearcopy"
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def results_dir() -> Path:
    """Default home of a single benchmark's result: `benches/results/` of a checkout, else
    `./nearcopy-bench/` (the suite always names its own output directory)."""
    root = repo_root()
    return root / "benches" / "results" if root is not None else Path.cwd() / "nearcopy-bench"


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown-cpu"


def cpu_slug() -> str:
    """File-name-safe CPU name, e.g. 'amd-epyc-7b13'."""
    model = re.sub(r"\((r|tm)\)|cpu|processor|@.*$|\d+-core", " ", cpu_model().lower())
    slug = re.sub(r"[^a-z0-9]+", "-", model).strip("-")
    return slug[:40].strip("-") or "unknown-cpu"


def memory_gb() -> float | None:
    try:
        with open("/proc/meminfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return None


def machine_info() -> dict[str, Any]:
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpu_affinity": affinity,  # what this process may actually use
        "memory_gb": memory_gb(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "python_impl": platform.python_implementation(),
    }


def package_version(name: str, module: Any = None) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        # e.g. an in-place build that has no dist-info
        return getattr(module, "__version__", None)


def md_table(headers: list[str], rows: list[list[Any]]) -> str:
    """A GitHub markdown table; numbers right-aligned by the separator row."""

    def cell(v: Any) -> str:
        return "" if v is None else str(v)

    # Right-align columns whose first cell starts like a number.
    first = [cell(v) for v in rows[0]] if rows else [""] * len(headers)
    aligns = ["---:" if re.match(r"[-+]?[\d.,]+", c) else "---" for c in first]
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join(aligns) + "|"]
    out += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(out)


def fmt(x: float | None, digits: int = 1) -> str:
    """Human number: 1234.5 -> '1,234.5'; None -> 'n/a'."""
    if x is None:
        return "n/a"
    return f"{x:,.{digits}f}"


def verdict(value: float | None, threshold: float) -> str:
    """Report-only target check: never raises, so a slow box still gets numbers."""
    if value is None:
        return "n/a"
    return "pass" if value >= threshold else "short"


def save_result(name: str, data: Any, report: str, out: Path | None = None) -> Path:
    """Prints `report` and writes `data` as JSON (default `benches/results/<name>-<date>.json`) with
    the report as Markdown beside it; returns the JSON path. An ``out`` ending in ``.md`` names the
    report: the JSON goes beside it (writing the JSON there, then the report over it, lost the data)."""
    print(report)
    path = out or results_dir() / f"{name}-{time.strftime('%Y%m%d')}.json"
    if path.suffix == ".md":
        path = path.with_suffix(".json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")
    path.with_suffix(".md").write_text(report + "\n")
    return path
