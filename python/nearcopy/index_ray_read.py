"""The Ray build's reading, when its documents are files (:class:`nearcopy.input_blocks.InputFiles`,
as ``nearcopy index build --engine ray`` gives them): read in Ray tasks, so that the driver parses
no document.

Each block of the input (:func:`nearcopy.input_blocks.blocks`: whole files, a range of a large JSONL
file cut at a line end, its first line's number counted by tasks beforehand, or a run of row groups
of a large Parquet file) is read by a task that sends each of its documents to its shard
(:func:`nearcopy.index_shards.shard_of`) and returns, as Ray objects, each shard's documents of the
block, and to the driver a summary: the running total of their text's length, per shard, and the
files it skipped. The driver takes the summaries in block order and cuts each shard's batches where
the local build cuts them (the first document at which the shard's text since its last batch reaches
:func:`nearcopy.shard_writer.shard_batch_bytes`, found by bisection in the running totals); a batch
is then a list of slices of blocks' objects, which the segment task fetches and writes. So the
documents, their order and every batch are the local build's, and so are the files.

Plain Ray tasks, not Ray Data (``read_json``, ``read_parquet``, ``read_binary_files``): Ray Data
reads records into Arrow tables of one schema (a field missing from a record comes back as null,
a field whose type differs between records does not come back as it was, so the document tables
would differ), does not say which line of which file a bad record is on, and orders its blocks
only when asked, by a setting of the whole pipeline. Here
a block's task raises the local reading's own error (``file:line: invalid JSON (...)``), and the
driver, which takes the blocks in order, raises the first one in input order: the build fails with
the error the local build gives, and nothing is published.

The driver holds the summaries of the blocks being read (8 bytes a document) and the object
references of the batches being gathered; the documents themselves are in the object store, at
most ``reads`` blocks being read, the batches being gathered (about one batch over all shards) and
the batches being written.
"""

from __future__ import annotations

import bisect
from array import array
from collections import deque
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from nearcopy.index_ray import _Cluster
from nearcopy.index_shards import shard_of
from nearcopy.index_writer import HowToWrite, write_segment
from nearcopy.input_blocks import Block, InputFiles, blocks, count_lines, no_documents_error, read_block
from nearcopy.inputs import InputError, LoadReport
from nearcopy.protected_documents import Document, as_document
from nearcopy.shard_writer import shard_batch_bytes

# The generation a build writes its batches as (a new index's first).
_FIRST = 1
# A piece of a batch: the object holding one block's documents of a shard, and the slice taken.
Piece = tuple[Any, int, int]


def _read_task(block: Block, inputs: InputFiles, shards: int) -> tuple[Any, ...]:
    """The Ray task reading one block: its summary (the running total of text length of each shard's
    documents, and the files skipped), then each shard's documents, in order."""
    report = LoadReport()
    parts: list[list[Document]] = [[] for _ in range(shards)]
    totals = [array("q") for _ in range(shards)]
    for record in read_block(block, inputs, report):
        document = as_document(record)
        n = shard_of(document.id, shards) if shards > 1 else 0
        parts[n].append(document)
        running = totals[n]
        running.append((running[-1] if running else 0) + len(document.text))
    return ((totals, report.skipped_binary, report.skipped_large), *parts)


def _pieces_segment_task(
    root: str, params: dict[str, int], key: bytes | None, position: int, first_doc: int,
    pieces: list[Piece], with_helpers: bool,
) -> tuple[dict[str, Any], dict[str, str] | None]:  # fmt: skip
    """The Ray task writing one batch of one shard, gathered from ``pieces``, as its segment
    ``position``: its manifest entry and the transpiler helpers found in it."""
    import ray

    docs = [doc for ref, start, end in pieces for doc in ray.get(ref)[start:end]]
    helpers: dict[str, str] | None = {} if with_helpers else None
    entry = write_segment(Path(root), params, key, 1, (_FIRST, position), first_doc, docs, helpers)
    return entry, helpers


class _Shard:
    """One shard's batch being gathered (the pieces, the text they hold) and its segments' futures."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.pieces: list[Piece] = []
        self.held = 0
        self.first_doc = 0
        self.gathered = 0
        self.segments: list[Any] = []

    def take(self, ref: Any, running: array[int], budget: int, send: Any) -> None:
        """Adds a block's documents of this shard (``running``: their text's running total), and
        sends every batch that reaches ``budget``, as the local build cuts them."""
        start, base = 0, 0
        while True:
            # The first document after ``start`` at which the batch reaches the budget.
            end = bisect.bisect_left(running, base + budget - self.held, lo=start)
            if end == len(running):
                break
            self.pieces.append((ref, start, end + 1))
            self.gathered += end + 1 - start
            send(self)
            start, base = end + 1, running[end]
        if start < len(running):
            self.pieces.append((ref, start, len(running)))
            self.gathered += len(running) - start
            self.held += running[-1] - base

    def sent(self) -> list[Piece]:
        pieces, self.pieces = self.pieces, []
        self.first_doc += self.gathered
        self.gathered = self.held = 0
        return pieces


def _counted(cluster: _Cluster, inputs: InputFiles, lookahead: int) -> Iterator[Block]:
    """The blocks of ``inputs``, in order, each range's first line known: the newlines of every
    range are counted by tasks submitted ``lookahead`` blocks ahead, and a range's first line is
    1 plus those of the ranges of its file before it."""
    counter = cluster.ray.remote(num_cpus=1)(count_lines)
    planned: deque[tuple[Block, Any]] = deque()
    line = 1

    def ready() -> Block:
        nonlocal line
        block, counted = planned.popleft()
        first = line if block.first_line is None else block.first_line
        if counted is not None:
            # The file's next range starts that many lines on (a file's first range, at line 1).
            line = first + cluster.get([counted])[0]
        return replace(block, first_line=first)

    try:
        for block in blocks(inputs):
            ranged = block.path and not block.parquet  # (a Parquet block's first row is known)
            counted = counter.remote(block.path, block.start, block.end) if ranged else None
            planned.append((block, counted))
            while len(planned) > lookahead:
                yield ready()
    except InputError as err:  # a source found missing: the blocks before it come first
        while planned:
            yield ready()
        raise _SourceError(err) from None
    while planned:
        yield ready()


class _SourceError(Exception):
    """A source found missing while the blocks before it are still being read: raised once they
    are, as the local reading reads them before it finds that out (a bad record in them is then
    the error)."""

    def __init__(self, error: InputError) -> None:
        super().__init__(str(error))
        self.error = error


def write_from_files(
    cluster: _Cluster, roots: list[Path], key: bytes | None, inputs: InputFiles,
    allowlist: list[Document], how: HowToWrite, params: dict[str, int],
) -> list[dict[str, Any]]:  # fmt: skip
    """Every shard's segments and allowlists written by tasks, the documents read by tasks; the
    manifests to publish, in order. On failure, no task is left running."""
    ray = cluster.ray
    try:
        reader = ray.remote(num_cpus=1)(_read_task)
        writer = ray.remote(num_cpus=1)(_pieces_segment_task)
        shards = [_Shard(root) for root in roots]
        budget = shard_batch_bytes(how[1], len(roots))
        shipped = ray.put(inputs)
        reads: deque[list[Any]] = deque()
        documents = 0

        def send(shard: _Shard) -> None:
            first_doc, position = shard.first_doc, len(shard.segments)
            pieces = shard.sent()
            ref = cluster.submit(writer, str(shard.root), params, key, position, first_doc, pieces, how[2])
            shard.segments.append(ref)

        def take_next() -> None:
            # In block order: the first failing block's error is the one the local build raises.
            nonlocal documents
            refs = reads.popleft()
            ((totals, binary, large),) = cluster.get([refs[0]])
            inputs.report.skipped_binary += binary
            inputs.report.skipped_large += large
            for shard, ref, running in zip(shards, refs[1:], totals):
                documents += len(running)
                if running:
                    shard.take(ref, running, budget, send)

        try:
            for block in _counted(cluster, inputs, cluster.limit):
                reads.append(reader.options(num_returns=1 + len(roots)).remote(block, shipped, len(roots)))
                while len(reads) > cluster.limit // 2 + 1:
                    take_next()
        except _SourceError as missing:
            while reads:
                take_next()
            raise missing.error from None
        while reads:
            take_next()
        if documents == 0 and not inputs.allow_empty:
            raise no_documents_error(inputs.sources)
        for shard in shards:
            if shard.pieces:
                send(shard)
        return cluster.finish_shards(shards, params, key, allowlist, how)
    except BaseException:
        cluster.settle()
        raise
