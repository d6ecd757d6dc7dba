"""Threads and fork: the filter used from many Python threads gives the verdicts it gives from one,
and a child forked after the parent used the Rust worker pools (even while another parent thread
is using them at the moment of the fork) can sign, check and dedup without hanging.

Free-threaded CPython (3.13t) is not installed on the test machine, so these run with the GIL; the
matching itself runs without it (`check` and `check_batch` release it), which is where threads meet.
"""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import fault_worker as fw
import numpy as np
import pytest
from nearcopy import dedup_texts, minhash
from nearcopy.filter import OutputFilter, Verdict
from nearcopy.index import ProtectedIndex

THREADS = 8


@pytest.fixture(scope="module")
def output_filter(tmp_path_factory: pytest.TempPathFactory) -> OutputFilter:
    path = tmp_path_factory.mktemp("concurrency") / "index"
    return OutputFilter(ProtectedIndex.build(fw.documents(0, 300), path))


def outputs(count: int) -> list[str]:
    """Copies of indexed documents, mixed with text that is in no document."""
    stranger = fw.documents(10_000, 1)[0]["text"]
    return [fw.copy_of(n % 300) if n % 3 else f"{stranger[: 50 + n]} plain answer {n}" for n in range(count)]


def test_many_threads_give_the_single_threaded_verdicts(output_filter: OutputFilter) -> None:
    texts = outputs(1200)
    expected = [output_filter.check(t) for t in texts]
    assert sum(v.flagged for v in expected) == 800
    with ThreadPoolExecutor(THREADS) as pool:
        one_by_one = list(pool.map(output_filter.check, texts))
        # Batches on the Rust pool, from several threads at once.
        batches = list(pool.map(lambda i: output_filter.check_batch(texts[i : i + 100], num_threads=2),
                                range(0, len(texts), 100)))  # fmt: skip
        streamed = list(pool.map(lambda t: _streamed(output_filter, t), texts[:200]))
    assert one_by_one == expected
    assert [v for batch in batches for v in batch] == expected
    assert streamed == [_streamed(output_filter, t) for t in texts[:200]]


def _streamed(output_filter: OutputFilter, text: str) -> str:
    stream = output_filter.stream()
    shown = "".join(stream.feed(text[i : i + 7]) for i in range(0, len(text), 7))
    return shown + stream.close()


def _work(index_path: str) -> tuple[list[int], list[bool], int]:
    """What a child (and the parent, for comparison) computes: signatures, verdicts, clusters, each
    on two Rust threads."""
    texts = outputs(60)
    signatures = minhash(texts, num_threads=2)
    output_filter = OutputFilter(ProtectedIndex.open(index_path))
    verdicts: list[Verdict] = output_filter.check_batch(texts, num_threads=2)
    clusters = dedup_texts([*texts, *texts[:10]], num_threads=2)
    return [int(x) for x in np.asarray(signatures)[:, 0]], [v.flagged for v in verdicts], _clusters(clusters)


def _clusters(result: Any) -> int:
    return len(set(np.asarray(result.cluster).tolist()))


def _child(index_path: str, queue: Any) -> None:
    queue.put(_work(index_path))


def test_a_forked_child_uses_the_pools_after_the_parent_did(output_filter: OutputFilter) -> None:
    index_path = str(output_filter.index.path)
    expected = _work(index_path)  # the parent's pools now exist (threads running)
    context = multiprocessing.get_context("fork")
    stop = threading.Event()

    def busy() -> None:  # keeps the parent's pools (and their registry lock) in use during forks
        while not stop.is_set():
            minhash(outputs(30), num_threads=3)
            output_filter.check_batch(outputs(30), num_threads=2)

    spinner = threading.Thread(target=busy)
    spinner.start()
    try:
        for _ in range(12):
            queue = context.Queue()
            child = context.Process(target=_child, args=(index_path, queue))
            child.start()
            result = queue.get(timeout=120)  # a deadlocked child never answers
            child.join(timeout=60)
            assert child.exitcode == 0
            assert result == expected
    finally:
        stop.set()
        spinner.join()
