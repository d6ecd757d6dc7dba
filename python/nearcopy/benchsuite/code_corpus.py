"""Real source code this machine has, nobody here wrote, sampled reproducibly per language.

Python: CPython's standard library. JavaScript: npm (shipped with Node). Java: the JDK's src.zip.
C: glibc's sources when installed, else the system headers. C++: libstdc++'s headers. Rust: crates in
the cargo registry (the build itself downloads them). Go and Ruby: their standard libraries. Go, Ruby
and glibc come from Debian via `scripts/install_test_corpora.sh`. Other languages are covered by
snippets in the tests.
"""

from __future__ import annotations

import random
import sysconfig
import tarfile
import zipfile
from functools import cache
from pathlib import Path

from . import benchutil

MAX_BYTES = 60_000


def _files(root: Path, suffixes: tuple[str, ...]) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*") if p.suffix in suffixes and p.is_file() and not p.is_symlink())


def _read(paths: list[Path], count: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    out: list[tuple[str, str]] = []
    for path in rng.sample(paths, len(paths)):
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if 200 <= len(data) <= MAX_BYTES and b"\0" not in data:
            out.append((str(path), data.decode("utf-8", errors="replace")))
        if len(out) == count:
            break
    return out


def _glibc_files() -> list[Path]:
    """A seeded selection of glibc's C files, unpacked once from Debian's glibc-source tarball into
    .cache/ (reading the 20 MB .tar.xz takes seconds; the unpacked files, none)."""
    archives = sorted(Path("/usr/src/glibc").glob("glibc-*.tar.*"))
    if not archives:
        return []
    target = benchutil.cache_dir() / "test-corpora" / archives[-1].name.split(".tar")[0]
    if not target.is_dir():
        with tarfile.open(archives[-1]) as tar:
            members = sorted((m for m in tar if m.isfile() and m.name.endswith(".c")), key=lambda m: m.name)
            chosen = {m.name for m in random.Random(0).sample(members, min(600, len(members)))}
        partial = target.with_suffix(".partial")
        with tarfile.open(archives[-1]) as tar:
            for member in tar:
                if member.name in chosen:
                    handle = tar.extractfile(member)
                    destination = partial / member.name.replace("/", "__")
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    destination.write_bytes(handle.read() if handle else b"")
        partial.rename(target)
    return _files(target, (".c",))


def _java(count: int, seed: int) -> list[tuple[str, str]]:
    for archive in sorted(Path("/usr/lib/jvm").glob("*/lib/src.zip")):
        with zipfile.ZipFile(archive) as zf:
            names = sorted(n for n in zf.namelist() if n.endswith(".java"))
            rng = random.Random(seed)
            out = []
            for name in rng.sample(names, len(names)):
                data = zf.read(name)
                if 200 <= len(data) <= MAX_BYTES:
                    out.append((f"{archive}!{name}", data.decode("utf-8", errors="replace")))
                if len(out) == count:
                    return out
    return []


@cache
def sample(language: str, count: int = 25, seed: int = 0) -> list[tuple[str, str]]:
    """Up to ``count`` (path, source) pairs of ``language``; empty if the machine has none."""
    if language == "java":
        return _java(count, seed)
    if language == "c" and (glibc := _glibc_files()):
        return _read(glibc, count, seed)
    roots: dict[str, tuple[list[Path], tuple[str, ...]]] = {
        "python": ([Path(sysconfig.get_paths()["stdlib"])], (".py",)),
        "javascript": ([Path("/usr/lib/node_modules/npm"), Path("/usr/share/nodejs")], (".js",)),
        "c": ([Path("/usr/include")], (".h",)),
        "cpp": ([*Path("/usr/include/c++").glob("*")], (".h", ".tcc")),
        "rust": ([*Path.home().glob(".cargo/registry/src/*")], (".rs",)),
        "go": ([Path("/usr/lib/go/src"), *Path("/usr/share").glob("go-*/src")], (".go",)),
        "ruby": ([*Path("/usr/lib/ruby").glob("3.*")], (".rb",)),
    }
    if language not in roots:
        return []
    dirs, suffixes = roots[language]
    paths = [p for d in dirs for p in _files(d, suffixes) if "site-packages" not in p.parts]
    return _read(paths, count, seed)
