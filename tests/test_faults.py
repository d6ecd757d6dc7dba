"""Faults, with real processes: writers killed by SIGKILL at random moments, a full disk
(RLIMIT_FSIZE), two writers on one index, and readers that keep checking while a writer publishes.

The promises: a killed build leaves no index or a complete one, a killed `add` leaves the previous
generation or the next one (never a part), a killed dedup leaves the previous output or the new
complete one; a rerun completes; a full disk is a clear error that leaves no corrupt file; a second
writer waits for the first and both documents sets end up in the index; readers never fail.
"""

from __future__ import annotations

import json
import os
import random
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import fault_worker as fw
import pytest
from nearcopy.index import IndexBusyError, IndexError_, ProtectedIndex
from nearcopy.index_store import LOCK_FILE

WORKER = str(Path(__file__).resolve().parent / "fault_worker.py")
BASE, EXTRA = 200, 600  # documents in the base index, documents an add writes (many batches)


def worker(*args: object, capture: bool = False) -> subprocess.Popen[bytes]:
    out = subprocess.PIPE if capture else subprocess.DEVNULL
    return subprocess.Popen([sys.executable, WORKER, *map(str, args)], stdout=out)


def killed_after(seconds: float, *args: object) -> int:
    """Runs the worker, SIGKILLs it after ``seconds`` (if still running); its exit code."""
    proc = worker(*args)
    try:
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
    return proc.wait()


def timed(*args: object) -> float:
    started = time.monotonic()
    proc = worker(*args)
    assert proc.wait(timeout=300) == 0
    return time.monotonic() - started


def assert_complete(path: Path, documents: int) -> None:
    index = ProtectedIndex.open(path)
    index.verify()
    assert len(index) == documents and [m["id"] for m in index] == [f"doc{n}" for n in range(documents)]


def test_a_killed_build_leaves_no_index_or_a_whole_one_and_a_rerun_completes(tmp_path: Path) -> None:
    # The shorter of two runs: kill times drawn from one run slowed by the machine (say, by an
    # earlier test's processes still winding down) once all landed after the builds had finished.
    duration = min(timed("build", tmp_path / f"reference{n}", 0, EXTRA) for n in range(2))
    # Kill times spread over the build and past it, in a random order: six drawn at random (seed 5)
    # all fell past three quarters of the reference run, and builds a quarter faster than it (this
    # machine's speed moves that much within minutes) then finished before every kill.
    fractions = [0.1, 0.3, 0.5, 0.7, 0.9, 1.1]
    random.Random(5).shuffle(fractions)
    interrupted = 0
    for attempt, fraction in enumerate(fractions):
        path = tmp_path / f"index{attempt}"
        code = killed_after(fraction * duration, "build", path, 0, EXTRA)
        if (path / "manifest.json").exists():
            assert_complete(path, EXTRA)  # finished before the kill
            continue
        assert code == -signal.SIGKILL
        interrupted += 1
        with pytest.raises(IndexError_, match="no manifest"):
            ProtectedIndex.open(path)
        assert timed("build", path, 0, EXTRA) > 0, "a rerun over the leftovers completes"
        assert_complete(path, EXTRA)
        assert not [p for p in path.iterdir() if p.name.startswith(".")], "leftovers are removed"
    assert interrupted, "some kill landed before the build finished"


def test_a_killed_add_leaves_the_previous_generation_and_a_rerun_completes(tmp_path: Path) -> None:
    path = tmp_path / "index"
    assert timed("build", path, 0, BASE) > 0
    reference = tmp_path / "reference"
    timed("build", reference, 0, BASE)
    duration = timed("add", reference, BASE, EXTRA)
    rng = random.Random(6)
    for _ in range(5):
        killed_after(rng.uniform(0.0, duration * 1.2), "add", path, BASE, EXTRA)
        index = ProtectedIndex.open(path)
        index.verify()
        assert len(index) in (BASE, BASE + EXTRA), "one generation or the next, never a part"
        if len(index) == BASE + EXTRA:
            break
        assert not fw_missed(index), "the previous generation still finds its copies"
    else:
        assert timed("add", path, BASE, EXTRA) > 0
    assert_complete(path, BASE + EXTRA)


def fw_missed(index: ProtectedIndex) -> list[int]:
    from nearcopy.filter import OutputFilter

    output_filter = OutputFilter(index)
    return [n for n in range(0, BASE, 37) if not output_filter.check(fw.copy_of(n)).flagged]


def dedup(source: Path, output: Path, *, limit: int | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*dedup_command(source, output)],
        capture_output=True, text=True, timeout=300, preexec_fn=None if limit is None else file_limit(limit),
    )  # fmt: skip


def dedup_command(source: Path, output: Path) -> list[str]:
    work = output.parent / "work"
    work.mkdir(exist_ok=True)
    return [sys.executable, "-m", "nearcopy", "dedup", str(source), "-o", str(output), "--threads", "1",
            "--work-dir", str(work)]  # fmt: skip


def test_a_killed_dedup_leaves_the_previous_output_and_a_rerun_completes(tmp_path: Path) -> None:
    old_source, source = tmp_path / "old.jsonl", tmp_path / "corpus.jsonl"
    assert worker("corpus", old_source, 0, 50).wait() == 0
    assert worker("corpus", source, 0, 3000).wait() == 0
    output, expected = tmp_path / "out.jsonl", tmp_path / "expected.jsonl"
    started = time.monotonic()
    assert dedup(source, expected).returncode == 0
    duration = time.monotonic() - started
    assert dedup(old_source, output).returncode == 0
    previous = output.read_bytes()
    assert len(previous) > 0 and expected.read_bytes() != previous
    rng = random.Random(7)
    interrupted = 0
    command = dedup_command(source, output)
    for _ in range(5):
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            proc.wait(timeout=rng.uniform(0.0, duration * 1.2))
        except subprocess.TimeoutExpired:
            proc.kill()
        proc.wait()
        assert output.read_bytes() in (previous, expected.read_bytes()), "the old output or the new"
        interrupted += output.read_bytes() == previous
    assert interrupted, "some kill landed before the dedup finished"
    assert dedup(source, output).returncode == 0
    assert output.read_bytes() == expected.read_bytes()
    # What the killed runs left (spill directories, temporary outputs), the rerun removed.
    assert not list((tmp_path / "work").iterdir())
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def file_limit(size: int) -> Callable[[], None]:
    """A ``preexec_fn`` that caps the size of any file the child writes (RLIMIT_FSIZE), as a full
    disk would; SIGXFSZ ignored, so a write past it fails with EFBIG instead of killing the child."""

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    return limit


def cli(*args: str, limit: int | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nearcopy", *args], capture_output=True, text=True, timeout=300,
        preexec_fn=None if limit is None else file_limit(limit),
    )  # fmt: skip


def test_a_full_disk_is_a_clear_error_and_leaves_no_corrupt_file(tmp_path: Path) -> None:
    corpus, more = tmp_path / "corpus.jsonl", tmp_path / "more.jsonl"
    assert worker("corpus", corpus, 0, BASE).wait() == 0
    assert worker("corpus", more, BASE, 2000).wait() == 0
    index = tmp_path / "index"
    full = cli("index", "build", str(corpus), "-o", str(index), limit=20_000)
    assert full.returncode == 2 and len(full.stderr.strip().splitlines()) == 1, full.stderr
    assert "too large" in full.stderr.lower(), full.stderr
    assert not index.exists(), "a failed build leaves nothing behind: no partial file, no lock"
    assert cli("index", "build", str(corpus), "-o", str(index)).returncode == 0
    before = sorted((p.name, p.read_bytes()) for p in index.iterdir() if p.name != LOCK_FILE)
    grown = cli("index", "add", str(index), str(more), limit=200_000)
    assert grown.returncode == 2 and "too large" in grown.stderr.lower(), grown.stderr
    after = sorted((p.name, p.read_bytes()) for p in index.iterdir() if p.name != LOCK_FILE)
    assert after == before, "the index is exactly as it was"
    ProtectedIndex.open(index).verify()
    output = tmp_path / "out.jsonl"
    output.write_text("previous output\n")
    failed = dedup(more, output, limit=50_000)
    assert failed.returncode == 2 and "too large" in failed.stderr.lower(), failed.stderr
    assert output.read_text() == "previous output\n"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_a_second_writer_waits_for_the_first_and_both_land(tmp_path: Path) -> None:
    path = tmp_path / "index"
    assert timed("build", path, 0, BASE) > 0
    first = worker("add", path, BASE, EXTRA)
    time.sleep(0.3)
    second = worker("add", path, BASE + EXTRA, 100)
    assert first.wait(timeout=300) == 0 and second.wait(timeout=300) == 0
    index = ProtectedIndex.open(path)
    index.verify()
    ids = sorted(int(m["id"][3:]) for m in index)
    assert ids == list(range(BASE + EXTRA + 100)), "neither writer lost the other's documents"


def test_a_writer_that_cannot_get_the_lock_fails_clearly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "index"
    assert timed("build", path, 0, 20) > 0
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, sys, time; f = open(sys.argv[1], 'a+b'); "
         "fcntl.flock(f, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(60)", str(path / LOCK_FILE)],
        stdout=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == b"locked"
        monkeypatch.setattr("nearcopy.index_store.LOCK_TIMEOUT", 0.3)
        with pytest.raises(IndexBusyError, match="being written by another process"):
            ProtectedIndex.open(path).add(fw.documents(20, 5))
    finally:
        holder.kill()
        holder.communicate()
    assert len(ProtectedIndex.open(path).add(fw.documents(20, 5))) == 25, "the lock dies with its holder"


def test_readers_in_other_processes_keep_working_while_writers_publish(tmp_path: Path) -> None:
    path = tmp_path / "index"
    assert timed("build", path, 0, BASE) > 0
    reader = worker("read", path, 8, capture=True)
    assert reader.stdout is not None and reader.stdout.readline().strip() == b"ready"
    for step in range(6):
        time.sleep(0.2)  # adds (new segments) and merges (segments replaced and removed)
        ProtectedIndex.open(path).add(fw.documents(BASE + 50 * step, 50), batch_bytes=fw.BATCH_BYTES)
        if step % 2:
            ProtectedIndex.open(path).merge()
    out, _ = reader.communicate(timeout=120)
    report = json.loads(out)
    assert reader.returncode == 0 and report["failures"] == 0, report
    assert report["checks"] > 20 and len(report["generations"]) > 2, report
    assert os.path.exists(path / "manifest.json")


def test_a_lock_file_removed_by_its_holder_is_not_a_lock_for_two(tmp_path: Path) -> None:
    """A failed build removes write.lock while holding it; a writer that was waiting on the removed
    file must then lock the file at the path, or a third writer would run beside it."""
    import fcntl
    import threading

    from nearcopy._files import exclusive_lock

    lock = tmp_path / LOCK_FILE
    held, second_holds, release_second = threading.Event(), threading.Event(), threading.Event()

    def second() -> None:
        held.wait()
        with exclusive_lock(lock, 30, "index"):
            second_holds.set()
            release_second.wait(30)

    waiter = threading.Thread(target=second)
    waiter.start()
    with exclusive_lock(lock, 30, "index"):
        held.set()
        time.sleep(0.3)  # the second writer is waiting on this very file
        lock.unlink()
    assert second_holds.wait(30), "the waiting writer got a lock"
    # A writer arriving now opens the file at the path, and finds it locked.
    with open(lock, "a+b") as third, pytest.raises(BlockingIOError):
        fcntl.flock(third.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    release_second.set()
    waiter.join(30)
