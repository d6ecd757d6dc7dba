"""Real corpora that every machine running nearcopy has: the Python standard library's sources and,
on Debian-like systems, the licence texts and package copyright files under /usr/share.

They are what `nearcopy demo` fingerprints, so the demo needs no download. Near-copies are common in
them for real reasons: vendored modules, generated codec tables, licences pasted into copyright files.
"""

from __future__ import annotations

import sysconfig
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

MAX_DOC_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class CorpusDoc:
    id: str
    text: str


def _python_source(path: Path, root: Path) -> bool:
    parts = path.relative_to(root).parts
    return path.suffix == ".py" and "site-packages" not in parts and "__pycache__" not in parts


def _copyright_file(path: Path, root: Path) -> bool:
    # /usr/share/doc holds mostly changelogs; its copyright files are the real text.
    return path.name == "copyright"


def _any_file(path: Path, root: Path) -> bool:
    return True


_MACHINE_ROOTS = [
    (Path(sysconfig.get_paths()["stdlib"]), _python_source),
    (Path("/usr/share/common-licenses"), _any_file),
    (Path("/usr/share/doc"), _copyright_file),
]


def default_roots() -> list[Path]:
    """The corpus roots of this machine, those that exist."""
    return [root for root, _ in _MACHINE_ROOTS if root.is_dir()]


def _filter_for(root: Path) -> Callable[[Path, Path], bool]:
    return next((wanted for known, wanted in _MACHINE_ROOTS if known == root), _any_file)


def iter_corpus(roots: list[Path] | None = None, limit: int | None = None) -> Iterator[CorpusDoc]:
    """Documents under ``roots`` (default: :func:`default_roots`) in a stable order.

    Of the machine's roots only the files described above are taken; of any other root, every file.
    Undecodable bytes are replaced, files over 4 MiB and unreadable files are skipped; ``id`` is the
    path relative to the root's parent, e.g. ``python3.11/json/decoder.py``.
    """
    count = 0
    for root in roots if roots is not None else default_roots():
        wanted = _filter_for(root)
        for path in sorted(root.rglob("*")):
            if limit is not None and count >= limit:
                return
            try:
                if not path.is_file() or path.is_symlink() or not wanted(path, root):
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
