"""Finding input files under directories and glob patterns without being led astray by the tree.

A directory walk takes regular files only: symbolic links are neither followed nor taken (a link
may point out of the tree, or back into it, making a loop or reading a file twice) and special
files (FIFOs, sockets, devices) are skipped, since reading one can block forever or never end. A
glob pattern is matched the same way: ``**`` does not descend into linked directories (Python's
``glob.glob`` does, and two links back to a parent make its walk exponential). A file named
explicitly, link or not, is read as given.
"""

from __future__ import annotations

from pathlib import Path

_MAGIC = frozenset("*?[")


def is_pattern(name: str) -> bool:
    return any(c in _MAGIC for c in name)


def walk_files(root: Path) -> list[Path]:
    """The regular files under ``root``, sorted; links and special files left out."""
    # Path.rglob does not descend into linked directories; is_file() is false for special files.
    return sorted(p for p in root.rglob("*") if not p.is_symlink() and p.is_file())


def glob_paths(pattern: str) -> list[Path]:
    """The sorted matches of ``pattern`` (``**`` for any depth) that are regular files or
    directories, without following linked directories below the pattern's fixed prefix; as with
    the shell, a wildcard does not match a name starting with a dot unless the pattern's part does."""
    parts = Path(pattern).parts
    fixed = next(i for i, part in enumerate(parts) if is_pattern(part))
    anchor = Path(*parts[:fixed]) if fixed else Path(".")
    rest = parts[fixed:]
    if not rest or ".." in rest:
        return []
    matches = []
    for match in anchor.glob(str(Path(*rest))):
        tail = match.parts[len(match.parts) - len(match.relative_to(anchor).parts) :]
        hidden = any(name.startswith(".") for name in tail)
        if hidden and not any(part.startswith(".") for part in rest):
            continue
        if match.is_symlink() or not (match.is_file() or match.is_dir()):
            continue  # as in a directory walk: no links, no special files
        matches.append(match)
    return sorted(matches)
