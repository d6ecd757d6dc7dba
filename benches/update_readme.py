"""Copy the newest benchmark results into the documentation (README.md and docs/*.md).

The figures in the documentation are never typed by hand: this script renders them from the
committed results in `benches/results/` and replaces what stands between each pair of markers
`<!-- bench:NAME -->` and `<!-- /bench:NAME -->`, in whichever file holds them (each block lives
beside the text it supports: `code-*` in docs/code.md, `filter-*` in docs/filter.md, `serve` and `router` in
docs/serving.md, `dedup-*` in docs/dedup.md, `lsh-*` in docs/lsh.md, `suite` and `minhash` in
docs/benchmarks.md). Links in a block are relative to its file.

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
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nearcopy.benchsuite import minhash_report, suite_report

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benches" / "results"
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
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
    "filter-popular": "filter-popular-*.md",
    "filter-shards": "filter-shards-*.md",
    "lsh": "lsh-2*.md",
    "lsh-10m": "lsh-10m-*.md",
    "dedup-quality": "dedup-quality-*.md",
    "dedup-speed": "dedup-speed-*.md",
    "serve": "serve-*.md",
    "router": "router-*.md",
    "build-speed": "build-speed-*.md",
    "scale-model": "scale-model-*.md",
    "dedup-scale": "dedup-scale-2*.md",
    "dedup-scale-10m": "dedup-scale-10m-*.md",
}


def sections(markdown: str) -> dict[str, str]:
    parts = re.split(r"(?m)^(?=## )", markdown)
    return {part.splitlines()[0]: part.strip() for part in parts if part.startswith("## ")}


def link(path: Path, where: Path) -> str:
    """``[`benches/...`](relative path)``: the file named from the root, linked from ``where``."""
    return f"[`{path.relative_to(ROOT)}`]({os.path.relpath(path, where.parent)})"


def minhash_block(result_path: Path, where: Path) -> str:
    result = json.loads(result_path.read_text())
    full = minhash_report.render(result)
    found = sections(full)
    chosen = [
        body for title in MINHASH_SECTIONS for heading, body in found.items() if heading.startswith(title)
    ]
    header = full.split("\n## ", 1)[0].splitlines()[2:]  # machine, versions, params, corpus lines
    lines = [f"Measured by `make bench`, from {link(result_path, where)}:", "", *header, "", ""]
    body = "\n\n".join(chosen).replace("\n## ", "\n### ").replace("## ", "### ", 1)
    return "\n".join(lines) + body + "\n"


def copied_report(path: Path, where: Path) -> str:
    """A benchmark's report, its title turned into a line naming the file; the failing answers that
    close filter-real's report stay in the file."""
    title, _, body = path.read_text().partition("\n")
    if "\n## Examples below target" in body:
        body = body.split("\n## Examples below target", 1)[0].rstrip() + "\n"
    body = body.replace("\n## ", "\n#### ")  # the report's sections sit below a section of the page
    return f"{title.lstrip('# ')}, from {link(path, where)}:\n{body}"


def suite_block(suite_dir: Path | None, results: dict[str, Any] | None, where: Path) -> str:
    if suite_dir is None or results is None:
        return "No full suite run is committed yet: `make bench` writes one to `benches/results/suite-*/`.\n"
    run = results["suite"]
    lines = [
        f"From the {run['size']} suite run {link(suite_dir / 'report.md', where)} (`{run['command']}`, "
        f"{run['started']}, {run['seconds']:.0f} s):",
        "",
        *suite_report.machine_lines(results),
        "",
        suite_report.summary_table(results),
        "",
    ]
    for plot in sorted((suite_dir / "plots").glob("*.png")):
        lines.append(f"![{plot.stem}]({os.path.relpath(plot, where.parent)})")
    return "\n".join(lines).rstrip() + "\n"


def home(name: str, texts: dict[Path, str]) -> Path:
    """The one file that holds the block ``name``."""
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    found = [path for path, text in texts.items() if start in text and end in text]
    if len(found) != 1:
        where = ", ".join(str(p.relative_to(ROOT)) for p in found) or "no file"
        raise SystemExit(f"the {start} ... {end} block must be in exactly one file, found in {where}")
    return found[0]


def replace_block(text: str, name: str, body: str) -> str:
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
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


def render(suite_dir: Path | None) -> dict[Path, str]:
    """Every documentation file as it is with its benchmark blocks rendered from the results."""
    results = json.loads((suite_dir / "results.json").read_text()) if suite_dir else None
    ran = {n for n, e in (results or {}).get("benchmarks", {}).items() if e["status"] == "ok"}
    texts = {path: path.read_text() for path in DOCUMENTS}

    def put(name: str, render_block: Callable[[Path], str]) -> None:
        where = home(name, texts)
        texts[where] = replace_block(texts[where], name, render_block(where))

    put("suite", lambda where: suite_block(suite_dir, results, where))
    if suite_dir is not None and "minhash" in ran:
        minhash_result = suite_dir / "benchmarks" / "minhash.json"
    else:
        minhash_result = sorted(RESULTS.glob("minhash-*.json"))[-1]
    put("minhash", lambda where: minhash_block(minhash_result, where))
    for name, pattern in LEGACY.items():
        if suite_dir is not None and name in ran:
            report = suite_dir / "benchmarks" / f"{name}.md"
        else:
            report = max(RESULTS.glob(pattern), key=lambda p: (re.findall(r"\d{8}", p.name), p.name))
        put(name, lambda where, report=report: copied_report(report, where))  # type: ignore[misc]
    return texts


def main(argv: list[str]) -> None:
    suite_dir = Path(argv[0]).resolve() if argv else newest_suite()
    for path, text in render(suite_dir).items():
        if path.read_text() != text:
            path.write_text(text)
    print(f"benchmark blocks updated from {(suite_dir or RESULTS).relative_to(ROOT)}")


if __name__ == "__main__":
    main(sys.argv[1:])
