"""Writing files so that readers see the old version or the complete new one, never a part."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO


def write_atomically(path: Path, content: bytes | Callable[[BinaryIO], None]) -> None:
    """Writes ``content`` (bytes, or a function writing to a binary file) to a temporary file in the
    same directory, syncs it and renames it over ``path``. On any error, including Ctrl-C, the
    temporary file is removed and ``path`` is left as it was. An ``OSError`` names ``path`` (not the
    temporary file)."""
    for ancestor in path.parents:
        if ancestor.exists():
            if not ancestor.is_dir():  # mkdir would say "File exists"
                raise NotADirectoryError(errno.ENOTDIR, f"cannot write {path}: {ancestor} is not a directory")
            break
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as err:
        raise _naming(err, path) from None
    try:
        # mkstemp makes the file private (0600); the file it becomes gets the mode any new file gets
        # (0666 less the umask), as segments written by Rust do: an index or an output file is read by
        # other users (a service account, a container) as often as by its writer.
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as handle:
            if isinstance(content, bytes):
                handle.write(content)
            else:
                content(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        raise _naming(err, path) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _naming(err: OSError, path: Path) -> OSError:
    """``err`` as the same kind of error, about writing ``path`` (``str()``: "cannot write PATH: ...")."""
    if err.errno is None or err.strerror is None:
        return err
    return OSError(err.errno, f"cannot write {path}: {err.strerror}")


def _umask() -> int:
    """The process's umask, read without changing it (os.umask can only be read by setting it,
    which would race with other threads creating files)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


class LockBusyError(OSError):
    """Another process holds the writer lock (and kept it past the wait)."""


@contextlib.contextmanager
def exclusive_lock(
    path: Path, timeout: float | None, what: str, busy: type[LockBusyError] = LockBusyError
) -> Iterator[None]:
    """Holds an exclusive ``flock`` on ``path`` (created if absent) for the ``with`` block.

    ``flock`` locks belong to the open file, so the kernel drops them when the holder dies, even by
    SIGKILL: a crashed writer never leaves a stale lock. Waits up to ``timeout`` seconds (None:
    forever), then raises ``busy`` (a :class:`LockBusyError`) naming ``what`` and the holder's pid.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    handle = open(path, "a+b")  # noqa: SIM115 (closed in finally, after the lock is released)
    try:
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                if _same_file(handle, path):
                    break
                # The holder removed the lock file before letting go (a failed build cleaning up):
                # this lock is on a file nobody else will open; take the one at ``path`` now.
                handle.close()
                handle = open(path, "a+b")  # noqa: SIM115
                continue
            except BlockingIOError:
                if deadline is not None and time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().decode("ascii", "replace").strip() or "unknown"
                    raise busy(
                        f"{what} is being written by another process (pid {holder}); waited {timeout:g} s"
                    ) from None
                time.sleep(0.05)
        # The holder's pid, for the message above (informative only: the lock is the flock).
        handle.truncate(0)
        handle.write(str(os.getpid()).encode())
        handle.flush()
        yield
    finally:
        handle.close()


def _same_file(handle: BinaryIO, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(handle.fileno()), os.stat(path))
    except FileNotFoundError:
        return False
