"""Large protected corpora from what a Debian machine has: the text corpus of ``corpus.py`` (docs,
man pages, licences, the standard library, about 300 MB here) topped up with the C sources of the
Linux kernel from Debian's ``linux-source-6.1`` package (a 1.4 GB tarball of real code).

The kernel sources are read once from the tarball and cached as JSONL beside the other corpora, in
the tarball's member order (so the same size always gives the same documents); readers stream the
cache a line at a time, so a 1 GB corpus is never held in memory.

    python -m nearcopy.benchsuite.source_corpus --mb 1000 [--install-packages]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from . import benchutil, corpus

KERNEL_TARBALL = Path("/usr/src/linux-source-6.1.tar.xz")
KERNEL_PACKAGE = "linux-source-6.1"
SUFFIXES = (".c", ".h")


def install_kernel_source() -> None:
    """apt-get install linux-source-6.1 when root (best effort: without it the corpus is smaller)."""
    if KERNEL_TARBALL.exists():
        return
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("apt-get") is None:
        print(f"source_corpus: warning: installing {KERNEL_PACKAGE} needs root and apt-get", file=sys.stderr)
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    command = ["apt-get", "install", "-y", "--no-install-recommends", KERNEL_PACKAGE]
    if subprocess.run(command, env=env, check=False).returncode != 0:
        subprocess.run(["apt-get", "update"], env=env, check=False)
        subprocess.run(command, env=env, check=False)


def _kernel_cache(mb: int) -> Path:
    return benchutil.cache_dir() / "bench-corpus" / f"linux-c-{mb}mb.jsonl"


def kernel_sources(mb: int) -> Path | None:
    """The cached JSONL of the first ``mb`` MB of kernel C sources (built on first use), or None when
    the tarball is not installed."""
    cache = _kernel_cache(mb)
    if cache.exists():
        return cache
    if not KERNEL_TARBALL.exists():
        return None
    cache.parent.mkdir(parents=True, exist_ok=True)
    partial = cache.with_suffix(".partial")
    total = 0
    with tarfile.open(KERNEL_TARBALL, "r|xz") as tar, open(partial, "w", encoding="utf-8") as out:
        for member in tar:
            if total >= mb * 1_000_000:
                break
            if not member.isfile() or not member.name.endswith(SUFFIXES):
                continue
            if not corpus.MIN_DOC_BYTES <= member.size <= corpus.MAX_DOC_BYTES:
                continue
            handle = tar.extractfile(member)
            if handle is None:
                continue
            text = handle.read().decode("utf-8", errors="replace")
            out.write(json.dumps({"id": f"linux/{member.name.split('/', 1)[-1]}", "text": text,
                                  "language": "c", "license": "GPL-2.0"}) + "\n")  # fmt: skip
            total += len(text.encode("utf-8"))
    partial.replace(cache)
    return cache


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            yield json.loads(line)


def prepare(mb: int) -> None:
    """Builds the caches that :func:`documents` streams (the text corpus is capped by what the
    machine has; the kernel sources make up the rest)."""
    docs, manifest = corpus.load_docs(mb=mb, seed=0)
    del docs
    rest = mb - int(manifest["total_bytes"]) // 1_000_000
    if rest > 0:
        kernel_sources(rest)


def documents(mb: int) -> Iterator[dict[str, Any]]:
    """About ``mb`` MB of documents, streamed from the caches :func:`prepare` built: the text corpus
    first, then kernel sources for the rest."""
    text_path, _ = corpus._paths(mb, 0)
    total = 0
    for doc in _jsonl(text_path):
        if total >= mb * 1_000_000:
            return
        doc["path"] = doc["id"]  # the loaders' metadata: the path, for the language
        total += len(doc["text"].encode("utf-8", "surrogatepass"))
        yield doc
    rest = mb - total // 1_000_000
    if rest > 0 and (kernel := kernel_sources(rest)) is not None:
        for doc in _jsonl(kernel):
            if total >= mb * 1_000_000:
                return
            total += len(doc["text"].encode("utf-8"))
            yield doc


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=1000)
    parser.add_argument("--install-packages", action="store_true", help=f"apt-get install {KERNEL_PACKAGE}")
    args = parser.parse_args(argv)
    if args.install_packages:
        install_kernel_source()
    prepare(args.mb)
    count = size = 0
    for doc in documents(args.mb):
        count += 1
        size += len(doc["text"].encode("utf-8", "surrogatepass"))
    print(f"{count} documents, {size / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
