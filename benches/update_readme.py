"""Copy the newest benchmark results into README.md.

The figures in the README are never typed by hand: this script renders them from the committed
result files in `benches/results/` and replaces what stands between each pair of markers:
`<!-- bench:minhash -->` (from `minhash-*.json`), `<!-- bench:code-quality -->` and
`<!-- bench:code-speed -->`, `<!-- bench:code-detect -->` (from the newest `code-*-*.md` reports),
and likewise the filter and dedup blocks.

    python benches/update_readme.py [RESULT.json]
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Sections of the full report that the README shows, in this order.
SECTIONS = ("## Targets", "## End to end", "## From pre-shingled", "## Estimation error")


def sections(markdown: str) -> dict[str, str]:
    parts = re.split(r"(?m)^(?=## )", markdown)
    return {part.splitlines()[0]: part.strip() for part in parts if part.startswith("## ")}


def render_block(result_path: Path) -> str:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import report  # a sibling of this file

    result = json.loads(result_path.read_text())
    full = report.render(result)
    found = sections(full)
    chosen = [body for title in SECTIONS for heading, body in found.items() if heading.startswith(title)]
    header = full.split("\n## ", 1)[0].splitlines()[2:]  # machine, versions, params, corpus lines
    source = result_path.relative_to(ROOT)
    lines = [f"Measured by `make bench`, from [`{source}`]({source}):", "", *header, "", ""]
    body = "\n\n".join(chosen).replace("\n## ", "\n### ").replace("## ", "### ", 1)
    return "\n".join(lines) + body + "\n"


def replace_block(text: str, name: str, body: str) -> str:
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    if start not in text or end not in text:
        raise SystemExit(f"README.md has no {start} ... {end} block")
    before, rest = text.split(start, 1)
    _, after = rest.split(end, 1)
    return f"{before}{start}\n{body}{end}{after}"


def copied_report(pattern: str) -> str:
    """The newest report matching `pattern`, its title turned into a line naming the file."""
    path = sorted((ROOT / "benches" / "results").glob(pattern))[-1]
    source = path.relative_to(ROOT)
    title, _, body = path.read_text().partition("\n")
    body = body.replace("\n## ", "\n#### ")  # the report's sections sit below a README section
    return f"{title.lstrip('# ')}, from [`{source}`]({source}):\n{body}"


def main(argv: list[str]) -> None:
    results = sorted((ROOT / "benches" / "results").glob("minhash-*.json"))
    result_path = Path(argv[0]).resolve() if argv else results[-1]
    readme = ROOT / "README.md"
    text = replace_block(readme.read_text(), "minhash", render_block(result_path))
    text = replace_block(text, "code-quality", copied_report("code-quality-*.md"))
    text = replace_block(text, "code-speed", copied_report("code-speed-*.md"))
    text = replace_block(text, "code-detect", copied_report("code-detect-*.md"))
    text = replace_block(text, "filter-quality", copied_report("filter-quality-*.md"))
    text = replace_block(text, "filter-speed", copied_report("filter-speed-*.md"))
    text = replace_block(text, "dedup-quality", copied_report("dedup-quality-*.md"))
    text = replace_block(text, "dedup-speed", copied_report("dedup-speed-*.md"))
    text = replace_block(text, "serve", copied_report("serve-*.md"))
    text = replace_block(text, "dedup-scale", copied_report("dedup-scale-2*.md"))
    text = replace_block(text, "dedup-scale-10m", copied_report("dedup-scale-10m-*.md"))
    readme.write_text(text)
    print("README.md benchmark sections updated from benches/results/")


if __name__ == "__main__":
    main(sys.argv[1:])
