"""Real source files of five languages, from the source trees this machine has and nobody here wrote.

Python (CPython's standard library and the packages installed beside the benchmark), Java (the
JDK's ``src.zip``), Go (Debian's ``golang-*-src``), C (Debian's ``glibc-source``, unpacked once into
the cache, with the C of Go's sources and of /usr/share/doc) and JavaScript (npm and its
dependencies, and the other JS trees under /usr/share). Vendored copies, tests, generated and
minified files are skipped; identical files are read once. Each file names its *project* (a
package, a module of the standard library, a library directory): the unit of independence for
sampling and for the clone-dense groups.
"""

from __future__ import annotations

import functools
import hashlib
import os
import random
import shutil
import sysconfig
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from . import benchutil

LANGUAGES = ("python", "java", "go", "c", "javascript")
TEST_FILES = ("tst-", "test-", "test_", "bug-")  # how glibc (and C trees like it) name test programs
MIN_BYTES, MAX_BYTES = 300, 60_000
# Directory names that hold copies of other projects' code, tests or examples, not the project's own.
SKIPPED_PARTS = {
    "_vendor",
    "vendor",
    "vendored",
    "extern",
    "externals",
    "_external",
    "third_party",
    "_distutils",
    "test",
    "tests",
    "testing",
    "testdata",
    "idle_test",
    "__tests__",
    "example",
    "examples",
    "benchmark",
    "benchmarks",
    "benchtests",
    "__pycache__",
    "__generated__",
    "generated",
    "gen",
    "site-packages",
    "node_modules",
}


@dataclass(frozen=True)
class SourceFile:
    language: str
    path: str  # the tree's name and the path inside it: a stable document id
    project: str  # who wrote it: a package, a module of the standard library, a library directory
    text: str


Reader = Callable[[], bytes]


def _walk(root: Path, suffixes: tuple[str, ...]) -> Iterator[tuple[Path, tuple[str, ...]]]:
    """Regular files under ``root`` with one of the suffixes, in sorted order; directories of
    SKIPPED_PARTS are not entered (but node_modules is: the JavaScript trees are made of them)."""
    prune = SKIPPED_PARTS - {"node_modules"}
    for top, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in prune and not d.endswith(".dist-info"))
        base = Path(top)
        for name in sorted(files):
            path = base / name
            if name.endswith(suffixes) and not path.is_symlink():
                yield path, path.relative_to(root).parts


def _python_trees() -> Iterator[tuple[str, str, Reader]]:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for path, parts in _walk(stdlib, (".py",)):
        if not SKIPPED_PARTS & set(parts[:-1]) and not parts[-1].startswith("test_"):
            yield f"cpython/{parts[0].removesuffix('.py')}", f"cpython/{'/'.join(parts)}", path.read_bytes
    site = Path(sysconfig.get_paths()["purelib"])
    if site == stdlib or (stdlib in site.parents and site.parent != stdlib):
        return
    for path, parts in _walk(site, (".py",)):
        top = parts[0]
        if len(parts) < 2 or top.endswith(("-info", ".dist-info")) or top.startswith("nearcopy"):
            continue
        if not SKIPPED_PARTS & set(parts[1:-1]) and not parts[-1].startswith("test_"):
            yield top, f"site-packages/{'/'.join(parts)}", path.read_bytes


def _java_trees() -> Iterator[tuple[str, str, Reader]]:
    archives = [p for p in sorted(Path("/usr/lib/jvm").glob("*/lib/src.zip")) if p.is_file()]
    if not archives:
        return
    archive = zipfile.ZipFile(archives[-1])  # the newest JDK: kept open while its files are read
    for name in sorted(n for n in archive.namelist() if n.endswith(".java")):
        parts = name.split("/")
        if not SKIPPED_PARTS & set(parts[:-1]):
            yield "/".join(parts[:-1]), f"jdk/{name}", functools.partial(archive.read, name)


def _go_trees() -> Iterator[tuple[str, str, Reader]]:
    roots = [p for p in [Path("/usr/lib/go/src"), *sorted(Path("/usr/share").glob("go-*/src"))] if p.is_dir()]
    for root in roots[-1:]:
        for path, parts in _walk(root, (".go",)):
            if not SKIPPED_PARTS & set(parts[:-1]) and not parts[-1].endswith("_test.go"):
                yield f"go/{'/'.join(parts[:-1])}", f"go/{'/'.join(parts)}", path.read_bytes


def _glibc_sources() -> Path | None:
    """glibc's C files (tests left out), unpacked once from Debian's glibc-source tarball into the
    cache: about 8,000 files, 31 MB; reading the .tar.xz takes seconds, the unpacked files none."""
    archives = sorted(Path("/usr/src/glibc").glob("glibc-*.tar.*"))
    if not archives:
        return None
    target = benchutil.cache_dir() / "test-corpora" / f"{archives[-1].name.split('.tar')[0]}-sources"
    if not target.is_dir():
        partial = target.with_name(target.name + f".partial-{os.getpid()}")
        with tarfile.open(archives[-1]) as tar:
            for member in tar:
                name = member.name.rsplit("/", 1)[-1]
                if member.isfile() and name.endswith(".c") and not name.startswith(TEST_FILES):
                    handle = tar.extractfile(member)
                    destination = partial / member.name
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    destination.write_bytes(handle.read() if handle else b"")
        try:
            partial.rename(target)
        except OSError:  # another process unpacked it first
            shutil.rmtree(partial, ignore_errors=True)
    return target


def _c_trees() -> Iterator[tuple[str, str, Reader]]:
    """glibc, and the few other C trees a Debian machine has: the C parts of Go's sources (cgo,
    runtime), and the examples under /usr/share/doc."""
    root = _glibc_sources()
    for path, parts in _walk(root, (".c",)) if root is not None else ():
        if len(parts) < 3 or SKIPPED_PARTS & set(parts[1:-1]) or parts[-1].startswith(TEST_FILES):
            continue
        project = "/".join(parts[1:3] if parts[1] == "sysdeps" and len(parts) > 3 else parts[1:2])
        yield f"glibc/{project}", "/".join(parts), path.read_bytes
    others = [(p, "go") for p in sorted(Path("/usr/share").glob("go-*/src"))[-1:]] + [
        (Path("/usr/share/doc"), "doc")
    ]
    for tree, name in others:
        for path, parts in _walk(tree, (".c",)):
            if not SKIPPED_PARTS & set(parts[:-1]) and not parts[-1].startswith(TEST_FILES):
                yield f"{name}/{'/'.join(parts[:-1])}", f"{name}/{'/'.join(parts)}", path.read_bytes


def _javascript_trees() -> Iterator[tuple[str, str, Reader]]:
    for root in (Path("/usr/lib/node_modules"), Path("/usr/share/javascript"), Path("/usr/share/nodejs")):
        for path, parts in _walk(root, (".js", ".cjs", ".mjs")):
            if path.name.endswith(".min.js") or parts.count("node_modules") > 1:
                continue  # minified, or a second copy nested inside another package
            inner = list(parts[:-1])
            if "node_modules" in inner:
                at = inner.index("node_modules") + 1
                scoped = at < len(inner) and inner[at].startswith("@")
                project, inner = "/".join(inner[at : at + 1 + scoped]), inner[at + 1 + scoped :]
            else:
                project = parts[0]
            if not SKIPPED_PARTS & set(inner):
                yield project, f"{root.name}/{'/'.join(parts)}", path.read_bytes


TREES: dict[str, Callable[[], Iterator[tuple[str, str, Reader]]]] = {
    "python": _python_trees,
    "java": _java_trees,
    "go": _go_trees,
    "c": _c_trees,
    "javascript": _javascript_trees,
}


def _usable(data: bytes) -> bool:
    if not MIN_BYTES <= len(data) <= MAX_BYTES or b"\0" in data:
        return False
    if b"Code generated" in data[:600] or b"DO NOT EDIT" in data[:600]:
        return False
    lines = data.count(b"\n") + 1
    return len(data) / lines < 150 and max(map(len, data.split(b"\n"))) < 1000  # not minified


@cache
def listing(language: str) -> list[tuple[str, str, Reader]]:
    """Every (project, path, reader) of the language's trees, in a stable order."""
    return list(TREES[language]())


def source_files(
    language: str, count: int, rng: random.Random, exclude: frozenset[str] = frozenset()
) -> list[SourceFile]:
    """Up to ``count`` files of ``language`` not in ``exclude``, drawn round-robin over projects
    (so that one big package cannot make up the sample), each content once; empty if the machine
    has none."""
    by_project: dict[str, list[tuple[str, Reader]]] = {}
    for project, path, read in listing(language):
        if path not in exclude:
            by_project.setdefault(project, []).append((path, read))
    queues = [(project, rng.sample(files, len(files))) for project, files in sorted(by_project.items())]
    rng.shuffle(queues)
    seen: set[bytes] = set()
    out: list[SourceFile] = []
    while queues and len(out) < count:
        for project, queue in queues:
            path, read = queue.pop()
            try:
                data = read()
            except OSError:
                continue
            digest = hashlib.sha256(data).digest()
            if _usable(data) and digest not in seen:
                seen.add(digest)
                out.append(SourceFile(language, path, project, data.decode("utf-8", "replace")))
                if len(out) == count:
                    break
        queues = [(project, queue) for project, queue in queues if queue]
    return out
