"""report.md of a suite run: the run's machine and versions, a summary of every benchmark with its
ratios to the peers, the plots, the corpora with their checksums, then each benchmark's own report
(which holds the full tables: absolute figures, spreads, ratios and targets)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .benchutil import md_table
from .suite_plots import plot_all

__all__ = ["demote", "machine_lines", "plot_all", "render", "summary_table"]

KEY_FIGURES = 4  # per benchmark in the summary; every figure is in results.json and `--compare`


def demote(markdown: str, levels: int) -> str:
    """Headings pushed down `levels` levels, so a benchmark's report sits below a suite section."""
    out = []
    in_code = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        out.append("#" * levels + line if line.startswith("#") and not in_code else line)
    return "\n".join(out)


def _number(value: float) -> str:
    if value == 0 or abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}"


def show(fig: dict[str, Any]) -> str:
    unit = {"x": "x", "share": "", "rate": "", "bool": "", "": ""}.get(fig["unit"], f" {fig['unit']}")
    text = f"{_number(fig['value'])}{unit}"
    if "spread" in fig:
        text += f" ({_number(fig['spread'][0])}-{_number(fig['spread'][1])})"
    return f"{fig['metric']}: {text}"


def key_figures(entry: dict[str, Any]) -> str:
    figures = entry.get("headline", [])
    keys = [f for f in figures if f.get("key")]
    ratios = [f for f in figures if f["unit"] == "x" and not f.get("key")]
    chosen = (keys + ratios)[:KEY_FIGURES] or figures[:KEY_FIGURES]
    return "; ".join(show(f) for f in chosen)


def summary_table(results: dict[str, Any]) -> str:
    rows = []
    for name, entry in results["benchmarks"].items():
        status = (
            entry["status"] if entry["status"] == "ok" else f"{entry['status']}: {entry.get('reason', '')}"
        )
        if entry.get("skipped_peers"):
            status += f" (skipped peers: {', '.join(entry['skipped_peers'])})"
        peers = ", ".join(entry.get("peers", [])) or "-"
        rows.append([name, status, entry.get("seconds", "-"), peers, key_figures(entry) or "-"])
    return md_table(["benchmark", "status", "seconds", "peers in the same run", "key figures"], rows)


def machine_lines(results: dict[str, Any]) -> list[str]:
    m, v = results["machine"], results["versions"]
    cores = m.get("cpu_affinity") or m.get("cpu_count")
    installed = ", ".join(f"{k} {val}" for k, val in v.items() if val)
    absent = ", ".join(k for k, val in v.items() if not val)
    return [
        f"- machine: {m['cpu_model']}, {cores} cores usable ({m['cpu_count']} online), "
        f"{m['memory_gb']} GB, {m['platform']}",
        f"- versions: {installed}" + (f" (not installed: {absent})" if absent else ""),
    ]


def corpora_table(results: dict[str, Any]) -> str:
    rows = [
        [c["file"], c.get("doc_count", ""), f"{c.get('total_bytes', 0) / 1e6:.1f}", c.get("seed", ""),
         f"`{str(c.get('sha256', ''))[:16]}`"]
        for c in results["corpora"]
    ]  # fmt: skip
    if not rows:
        return "No cached text corpus (the benchmarks run built none)."
    return md_table(["cached corpus", "documents", "MB", "seed", "sha256 (first 16)"], rows)


def render(results: dict[str, Any], out: Path, plots: list[tuple[str, str]]) -> str:
    suite = results["suite"]
    lines = [
        "# nearcopy benchmark suite",
        "",
        f"`{suite['command']}`, started {suite['started']}, {suite['seconds']} s in all. Each benchmark "
        "ran in its own process, its peers on the same data in the same run; figures are medians of "
        "repeated runs where a benchmark repeats, with the slowest-fastest range beside them. Compare "
        "runs of one machine only (`nearcopy bench --compare OLD NEW`).",
        "",
        *machine_lines(results),
        "",
        "## Summary",
        "",
        summary_table(results),
        "",
    ]
    if plots:
        lines += ["## Plots", ""]
        lines += [f"### {title}\n\n![{title}]({name})\n" for name, title in plots]
    else:
        lines += ["(No plots: matplotlib is not installed, or no benchmark with plotted figures ran.)", ""]
    lines += ["## Corpora", "", corpora_table(results), ""]
    for name, entry in results["benchmarks"].items():
        lines += [f"## {name}", "", f"*{entry['what']}*", ""]
        if entry["status"] != "ok":
            lines += [f"{entry['status']}: {entry.get('reason', '')}", ""]
            if entry.get("stderr_tail"):
                lines += ["```", *entry["stderr_tail"], "```", ""]
            continue
        own = (out / entry["report_md"]).read_text(encoding="utf-8")
        lines += [demote(own, 2), ""]
    return "\n".join(lines).rstrip() + "\n"
