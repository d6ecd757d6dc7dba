"""Child processes for the fault tests (`test_faults.py`): a writer to kill, a reader that keeps
checking while writers publish, and the synthetic corpus both agree on.

    python tests/fault_worker.py build INDEX FIRST COUNT     # a new index of documents FIRST..
    python tests/fault_worker.py add INDEX FIRST COUNT       # add them to an existing index
    python tests/fault_worker.py read INDEX SECONDS          # check copies until SECONDS pass
    python tests/fault_worker.py corpus FILE FIRST COUNT     # the documents as JSONL (for dedup)

Writers cut the corpus into small batches (many segments, then a merge), so a kill at a random
moment lands in any phase of the write. The reader prints one JSON line: checks, failures (a
copy not flagged, or an exception), and the generations it saw, after a line 'ready'.
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path
from typing import Any

WORDS = [f"w{i:03d}{chr(97 + i % 26)}" for i in range(600)]
BATCH_BYTES = 64 * 1024


def document(n: int) -> dict[str, Any]:
    """Document ``n``: 300 words drawn from a seeded generator, so any process rebuilds it exactly."""
    rng = random.Random(n)
    return {"id": f"doc{n}", "text": " ".join(rng.choice(WORDS) for _ in range(300)), "license": "test"}


def documents(first: int, count: int) -> list[dict[str, Any]]:
    return [document(n) for n in range(first, first + count)]


def copy_of(n: int) -> str:
    """An answer that copies 60 words of document ``n``."""
    words = document(n)["text"].split()
    return "Here is what I found: " + " ".join(words[100:160]) + " — hope that helps."


def read(index: str, seconds: float) -> None:
    from nearcopy.filter import OutputFilter
    from nearcopy.index import ProtectedIndex

    checks = failures = 0
    generations: set[int] = set()
    errors: list[str] = []
    held = OutputFilter(ProtectedIndex.open(index))  # opened once, kept across publishes
    print("ready", flush=True)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for output_filter in (held, OutputFilter(ProtectedIndex.open(index))):
            try:
                generations.add(output_filter.index.info()["generation"])
                verdict = output_filter.check(copy_of(checks % 20))
                ok = verdict.flagged and verdict.matches[0].doc_id == f"doc{checks % 20}"
            except Exception as err:  # any failure counts: a reader must never see a broken index
                ok = False
                errors.append(repr(err))
            checks += 1
            failures += not ok
    print(json.dumps({"checks": checks, "failures": failures, "generations": sorted(generations),
                      "errors": errors[:5]}))  # fmt: skip


def main(argv: list[str]) -> None:
    verb, target = argv[0], argv[1]
    if verb == "read":
        read(target, float(argv[2]))
        return
    first, count = int(argv[2]), int(argv[3])
    if verb == "corpus":
        # Every fourth document twice (a near-duplicate: one word changed), so dedup has work to do.
        lines = []
        for d in documents(first, count):
            lines.append(json.dumps(d))
            if int(d["id"][3:]) % 4 == 0:
                lines.append(json.dumps({**d, "id": d["id"] + "-copy", "text": "changed " + d["text"]}))
        Path(target).write_text("\n".join(lines) + "\n")
        return
    from nearcopy.index import ProtectedIndex

    if verb == "build":
        ProtectedIndex.build(documents(first, count), target, batch_bytes=BATCH_BYTES)
    elif verb == "add":
        ProtectedIndex.open(target).add(documents(first, count), batch_bytes=BATCH_BYTES)
    else:
        raise SystemExit(f"unknown verb {verb}")
    print("done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
