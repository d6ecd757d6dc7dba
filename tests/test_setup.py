"""The set-up a new user runs: `make demo` installs the package and what it needs, not the test
and benchmark extras (ray, litellm, pyarrow, matplotlib: over a gigabyte); `make test` installs
those too; `scripts/extras.py`, which both use, reads pyproject.toml as the one list of them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def dry_run(target: str, tmp_path: Path) -> list[str]:
    """The commands `make TARGET` would run on a fresh clone (no virtual environment yet)."""
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", target, f"VENV={tmp_path / 'venv'}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.splitlines()


def extras(*groups: str) -> list[str]:
    out = subprocess.run([sys.executable, "scripts/extras.py", *groups], cwd=ROOT, capture_output=True,
                         text=True, check=True)  # fmt: skip
    return out.stdout.split()


def test_make_demo_installs_only_the_package_and_its_own_dependencies(tmp_path: Path) -> None:
    commands = dry_run("demo", tmp_path)
    installs = [c for c in commands if "pip install" in c]
    assert installs and not [c for c in installs if "extras.py test" in c or "bench" in c], installs
    assert any(c.endswith("scripts/extras.py)") for c in installs), "the package's own requirements"
    assert commands[-1].endswith("-m nearcopy demo")
    assert extras() == PROJECT["dependencies"] == ["numpy>=1.23"]


def test_make_test_installs_the_test_and_bench_extras(tmp_path: Path) -> None:
    commands = dry_run("py-test", tmp_path)
    assert any("scripts/extras.py test bench)" in c for c in commands)
    listed = extras("test", "bench")
    for group in ("test", "bench"):
        assert set(PROJECT["optional-dependencies"][group]) <= set(listed)
    assert any(c.startswith("bash scripts/install_test_corpora.sh") for c in commands)


def test_the_test_corpora_script_can_be_told_not_to_use_apt(tmp_path: Path) -> None:
    # A fake apt-get (and an `id` saying root) first on PATH: it must not run.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in (("apt-get", f"touch {tmp_path / 'apt-ran'}"), ("id", "echo 0")):
        (bin_dir / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / name).chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "NEARCOPY_NO_APT": "1"}
    result = subprocess.run(["bash", "scripts/install_test_corpora.sh"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0 and "NEARCOPY_NO_APT is set" in result.stderr
    assert not (tmp_path / "apt-ran").exists()
