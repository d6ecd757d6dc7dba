"""The segments an LSH index's manifest lists: opened together as one reader, merged by tiers
(removed documents left out), and described. Shared by :class:`nearcopy.lsh_index.LSHIndex` and
the shard builders (``lsh_shards.py``); the manifest itself is published by ``lsh_store.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from nearcopy import _core
from nearcopy.lsh_results import Key, KeyList
from nearcopy.lsh_store import STORES, DuplicateKeyError, LSHIndexError

# Segments are merged by tiers: a tier is the segments of about the same size (within a factor of
# MERGE_FACTOR); when one holds MERGE_FACTOR segments they become one of the next tier. Each
# document is then rewritten about log_8(index / insert) times, and a query searches at most
# MERGE_FACTOR segments per tier.
MERGE_FACTOR = 8


def tier(documents: int) -> int:
    return int(np.log(max(documents, 1)) / np.log(MERGE_FACTOR))


def reader_params(manifest: dict[str, Any]) -> tuple[int, int, int, str, int, int, str]:
    p = manifest["params"]
    return (p["num_perm"], p["bands"], p["rows"], p["scheme"], p["seed"], STORES[p["store"]], p["key_type"])


def open_reader(root: Path, manifest: dict[str, Any]) -> Any:
    segments = manifest["segments"]
    try:
        return _core.LshReader(
            [str(root / s["file"]) for s in segments],
            [None if s["tombstones"] is None else str(root / s["tombstones"]) for s in segments],
            *reader_params(manifest),
        )
    except (ValueError, OSError) as err:  # damaged, foreign, or not what the manifest describes
        raise LSHIndexError(f"{root}: {err}") from None


def merge_segments(root: Path, manifest: dict[str, Any], which: list[int]) -> dict[str, Any]:
    """Writes one segment holding the live documents of segments ``which``; returns the manifest
    listing it in their place, for the caller to publish."""
    generation = manifest["generation"] + 1
    name = f"lsh-{generation:06d}-m{which[0]:04d}.ncl"
    documents, size = open_reader(root, manifest).merge(str(root / name), which)
    kept = [s for i, s in enumerate(manifest["segments"]) if i not in set(which)]
    merged = [{"file": name, "documents": documents, "removed": 0, "tombstones": None, "bytes": size}]
    return {**manifest, "generation": generation, "segments": kept + (merged if documents else [])}


def merged_tiers(root: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """Merges, while one is due, a tier that holds MERGE_FACTOR segments, or a segment more than
    half removed (compaction)."""
    while True:
        segments = manifest["segments"]
        tiers: dict[int, list[int]] = {}
        for i, s in enumerate(segments):
            tiers.setdefault(tier(s["documents"] - s["removed"]), []).append(i)
        due = next((tiers[t] for t in sorted(tiers) if len(tiers[t]) >= MERGE_FACTOR), None)
        due = due or [i for i, s in enumerate(segments) if 2 * s["removed"] > s["documents"]][:1] or None
        if due is None:
            return manifest
        manifest = merge_segments(root, manifest, due)


def describe_manifest(path: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    segments = manifest["segments"]
    documents = sum(int(s["documents"]) - int(s["removed"]) for s in segments)
    size = sum(int(s["bytes"]) for s in segments)
    return {
        "path": str(path), "generation": manifest["generation"], "documents": documents,
        "removed": sum(int(s["removed"]) for s in segments), "segments": len(segments), "bytes": size,
        "bytes_per_document": size / documents if documents else 0.0, **manifest["params"],
        "columns": list(manifest.get("columns", [])), "signing": manifest.get("signing"),
    }  # fmt: skip


def refuse_duplicates(keys: KeyList, reader: Any) -> None:
    """Raises DuplicateKeyError if ``keys`` repeat one or hold one that ``reader`` holds."""
    listed: list[Key] = keys.tolist() if isinstance(keys, np.ndarray) else list(keys)
    if len(set(listed)) != len(listed):
        seen: set[Key] = set()
        for key in listed:
            if key in seen:
                raise DuplicateKeyError(f"key {key!r} is given twice")
            seen.add(key)
    found, _, _ = reader.find(keys)
    if len(found):
        shown = ", ".join(repr(listed[int(i)]) for i in found[:3])
        raise DuplicateKeyError(f"already in the index: {shown}" + (" ..." if len(found) > 3 else ""))
