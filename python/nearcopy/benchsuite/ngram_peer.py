"""The output filter a team writes by hand, as the peer of nearcopy's: a Python set of hashed word
n-grams of the protected text, and an answer flagged when it shares one of them.

Lowercased `\\w+` words, 13-grams (the overlap length of the usual verbatim contamination checks),
Python's built-in `hash` of the joined n-gram: what one writes in ten lines without a library. It
stores every n-gram (no winnowing), normalizes nothing beyond case, and knows nothing about code, so
it is fast to write and its figures say what nearcopy's index and normalization buy over it.

It runs in its own process (spawned), so that the memory its set takes is that process's growth and
nothing else's.
"""

from __future__ import annotations

import multiprocessing
import queue
import re
import statistics
import time
from collections.abc import Iterable, Iterator
from typing import Any

NGRAM = 13
WORD = re.compile(r"\w+")


def ngram_hashes(text: str, n: int = NGRAM) -> Iterator[int]:
    words = WORD.findall(text.lower())
    for i in range(len(words) - n + 1):
        yield hash(" ".join(words[i : i + n]))


class PlainNgramFilter:
    def __init__(self, n: int = NGRAM) -> None:
        self.n = n
        self.grams: set[int] = set()
        self.words = 0

    def add(self, text: str) -> None:
        self.words += len(WORD.findall(text))
        self.grams.update(ngram_hashes(text, self.n))

    def shared(self, text: str) -> int:
        """How many of the answer's n-grams are protected (0: not flagged)."""
        return sum(1 for gram in ngram_hashes(text, self.n) if gram in self.grams)


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def flag_rates(flagged: list[bool]) -> dict[str, float]:
    """Answers alternate clean (even) and with a protected passage planted (odd)."""
    planted, clean = flagged[1::2], flagged[0::2]
    return {
        "flagged_planted": round(sum(planted) / max(1, len(planted)), 4),
        "flagged_clean": round(sum(clean) / max(1, len(clean)), 4),
    }


def latency_summary(latencies_ms: list[float]) -> dict[str, float]:
    ordered = sorted(latencies_ms)
    return {
        "check_p50_ms": round(statistics.median(ordered), 3),
        "check_p99_ms": round(ordered[int(0.99 * (len(ordered) - 1))], 3),
    }


def _measure(megabytes: int, answers: list[str], results: Any) -> None:
    from . import source_corpus  # in the child: the corpus is streamed from the cache, not pickled

    before = rss_mb()
    peer = PlainNgramFilter()
    started = time.perf_counter()
    text_mb = 0.0
    for doc in source_corpus.documents(megabytes):
        text_mb += len(doc["text"].encode("utf-8", "surrogatepass")) / 1e6
        peer.add(doc["text"])
    build_s = time.perf_counter() - started
    memory_mb = rss_mb() - before
    peer.shared(answers[0])
    latencies, flagged = [], []
    for answer in answers:
        started = time.perf_counter()
        flagged.append(peer.shared(answer) > 0)
        latencies.append(1000 * (time.perf_counter() - started))
    results.put({
        "ngram": peer.n, "build_s": round(build_s, 2), "build_mb_s": round(text_mb / build_s, 1),
        "ngrams": len(peer.grams), "memory_mb": round(memory_mb, 1),
        "bytes_per_word": round(memory_mb * 1e6 / max(1, peer.words), 1),
        **latency_summary(latencies), **flag_rates(flagged),
    })  # fmt: skip


def measure(megabytes: int, answers: Iterable[str]) -> dict[str, Any]:
    """Builds the plain filter over the same documents as the index (on one core: it is Python) and
    checks the same answers; returns its build MB/s, memory, latency and flag rates."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    child = context.Process(target=_measure, args=(megabytes, list(answers), results))
    child.start()
    while True:  # a child that dies puts nothing: don't wait for it forever
        try:
            found: dict[str, Any] = results.get(timeout=1.0)
            break
        except queue.Empty:
            if not child.is_alive():
                raise SystemExit(f"the plain n-gram filter failed (exit {child.exitcode})") from None
    child.join()
    return found
