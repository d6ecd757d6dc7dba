"""The LSH index under faults, with real processes: readers in other processes while writers insert,
remove and merge; writers killed by SIGKILL during inserts and merges; damaged files.

The promises: a reader never fails and never sees part of a batch; a killed writer leaves the
previous generation readable and complete (every batch wholly in or out), and the next writer
removes its leftovers; a truncated, bit-flipped or foreign file is refused with an ``OSError``.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from pathlib import Path

import lsh_worker as lw
import numpy as np
import pytest
from nearcopy.index_store import manifest_checksum
from nearcopy.lsh_index import LSHIndex
from nearcopy.lsh_store import LSHIndexError

WORKER = str(Path(__file__).resolve().parent / "lsh_worker.py")
BATCH = 20


def worker(*args: object, capture: bool = False) -> subprocess.Popen[bytes]:
    out = subprocess.PIPE if capture else subprocess.DEVNULL
    return subprocess.Popen([sys.executable, WORKER, *map(str, args)], stdout=out)


def run(*args: object) -> float:
    started = time.monotonic()
    assert worker(*args).wait(timeout=300) == 0
    return time.monotonic() - started


def assert_whole(path: Path, batches: int) -> int:
    """The index verifies, batch 0 is whole and finds itself, and every batch is all in or all out;
    returns how many batches are in."""
    index = LSHIndex.open(path)
    index.verify()
    present = 0
    for b in range(batches):
        found = index.contains(np.arange(b * BATCH, (b + 1) * BATCH))
        assert found.all() or not found.any(), f"batch {b} is in part: {found.tolist()}"
        present += bool(found.all())
    assert all(list(index.query(lw.signatures(n, 1)[0]))[:1] == [(n, 1.0)] for n in range(0, BATCH, 7))
    assert len(index) == present * BATCH
    return present


def test_readers_in_other_processes_never_see_part_of_a_write(tmp_path: Path) -> None:
    path = tmp_path / "lsh"
    run("create", path)
    run("insert", path, 0, BATCH, BATCH)
    readers = [worker("read", path, 6, BATCH, capture=True) for _ in range(2)]
    for reader in readers:
        assert reader.stdout is not None and reader.stdout.readline().strip() == b"ready"
    started = time.monotonic()
    round_ = 0
    while time.monotonic() - started < 4:
        first = (1 + 40 * round_) * BATCH
        run("insert", path, first, 40 * BATCH, BATCH)  # 40 publishes, tiers merged on the way
        run("remove", path, first, 20 * BATCH, BATCH)  # tombstones
        run("merge", path)  # files the readers have mapped are replaced and removed
        round_ += 1
    for reader in readers:
        out, _ = reader.communicate(timeout=60)
        result = json.loads(out.decode().strip().splitlines()[-1])
        assert result["failures"] == 0, result
        assert result["checks"] > 50 and len(result["generations"]) > 3, result


def test_a_writer_killed_during_inserts_and_merges_leaves_a_whole_generation(tmp_path: Path) -> None:
    path, reference = tmp_path / "lsh", tmp_path / "reference"
    for target in (path, reference):
        run("create", target)
        run("insert", target, 0, BATCH, BATCH)
    batches = 120
    duration = run("insert", reference, BATCH, (batches - 1) * BATCH, BATCH)
    rng = random.Random(3)
    killed = 0
    for _ in range(6):
        start = assert_whole(path, batches)  # batches go in in order: 0 .. start - 1 are in
        if start == batches:
            break
        proc = worker("insert", path, start * BATCH, (batches - start) * BATCH, BATCH)
        try:
            proc.wait(timeout=rng.uniform(0.05, duration))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            killed += 1
    assert killed, "some kill landed before the inserts finished"
    present = assert_whole(path, batches)
    run("insert", path, present * BATCH, (batches - present) * BATCH, BATCH)
    assert assert_whole(path, batches) == batches
    assert not [p.name for p in path.iterdir() if p.name.endswith(".tmp")], "leftovers are removed"


def test_a_killed_merge_leaves_the_generation_before_it(tmp_path: Path) -> None:
    path, reference = tmp_path / "lsh", tmp_path / "reference"
    docs = 400_000
    for target in (path, reference):
        index = LSHIndex.create(target, num_perm=lw.NUM_PERM, key_type="int")
        for start in range(0, docs, docs // 4):
            index.insert(np.arange(start, start + docs // 4), lw.signatures(start, docs // 4))
        index.remove(np.arange(0, docs, 10))
    before = LSHIndex.open(path)
    old = (before.generation, len(before), before.info()["segments"])
    duration = run("merge", reference)
    rng = random.Random(4)
    killed = 0
    for _ in range(4):
        proc = worker("merge", path)
        try:
            proc.wait(timeout=rng.uniform(0.3, duration))  # past the interpreter's start-up
            break
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        index = LSHIndex.open(path)
        state = (index.generation, len(index), index.info()["segments"])
        # The generation before, or (a kill after the publish) the merged one: never a part.
        assert state in (old, (old[0] + 1, old[1], 1)), state
        probe = [n for n in rng.sample(range(docs), 50) if n % 10]
        assert all(list(index.query(lw.signatures(n, 1)[0])) == [(n, 1.0)] for n in probe)
        index.verify()
        if state != old:
            break
        killed += 1
    assert killed, "some kill landed before the merge published"
    run("merge", path)
    merged = LSHIndex.open(path)
    assert (len(merged), merged.info()["segments"]) == (old[1], 1)
    assert sorted(p.name for p in path.iterdir() if p.name != "write.lock")[-1] == "manifest.json"
    assert len(list(path.glob("*.ncl"))) == 1 and not list(path.glob(".*"))


def _segment_files(path: Path) -> list[str]:
    return [s["file"] for s in json.loads((path / "manifest.json").read_text())["segments"]]


def _index_with_two_segments(path: Path) -> LSHIndex:
    index = LSHIndex.create(path, num_perm=lw.NUM_PERM, key_type="int")
    index.insert(np.arange(100), lw.signatures(0, 100))
    index.insert(np.arange(100, 200), lw.signatures(100, 100))
    index.remove([5])
    return index


@pytest.mark.parametrize("damage", ["truncated", "header bit", "foreign"])
def test_a_damaged_segment_is_refused_on_open(tmp_path: Path, damage: str) -> None:
    _index_with_two_segments(tmp_path / "lsh")
    segment = tmp_path / "lsh" / _segment_files(tmp_path / "lsh")[0]
    data = segment.read_bytes()
    changed = {"truncated": data[:-16], "header bit": data[:30] + bytes([data[30] ^ 1]) + data[31:],
               "foreign": b"\x89PNG\r\n\x1a\n" + data[8:]}[damage]  # fmt: skip
    segment.write_bytes(changed)
    with pytest.raises(OSError, match="not a valid nearcopy LSH segment"):
        LSHIndex.open(tmp_path / "lsh")


def test_a_bit_flipped_segment_is_refused_by_verify_and_never_merged(tmp_path: Path) -> None:
    _index_with_two_segments(tmp_path / "lsh")
    segment = tmp_path / "lsh" / _segment_files(tmp_path / "lsh")[1]
    data = bytearray(segment.read_bytes())
    data[len(data) // 2] ^= 0x10
    segment.write_bytes(bytes(data))
    damaged = LSHIndex.open(tmp_path / "lsh")  # opening reads the header and block table only
    with pytest.raises(LSHIndexError, match="checksum"):
        damaged.verify()
    # warm() reads every block, as a server does before serving: it finds the damage too, and names
    # the segment; the intact index warms without error.
    with pytest.raises(LSHIndexError, match="block checksum mismatch") as found:
        damaged.warm()
    assert segment.name in str(found.value)
    _index_with_two_segments(tmp_path / "intact").warm(num_threads=1)
    # A query reading the damaged block is refused, never answered from it; so is every later one.
    with pytest.raises(LSHIndexError, match="does not match its checksum"):
        damaged.query(lw.signatures(0, 200), threshold=0.01, verify=False)
    with pytest.raises(LSHIndexError, match="does not match its checksum"):
        damaged.query(lw.signatures(0, 1)[0])
    manifest = (tmp_path / "lsh" / "manifest.json").read_bytes()
    with pytest.raises(LSHIndexError, match="checksum"):
        damaged.merge()
    assert (tmp_path / "lsh" / "manifest.json").read_bytes() == manifest, "nothing published"


def test_damaged_tombstones_and_manifests_are_refused(tmp_path: Path) -> None:
    _index_with_two_segments(tmp_path / "lsh")
    tombstones = next((tmp_path / "lsh").glob("del-*.ncd"))
    good = tombstones.read_bytes()
    tombstones.write_bytes(good[:-1] + bytes([good[-1] ^ 1]))
    with pytest.raises(OSError, match="tombstone"):
        LSHIndex.open(tmp_path / "lsh")
    tombstones.write_bytes(good)
    manifest_path = tmp_path / "lsh" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    # A changed value (a flipped digit) fails the manifest's checksum.
    manifest_path.write_text(json.dumps({**manifest, "generation": manifest["generation"] + 1}))
    with pytest.raises(LSHIndexError, match="does not match its checksum"):
        LSHIndex.open(tmp_path / "lsh")

    def signed(values: dict[str, object]) -> str:  # a writer's bug: bad values, a right checksum
        return json.dumps({**values, "checksum": manifest_checksum(values)})

    for key, value, message in [
        ("segments", [{"file": "../../etc/passwd", "documents": 1, "removed": 0, "tombstones": None,
                       "bytes": 1}], "names no file"),
        ("params", {**manifest["params"], "bands": 1000}, "do not fit"),
        ("version", 99, "version 99"),
        ("format", "other", "not a nearcopy LSH index manifest"),
    ]:  # fmt: skip
        manifest_path.write_text(signed({**manifest, key: value}))
        with pytest.raises(LSHIndexError, match=message):
            LSHIndex.open(tmp_path / "lsh")
    manifest_path.write_text(signed({**manifest, "params": {**manifest["params"], "rows": 1}}))
    with pytest.raises(LSHIndexError, match="other parameters"):
        LSHIndex.open(tmp_path / "lsh")
