"""Every example of the README and of docs/*.md runs as written: each ```python block, and the
README's one-minute command-line path (a ```sh block marked "runs as written"), in a fresh
directory with this environment's `nearcopy` first on PATH. The benchmark blocks are what
benches/update_readme.py renders from the committed results, each in exactly one page."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
BLOCKS = [
    (page, block)
    for page in PAGES
    for block in re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), flags=re.DOTALL)
]
SHELL = re.findall(r"```sh\n(.*?)```\n", README.read_text(encoding="utf-8"), flags=re.DOTALL)


def test_readme_has_examples() -> None:
    assert [p for p, _ in BLOCKS].count(README) >= 1, "README.md should show the API in a ```python block"
    assert {p.name for p, _ in BLOCKS} >= {"filter.md", "dedup.md", "minhash.md", "code.md"}


@pytest.mark.parametrize(
    ("page", "block"), BLOCKS, ids=[f"{p.relative_to(ROOT)}-{i}" for i, (p, _) in enumerate(BLOCKS)]
)
def test_example_runs(page: Path, block: str) -> None:
    exec(compile(block, str(page), "exec"), {})


def test_readme_starts_with_the_two_set_up_commands() -> None:
    first = SHELL[0].splitlines()
    assert [line.split()[:2] for line in first] == [["make", "demo"], ["make", "test"]]
    assert README.read_text().index("```sh") < README.read_text().index("## ")


def test_the_one_minute_command_line_path_runs_as_written(tmp_path: Path) -> None:
    (block,) = [b for b in SHELL if "runs as written" in b]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(["bash", "-e", "-c", block], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "flagged (redact): 1 passage" in result.stdout and "json/decoder.py (PSF-2.0)" in result.stdout
    assert "exit status 1" in result.stdout
    assert result.stdout.rstrip().endswith("json/decoder.py (PSF-2.0)]")
    assert result.stdout.splitlines()[-1].startswith("[output withheld: it reproduces ")


def test_the_benchmark_blocks_are_rendered_from_the_committed_results() -> None:
    spec = importlib.util.spec_from_file_location("update_readme", ROOT / "benches" / "update_readme.py")
    assert spec is not None and spec.loader is not None
    update_readme = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(update_readme)
    rendered = update_readme.render(update_readme.newest_suite())
    stale = [str(path.relative_to(ROOT)) for path, text in rendered.items() if path.read_text() != text]
    assert not stale, f"run `python benches/update_readme.py`: {stale}"
    assert "<!-- bench:" not in README.read_text(), "the tables live in docs/, beside their text"
