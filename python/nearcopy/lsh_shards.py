"""Scale-out for the LSH index: building one as Ray tasks, and querying a set of indexes as one.

``build_with_ray`` signs each input file in a Ray task of its own (with each document's set size, for
a containment index), which writes its documents as
segments into a directory of the build's own in the index directory (workers must see it: one
machine, or a shared filesystem) and returns their names; the driver, holding the index's writer
lock all along, then moves them into place and publishes one manifest listing every segment, so
readers see no index or the whole build. When a task fails, the driver waits for the others
before it removes what they wrote; a task of a killed driver that runs on writes into a directory
that the next writer removes, never under a name the next build writes. Keys are
checked for repeats within each task's file, not across files.

``LSHShards`` reads several index directories (shards built apart, on other machines, by other
jobs) as one: each query goes to every shard and the results are merged, the most similar first.
Ray is imported only by ``build_with_ray``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from nearcopy import _core
from nearcopy._index_dir import move_into_place, staged
from nearcopy.lsh_containment import is_containment
from nearcopy.lsh_corpus import create_for_documents, signed_documents
from nearcopy.lsh_index import SEGMENT_DOCS, LSHIndex
from nearcopy.lsh_results import Neighbors, NeighborsBatch
from nearcopy.lsh_segments import open_reader, reader_params, refuse_duplicates
from nearcopy.lsh_store import publish, read_manifest, writing
from nearcopy.neardup.ray_engine import RaySigner, check_reachable, settle
from nearcopy.neardup.stages import Params


def _sign_file(
    path: str, root: str, prefix: str, params: Params, manifest: dict[str, Any], reading: dict[str, Any]
) -> list[dict[str, Any]]:
    """The Ray task: the documents of one input file, signed, written as segments ``prefix-NN``;
    their manifest entries (unpublished until the driver lists them)."""
    entries: list[dict[str, Any]] = []
    ids: list[str] = []
    sigs: list[npt.NDArray[Any]] = []
    hashes: list[npt.NDArray[np.uint64]] = []
    sizes: list[npt.NDArray[np.uint32]] = []
    with_hashes = "content_hashes" in manifest.get("columns", [])
    with_sizes = is_containment(manifest)

    def write() -> None:
        if not ids:
            return
        name = f"{prefix}-{len(entries):02d}.ncl"
        documents, size = _core.lsh_write_segment(
            str(Path(root) / name), np.concatenate(sigs), list(ids), *reader_params(manifest),
            content_hashes=np.concatenate(hashes) if with_hashes else None,
            set_sizes=np.concatenate(sizes) if with_sizes else None, num_threads=1,
        )  # fmt: skip
        entries.append(
            {"file": name, "documents": documents, "removed": 0, "tombstones": None, "bytes": size}
        )
        ids.clear()
        sigs.clear()
        hashes.clear()
        sizes.clear()

    seen: set[str] = set()
    allow_duplicates = reading.pop("allow_duplicate_ids")
    for batch in signed_documents([path], params, num_threads=1, with_sizes=with_sizes, **reading):
        if not allow_duplicates:
            repeated = next((i for i in batch.ids if i in seen), None)
            if repeated is not None or len(set(batch.ids)) < len(batch.ids):
                raise ValueError(f"{path}: id {repeated or batch.ids[0]!r} names two documents")
            seen.update(batch.ids)
        ids.extend(batch.ids)
        sigs.append(batch.sigs)
        hashes.append(batch.hashes)
        if batch.sizes is not None:
            sizes.append(batch.sizes)
        if len(ids) >= SEGMENT_DOCS:
            write()
    write()
    return entries


def build_with_ray(
    inputs: Sequence[str | os.PathLike[str]],
    path: str | os.PathLike[str],
    params: Params,
    *,
    store: str = "8bit",
    ray_address: str | None = None,
    text_field: str = "text",
    id_field: str = "id",
    language_field: str | None = "language",
    skip_bad: bool = False,
    allow_duplicate_ids: bool = False,
    containment: bool = False,
) -> LSHIndex:
    """A new index at ``path`` of the documents of ``inputs`` (JSONL or Parquet files,
    directories or globs), each file signed and written by a Ray task; the same signatures, keys
    and query results as ``nearcopy lsh build``. ``ray_address``: the cluster to join (else the
    runtime already initialized in this process, else a local one started for the build).
    ``containment``: an index that also answers containment queries, as
    ``LSHIndex.create(containment=True)`` makes it."""
    from nearcopy.neardup import formats

    root = Path(path)
    index = create_for_documents(root, params, store=store, containment=containment)
    files = [str(p) for p, _ in formats.expand([os.fspath(i) for i in inputs])]
    reading = {"text_field": text_field, "id_field": id_field, "language_field": language_field,
               "skip_bad": skip_bad, "allow_duplicate_ids": allow_duplicate_ids}  # fmt: skip
    if ray_address is not None:
        check_reachable(ray_address)
    with RaySigner(params, ray_address) as signer, writing(root):
        ray = signer.ray
        manifest = read_manifest(root)
        generation = manifest["generation"] + 1
        task = ray.remote(num_cpus=1)(_sign_file)
        with staged([root]) as (staging,):
            into = str(staging.resolve())
            pending = [
                task.remote(file, into, f"lsh-{generation:06d}-{n:05d}", params, manifest, reading)
                for n, file in enumerate(files)
            ]
            try:
                segments = [entry for entries in ray.get(pending) for entry in entries]
            except BaseException:
                settle(ray, pending)
                raise
            move_into_place(staging, (entry["file"] for entry in segments))
        manifest = {**manifest, "generation": generation, "segments": segments}
        if not allow_duplicate_ids:
            _refuse_duplicates_across(root, manifest)
        publish(root, manifest)
    index.refresh()
    return index


def _refuse_duplicates_across(root: Path, manifest: dict[str, Any]) -> None:
    """Raises DuplicateKeyError if two files' segments share a key (each task checked its own)."""

    segments = manifest["segments"]
    for i in range(1, len(segments)):
        earlier = open_reader(root, {**manifest, "segments": segments[:i]})
        later = open_reader(root, {**manifest, "segments": [segments[i]]})
        keys = later.keys(0, np.arange(segments[i]["documents"], dtype=np.uint32))
        refuse_duplicates(keys, earlier)


class LSHShards:
    """Several LSH indexes (shards) queried as one: the same scheme, ``num_perm``, seed and key
    type; each keeps its own bands and verification. A key may be in several shards."""

    def __init__(self, paths: Sequence[str | os.PathLike[str]]) -> None:
        if not paths:
            raise ValueError("LSHShards needs at least one index")
        self.shards = [LSHIndex.open(p) for p in paths]
        first = self.shards[0].params
        for shard in self.shards[1:]:
            p = shard.params
            differ = [k for k in ("num_perm", "scheme", "seed", "key_type") if p[k] != first[k]]
            if differ:
                raise ValueError(f"{shard.path}: another {', '.join(differ)} than {self.shards[0].path}")

    def __len__(self) -> int:
        return sum(len(s) for s in self.shards)

    def refresh(self) -> bool:
        """Picks up what was published to any shard; True if one changed."""
        return any([s.refresh() for s in self.shards])

    def contains(self, keys: Any) -> npt.NDArray[np.bool_]:
        found = self.shards[0].contains(keys)
        for shard in self.shards[1:]:
            found |= shard.contains(keys)
        return found

    def __contains__(self, key: object) -> bool:
        return any(key in s for s in self.shards)

    def info(self) -> dict[str, Any]:
        shards = [s.info() for s in self.shards]
        return {"shards": shards, "documents": sum(s["documents"] for s in shards),
                "bytes": sum(s["bytes"] for s in shards)}  # fmt: skip

    def query(
        self, signatures: npt.ArrayLike, *, threshold: float | None = None, top_k: int | None = None,
        verify: bool = True, num_threads: int | None = None,
    ) -> Any:  # fmt: skip
        """:meth:`LSHIndex.query` over every shard: each query's results merged, the most similar
        first (ties: the earlier shard), at most ``top_k``."""
        parts = [
            s.query(signatures, threshold=threshold, top_k=top_k, verify=verify, num_threads=num_threads)
            for s in self.shards
        ]
        return self._combined(parts, top_k)

    def query_containment(
        self, signatures: npt.ArrayLike, sizes: npt.ArrayLike, *, threshold: float | None = None,
        top_k: int | None = None, verify: bool = True, boundary_recall: float = 0.5,
        num_threads: int | None = None,
    ) -> Any:  # fmt: skip
        """:meth:`LSHIndex.query_containment` over every shard (each created with
        ``containment=True``, else :class:`ContainmentUnsupportedError`): each query's results
        merged, the most contained first (ties: the earlier shard), at most ``top_k``."""
        parts = [
            s.query_containment(
                signatures,
                sizes,
                threshold=threshold,
                top_k=top_k,
                verify=verify,
                boundary_recall=boundary_recall,
                num_threads=num_threads,
            )
            for s in self.shards
        ]
        return self._combined(parts, top_k)

    def _combined(self, parts: list[Any], top_k: int | None) -> Any:
        if isinstance(parts[0], Neighbors):
            return _merged(parts, top_k)
        merged = [_merged([p[q] for p in parts], top_k) for q in range(len(parts[0]))]
        keys: Any = [
            k for n in merged for k in (n.keys.tolist() if isinstance(n.keys, np.ndarray) else n.keys)
        ]
        if self.shards[0].params["key_type"] == "int":
            keys = np.array(keys, dtype=np.int64)
        bounds = np.cumsum([0] + [len(n) for n in merged]).astype(np.uint64)
        similarity = np.concatenate([n.similarity for n in merged]) if merged else np.empty(0)
        return NeighborsBatch(bounds, keys, similarity)


def _merged(parts: list[Neighbors], top_k: int | None) -> Neighbors:
    if len(parts) == 1:
        return parts[0]
    similarity = np.concatenate([p.similarity for p in parts])
    order = np.argsort(-similarity, kind="stable")[: top_k or None]
    if isinstance(parts[0].keys, np.ndarray):
        return Neighbors(np.concatenate([p.keys for p in parts])[order], similarity[order])
    keys = [k for p in parts for k in p.keys]
    return Neighbors([keys[i] for i in order.tolist()], similarity[order])
