"""What every index directory (protected, sharded, LSH) shares: its ``manifest.json`` read with one
set of errors, and the removal of data files no published manifest lists (what a killed writer
left). Each store says which error type to raise and which files are its own."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
# A directory being removed: renamed to this prefix first (see remove_directory).
REMOVED = ".removed-"
# The private directory of one Ray build's tasks in the directory it builds (nearcopy.index_ray).
STAGING = ".ray-build-"


def load_manifest_json(root: Path, error: type[OSError], what: str) -> Any:
    """The JSON of ``root/manifest.json``; ``error`` naming ``root`` when ``root`` is a file, has no
    manifest, cannot be read, or holds no JSON (``what``: "a nearcopy index", ...)."""
    if root.exists() and not root.is_dir():
        raise error(f"{root}: not {what} (a file; an index is a directory)")
    try:
        return json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{root}: not {what} (no {MANIFEST})") from None
    except OSError as err:
        raise error(f"{root}: unreadable manifest: {err.strerror or err}") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise error(f"{root}: {MANIFEST} is damaged (not JSON); restore it or rebuild the index") from None


def remove_unlisted(
    root: Path,
    listed: Callable[[dict[str, Any]], Iterable[str | None]],
    data_files: Iterable[str],
    temporaries: Iterable[str] = (),
) -> None:
    """Removes the files matching ``data_files`` that the published manifest does not list
    (``listed(manifest)``; all of them when none is published), and those matching ``temporaries``
    (interrupted writes). A manifest that cannot be read removes nothing: it might list them."""
    try:
        names: set[str] | None = {n for n in listed(json.loads((root / MANIFEST).read_text("utf-8"))) if n}
    except FileNotFoundError:
        names = None  # nothing published: nothing can be in use
    except (OSError, ValueError, KeyError, TypeError):
        return
    for pattern in data_files:
        for stale in root.glob(pattern):
            if names is None or stale.name not in names:
                stale.unlink(missing_ok=True)
    for pattern in temporaries:
        for stale in root.glob(pattern):
            stale.unlink(missing_ok=True)


def remove_directory(root: Path, name: str) -> None:
    """Frees the name ``root/name`` at once, then removes the directory. A killed Ray build's tasks
    may still be writing into it: removed in place, a file they make midway fails the removal
    (ENOTEMPTY, which ``rmtree`` ignores) and leaves the name taken. Renamed first, only the files
    they hold open go to the renamed directory (the next clean-up removes it if this one leaves
    any); the names they write by are gone (which is why a Ray build's tasks write only into a
    directory whose name no other build uses: :data:`STAGING`)."""
    trash = root / f"{REMOVED}{name}.{os.getpid()}.{os.urandom(4).hex()}"
    try:
        (root / name).rename(trash)
    except FileNotFoundError:
        return
    shutil.rmtree(trash, ignore_errors=True)


def remove_dead_directories(root: Path) -> None:
    """Removes what dead writers left in ``root`` as directories: a killed Ray build's private
    directories and directories whose removal was cut short. Only the holder of ``root``'s writer
    lock calls this: no live writer of ``root`` can be using them."""
    for stale in root.glob(f"{STAGING}*"):
        if stale.is_dir():
            remove_directory(root, stale.name)
    for trash in root.glob(f"{REMOVED}*"):  # renamed already: its name is no other's
        shutil.rmtree(trash, ignore_errors=True)


@contextlib.contextmanager
def staged(targets: list[Path]) -> Iterator[list[Path]]:
    """A new directory of one Ray build's own in each of ``targets`` (whose writer locks the caller
    holds), for its tasks to write into: a killed build's task that runs on then writes nowhere the
    next build reads. Removed, with whatever is left in it, when the block ends."""
    staging: list[Path] = []
    try:
        for target in targets:
            staging.append(target / f"{STAGING}{os.urandom(8).hex()}")
            staging[-1].mkdir()
        yield staging
    finally:
        for directory in staging:
            remove_directory(directory.parent, directory.name)


def move_into_place(staging: Path, names: Iterable[str | None]) -> None:
    """Moves the files ``names`` from a build's own directory into the directory it publishes
    them in (its parent), then syncs that directory, before a manifest names them."""
    target = staging.parent
    for name in names:
        if name:
            os.replace(staging / name, target / name)
    handle = os.open(target, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
