"""Copy the newest MinHash benchmark result into README.md's performance section.

The figures in the README are never typed by hand: this script renders them from the committed
result file (`benches/results/minhash-*.json`) and replaces what stands between the markers
`<!-- bench:minhash -->` and `<!-- /bench:minhash -->`.

    python benches/update_readme.py [RESULT.json]
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- bench:minhash -->", "<!-- /bench:minhash -->"
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


def main(argv: list[str]) -> None:
    results = sorted((ROOT / "benches" / "results").glob("minhash-*.json"))
    result_path = Path(argv[0]).resolve() if argv else results[-1]
    readme = ROOT / "README.md"
    text = readme.read_text()
    if START not in text or END not in text:
        raise SystemExit(f"README.md has no {START} ... {END} block")
    before, rest = text.split(START, 1)
    _, after = rest.split(END, 1)
    readme.write_text(f"{before}{START}\n{render_block(result_path)}{END}{after}")
    print(f"README.md performance section updated from {result_path.relative_to(ROOT)}")


if __name__ == "__main__":
    main(sys.argv[1:])
