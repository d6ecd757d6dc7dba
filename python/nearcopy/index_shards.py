"""A sharded protected index: several index directories (shards) checked as one.

A sharded index is a directory whose ``manifest.json`` (format ``nearcopy-shards``) names its
shards by paths relative to it, and records the parameters and key check value they share::

    manifest.json      format, version, generation, params, keyed, key_check, shards: [{"path"}]
    shard-00000/       an ordinary index directory (its own manifest, segments, document tables)
    shard-00001/       ...

Each shard is a complete index that opens on its own. Opened as one, every shard's segments are
mapped into one native reader, so a fingerprint's document frequency (the boilerplate rule) is
counted over all shards, as in one index; a per-shard count would let an idiom held by 30 documents
in four shards pass as rare in each. Opening refuses, with :class:`ShardError` naming the shard, a
shard that is missing, damaged, itself sharded, listed twice, or built with other parameters or
another key: a skipped or mismatched shard would silently let its copies through.

The top-level manifest is published like an index's (written to a temporary file, synced, renamed),
under a writer lock of its own (``write.lock`` beside it); shards keep their own locks and
generations. A write that makes new shard directories (a sharded build, ``add``) lists them in
``.unpublished-shards`` first, so the next writer removes what a killed one left, and only that.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from nearcopy._files import exclusive_lock, write_atomically
from nearcopy._index_dir import remove_dead_directories, remove_directory
from nearcopy.index_store import (
    LOCK_FILE,
    LOCK_TIMEOUT,
    SHARDS_FORMAT,
    IndexBusyError,
    IndexError_,
    load_manifest,
    manifest_checksum,
    read_manifest,
)
from nearcopy.protected_documents import describe_manifest

SHARDS_VERSION = 1
# Shard directories a sharded build makes: shard-00000, shard-00001, ...
SHARD_NAME = "shard-{:05d}"
MAX_SHARDS = 4096
_PENDING = ".unpublished-shards"
# What shards must agree on for their fingerprints to be comparable.
_AGREED = ("params", "keyed", "key_check")

# A shard: its directory and its published manifest.
Shard = tuple[Path, dict[str, Any]]


class ShardError(IndexError_):
    """A shard of a sharded index is missing, damaged, listed twice, or was built with other
    parameters or another key than the others; the message names the shard."""


def shard_of(doc_id: str, shards: int) -> int:
    """The shard a document goes to: its id's BLAKE2b, as a number, modulo ``shards`` (stable across
    processes, machines and Python versions, unlike ``hash``)."""
    digest = hashlib.blake2b(doc_id.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "little") % shards


def is_sharded(manifest: dict[str, Any]) -> bool:
    return manifest.get("format") == SHARDS_FORMAT


def _relative_path(value: Any) -> bool:
    return (
        isinstance(value, str) and value not in ("", ".") and "\0" not in value
        and not PurePosixPath(value).is_absolute()
    )  # fmt: skip


def check_top(root: Path, top: dict[str, Any]) -> dict[str, Any]:
    """``top`` (the loaded ``manifest.json`` of a sharded index), once its version, checksum and
    shape are right."""
    if top.get("version") != SHARDS_VERSION:
        raise IndexError_(
            f"{root}: sharded index version {top.get('version')}, this nearcopy reads {SHARDS_VERSION}; "
            "assemble it again with `nearcopy index assemble`"
        )
    if top.get("checksum") != manifest_checksum(top):
        raise IndexError_(f"{root}: manifest.json does not match its checksum (damaged file)")
    shards, params = top.get("shards"), top.get("params")
    if not isinstance(shards, list) or not 1 <= len(shards) <= MAX_SHARDS:
        raise IndexError_(f"{root}: damaged manifest.json: shards must list 1 to {MAX_SHARDS} shards")
    if not all(isinstance(s, dict) and _relative_path(s.get("path")) for s in shards):
        raise IndexError_(f"{root}: damaged manifest.json: a shard is not named by a relative path")
    if not isinstance(params, dict) or not isinstance(top.get("generation"), int):
        raise IndexError_(f"{root}: damaged manifest.json: no params or generation")
    return top


def _agreement(manifest: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(manifest.get(field) for field in _AGREED)


def _differences(shard: dict[str, Any], reference: dict[str, Any]) -> str:
    if shard.get("keyed") != reference.get("keyed"):
        return "is keyed" if shard.get("keyed") else "is not keyed"
    if shard.get("key_check") != reference.get("key_check"):
        return "was built with another key"
    p, q = shard["params"], reference["params"]
    differ = ", ".join(f"{k}={p.get(k)}" for k in sorted(p.keys() | q.keys()) if p.get(k) != q.get(k))
    return f"was built with {differ}"


def read_shards(root: Path, top: dict[str, Any], reference: dict[str, Any] | None = None) -> list[Shard]:
    """Every shard ``top`` names, with its checked manifest. Raises :class:`ShardError` naming the
    first shard that is missing or damaged, is listed twice, or disagrees with ``reference`` (by
    default ``top``: what the shards agreed on when the sharded index was published)."""
    entries = top["shards"]
    reference = top if reference is None else reference
    shards: list[Shard] = []
    seen: dict[tuple[int, int], str] = {}
    for i, entry in enumerate(entries):
        where = f"{root}: shard {i} of {len(entries)} ({entry['path']})"
        shard_root = root / entry["path"]
        try:
            manifest = read_manifest(shard_root)
            identity = os.stat(shard_root)
        except OSError as err:
            raise ShardError(f"{where}: {err}") from None
        if (identity.st_dev, identity.st_ino) in seen:
            raise ShardError(f"{where}: the same directory as {seen[identity.st_dev, identity.st_ino]}")
        seen[identity.st_dev, identity.st_ino] = entry["path"]
        if _agreement(manifest) != _agreement(reference):
            others = "the sharded index's" if reference is top else "the first shard's"
            raise ShardError(f"{where}: {_differences(manifest, reference)}, unlike {others} (k, w, code_k, "
                             "code_w and key must be the same in every shard)")  # fmt: skip
        shards.append((shard_root, manifest))
    return shards


def new_top(generation: int, shards: list[Shard], paths: list[str]) -> dict[str, Any]:
    first = shards[0][1]
    agreed = {field: first.get(field) for field in _AGREED}
    return {"format": SHARDS_FORMAT, "version": SHARDS_VERSION, "generation": generation, **agreed,
            "shards": [{"path": p} for p in paths]}  # fmt: skip


def publish_top(root: Path, top: dict[str, Any]) -> dict[str, Any]:
    """Renames the new top-level manifest into place (with its checksum); forgets the shard
    directories made for it (now listed, so no longer leftovers)."""
    top = {**top, "checksum": manifest_checksum(top)}
    write_atomically(root / "manifest.json", json.dumps(top, indent=2).encode("utf-8"))
    (root / _PENDING).unlink(missing_ok=True)
    return top


@contextlib.contextmanager
def writing_top(root: Path) -> Iterator[dict[str, Any] | None]:
    """The writer lock of the sharded index at ``root``, then the removal of what a killed writer
    left (shard directories it made but never published, temporary manifests); yields the published
    top-level manifest, checked, or None when there is none yet. A plain index there is refused."""
    with exclusive_lock(root / LOCK_FILE, LOCK_TIMEOUT, str(root), IndexBusyError):
        published = None
        if (root / "manifest.json").exists():
            raw = load_manifest(root)
            if not is_sharded(raw):
                raise IndexError_(f"{root}: holds an index, not a sharded index; a sharded index "
                                  "goes to a directory of its own")  # fmt: skip
            published = check_top(root, raw)
        _remove_unpublished(root, {s["path"] for s in published["shards"]} if published else set())
        try:
            yield published
        except BaseException:
            _remove_unpublished(root, {s["path"] for s in published["shards"]} if published else set())
            if published is None:
                (root / LOCK_FILE).unlink(missing_ok=True)
            raise


def reserve(root: Path, names: list[str]) -> None:
    """Notes ``names`` as shard directories being made (removed by the next writer unless published),
    then makes them. One that exists already is refused before anything is noted: the clean-up
    must never remove a directory this writer did not make."""
    for name in names:
        if (root / name).exists():
            raise FileExistsError(f"{root / name}: exists; a sharded build makes its shard directories")
    write_atomically(root / _PENDING, json.dumps(names).encode("utf-8"))
    for name in names:
        (root / name).mkdir()


def _remove_unpublished(root: Path, listed: set[str]) -> None:
    for stale in root.glob(".manifest.json.*.tmp"):
        stale.unlink(missing_ok=True)
    remove_dead_directories(root)
    try:
        names = json.loads((root / _PENDING).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return
    except (OSError, ValueError):
        names = []
    for name in names if isinstance(names, list) else []:
        # Only names this module wrote (plain shard names), never one the published manifest lists.
        if isinstance(name, str) and name.startswith("shard-") and "/" not in name and name not in listed:
            remove_directory(root, name)
    (root / _PENDING).unlink(missing_ok=True)


def next_shard_name(root: Path, top: dict[str, Any]) -> str:
    """A shard directory name not yet used in ``root``."""
    taken = {s["path"] for s in top["shards"]} | {p.name for p in root.glob("shard-*")}
    return next(SHARD_NAME.format(n) for n in range(len(taken) + 1) if SHARD_NAME.format(n) not in taken)


def assemble(root: Path, paths: Sequence[str | os.PathLike[str]]) -> dict[str, Any]:
    """Publishes a sharded index at ``root`` over the index directories ``paths`` (named relative to
    ``root``, so the whole tree can be moved together); a sharded index already there gets this
    list as its next generation. Refuses shards that disagree with the first one."""
    if not paths:
        raise ValueError("a sharded index needs at least one shard")
    if len(paths) > MAX_SHARDS:
        raise ValueError(f"a sharded index holds at most {MAX_SHARDS} shards, got {len(paths)}")
    created = not root.exists()
    root.mkdir(parents=True, exist_ok=True)
    try:
        with writing_top(root) as published:
            base = os.path.abspath(root)
            relative = [Path(os.path.relpath(os.path.abspath(p), base)).as_posix() for p in paths]
            draft = {"shards": [{"path": p} for p in relative]}
            try:
                first = read_manifest(root / relative[0])
            except IndexError_ as err:
                raise ShardError(f"{root}: shard 0 of {len(paths)} ({relative[0]}): {err}") from None
            shards = read_shards(root, draft, reference=first)
            generation = 1 if published is None else int(published["generation"]) + 1
            return publish_top(root, new_top(generation, shards, relative))
    except BaseException:
        with contextlib.suppress(OSError):
            if created:
                root.rmdir()
        raise


def describe_sharded(root: Path, top: dict[str, Any], shards: list[Shard]) -> dict[str, Any]:
    """What ``ProtectedIndex.info`` says of a sharded index: the totals over its shards (as one
    index's figures), and each shard's own in ``shards``."""
    parts = [describe_manifest(shard_root, manifest) for shard_root, manifest in shards]
    summed = ("documents", "segments", "fingerprints", "tokens", "bytes")
    totals = {field: sum(int(p[field]) for p in parts) for field in summed}
    contents: Counter[str] | None = Counter()
    for part in parts:
        if part["contents"] is None or contents is None:
            contents = None
        else:
            contents.update(part["contents"])
    allowlists = ("allowlist_documents", "generated_helpers", "allowlist_segments")
    return {
        "path": str(root), "generation": top["generation"], **totals,
        "bytes_per_token": totals["bytes"] / totals["tokens"] if totals["tokens"] else 0.0,
        **top["params"], "keyed": bool(top.get("keyed")),
        **{field: sum(int(p[field]) for p in parts) for field in allowlists},
        "contents": None if contents is None else dict(contents),
        "shards": [{"path": entry["path"], **{k: part[k] for k in ("generation", *summed)}}
                   for entry, part in zip(top["shards"], parts)],
    }  # fmt: skip


def manifest_files(root: Path) -> list[Path]:
    """The manifests a reader of the index at ``root`` depends on: its own, and for a sharded index
    each shard's (a service watching them reloads when any is published)."""
    files = [root / "manifest.json"]
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        top = load_manifest(root)
        if is_sharded(top):
            files += [root / entry["path"] / "manifest.json" for entry in top["shards"]]
    return files
