"""Child processes for the LSH index's fault tests (`test_lsh_faults.py`): writers to kill, and a
reader that keeps querying while writers publish.

    python tests/lsh_worker.py insert INDEX FIRST COUNT BATCH   # documents FIRST.., BATCH per insert
    python tests/lsh_worker.py remove INDEX FIRST COUNT BATCH   # remove them again, BATCH at a time
    python tests/lsh_worker.py merge INDEX                      # merge every segment into one
    python tests/lsh_worker.py create INDEX                     # a new, empty index
    python tests/lsh_worker.py read INDEX SECONDS BATCH         # query and check until SECONDS pass

Document ``n`` has key ``n`` and a random signature seeded by ``n``, so every process rebuilds it
and a query of it finds exactly ``n`` (similarity 1). Writers insert and remove whole batches of
``BATCH`` consecutive documents, so a reader can check that it never sees part of one: of a
batch's keys, all are in the index or none is. The reader prints one JSON line after 'ready'.
"""

from __future__ import annotations

import json
import random
import sys
import time

import numpy as np

NUM_PERM = 32


def signatures(first: int, count: int) -> np.ndarray:
    """Slot ``j`` of document ``n``: SplitMix64 of ``n * NUM_PERM + j`` (vectorized: a million
    documents in a second)."""
    z = (np.arange(first * NUM_PERM, (first + count) * NUM_PERM, dtype=np.uint64) + np.uint64(1)) * np.uint64(
        0x9E3779B97F4A7C15
    )
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return (z ^ (z >> np.uint64(31))).reshape(count, NUM_PERM)


def create(index: str) -> None:
    from nearcopy.lsh_index import LSHIndex

    LSHIndex.create(index, num_perm=NUM_PERM, key_type="int", threshold=0.9)


def read(index: str, seconds: float, batch: int) -> None:
    from nearcopy.lsh_index import LSHIndex

    checks = failures = 0
    errors: list[str] = []
    generations: set[int] = set()
    held = LSHIndex.open(index)  # kept across publishes, refreshed now and then
    print("ready", flush=True)
    deadline = time.monotonic() + seconds
    rng = random.Random(0)
    while time.monotonic() < deadline:
        for fresh in (False, True):
            try:
                handle = LSHIndex.open(index) if fresh else held
                generations.add(handle.generation)
                # Batch 0 is never removed: each of its documents finds itself.
                n = rng.randrange(batch)
                found = handle.query(signatures(n, 1)[0])
                ok = list(found)[:1] == [(n, 1.0)]
                # Any other batch is wholly in the index or wholly out of it.
                first = rng.randrange(1, 200) * batch
                present = handle.contains(np.arange(first, first + batch))
                ok = ok and bool(present.all() or not present.any())
            except Exception as err:  # any failure counts: a reader must never see a broken index
                ok = False
                errors.append(repr(err))
            checks += 1
            failures += not ok
        if checks % 20 == 0:
            held.refresh()
    print(json.dumps({"checks": checks, "failures": failures, "generations": sorted(generations),
                      "errors": errors[:5]}))  # fmt: skip


def main(argv: list[str]) -> None:
    verb, index = argv[0], argv[1]
    if verb == "create":
        create(index)
        return
    if verb == "read":
        read(index, float(argv[2]), int(argv[3]))
        return
    from nearcopy.lsh_index import LSHIndex

    handle = LSHIndex.open(index)
    if verb == "merge":
        handle.merge()
    else:
        first, count, batch = int(argv[2]), int(argv[3]), int(argv[4])
        for start in range(first, first + count, batch):
            keys = np.arange(start, start + batch)
            if verb == "insert":
                handle.insert(keys, signatures(start, batch))
            elif verb == "remove":
                handle.remove(keys)
            else:
                raise SystemExit(f"unknown verb {verb}")
    print("done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
