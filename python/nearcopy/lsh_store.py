"""How an LSH index directory changes safely: its manifest, the writer lock, publishing.

The protected index's rules (``index_store.py``), for the LSH index's files: readers take no lock,
they read ``manifest.json`` (replaced by rename, so always whole) and map the segment files it lists,
which are never modified; removals are tombstone files of their own. A writer holds an exclusive
``flock`` on ``write.lock`` from reading the manifest to publishing the next one, and first removes
what a killed writer left (temporary files, data files no manifest lists). The manifest is JSON that
anyone may damage: it carries the checksum of its values (a flipped digit is refused), and every
value a reader uses is checked before it is used.
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable, TypeVar, cast

from nearcopy import _index_dir
from nearcopy._files import LockBusyError, exclusive_lock, write_atomically
from nearcopy._index_dir import MANIFEST as MANIFEST
from nearcopy._index_dir import load_manifest_json
from nearcopy.index_store import manifest_checksum
from nearcopy.lsh import optimal_bands
from nearcopy.minhash import SCHEMES, check_scheme

FORMAT = "nearcopy-lsh"
# 2: segments with per-block checksums (format 2) and a manifest with its checksum.
VERSION = 2
LOCK_FILE = "write.lock"
LOCK_TIMEOUT = 600.0  # seconds a writer waits for another one
STORES = {"full": 0, "8bit": 8, "16bit": 16}  # the verification store, as the segment header codes it
KEY_TYPES = ("str", "int")
COLUMNS = ("content_hashes", "shingle_sets", "set_sizes")
_DATA_FILES = ("lsh-*.ncl", "del-*.ncd")
# Temporary files of interrupted writes (Rust: `.NAME.PID.tmp`, Python: `.NAME.RANDOM.tmp`).
_TEMPORARIES = (".lsh-*.tmp", ".del-*.tmp", ".manifest.json.*.tmp")


class DuplicateKeyError(ValueError):
    """A key given to ``insert`` is already in the index (or given twice)."""


class MissingKeyError(ValueError):
    """A key given to ``remove`` is not in the index."""


class LSHIndexError(OSError):
    """The LSH index directory is missing, damaged, of another version, or not an LSH index."""


_Method = TypeVar("_Method", bound=Callable[..., Any])


def damage_is_index_error(method: _Method) -> _Method:
    """A segment found damaged while it is read (a block failing its checksum, ``OSError`` from the
    native reader) raises :class:`LSHIndexError`, as a damaged file found at open does."""

    @functools.wraps(method)
    def checked(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except LSHIndexError:
            raise
        except OSError as err:
            raise LSHIndexError(str(err)) from None

    return cast(_Method, checked)


class LSHIndexBusyError(LSHIndexError, LockBusyError):
    """Another process is writing to the index and did not finish within the wait."""


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63


def _plain_name(value: Any) -> bool:
    return isinstance(value, str) and value not in ("", ".", "..") and "/" not in value and "\0" not in value


def manifest_problem(manifest: dict[str, Any]) -> str | None:
    """What is wrong with ``manifest`` (of this format and version), or None."""
    if not _count(manifest.get("generation")):
        return "generation is not a count"
    params = manifest.get("params")
    if not isinstance(params, dict):
        return "params is not an object"
    if not all(_count(params.get(p)) and params[p] > 0 for p in ("num_perm", "bands", "rows")):
        return "num_perm, bands and rows must be positive counts"
    if params["bands"] * params["rows"] > params["num_perm"] or params["num_perm"] > 65536:
        return "bands x rows do not fit num_perm"
    if not _count(params.get("seed")) or params["seed"] >= 2**32:
        return "seed is not a 32-bit count"
    threshold = params.get("threshold")
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 < threshold <= 1:
        return "threshold must be a number in (0, 1]"
    if params.get("scheme") not in SCHEMES or params.get("store") not in STORES:
        return "unknown scheme or store"
    if params.get("key_type") not in KEY_TYPES:
        return "key_type must be 'str' or 'int'"
    columns = manifest.get("columns", [])
    if not isinstance(columns, list) or not all(c in COLUMNS for c in columns):
        return "unknown columns"
    if "set_sizes" in columns and params["rows"] != 1:
        return "a containment index (set_sizes) has single-slot bands"
    if not isinstance(manifest.get("signing"), (dict, type(None))):
        return "signing is not an object"
    segments = manifest.get("segments")
    if not isinstance(segments, list):
        return "segments is not a list"
    for i, segment in enumerate(segments):
        if not isinstance(segment, dict) or not _plain_name(segment.get("file")):
            return f"segment {i} names no file in the index directory"
        if segment.get("tombstones") is not None and not _plain_name(segment["tombstones"]):
            return f"segment {i} names no tombstone file in the index directory"
        if not all(_count(segment.get(c)) for c in ("documents", "removed", "bytes")):
            return f"segment {i} must hold the counts documents, removed and bytes"
        if segment["removed"] > segment["documents"] or (segment["removed"] > 0) != bool(
            segment["tombstones"]
        ):
            return f"segment {i}: removed documents and tombstones disagree"
    return None


def read_manifest(root: Path) -> dict[str, Any]:
    manifest = load_manifest_json(root, LSHIndexError, "a nearcopy LSH index")
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise LSHIndexError(f"{root}: {MANIFEST} is not a nearcopy LSH index manifest")
    if manifest.get("version") != VERSION:
        raise LSHIndexError(
            f"{root}: LSH index version {manifest.get('version')!r}, this nearcopy reads {VERSION}; "
            "rebuild it"
        )
    if manifest.get("checksum") != manifest_checksum(manifest):
        raise LSHIndexError(f"{root}: {MANIFEST} does not match its checksum (damaged file)")
    if problem := manifest_problem(manifest):
        raise LSHIndexError(f"{root}: damaged {MANIFEST}: {problem}")
    return manifest


@contextlib.contextmanager
def writing(root: Path, timeout: float | None = None) -> Iterator[None]:
    """The writer lock of the index at ``root`` (waiting up to ``timeout``, default
    :data:`LOCK_TIMEOUT`), then the removal of what a killed writer left."""
    with exclusive_lock(
        root / LOCK_FILE, LOCK_TIMEOUT if timeout is None else timeout, str(root), LSHIndexBusyError
    ):
        remove_unlisted(root, with_temporaries=True)
        _index_dir.remove_dead_directories(root)
        yield


def remove_unlisted(root: Path, *, with_temporaries: bool = False) -> None:
    """Removes data files the published manifest does not list (all when none is published), and
    with ``with_temporaries`` the temporary files of interrupted writes."""

    _index_dir.remove_unlisted(root, listed_files, _DATA_FILES, _TEMPORARIES if with_temporaries else ())


def listed_files(manifest: dict[str, Any]) -> Iterator[str | None]:
    """The data files ``manifest`` lists (None where a segment has no tombstones)."""
    for segment in manifest["segments"]:
        yield from (segment["file"], segment.get("tombstones"))


def publish(root: Path, manifest: dict[str, Any]) -> None:
    """Renames the new manifest into place, then removes the files it no longer lists (readers
    that mapped them keep their mappings; one opening just now retries with this manifest)."""
    manifest = {**manifest, "checksum": manifest_checksum(manifest)}
    write_atomically(root / MANIFEST, json.dumps(manifest, indent=2).encode("utf-8"))
    remove_unlisted(root)


def index_params(
    num_perm: int,
    scheme: str,
    seed: int,
    threshold: float,
    bands: int | None,
    rows: int | None,
    weights: tuple[float, float],
    store: str,
    key_type: str,
) -> dict[str, Any]:
    """The ``params`` a new index's manifest records, checked; ``bands`` x ``rows`` follow from the
    threshold (as ``dedup`` chooses them) unless both are given."""
    check_scheme(scheme)
    if store not in STORES:
        raise ValueError(f"store must be one of {', '.join(STORES)}, got {store!r}")
    if key_type not in KEY_TYPES:
        raise ValueError(f"key_type must be 'str' or 'int', got {key_type!r}")
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed must be in 0 .. 2^32 - 1, got {seed}")
    if (bands is None) != (rows is None):
        raise ValueError("give both bands and rows, or neither (they follow from the threshold)")
    if bands is None or rows is None:
        bands, rows = optimal_bands(min(threshold, 0.99), num_perm, *weights)
    if bands < 1 or rows < 1 or bands * rows > num_perm:
        raise ValueError(f"{bands} bands of {rows} rows do not fit num_perm = {num_perm}")
    return {"num_perm": num_perm, "scheme": scheme, "seed": seed, "threshold": threshold,
            "bands": bands, "rows": rows, "weights": list(weights), "store": store,
            "key_type": key_type}  # fmt: skip
