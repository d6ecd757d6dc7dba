"""What a killed dedup leaves behind, and how the next run tells it from a live run's files.

A run spills signatures and band keys to a work directory (``nearcopy-dedup-*``, gigabytes for a
large corpus) and writes its outputs to temporary files beside them; both are removed when the run
ends, even on an error or Ctrl-C, but not when the process is killed (SIGKILL, the OOM killer, a
lost machine). Each run therefore holds an exclusive ``flock`` on its work directory's ``.lock`` and
on each temporary output while it lives; the kernel drops those locks when the process dies, so a
later run removes exactly the leftovers whose lock it can take, never a live run's files.

A work directory is removed lock last (everything else, then ``.lock``, then the directory), so a
process killed while removing one, its own at the end of a run or a leftover, still leaves a lock
for the next run to find. Only a kill between the last two steps, or between the directory's
creation and its lock's, leaves a directory without a lock: it is removed once it is older than
``UNLOCKED_GRACE_SECONDS``, since a live run locks its directory microseconds after making it.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import BinaryIO

WORK_PREFIX = "nearcopy-dedup-"
LOCK_NAME = ".lock"
UNLOCKED_GRACE_SECONDS = 60.0


def _unlocked(path: Path) -> bool:
    """Whether no live process holds ``path``'s lock (taken and released at once if free)."""
    try:
        with open(path, "rb") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            return True
    except OSError:
        return False


def make_work_dir(parent: str | os.PathLike[str] | None) -> tuple[Path, BinaryIO]:
    """A fresh work directory, locked for this run (keep the returned handle open until the end),
    after removing the work directories of runs that died."""
    return make_locked_dir(Path(parent) if parent is not None else Path(tempfile.gettempdir()), WORK_PREFIX)


def make_locked_dir(parent: Path, prefix: str, suffix: str = "") -> tuple[Path, BinaryIO]:
    """A fresh directory ``parent/prefix*suffix`` holding a locked ``.lock`` (keep the returned handle
    open while the directory is in use), after removing those of that pattern whose runs died."""
    for stale in parent.glob(f"{glob.escape(prefix)}*{glob.escape(suffix)}"):
        lock = stale / LOCK_NAME
        if (lock.is_file() and _unlocked(lock)) or (not lock.exists() and _older_than_grace(stale)):
            remove_work_dir(stale)
    work = Path(tempfile.mkdtemp(prefix=prefix, suffix=suffix, dir=parent))
    handle = open(work / LOCK_NAME, "wb")  # noqa: SIM115 (held for the run, closed by the caller)
    fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
    return work, handle


def remove_work_dir(work: Path) -> None:
    """Removes a work directory, its lock last (see the module's notes); errors are ignored."""
    try:
        children = list(work.iterdir())
    except OSError:
        return
    for child in children:
        if child.name != LOCK_NAME:
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    child.unlink()
    with contextlib.suppress(OSError):
        (work / LOCK_NAME).unlink()
    with contextlib.suppress(OSError):
        work.rmdir()


def _older_than_grace(path: Path) -> bool:
    try:
        return time.time() - path.stat().st_mtime > UNLOCKED_GRACE_SECONDS
    except OSError:
        return False


def temporary_output(target: Path) -> tuple[Path, int]:
    """A locked temporary file beside ``target`` (its path and the descriptor holding the lock),
    after removing the temporary files of runs that died while writing ``target``."""
    for stale in target.parent.glob(f".{glob.escape(target.name)}.*.tmp"):
        if _unlocked(stale):
            with contextlib.suppress(OSError):
                stale.unlink()
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    fcntl.flock(fd, fcntl.LOCK_EX)
    return Path(name).resolve(), fd
