"""Print the package's requirements and those of the named optional-dependency groups of
pyproject.toml, one per line.

The Makefile installs them with pip, so pyproject.toml stays the one list of dependencies.
Usage: python scripts/extras.py [GROUP ...], e.g. python scripts/extras.py test bench

Python 3.11 reads TOML itself (tomllib); on 3.9 and 3.10 the tomli package does (the Makefile
installs it there first).
"""

from __future__ import annotations

import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the test machine runs 3.11
    try:
        import tomli as tomllib
    except ImportError:
        sys.exit("scripts/extras.py: Python < 3.11 needs tomli to read pyproject.toml: pip install tomli")


def main(groups: list[str]) -> None:
    project = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for group in groups:
        requirements += project["optional-dependencies"][group]
    print("\n".join(dict.fromkeys(requirements)))


if __name__ == "__main__":
    main(sys.argv[1:])
