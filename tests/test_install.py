"""The README's Install block runs as written: `pip install .` from the clone, and a wheel built once
with maturin and installed where there is no Rust toolchain, each into a fresh virtual environment
that then runs nearcopy from outside the source tree. (The cargo build reuses this checkout's
`target/`, so each install is a link, not a rebuild.)"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
INSTALL = re.search(r"## Install\n\n```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.DOTALL)


def commands() -> list[str]:
    assert INSTALL, "README.md has an Install section with a ```sh block"
    return [line.split("#")[0].strip() for line in INSTALL[1].splitlines() if line.split("#")[0].strip()]


def fresh_venv(where: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True, timeout=120)
    return where / "bin"


def installed_and_working(bin_dir: Path, cwd: Path) -> None:
    version = subprocess.run([bin_dir / "nearcopy", "--version"], capture_output=True, text=True, cwd=cwd)
    assert version.returncode == 0 and version.stdout.startswith("nearcopy "), version.stderr
    probe = "import nearcopy, pathlib; print(pathlib.Path(nearcopy.__file__).parent)"
    where = subprocess.run([bin_dir / "python", "-c", probe], capture_output=True, text=True, cwd=cwd)
    assert "site-packages" in where.stdout, "nearcopy is imported from the environment, not the clone"
    signatures = subprocess.run(
        [bin_dir / "python", "-c", "import nearcopy; print(nearcopy.minhash(['a b c d e f']).shape)"],
        capture_output=True, text=True, cwd=cwd,
    )  # fmt: skip
    assert signatures.stdout.strip() == "(1, 128)", signatures.stderr


def test_the_readme_says_how_to_install_from_a_clone_and_from_a_wheel() -> None:
    assert commands() == [
        "pip install .",
        "maturin build --release --out dist",
        "pip install dist/nearcopy-*.whl",
    ]


@pytest.mark.skipif(shutil.which("cargo") is None, reason="building from source needs cargo")
def test_pip_install_from_the_clone(tmp_path: Path) -> None:
    bin_dir = fresh_venv(tmp_path / "venv")
    pip = commands()[0].replace("pip", str(bin_dir / "pip"), 1)
    done = subprocess.run([*pip.split(), "-q"], cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr[-3000:]
    installed_and_working(bin_dir, tmp_path)


@pytest.mark.skipif(shutil.which("cargo") is None, reason="building the wheel needs cargo")
def test_a_wheel_built_once_installs_without_the_toolchain(tmp_path: Path) -> None:
    build, install = commands()[1:]
    maturin = Path(sys.executable).parent / "maturin"
    out = tmp_path / "dist"
    built = subprocess.run(
        [str(maturin), *build.split()[1:-1], str(out)], cwd=ROOT, capture_output=True, text=True, timeout=1800
    )
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = out.glob(Path(install.split()[-1]).name)  # the README's pattern finds the wheel
    bin_dir = fresh_venv(tmp_path / "venv")
    done = subprocess.run([str(bin_dir / "pip"), "install", "-q", str(wheel)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    installed_and_working(bin_dir, tmp_path)
