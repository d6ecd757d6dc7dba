"""Print the requirements of the named optional-dependency groups of pyproject.toml, one per line.

The Makefile installs them with pip, so pyproject.toml stays the one list of dependencies.
Usage: python scripts/extras.py test bench
"""

from __future__ import annotations

import sys
from pathlib import Path

import tomllib


def main(groups: list[str]) -> None:
    project = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for group in groups:
        requirements += project["optional-dependencies"][group]
    print("\n".join(dict.fromkeys(requirements)))


if __name__ == "__main__":
    main(sys.argv[1:])
