"""Writing a sharded index (``nearcopy.index_shards``): a build that partitions documents over new
shards, an add that publishes the new documents as one more shard, a merge of every shard.

Each of them holds the sharded index's writer lock from reading its manifest to publishing the next
one, and each shard's own lock while writing that shard, and publishes the top-level manifest last:
until then readers keep the previous generation, whatever has been written to the shards.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from nearcopy.index_shards import (
    SHARD_NAME,
    Shard,
    new_top,
    next_shard_name,
    publish_top,
    read_shards,
    reserve,
    shard_of,
    writing_top,
)
from nearcopy.index_store import IndexError_, new_index_directory, publish, read_manifest, writing
from nearcopy.index_writer import HowToWrite, SegmentWriter, build_into, finished, merged, new_manifest
from nearcopy.protected_documents import DocumentInput, as_document, as_written

Documents = Iterable[DocumentInput]


def shard_batch_bytes(batch_bytes: int, shards: int) -> int:
    """Characters of text a shard holds before it writes them as a segment, in a build of
    ``shards`` shards: an equal part of ``batch_bytes``. A rule of each shard's own documents (not of
    how the shards' documents interleave), so that every engine cuts the same segments."""
    return max(1, batch_bytes // shards)


def build_sharded(
    root: Path, key: bytes | None, documents: Documents, allowlist: Documents, how: HowToWrite,
    params: dict[str, int], shards: int,
) -> tuple[dict[str, Any], list[Shard]]:  # fmt: skip
    """A new sharded index at ``root`` of ``shards`` shards, each document in shard
    :func:`shard_of` its id. Documents are read once, as they come; each shard writes its batch
    when it reaches :func:`shard_batch_bytes`, so the batches of all shards together hold about
    ``batch_bytes`` of text (memory is that of one batch, whatever the number of shards), and a
    shard's segments depend on its own documents alone (what makes the Ray build, which writes each
    shard's batches in tasks of their own, byte-identical to this one). Every shard gets the
    allowlist (each shard is a whole index, usable alone), and the transpiler helpers of its own
    documents. Nothing is published until every shard is; a failed build leaves nothing."""
    with new_index_directory(root), writing_top(root) as published:
        if published is not None:
            raise FileExistsError(f"{root} already holds a sharded index; open it and add() to it")
        names = [SHARD_NAME.format(i) for i in range(shards)]
        reserve(root, names)
        allowed = [as_document(item) for item in allowlist]
        with contextlib.ExitStack() as locks:
            writers = []
            for name in names:
                locks.enter_context(writing(root / name))
                writers.append(SegmentWriter(root / name, new_manifest(params, key), key, allowed, how))
            budget = shard_batch_bytes(how[1], shards)
            for item in documents:
                document = as_written(item)
                writer = writers[shard_of(document.id, shards)]
                writer.add(document)
                if writer.buffered >= budget:
                    writer.flush()
            parts = [(root / n, finished(root / n, w.finish(), key)) for n, w in zip(names, writers)]
        return publish_top(root, new_top(1, parts, names)), parts


def add_shard(
    root: Path, key: bytes | None, documents: Documents, allowlist: Documents, how: HowToWrite
) -> tuple[dict[str, Any], list[Shard]]:
    """Writes ``documents`` as a new shard of the sharded index at ``root`` and publishes the
    sharded index with it: one rename, so readers see all the new documents or none (adding to
    every shard instead would publish shard by shard). The shard's ``allowlist`` applies to every
    shard's documents, as an index's allowlist applies to all of its segments."""
    with writing_top(root) as published:
        if published is None:
            raise IndexError_(f"{root}: not a sharded index (no manifest.json)")
        shards = read_shards(root, published)
        name = next_shard_name(root, published)
        reserve(root, [name])
        manifest = build_into(root / name, key, documents, allowlist, how, published["params"])
        top = {k: v for k, v in published.items() if k != "checksum"}
        top.update(generation=int(top["generation"]) + 1, shards=[*top["shards"], {"path": name}])
        return publish_top(root, top), [*shards, (root / name, manifest)]


def merge_shards(root: Path, key: bytes | None) -> tuple[dict[str, Any], list[Shard]]:
    """Merges each shard's segments into one (each shard a new generation of its own), then
    publishes the sharded index's next generation, so that a service watching it reloads. The
    shards stay shards: a check then searches one segment per shard."""
    with writing_top(root) as published:
        if published is None:
            raise IndexError_(f"{root}: not a sharded index (no manifest.json)")
        parts = []
        for shard_root, _ in read_shards(root, published):
            with writing(shard_root):
                manifest = read_manifest(shard_root)
                if len(manifest["segments"]) > 1:
                    manifest = publish(shard_root, merged(shard_root, manifest, key))
            parts.append((shard_root, manifest))
        top = {k: v for k, v in published.items() if k != "checksum"}
        top["generation"] = int(top["generation"]) + 1
        return publish_top(root, top), parts
