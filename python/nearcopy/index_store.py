"""How an index directory changes safely: the manifest, the writer lock, publishing, the key check.

Readers take no lock: they read ``manifest.json`` (replaced by rename, so always whole) and map the
files it lists, which are never modified. Writers hold an exclusive ``flock`` on ``write.lock`` from
reading the manifest to publishing the next one, so two writers never both build on one generation
(the second would publish a manifest without the first one's segments, and its clean-up would
delete them); the kernel drops the lock when its holder dies, even by SIGKILL. A writer first
removes what a killed one left: temporary files and data files no manifest lists.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from nearcopy import _index_dir
from nearcopy._files import LockBusyError, exclusive_lock, write_atomically
from nearcopy._index_dir import load_manifest_json
from nearcopy._manifest import manifest_problem
from nearcopy.keys import KEY_ENV, KEY_FILE_ENV, fingerprint_key, key_check

FORMAT = "nearcopy-index"
# 5: every file is checksummed: segments per block (segment format 6, or 7 with the code documents'
# words: both are read), each document table by the SHA-256 the manifest holds for it, the manifest
# by its own "checksum" field. 4: keyed fingerprints are SipHash-2-4 (segment format 5); the
# manifest holds the key's check value.
VERSION = 5
# The top-level manifest of a sharded index: it names index directories (nearcopy.index_shards).
SHARDS_FORMAT = "nearcopy-shards"
LOCK_FILE = "write.lock"
# How long a writer waits for another one to finish before giving up (seconds).
LOCK_TIMEOUT = 600.0
_DATA_FILES = ("seg-*.ncs", "docs-*.jsonl", "allow-*.ncs")
# Temporary files of interrupted writes (Rust: `.NAME.PID.tmp`, Python: `.NAME.RANDOM.tmp`); only
# these names, so an index built into a directory that holds other files never touches them.
_TEMPORARIES = (".seg-*.tmp", ".docs-*.tmp", ".allow-*.tmp", ".manifest.json.*.tmp")


class IndexError_(OSError):
    """The index directory is missing, damaged, of another version, or not an index at all."""


class IndexKeyError(IndexError_):
    """The index is keyed and no key, or another key, was given (or a key was given for an unkeyed
    index): matching would silently find nothing, so opening refuses."""


class IndexBusyError(IndexError_, LockBusyError):
    """Another process is writing to the index and did not finish within the wait."""


def load_manifest(root: Path) -> dict[str, Any]:
    """The JSON object of ``root``'s ``manifest.json``, unchecked: that of an index, or of a sharded
    index (``nearcopy.index_shards``), which the caller tells apart by its ``format``."""
    manifest = load_manifest_json(root, IndexError_, "a nearcopy index")
    if not isinstance(manifest, dict):
        raise IndexError_(f"{root}: manifest.json is not a nearcopy index manifest")
    return manifest


def read_manifest(root: Path, manifest: dict[str, Any] | None = None) -> dict[str, Any]:
    """The checked manifest of the index at ``root`` (``manifest``: its JSON, when already loaded)."""
    if manifest is None:
        manifest = load_manifest(root)
    if manifest.get("format") == SHARDS_FORMAT:
        raise IndexError_(f"{root}: a sharded index, where one index directory was expected")
    if manifest.get("format") != FORMAT:
        raise IndexError_(f"{root}: manifest.json is not a nearcopy index manifest")
    if manifest.get("version") != VERSION:
        raise IndexError_(
            f"{root}: index version {manifest.get('version')}, this nearcopy reads {VERSION}; "
            "rebuild it with `nearcopy index build`"
        )
    if manifest.get("checksum") != manifest_checksum(manifest):
        raise IndexError_(
            f"{root}: manifest.json does not match its checksum (damaged file); "
            "restore it or rebuild the index"
        )
    if problem := manifest_problem(manifest):
        raise IndexError_(f"{root}: damaged manifest.json: {problem}")
    return manifest


@contextlib.contextmanager
def new_index_directory(root: Path) -> Iterator[None]:
    """The directory a build writes a new index into, for the ``with`` block: made if absent (a file
    there is refused), and removed again if the block fails and it is still empty (a foreign file put
    there meanwhile stays); a directory that was there before stays whatever happens."""
    created = not root.exists()
    if not created and not root.is_dir():
        raise IndexError_(f"{root}: exists and is not a directory (an index is a directory)")
    root.mkdir(parents=True, exist_ok=True)
    try:
        yield
    except BaseException:
        with contextlib.suppress(OSError):
            if created:  # rmdir: only if empty
                root.rmdir()
        raise


@contextlib.contextmanager
def writing(root: Path, timeout: float | None = None) -> Iterator[None]:
    """The writer lock of the index at ``root`` (waiting up to ``timeout``, default
    :data:`LOCK_TIMEOUT`), then the removal of what a killed writer left (safe: no other writer can
    be making those files while we hold the lock). A write that fails removes what it wrote, and
    when no index was published at all, the lock file too: nothing is left behind."""
    with exclusive_lock(
        root / LOCK_FILE, LOCK_TIMEOUT if timeout is None else timeout, str(root), IndexBusyError
    ):
        remove_unlisted(root, with_temporaries=True)
        _index_dir.remove_dead_directories(root)
        try:
            yield
        except BaseException:
            remove_unlisted(root, with_temporaries=True)
            if not (root / "manifest.json").exists():
                # Removed while held: a writer waiting on it sees the file gone and retries.
                (root / LOCK_FILE).unlink(missing_ok=True)
            raise


def remove_unlisted(root: Path, *, with_temporaries: bool = False) -> None:
    """Removes data files the published manifest does not list (all of them when none is
    published), and with ``with_temporaries`` the temporary files of interrupted writes."""

    _index_dir.remove_unlisted(root, listed_files, _DATA_FILES, _TEMPORARIES if with_temporaries else ())


def listed_files(manifest: dict[str, Any]) -> Iterator[str | None]:
    """The data files ``manifest`` lists (None where a segment has no document table)."""
    for entry in [*manifest["segments"], *manifest.get("allowlist", [])]:
        yield from (entry["file"], entry.get("docs"))


def manifest_checksum(manifest: dict[str, Any]) -> str:
    """SHA-256 of the manifest's values but its ``checksum`` (as canonical JSON: sorted keys, no
    spaces), so that a changed value is found whatever the layout of the file."""
    values = {k: v for k, v in manifest.items() if k != "checksum"}
    canonical = json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def file_checksum(data: bytes) -> str:
    """What the manifest holds of a document table: its SHA-256 (``sha256sum`` prints the same)."""
    return hashlib.sha256(data).hexdigest()


def publish(root: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """Renames the new manifest into place (with its checksum), then removes the files it no longer
    lists (readers that mapped them keep their mappings; one opening just now retries with this
    manifest). Returns the manifest as published."""
    manifest = {**manifest, "checksum": manifest_checksum(manifest)}
    write_atomically(root / "manifest.json", json.dumps(manifest, indent=2).encode("utf-8"))
    remove_unlisted(root)
    return manifest


def derived_key(root: Path, manifest: dict[str, Any], secret: bytes | None) -> bytes | None:
    """The fingerprint key of ``secret``, checked against the manifest's key check value."""
    where = f"--key-file, {KEY_ENV} or {KEY_FILE_ENV}"
    if not manifest.get("keyed"):
        if secret is not None:
            raise IndexKeyError(f"{root}: the index is not keyed, but a key was given; drop the key")
        return None
    if secret is None:
        raise IndexKeyError(f"{root}: the index is keyed; give the key it was built with ({where})")
    derived = fingerprint_key(secret)
    if key_check(derived) != manifest.get("key_check"):
        raise IndexKeyError(f"{root}: wrong key: the index was built with another one")
    return derived


def checked_table(handle: BinaryIO, segment: dict[str, Any]) -> bytes:
    """The bytes of a segment's document table, once they match the SHA-256 the manifest holds."""
    handle.seek(0)
    data = handle.read()
    if file_checksum(data) != segment["docs_sha256"]:
        raise IndexError_(
            f"{handle.name}: document table does not match its checksum (damaged file); "
            "restore it or rebuild the index"
        )
    return data


def parse_table(name: str, data: bytes, segment: dict[str, Any]) -> list[dict[str, Any]]:
    try:
        rows = [json.loads(line) for line in data.splitlines() if line.strip()]
    except ValueError as err:  # invalid JSON or UTF-8 (written so by a writer, not by damage)
        raise IndexError_(f"{name}: damaged document metadata: {err}") from None
    if len(rows) != segment["documents"] or not all(isinstance(r, dict) for r in rows):
        raise IndexError_(f"{name}: damaged document metadata: not one object per document")
    return rows
