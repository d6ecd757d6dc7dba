"""What a protected corpus of a terabyte needs, worked out from the benchmarks' own figures.

Nothing here is measured anew and nothing is typed in: the model reads the newest committed results
of four benchmarks and extrapolates them, each step stated in the report.

- ``build-speed``: build MB/s per core for prose and for code, bytes of index per normalized token,
  tokens per MB of text and the build's peak memory (bounded by its batch, not the corpus);
- ``filter-speed``: index size and check latency (p50, p99) at 10 MB, 100 MB and 1 GB of text;
- ``filter-shards``: the check's cost per extra shard at 1 GB (a lookup is a binary search in each
  shard's segment);
- ``router``: what a router over shard servers adds to a check.

The model: the index is ``bytes_per_token * tokens_per_mb`` bytes per MB of text; build time is
text over MB/s per core; a check's p50 and p99 grow with the logarithm of the index a machine
searches (fitted by least squares over the filter-speed sizes, as a binary search's depth grows);
a serving machine keeps its shards in the page cache (a cold page costs a disk read per lookup, so a
check over an index that does not fit is not a sub-millisecond check), so the number of machines is
the index over the RAM given to the page cache.

    python -m nearcopy.benchsuite.scale_model [--tb 1] [--ram-gb 256] [--cores 32] [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import math
import re
from pathlib import Path
from typing import Any

from . import benchutil

# Share of a serving machine's RAM the index may take in the page cache (the rest: the service's
# workers, the OS, headroom for a reload, which maps the next generation beside the current one).
PAGE_CACHE_SHARE = 0.6
INPUTS = ("build-speed", "filter-speed", "filter-shards", "router")


class MissingResults(LookupError):
    """A benchmark the model reads has no committed result."""


def served(row: dict[str, Any], q: str) -> float:
    """A check benchmark's latency quantile ``q`` as `nearcopy serve` gives it: on an index warmed
    before serving (``check_{q}_warm_ms``), or the first pass of a result from before warming."""
    return float(row.get(f"check_{q}_warm_ms", row[f"check_{q}_ms"]))


def newest_result(name: str, results: Path) -> tuple[Path, Any]:
    """The newest result of benchmark ``name`` in ``results``: a single run's ``NAME-DATE.json`` or
    a suite run's ``suite-DATE-CPU/benchmarks/NAME.json``, whichever is dated later."""
    found = [*results.glob(f"{name}-2*.json"), *results.glob(f"suite-2*/benchmarks/{name}.json")]
    dated = [(m.group(0), str(p), p) for p in found if (m := re.search(r"20\d{6}", p.as_posix()))]
    if not dated:
        raise MissingResults(f"no result of the {name!r} benchmark in {results} (run it first)")
    path = max(dated)[2]
    data = json.loads(path.read_text())
    return path, data.get("results", data) if isinstance(data, dict) else data


def log_fit(sizes: list[float], values: list[float]) -> tuple[float, float]:
    """``(a, b)`` of ``value = a + b * log2(size)`` by least squares."""
    xs = [math.log2(s) for s in sizes]
    mean_x, mean_y = sum(xs) / len(xs), sum(values) / len(values)
    spread = sum((x - mean_x) ** 2 for x in xs)
    b = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, values)) / spread if spread else 0.0
    return mean_y - b * mean_x, b


def model(inputs: dict[str, Any], *, tb: float, ram_gb: float, cores: int) -> dict[str, Any]:
    """The scale model of ``tb`` terabytes of protected text on machines of ``ram_gb`` GB and
    ``cores`` cores, from the four benchmarks' results (see the module's docstring)."""
    build_rows = [r for r in inputs["build-speed"]["rows"] if r.get("engine", "local") == "local"]
    build = {}
    for kind in ("prose", "code"):
        rows = [r for r in build_rows if r["kind"] == kind]
        if not rows:
            raise MissingResults(f"the build-speed result has no local {kind} row")
        largest = max(rows, key=lambda r: r["mb"])
        build[kind] = {
            "measured_mb": largest["mb"], "mb_s_per_core": largest["mb_s_per_core"],
            "core_s_per_gb": round(1000 / largest["mb_s_per_core"], 1),
            "bytes_per_token": largest["bytes_per_token"],
            "tokens_per_mb": round(largest["tokens"] / largest["mb"]),
            "index_mb_per_gb": round(largest["bytes_per_token"] * largest["tokens"] / largest["mb"] / 1e3, 1),
            "peak_mb": largest["peak_mb"],
        }  # fmt: skip
    speed = sorted(inputs["filter-speed"], key=lambda r: r["index_mb"])
    sizes = [r["index_mb"] for r in speed]
    fits = {q: log_fit(sizes, [served(r, q) for r in speed]) for q in ("p50", "p99")}
    # A check does not get faster as the index grows: a slope below zero is noise (the p99 is the
    # answer splitter's slow parses, which do not depend on the index), taken as flat at the mean.
    for q, (_, b) in fits.items():
        if b < 0:
            fits[q] = (sum(served(r, q) for r in speed) / len(speed), 0.0)
    shards = {r["shards"]: r for r in inputs["filter-shards"]["rows"] if r["shards"]}
    few, many = min(shards), max(shards)
    per_shard_ms = (served(shards[many], "p50") - served(shards[few], "p50")) / (many - few)
    router = inputs["router"]["router_cost_ms"]

    text_mb = tb * 1e6
    index_gb = {kind: build[kind]["index_mb_per_gb"] * text_mb / 1e6 for kind in build}
    larger = max(index_gb, key=lambda kind: index_gb[kind])
    worst = index_gb[larger]
    machines = max(1, math.ceil(worst / (ram_gb * PAGE_CACHE_SHARE)))
    shard_mb = worst * 1e3 / machines

    def at(q: str, index_mb: float) -> float:
        a, b = fits[q]
        return round(a + b * math.log2(index_mb), 3)

    return {
        "tb": tb, "ram_gb": ram_gb, "cores": cores, "page_cache_share": PAGE_CACHE_SHARE,
        "build": build,
        "build_core_hours": {k: round(text_mb / b["mb_s_per_core"] / 3600, 1) for k, b in build.items()},
        "build_hours_on_the_machines": {
            k: round(text_mb / b["mb_s_per_core"] / 3600 / (machines * cores), 2) for k, b in build.items()
        },
        "index_gb": {k: round(v, 1) for k, v in index_gb.items()},
        "build_disk_gb": round(2 * worst, 1),  # a shard's batches and its merged segment, at once
        "sized_for": larger, "machines": machines, "shard_gb": round(shard_mb / 1e3, 1),
        "check_fit": {
            q: {"a_ms": round(a, 4), "b_ms_per_doubling": round(b, 4)} for q, (a, b) in fits.items()
        },
        "check_measured": [
            {"index_mb": r["index_mb"], "p50_ms": served(r, "p50"), "p99_ms": served(r, "p99")}
            for r in speed
        ],
        "check_one_machine_ms": {"p50": at("p50", shard_mb), "p99": at("p99", shard_mb)},
        "per_extra_shard_p50_ms": round(per_shard_ms, 3),
        "router_cost_ms": {"p50": router["check_p50_ms"], "p99": router["check_p99_ms"]},
    }  # fmt: skip


def report(m: dict[str, Any], sources: dict[str, Path]) -> str:
    b, fit = m["build"], m["check_fit"]
    lines = [
        f"# Scale model: {m['tb']:g} TB of protected text",
        "",
        "Extrapolated from the benchmarks' results ("
        + ", ".join(f"`{p.name if p.parent.name != 'benchmarks' else p.parent.parent.name + '/' + p.name}`"
                    for p in sources.values())
        + f"); machines of {m['ram_gb']:g} GB and {m['cores']} cores, {m['page_cache_share']:.0%} of the "
        "RAM for the index in the page cache.",
        "",
        "| | prose | code |",
        "|---|---:|---:|",
        f"| build MB/s per core (measured at {b['prose']['measured_mb']} / {b['code']['measured_mb']} MB) | "
        f"{b['prose']['mb_s_per_core']} | {b['code']['mb_s_per_core']} |",
        f"| build core-seconds per GB | {b['prose']['core_s_per_gb']} | {b['code']['core_s_per_gb']} |",
        f"| index bytes per token | {b['prose']['bytes_per_token']} | {b['code']['bytes_per_token']} |",
        f"| tokens per MB of text | {b['prose']['tokens_per_mb']:,} | {b['code']['tokens_per_mb']:,} |",
        f"| index MB per GB of text | {b['prose']['index_mb_per_gb']} | {b['code']['index_mb_per_gb']} |",
        f"| peak build memory, MB (one batch) | {b['prose']['peak_mb']} | {b['code']['peak_mb']} |",
        f"| index at {m['tb']:g} TB, GB | {m['index_gb']['prose']} | {m['index_gb']['code']} |",
        f"| build at {m['tb']:g} TB, core-hours | {m['build_core_hours']['prose']} | "
        f"{m['build_core_hours']['code']} |",
        f"| build at {m['tb']:g} TB on the {m['machines']} machines, hours | "
        f"{m['build_hours_on_the_machines']['prose']} | {m['build_hours_on_the_machines']['code']} |",
        "",
        "Check latency against index size (measured, 2 KB answers, one core; on an index warmed as "
        "`nearcopy serve` warms it, or just opened in results from before warming existed):",
        "",
        "| index MB | p50 ms | p99 ms |",
        "|---:|---:|---:|",
        *(f"| {r['index_mb']} | {r['p50_ms']} | {r['p99_ms']} |" for r in m["check_measured"]),
        "",
        f"Fitted: p50 = {fit['p50']['a_ms']} + {fit['p50']['b_ms_per_doubling']} ms per doubling of the "
        f"index; p99 = {fit['p99']['a_ms']} + {fit['p99']['b_ms_per_doubling']} ms per doubling (a slope "
        "below zero is taken as flat: the p99 is the answer splitter's parses, not the lookups).",
        "",
        f"**A {m['tb']:g} TB deployment** (sized for the larger index, {m['sized_for']}'s): "
        f"{m['machines']} serving machines of {m['ram_gb']:g} GB, each holding a shard of "
        f"{m['shard_gb']} GB in its page cache; a check on one "
        f"machine p50 {m['check_one_machine_ms']['p50']} ms, p99 {m['check_one_machine_ms']['p99']} ms "
        f"(extrapolated); each further shard a machine searches adds {m['per_extra_shard_p50_ms']} ms to "
        f"the p50 (filter-shards); a router over the machines added p50 {m['router_cost_ms']['p50']} ms, "
        f"p99 {m['router_cost_ms']['p99']} ms where it was measured (every process on one 2-core machine: "
        "an upper bound). Building needs "
        f"{m['build_disk_gb']} GB of disk at the peak (a shard's batches beside its merged segment).",
    ]  # fmt: skip
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tb", type=float, default=1.0, help="terabytes of protected text")
    parser.add_argument("--ram-gb", type=float, default=256.0, help="RAM of a serving machine")
    parser.add_argument("--cores", type=int, default=32, help="cores of a machine")
    parser.add_argument("--results", type=Path, default=None, help="the results directory")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    results = args.results or benchutil.results_dir()
    try:
        found = {name: newest_result(name, results) for name in INPUTS}
        data = {n: result for n, (_, result) in found.items()}
        m = model(data, tb=args.tb, ram_gb=args.ram_gb, cores=args.cores)
    except MissingResults as err:
        raise SystemExit(f"scale model: {err}") from None
    m["sources"] = {n: str(path.relative_to(results)) for n, (path, _) in found.items()}
    benchutil.save_result("scale-model", m, report(m, {n: p for n, (p, _) in found.items()}), args.out)


if __name__ == "__main__":
    main()
