"""Real corpora that every machine running nearcopy has: the Python standard library's sources and,
on Debian-like systems, the licence texts and package copyright files under /usr/share.

They are what `nearcopy demo` fingerprints, so the demo needs no download. Near-copies are common in
them for real reasons: vendored modules, generated codec tables, licences pasted into copyright files.
"""

from __future__ import annotations

import sysconfig
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

MAX_DOC_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class CorpusDoc:
    id: str
    text: str


def default_roots() -> list[Path]:
    """The corpus roots of this machine, those that exist."""
    roots = [
        Path(sysconfig.get_paths()["stdlib"]),
        Path("/usr/share/common-licenses"),
        Path("/usr/share/doc"),
    ]
    return [root for root in roots if root.is_dir()]


def _wanted(path: Path, root: Path) -> bool:
    relative = path.relative_to(root)
    if root.name == "doc":  # /usr/share/doc: only the copyright files, the rest is mostly changelogs
        return path.name == "copyright"
    if "site-packages" in relative.parts or "__pycache__" in relative.parts:
        return False
    return root.name == "common-licenses" or path.suffix == ".py"


def iter_corpus(roots: list[Path] | None = None, limit: int | None = None) -> Iterator[CorpusDoc]:
    """Documents under ``roots`` (default: :func:`default_roots`) in a stable order.

    Undecodable bytes are replaced, files over 4 MiB and unreadable files are skipped; ``id`` is the
    path relative to the root's parent, e.g. ``python3.11/json/decoder.py``.
    """
    count = 0
    for root in roots if roots is not None else default_roots():
        for path in sorted(root.rglob("*")):
            if limit is not None and count >= limit:
                return
            try:
                if not path.is_file() or path.is_symlink() or not _wanted(path, root):
                    continue
                if path.stat().st_size > MAX_DOC_BYTES:
                    continue
                data = path.read_bytes()
            except OSError:
                continue
            if b"\0" in data[:4096]:  # binary
                continue
            count += 1
            yield CorpusDoc(str(path.relative_to(root.parent)), data.decode("utf-8", errors="replace"))
