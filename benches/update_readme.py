"""Copy the newest benchmark results into README.md.

The figures in the README are never typed by hand: this script renders them from the committed
results in `benches/results/` and replaces what stands between each pair of markers
`<!-- bench:NAME -->` and `<!-- /bench:NAME -->`.

The source is the newest full suite run, `benches/results/suite-DATE-CPU/` (written by `make bench`,
i.e. `nearcopy bench --size full`): `<!-- bench:suite -->` gets its machine, versions, summary table
and plots, and each benchmark's block (`minhash`, `filter-speed`, ...) its own report from the
suite's `benchmarks/NAME.md`. A block whose benchmark is not in that run (failed, skipped, or not
part of the suite, like the ten-million-document `dedup-scale-10m`) keeps coming from the newest
single-benchmark file `benches/results/NAME-DATE.md` of earlier runs, and names that file.

    python benches/update_readme.py [SUITE_DIR]
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from nearcopy.benchsuite import minhash_report, suite_report

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benches" / "results"
# Sections of the MinHash report that the README shows, in this order.
MINHASH_SECTIONS = ("## Targets", "## End to end", "## From pre-shingled", "## Estimation error")
# README block -> the pattern of its single-benchmark result files from before the suite.
LEGACY = {
    "code-quality": "code-quality-*.md",
    "code-speed": "code-speed-*.md",
    "code-detect": "code-detect-*.md",
    "filter-quality": "filter-quality-*.md",
    "filter-speed": "filter-speed-*.md",
    "filter-real": "filter-real-*.md",
    "dedup-quality": "dedup-quality-*.md",
    "dedup-speed": "dedup-speed-*.md",
    "serve": "serve-*.md",
    "dedup-scale": "dedup-scale-2*.md",
    "dedup-scale-10m": "dedup-scale-10m-*.md",
}


def sections(markdown: str) -> dict[str, str]:
    parts = re.split(r"(?m)^(?=## )", markdown)
    return {part.splitlines()[0]: part.strip() for part in parts if part.startswith("## ")}


def minhash_block(result_path: Path) -> str:
    result = json.loads(result_path.read_text())
    full = minhash_report.render(result)
    found = sections(full)
    chosen = [
        body for title in MINHASH_SECTIONS for heading, body in found.items() if heading.startswith(title)
    ]
    header = full.split("\n## ", 1)[0].splitlines()[2:]  # machine, versions, params, corpus lines
    source = result_path.relative_to(ROOT)
    lines = [f"Measured by `make bench`, from [`{source}`]({source}):", "", *header, "", ""]
    body = "\n\n".join(chosen).replace("\n## ", "\n### ").replace("## ", "### ", 1)
    return "\n".join(lines) + body + "\n"


def copied_report(path: Path) -> str:
    """A benchmark's report, its title turned into a line naming the file; the failing answers that
    close filter-real's report stay in the file."""
    source = path.relative_to(ROOT)
    title, _, body = path.read_text().partition("\n")
    if "\n## Examples below target" in body:
        body = body.split("\n## Examples below target", 1)[0].rstrip() + "\n"
    body = body.replace("\n## ", "\n#### ")  # the report's sections sit below a README section
    return f"{title.lstrip('# ')}, from [`{source}`]({source}):\n{body}"


def suite_block(suite_dir: Path | None, results: dict[str, Any] | None) -> str:
    if suite_dir is None or results is None:
        return "No full suite run is committed yet: `make bench` writes one to `benches/results/suite-*/`.\n"
    source, run = suite_dir.relative_to(ROOT), results["suite"]
    lines = [
        f"From the {run['size']} suite run [`{source}/report.md`]({source}/report.md) (`{run['command']}`, "
        f"{run['started']}, {run['seconds']:.0f} s):",
        "",
        *suite_report.machine_lines(results),
        "",
        suite_report.summary_table(results),
        "",
    ]
    for plot in sorted((suite_dir / "plots").glob("*.png")):
        lines.append(f"![{plot.stem}]({plot.relative_to(ROOT)})")
    return "\n".join(lines).rstrip() + "\n"


def replace_block(text: str, name: str, body: str) -> str:
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    if start not in text or end not in text:
        raise SystemExit(f"README.md has no {start} ... {end} block")
    before, rest = text.split(start, 1)
    _, after = rest.split(end, 1)
    return f"{before}{start}\n{body}{end}{after}"


def newest_suite() -> Path | None:
    """The newest full-size run (quick ones are for development, and are not committed anyway)."""
    runs = sorted(
        p.parent
        for p in RESULTS.glob("suite-*/results.json")
        if json.loads(p.read_text())["suite"]["size"] == "full"
    )
    return runs[-1] if runs else None


def main(argv: list[str]) -> None:
    suite_dir = Path(argv[0]).resolve() if argv else newest_suite()
    results = json.loads((suite_dir / "results.json").read_text()) if suite_dir else None
    ran = {n for n, e in (results or {}).get("benchmarks", {}).items() if e["status"] == "ok"}
    readme = ROOT / "README.md"
    text = replace_block(readme.read_text(), "suite", suite_block(suite_dir, results))
    if suite_dir is not None and "minhash" in ran:
        text = replace_block(text, "minhash", minhash_block(suite_dir / "benchmarks" / "minhash.json"))
    else:
        text = replace_block(text, "minhash", minhash_block(sorted(RESULTS.glob("minhash-*.json"))[-1]))
    for name, pattern in LEGACY.items():
        if suite_dir is not None and name in ran:
            path = suite_dir / "benchmarks" / f"{name}.md"
        else:
            path = max(RESULTS.glob(pattern), key=lambda p: (re.findall(r"\d{8}", p.name), p.name))
        text = replace_block(text, name, copied_report(path))
    readme.write_text(text)
    print(f"README.md benchmark sections updated from {(suite_dir or RESULTS).relative_to(ROOT)}")


if __name__ == "__main__":
    main(sys.argv[1:])
