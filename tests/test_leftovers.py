"""Leftovers of killed dedup runs: removed by the next run, lock last, never a live run's files."""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

import pytest
from nearcopy.neardup import leftovers
from nearcopy.neardup.leftovers import LOCK_NAME, UNLOCKED_GRACE_SECONDS, make_work_dir, remove_work_dir


def _leftover(base: Path, name: str, *, lock: bool, age: float = 0.0) -> Path:
    work = base / f"{leftovers.WORK_PREFIX}{name}"
    (work / "sub").mkdir(parents=True)
    (work / "signatures.bin").write_bytes(b"x" * 100)
    (work / "sub" / "bucket-00001.bin").write_bytes(b"y")
    if lock:
        (work / LOCK_NAME).write_bytes(b"")
    then = time.time() - age
    os.utime(work, (then, then))
    return work


def test_the_next_run_removes_dead_runs_dirs_and_keeps_live_and_newborn_ones(tmp_path: Path) -> None:
    dead = _leftover(tmp_path, "dead", lock=True)
    half_removed = _leftover(tmp_path, "halfremoved", lock=False, age=UNLOCKED_GRACE_SECONDS + 5)
    newborn = _leftover(tmp_path, "newborn", lock=False)  # a live run between mkdir and its lock
    live = _leftover(tmp_path, "live", lock=True)
    with open(live / LOCK_NAME, "rb") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)  # another open file description: another run
        work, handle = make_work_dir(tmp_path)
        assert not dead.exists() and not half_removed.exists()
        assert newborn.exists() and live.exists() and work.exists()
    remove_work_dir(work)
    handle.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([newborn.name, live.name])


def test_a_work_dir_is_removed_lock_last(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = _leftover(tmp_path, "killed", lock=True)

    def killed(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt  # the process dies while removing the spill files

    monkeypatch.setattr("shutil.rmtree", killed)
    with pytest.raises(KeyboardInterrupt):
        remove_work_dir(work)
    assert (work / LOCK_NAME).is_file(), "what is left still has its lock, so the next run removes it"
    monkeypatch.undo()
    _, handle = make_work_dir(tmp_path)
    handle.close()
    assert not work.exists()
