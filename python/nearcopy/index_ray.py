"""Building a protected index as Ray tasks (``ProtectedIndex.build(..., engine="ray")``,
``nearcopy index build --engine ray``; ``pip install 'nearcopy[ray]'``).

Input files (:class:`nearcopy.input_blocks.InputFiles`, as the CLI gives them) are read by tasks
too (:mod:`nearcopy.index_ray_read`); any other iterable of documents is read here, by the driver,
which sends each document to its shard (:func:`nearcopy.index_shards.shard_of`). Each shard cuts its
batches by the rule the local build uses (:func:`nearcopy.shard_writer.shard_batch_bytes`: a rule of
the shard's own documents), and each batch is normalized, winnowed and written as a segment by a
Ray task of its own, one thread each: the cluster supplies the parallelism. When every batch is
written, one task per shard writes its allowlist segments and merges its segments into one. Only
then does the driver, which has held every writer lock from the start, publish each shard's
manifest and, last, the sharded index's: readers see no index or the whole build. The files are
those of the local build, byte for byte (``tests/test_index_ray.py``): each is a function of its
shard's documents alone, and ``build_segment`` writes the same segment whatever its thread count.

Workers write into the index directory, so they must see it (one machine, or a shared
filesystem). A task that fails (a document the local build would refuse too) fails the build: the
driver lets the tasks in flight finish (at most two per CPU) and removes every file of the build, as a failed
local build does; a driver killed midway leaves only unpublished shards, which the next writer
removes (``.unpublished-shards``). Ray retries a task whose worker died; its files are rewritten
whole. Tasks write only into a directory of the build's own (``.ray-build-<random>``, in each
directory being built), whose files the driver moves into place before it publishes: a task of a
killed driver that is still running then writes nowhere the next build reads (the next writer
removes that directory; a file written by its name after that finds no directory). The driver
holds at most ``2 x CPUs`` batches in flight (in Ray's object store) besides the shards' batches
being gathered (one batch over all shards).

Ray is imported only here, and this module only when the Ray engine is asked for.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from nearcopy._index_dir import move_into_place, staged
from nearcopy.index_shards import SHARD_NAME, Shard, new_top, publish_top, reserve, shard_of, writing_top
from nearcopy.index_store import IndexError_, listed_files, new_index_directory, publish, writing
from nearcopy.index_writer import HowToWrite, SegmentWriter, merged, new_manifest, write_segment
from nearcopy.input_blocks import InputFiles
from nearcopy.neardup.ray_engine import check_reachable, connect, settle
from nearcopy.protected_documents import Document, as_document
from nearcopy.shard_writer import Documents, shard_batch_bytes

# The generation a build writes its batches as (a new index's first).
_FIRST = 1


def _segment_task(
    root: str, params: dict[str, int], key: bytes | None, position: int, first_doc: int,
    docs: list[Document], with_helpers: bool,
) -> tuple[dict[str, Any], dict[str, str] | None]:  # fmt: skip
    """The Ray task: one batch of one shard written as its segment ``position``; its manifest entry
    and the transpiler helpers found in it (None when they are kept as code)."""
    helpers: dict[str, str] | None = {} if with_helpers else None
    entry = write_segment(Path(root), params, key, 1, (_FIRST, position), first_doc, docs, helpers)
    return entry, helpers


def _finish_task(
    root: str, params: dict[str, int], key: bytes | None, allowlist: list[Document], how: HowToWrite,
    written: list[tuple[dict[str, Any], dict[str, str] | None]],
) -> dict[str, Any]:  # fmt: skip
    """The Ray task that completes one shard once its batches are written: its allowlist segment,
    the segment of its transpiler helpers (an empty segment if it got no document), its segments
    merged into one; returns the manifest for the driver to publish."""
    writer = SegmentWriter(Path(root), new_manifest(params, key), key, allowlist, (1, *how[1:]))
    for entry, helpers in written:  # in batch order: the helpers in the order a sequential build finds them
        writer.adopt([entry], helpers)
    manifest = writer.finish()
    return merged(Path(root), manifest, key) if len(manifest["segments"]) > 1 else manifest


class _Cluster:
    """The tasks of one build on a Ray cluster: submitted with a bound on those in flight, and all
    waited for when the build fails."""

    def __init__(self, ray: Any) -> None:
        self.ray = ray
        self.write = ray.remote(num_cpus=1)(_segment_task)
        self.finish = ray.remote(num_cpus=1)(_finish_task)
        self.limit = 2 * max(1, int(ray.cluster_resources().get("CPU", 1)))
        self.submitted: list[Any] = []
        self._in_flight: list[Any] = []

    def submit(self, task: Any, *args: Any) -> Any:
        while len(self._in_flight) >= self.limit:
            done, self._in_flight = self.ray.wait(self._in_flight, num_returns=1)
            self.get(done)  # a failed task fails the build now, not at the end
        ref = task.remote(*args)
        self.submitted.append(ref)
        self._in_flight.append(ref)
        return ref

    def get(self, refs: list[Any]) -> list[Any]:
        """The tasks' results; the first failure raised as the task raised it (the local build's
        error, on one line), a lost worker as an IndexError_."""
        errors = self.ray.exceptions
        try:
            return list(self.ray.get(refs))
        except errors.RayTaskError as err:
            cause = getattr(err, "cause", None)
            if isinstance(cause, Exception):
                raise cause from None
            raise IndexError_(f"a Ray task of the build failed: {_first_line(err)}") from None
        except errors.RayError as err:
            raise IndexError_(f"the Ray build lost a task: {_first_line(err)}") from None

    def finish_shards(
        self, shards: Iterable[Any], params: dict[str, int], key: bytes | None, allowlist: list[Document],
        how: HowToWrite,
    ) -> list[dict[str, Any]]:  # fmt: skip
        """Once each shard's segments (``shard.segments``, futures) are written, one task per shard
        writes its allowlist and merges its segments (``shard.root``); their manifests, in order."""
        allowed = self.ray.put(allowlist)
        finishing = []
        for shard in shards:
            written = self.get(shard.segments)
            finishing.append(self.submit(self.finish, str(shard.root), params, key, allowed, how, written))
        return self.get(finishing)

    def settle(self) -> None:
        """Waits until no task of the build runs (at most ``limit`` are in flight, a batch each)."""
        settle(self.ray, self.submitted)


def _first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0]


class _Batches:
    """The batches of one shard (or of a plain index) being gathered, each sent as a task when it
    reaches the shard's budget; the futures of its segments, in order."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.docs: list[Document] = []
        self.held = 0
        self.first_doc = 0
        self.segments: list[Any] = []

    def send(self, cluster: _Cluster, params: dict[str, int], key: bytes | None, how: HowToWrite) -> None:
        position, docs = len(self.segments), self.docs
        self.segments.append(
            cluster.submit(cluster.write, str(self.root), params, key, position, self.first_doc, docs, how[2])
        )
        self.first_doc += len(docs)
        self.docs, self.held = [], 0


def _write_all(
    cluster: _Cluster, roots: list[Path], key: bytes | None, documents: Iterable[Any],
    allowlist: list[Document], how: HowToWrite, params: dict[str, int],
) -> list[dict[str, Any]]:  # fmt: skip
    """Every shard's segments and allowlists written by tasks; the manifests to publish, in order.
    On failure, no task is left running (the caller's clean-up then removes what they wrote)."""
    try:
        shards = [_Batches(root) for root in roots]
        budget = shard_batch_bytes(how[1], len(roots))
        for item in documents:
            document = as_document(item)
            shard = shards[shard_of(document.id, len(roots)) if len(roots) > 1 else 0]
            shard.docs.append(document)
            shard.held += len(document.text)
            if shard.held >= budget:
                shard.send(cluster, params, key, how)
        for shard in shards:
            if shard.docs:
                shard.send(cluster, params, key, how)
        return cluster.finish_shards(shards, params, key, allowlist, how)
    except BaseException:
        cluster.settle()
        raise


def _written(
    cluster: _Cluster, roots: list[Path], key: bytes | None, documents: Documents,
    allowlist: list[Document], how: HowToWrite, params: dict[str, int],
) -> list[dict[str, Any]]:  # fmt: skip
    """Input files are read by tasks (:mod:`nearcopy.index_ray_read`), other documents here."""
    if isinstance(documents, InputFiles):
        from nearcopy.index_ray_read import write_from_files

        return write_from_files(cluster, roots, key, documents, allowlist, how, params)
    return _write_all(cluster, roots, key, documents, allowlist, how, params)


@contextlib.contextmanager
def _on_cluster(ray_address: str | None) -> Iterator[_Cluster]:
    if ray_address is not None:
        check_reachable(ray_address)
    ray, started = connect(ray_address)
    try:
        yield _Cluster(ray)
    finally:
        if started:
            ray.shutdown()


def build_with_ray(
    root: Path, key: bytes | None, documents: Documents, allowlist: Documents, how: HowToWrite,
    params: dict[str, int], shards: int | None, ray_address: str | None,
) -> tuple[dict[str, Any], list[Shard] | None]:  # fmt: skip
    """A new index at ``root``, as :func:`nearcopy.index_writer.build_into` (``shards`` None) or
    :func:`nearcopy.shard_writer.build_sharded` builds it, written by Ray tasks: its published
    manifest and, for a sharded index, its shards. ``ray_address``: the cluster to join (else the
    runtime already initialized in this process, else a local one of 2 CPUs started for the build)."""
    allowed = [as_document(item) for item in allowlist]
    with new_index_directory(root), _on_cluster(ray_address) as cluster:
        if shards is None:
            with writing(root):
                if (root / "manifest.json").exists():
                    raise FileExistsError(f"{root} already holds an index; open it and add() to it")
                with staged([root]) as (staging,):
                    (manifest,) = _written(cluster, [staging], key, documents, allowed, how, params)
                    move_into_place(staging, listed_files(manifest))
                return publish(root, manifest), None
        with writing_top(root) as published:
            if published is not None:
                raise FileExistsError(f"{root} already holds a sharded index; open it and add() to it")
            names = [SHARD_NAME.format(i) for i in range(shards)]
            reserve(root, names)
            with contextlib.ExitStack() as locks:
                for name in names:
                    locks.enter_context(writing(root / name))
                with staged([root / n for n in names]) as staging:
                    manifests = _written(cluster, staging, key, documents, allowed, how, params)
                    for directory, manifest in zip(staging, manifests):
                        move_into_place(directory, listed_files(manifest))
                parts = [(root / n, publish(root / n, m)) for n, m in zip(names, manifests)]
            return publish_top(root, new_top(1, parts, names)), parts
