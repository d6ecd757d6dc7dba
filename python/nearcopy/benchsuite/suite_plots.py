"""The PNG plots of the suite's report, drawn from results.json with matplotlib (the `bench` extra).

Each plot reads only the benchmarks it needs and is left out when they did not run, so a
`--only` run still gets the plots it has data for. Without matplotlib there are no plots and the
report says so; the tables carry the same figures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _ok(results: dict[str, Any], name: str) -> Any:
    entry = results["benchmarks"].get(name, {})
    return entry.get("result") if entry.get("status") == "ok" else None


def _log_x(ax: Any) -> None:
    """Log scale with plain numbers (2, 10, 100), not powers of ten, on the ticks."""
    from matplotlib.ticker import ScalarFormatter

    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(ScalarFormatter())


def _log_x_125(ax: Any) -> None:
    """Log scale labelled at 1, 2 and 5 times the powers of ten, in plain numbers: the default labels
    every minor tick in scientific notation, which overlap on an axis spanning a decade or two."""
    from matplotlib.ticker import LogLocator, NullFormatter, StrMethodFormatter

    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    ax.xaxis.set_minor_formatter(NullFormatter())


def _throughput(results: dict[str, Any], plt: Any, path: Path) -> bool:
    minhash, dedup = _ok(results, "minhash"), _ok(results, "dedup-speed")
    if minhash is None and dedup is None:
        return False
    fig, axes = plt.subplots(1, 2, figsize=(12, 5))
    if minhash is not None:
        rows = minhash["end_to_end"]
        labels = [f"{r['method']} ({r['threads']} thr)" for r in rows]
        values = [r["mb_per_s"] for r in rows]
        errors = [
            [r["mb_per_s"] - r["mb_per_s_min"] for r in rows],
            [r["mb_per_s_max"] - r["mb_per_s"] for r in rows],
        ]
        colors = ["tab:blue" if r["library"] == "nearcopy" else "tab:gray" for r in rows]
        axes[0].barh(labels, values, xerr=errors, color=colors)
        _log_x_125(axes[0])
        axes[0].set_xlabel("MB/s of raw text (log; bars: slowest-fastest run)")
        axes[0].set_title("MinHash signatures, end to end")
        axes[0].invert_yaxis()
    if dedup is not None:
        names = list(dedup["results"])
        colors = ["tab:blue" if n.startswith("nearcopy") else "tab:gray" for n in names]
        axes[1].barh(names, [dedup["results"][n]["docs_per_s"] for n in names], color=colors)
        _log_x_125(axes[1])
        axes[1].set_xlabel("documents/s, read JSONL to written output (log)")
        axes[1].set_title("Dedup end to end")
        axes[1].invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    return True


def _filter_latency(results: dict[str, Any], plt: Any, path: Path) -> bool:
    rows = _ok(results, "filter-speed")
    if not rows:
        return False
    fig, ax = plt.subplots(figsize=(6, 4))
    sizes = [r["mb"] for r in rows]
    ax.plot(sizes, [r["check_p50_ms"] for r in rows], "o-", color="tab:blue", label="nearcopy p50")
    ax.plot(sizes, [r["check_p99_ms"] for r in rows], "s-", color="tab:blue", alpha=0.6, label="nearcopy p99")
    peer = [r for r in rows if r.get("plain_ngram")]
    if peer:
        peer_sizes = [r["mb"] for r in peer]
        ax.plot(peer_sizes, [r["plain_ngram"]["check_p50_ms"] for r in peer], "o--", color="tab:gray",
                label="plain 13-gram filter p50")  # fmt: skip
        ax.plot(peer_sizes, [r["plain_ngram"]["check_p99_ms"] for r in peer], "s--", color="tab:gray",
                alpha=0.6, label="plain 13-gram filter p99")  # fmt: skip
    _log_x(ax)
    ax.set_yscale("log")  # p50 and p99 are orders of magnitude apart
    ax.set_xlabel("protected text in the index (MB, log)")
    ax.set_ylabel("check latency (ms, log), one core")
    ax.set_title("Output filter check latency versus index size")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    return True


def _memory_per_token(results: dict[str, Any], plt: Any, path: Path) -> bool:
    rows = _ok(results, "filter-speed")
    if not rows:
        return False
    fig, ax = plt.subplots(figsize=(6, 4))
    sizes = [r["mb"] for r in rows]
    ax.plot(sizes, [r["bytes_per_token"] for r in rows], "o-", label="nearcopy index file")
    ax.plot(
        sizes, [r["peak_build_mb"] * 1e6 / r["tokens"] for r in rows], "s--", label="nearcopy build, peak"
    )
    peer = [r for r in rows if r.get("plain_ngram")]
    if peer:
        ax.plot([r["mb"] for r in peer], [r["plain_ngram"]["bytes_per_word"] for r in peer], "^-",
                color="tab:gray", label="plain 13-gram filter, RAM per word")  # fmt: skip
    _log_x(ax)
    ax.set_yscale("log")
    ax.set_xlabel("protected text in the index (MB, log)")
    ax.set_ylabel("bytes per protected token")
    ax.set_title("Memory per protected token")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    return True


def _precision_recall(results: dict[str, Any], plt: Any, path: Path) -> bool:
    filt, dedup = _ok(results, "filter-quality"), _ok(results, "dedup-quality")
    if filt is None and dedup is None:
        return False
    fig, axes = plt.subplots(1, 2, figsize=(12, 5))
    if filt is not None:
        for kind, points in filt["curves"].items():
            recall, precision = [p["recall"] for p in points], [p["precision"] for p in points]
            axes[0].plot(recall, precision, "o-", label=f"{kind} (minimum matched tokens)")
            for p in points:
                axes[0].annotate(str(p["threshold"]), (p["recall"], p["precision"]), fontsize=7)
        axes[0].set_title("Output filter: precision/recall by threshold")
    if dedup is not None:
        for method, row in dedup["results"].items():
            axes[1].plot(row["recall"], row["precision"], "o", label=method)
        axes[1].set_title("Dedup: duplicate pairs found, per method and LSH setting")
    for ax in axes:
        ax.set_xlabel("recall")
        ax.set_ylabel("precision")
        ax.grid(alpha=0.3)
        if ax.has_data():
            ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    return True


def _scaling(results: dict[str, Any], plt: Any, path: Path) -> bool:
    """Speed-up from one core to all cores, for each job measured both ways."""
    cores = results["machine"].get("cpu_affinity") or results["machine"].get("cpu_count") or 1
    series: dict[str, float] = {}
    minhash = _ok(results, "minhash")
    if minhash is not None:
        by = {(r["method"], r["threads"]): r["mb_per_s"] for r in minhash["end_to_end"]}
        for (method, threads), rate in by.items():
            if threads > 1 and (method, 1) in by:
                series[f"minhash {method.removeprefix('nearcopy ')}"] = rate / by[(method, 1)]
    code = _ok(results, "code-speed")
    for row in code["rows"] if code else []:
        series[f"code {row['language']}"] = row["nearcopy_all_threads_mb_s"] / row["nearcopy_1_thread_mb_s"]
    dedup = _ok(results, "dedup-speed")
    if dedup is not None and {"nearcopy 1 thread", "nearcopy all cores"} <= dedup["results"].keys():
        one, alls = dedup["results"]["nearcopy 1 thread"], dedup["results"]["nearcopy all cores"]
        series["dedup end to end"] = alls["docs_per_s"] / one["docs_per_s"]
    for row in _ok(results, "filter-speed") or []:
        if row.get("build_1core_mb_s"):
            series[f"index build {row['mb']:g} MB"] = row["build_mb_s"] / row["build_1core_mb_s"]
    if not series or cores < 2:
        return False
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(series) + 1.5))
    ax.barh(list(series), list(series.values()), color="tab:blue")
    ax.axvline(cores, color="tab:gray", linestyle="--", label=f"linear ({cores} cores)")
    ax.axvline(1, color="black", linewidth=0.8)
    ax.set_xlabel(f"speed-up from 1 to {cores} cores")
    ax.set_title("Scaling from one core to all cores")
    ax.invert_yaxis()
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    return True


PLOTS = (
    ("throughput.png", "Throughput per method", _throughput),
    ("filter-latency.png", "Check latency versus index size", _filter_latency),
    ("memory-per-token.png", "Memory per protected token", _memory_per_token),
    ("precision-recall.png", "Precision and recall: output filter and dedup", _precision_recall),
    ("scaling.png", "Scaling from 1 to all cores", _scaling),
)


def plot_all(results: dict[str, Any], directory: Path) -> list[tuple[str, str]]:
    """Draws every plot there is data for; returns (file name relative to the report, title)."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only: no display on a benchmark box
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    directory.mkdir(parents=True, exist_ok=True)
    drawn = []
    for name, title, draw in PLOTS:
        if draw(results, plt, directory / name):
            drawn.append((f"{directory.name}/{name}", title))
        plt.close("all")
    return drawn
