"""The protected index: fingerprints of a protected corpus, built once, opened instantly.

An index is a directory::

    manifest.json      format, version, generation, parameters, the list of segments
    seg-000001.ncs     winnowed fingerprints of a batch of documents (immutable, memory-mapped)
    docs-000001.jsonl  those documents' ids and metadata (never their text)
    allow-000001.ncs   every k-gram of the allowlist: passages (licence headers, common idioms)
                       that are never reported, whichever protected documents hold them

Nothing read from these files is trusted unchecked (docs/filter.md, "Integrity"): the manifest
carries its own checksum and each document table's, segments one per 16 KiB block.

``add`` writes a new segment and document file, then publishes a new manifest by renaming it into
place: readers see the old index or the new one, never a mixture, and a reader that already opened
the index keeps working on the segments it mapped. Writers (``build``, ``add``, ``merge``) hold an
exclusive lock on ``write.lock`` from reading the manifest to publishing the next one, so a second
writer waits instead of publishing a manifest that drops the first one's segments; a writer killed
at any point leaves the last published generation intact, and the next writer removes its leftovers.

A sharded index is a directory naming several such index directories, opened as one reader
(:mod:`nearcopy.index_shards`); the writing itself is in :mod:`nearcopy.index_writer` and
:mod:`nearcopy.shard_writer`.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from nearcopy import _core
from nearcopy.index_shards import (
    MAX_SHARDS,
    Shard,
    ShardError,
    assemble,
    check_top,
    describe_sharded,
    is_sharded,
    manifest_files,
    read_shards,
)
from nearcopy.index_store import (
    IndexBusyError,
    IndexError_,
    IndexKeyError,
    checked_table,
    derived_key,
    load_manifest,
    new_index_directory,
    parse_table,
    publish,
    read_manifest,
    writing,
)
from nearcopy.index_writer import append, build_into, merged
from nearcopy.keys import fingerprint_key
from nearcopy.protected_documents import Document, DocumentInput, describe_manifest, index_contents
from nearcopy.shard_writer import add_shard, build_sharded, merge_shards

# Winnowing defaults, chosen on nearcopy/benchsuite/bench_filter.py (docs/filter.md): a shared run of
# w + k - 1 tokens always yields a shared fingerprint, at about 2 / (w + 1) fingerprints per token.
# Abstracted code has far fewer distinct symbols than prose has words, so its k-grams are longer.
DEFAULT_K = 4
DEFAULT_W = 6
DEFAULT_CODE_K = 20
DEFAULT_CODE_W = 10
# Documents are fingerprinted this many bytes of text at a time, one segment each, so building
# needs memory for one batch, not for the whole corpus.
BATCH_BYTES = 64 * 1024 * 1024
# Every lookup searches every segment, so an index is merged into one segment after a build, and
# after an add() that leaves more than this many.
MAX_SEGMENTS = 8

# (segment, document, start byte, end byte, covered tokens, span tokens, language or None for prose,
# shared words: of the words of the answer's part it was found in, how many the document holds,
# which ranks equal matches)
RawMatch = tuple[int, int, int, int, int, int, "str | None", int]
# (HeldDocument: a text held in Rust, as the CLI reads JSONL: nearcopy.held_jsonl.)
Documents = Iterable[DocumentInput]


__all__ = ["Document", "IndexBusyError", "IndexError_", "IndexKeyError", "ProtectedIndex", "ShardError"]


def _contents(parts: list[Shard]) -> dict[str, int] | None:
    """Documents per content over every part's segments (None when one does not say)."""
    total: Counter[str] = Counter()
    for _, manifest in parts:
        if (contents := index_contents(manifest)) is None:
            return None
        total.update(contents)
    return dict(total)


class ProtectedIndex:
    """Fingerprints of a protected corpus. Build with :meth:`build`, open with :meth:`open`.

    An index is one directory, or a sharded index: several index directories checked as one
    (``build(..., shards=N)``, :meth:`assemble`; see :mod:`nearcopy.index_shards`)."""

    def __init__(
        self, path: Path, manifest: dict[str, Any], key: bytes | None, shards: list[Shard] | None = None
    ) -> None:
        """Opens the segments ``manifest`` lists, or for a sharded index (``manifest`` its top-level
        manifest) those of every one of ``shards``, in one reader; ``key`` is the derived fingerprint
        key (see :func:`nearcopy.keys.fingerprint_key`), not the user's secret."""
        self.path = path
        self._manifest = manifest
        self._key = key
        self._shards = shards
        parts = [(path, manifest)] if shards is None else shards
        # Segments of every shard, in order: a match's segment number indexes this list.
        self._segments = [(root, s) for root, m in parts for s in m["segments"]]
        params = parts[0][1]["params"]
        paths = [str(root / s["file"]) for root, s in self._segments]
        allowlist = [str(root / a["file"]) for root, m in parts for a in m.get("allowlist", [])]
        contents = _contents(parts)
        languages = None if contents is None else sorted(c for c in contents if c != "prose")
        self._reader = _core.IndexReader(
            paths, allowlist, params["k"], params["w"], params["code_k"], params["code_w"], key,
            languages, contents is None or "prose" in contents,
        )  # fmt: skip
        self._documents = sum(int(segment["documents"]) for _, segment in self._segments)
        self._tables: list[list[dict[str, Any]] | None] = [None] * len(self._segments)
        self._tables_lock = threading.Lock()  # one reader of a handle at a time (seek, then read)
        # The metadata files are opened now and read on first use: an open file outlives a merge that
        # removes it, as the mapped segments do, so this handle keeps answering whatever is published.
        self._docs = [open(root / s["docs"], "rb") for root, s in self._segments]  # noqa: SIM115
        self._info: dict[str, Any] | None = None

    def __del__(self) -> None:
        for handle in getattr(self, "_docs", ()):
            handle.close()

    @classmethod
    def build(
        cls,
        documents: Documents,
        path: str | os.PathLike[str],
        *,
        k: int = DEFAULT_K,
        w: int = DEFAULT_W,
        code_k: int = DEFAULT_CODE_K,
        code_w: int = DEFAULT_CODE_W,
        key: bytes | None = None,
        allowlist: Documents = (),
        num_threads: int | None = None,
        batch_bytes: int = BATCH_BYTES,
        allowlist_generated: bool = True,
        shards: int | None = None,
        engine: str = "local",
        ray_address: str | None = None,
    ) -> ProtectedIndex:
        """Fingerprints ``documents`` into a new index at ``path`` (which must not hold one).

        ``k``/``w`` winnow prose, ``code_k``/``code_w`` code; ``key`` (a secret of at least 16
        bytes) keys the fingerprints so that the index cannot be probed for guessed text without it.
        Passages of ``allowlist`` documents (licence headers, idioms) are never reported as copies,
        nor (unless ``allowlist_generated`` is False) the transpiler helpers found in the JavaScript
        and TypeScript documents (:mod:`nearcopy.generated`). ``shards``: build a sharded index of
        that many shards, each document in the shard a stable hash of its id names
        (:func:`nearcopy.index_shards.shard_of`). ``engine="ray"``: the batches written by Ray
        tasks (:mod:`nearcopy.index_ray`; ``pip install 'nearcopy[ray]'``) on the cluster at
        ``ray_address`` (else the runtime already initialized, else a local one of 2 CPUs), into
        the same files as this machine's build; given as :class:`nearcopy.InputFiles` (files,
        directories, globs), the documents are also read by Ray tasks, not by this process
        (:mod:`nearcopy.index_ray_read`). Nothing is published until the whole index is written; a
        failed build leaves nothing."""
        root = Path(path)
        derived = None if key is None else fingerprint_key(key)
        how = (num_threads, batch_bytes, allowlist_generated)
        params = {"k": k, "w": w, "code_k": code_k, "code_w": code_w}
        if shards is not None and (not isinstance(shards, int) or not 1 <= shards <= MAX_SHARDS):
            raise ValueError(f"shards must be between 1 and {MAX_SHARDS}, got {shards!r}")
        if engine not in ("local", "ray"):
            raise ValueError(f"engine must be 'local' or 'ray', got {engine!r}")
        if engine == "ray":
            from nearcopy.index_ray import build_with_ray

            manifest, parts = build_with_ray(
                root, derived, documents, allowlist, how, params, shards, ray_address
            )
            return cls(root, manifest, derived, parts)
        if shards is not None:
            top, parts = build_sharded(root, derived, documents, allowlist, how, params, shards)
            return cls(root, top, derived, parts)
        with new_index_directory(root):
            return cls(root, build_into(root, derived, documents, allowlist, how, params), derived)

    @classmethod
    def assemble(
        cls, path: str | os.PathLike[str], shards: Sequence[str | os.PathLike[str]], *,
        key: bytes | None = None,
    ) -> ProtectedIndex:  # fmt: skip
        """Publishes a sharded index at ``path`` over the existing index directories ``shards``
        (built apart, by other jobs or machines), named relative to ``path``; when ``path`` already
        holds a sharded index, this list replaces its shards as its next generation (readers that
        opened the old one keep it). The shards must share k, w, code_k, code_w and key
        (:class:`ShardError` names the one that does not); ``key`` is only needed to open the result."""
        assemble(Path(path), shards)
        return cls.open(path, key=key)

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, key: bytes | None = None) -> ProtectedIndex:
        """Opens the index (or sharded index) at ``path``; a keyed index needs the secret it was
        built with, and :class:`IndexKeyError` says so when it is missing or wrong."""
        root = Path(path)
        loaded = load_manifest(root)
        if is_sharded(loaded):
            return cls._open_sharded(root, check_top(root, loaded), key)
        manifest = read_manifest(root, loaded)
        derived = derived_key(root, manifest, key)
        try:
            return cls(root, manifest, derived)
        except OSError:
            # A merge may have published a new manifest and removed the files this one listed, between
            # reading the manifest and opening them: the new manifest lists what exists.
            fresh = read_manifest(root)
            if fresh["generation"] == manifest["generation"]:
                raise
            return cls(root, fresh, derived)

    @classmethod
    def _open_sharded(cls, root: Path, top: dict[str, Any], key: bytes | None) -> ProtectedIndex:
        derived = derived_key(root, top, key)
        shards = read_shards(root, top)
        try:
            return cls(root, top, derived, shards)
        except OSError:
            # As in open(): a shard merged meanwhile; its new manifest lists what exists.
            fresh = check_top(root, load_manifest(root))
            again = read_shards(root, fresh)
            generations = [[m["generation"] for _, m in s] for s in (shards, again)]
            if fresh["generation"] == top["generation"] and generations[0] == generations[1]:
                raise
            return cls(root, fresh, derived, again)

    @property
    def shards(self) -> list[Path]:
        """The shard directories of a sharded index, in order; empty for an index of one directory."""
        return [] if self._shards is None else [root for root, _ in self._shards]

    @staticmethod
    def manifest_files(path: str | os.PathLike[str]) -> list[Path]:
        """The manifests whose change means a new version of the index at ``path`` (what
        ``nearcopy serve`` watches): its own, and each shard's."""
        return manifest_files(Path(path))

    def add(
        self,
        documents: Documents,
        *,
        allowlist: Documents = (),
        num_threads: int | None = None,
        batch_bytes: int = BATCH_BYTES,
        allowlist_generated: bool = True,
    ) -> ProtectedIndex:
        """Adds ``documents`` as new segments (and ``allowlist`` passages, and the transpiler helpers
        of the new documents unless ``allowlist_generated`` is False, to the allowlist); returns the
        index at its new generation. A sharded index gets them as one new shard, published at once."""
        how = (num_threads, batch_bytes, allowlist_generated)
        if self._shards is not None:
            if load_manifest(self.path).get("key_check") != self._manifest.get("key_check"):
                raise IndexKeyError(f"{self.path}: the index was rebuilt with another key; reopen it")
            top, parts = add_shard(self.path, self._key, documents, allowlist, how)
            return type(self)(self.path, top, self._key, parts)
        with writing(self.path):
            fresh = read_manifest(self.path)
            if fresh.get("key_check") != self._manifest.get("key_check"):
                raise IndexKeyError(f"{self.path}: the index was rebuilt with another key; reopen it")
            manifest = append(self.path, fresh, self._key, documents, allowlist, how)
            if len(manifest["segments"]) > MAX_SEGMENTS:
                manifest = merged(self.path, manifest, self._key)
            manifest = publish(self.path, manifest)
            return type(self)(self.path, manifest, self._key)

    def merge(self) -> ProtectedIndex:
        """Merges every segment into one, published as a new generation (readers of the old one keep
        working on what they mapped); returns the merged index. Lookups search every segment, so
        fewer segments make checks faster. Memory stays bounded: the segments are streamed. A
        sharded index has each shard merged, and stays sharded."""
        if self._shards is not None:
            top, parts = merge_shards(self.path, self._key)
            return type(self)(self.path, top, self._key, parts)
        with writing(self.path):
            manifest = read_manifest(self.path)
            if len(manifest["segments"]) > 1:
                manifest = publish(self.path, merged(self.path, manifest, self._key))
            return type(self)(self.path, manifest, self._key)

    def __len__(self) -> int:
        return self._documents

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (row for segment in range(len(self._segments)) for row in self._table(segment))

    def metadata(self, segment: int, doc: int) -> dict[str, Any]:
        """Metadata of document ``doc`` of segment ``segment`` (as matches name them)."""
        return self._table(segment)[doc]

    def _table(self, segment: int) -> list[dict[str, Any]]:
        """The metadata of one segment's documents, read (and checked) the first time it is asked for:
        a match in one shard need not read every shard's table."""
        table = self._tables[segment]
        if table is None:
            with self._tables_lock:
                table = self._tables[segment]
                if table is None:
                    handle, (_, entry) = self._docs[segment], self._segments[segment]
                    table = parse_table(handle.name, checked_table(handle, entry), entry)
                    self._tables[segment] = table
        return table

    def info(self) -> dict[str, Any]:
        """Sizes and parameters (no content); for a sharded index, the totals over its shards and
        each shard's own figures under ``"shards"``."""
        if self._info is None:  # what was opened never changes: described once (serve asks per request)
            if self._shards is None:
                self._info = describe_manifest(self.path, self._manifest)
            else:
                self._info = describe_sharded(self.path, self._manifest, self._shards)
        return dict(self._info)

    @staticmethod
    def describe(path: str | os.PathLike[str]) -> dict[str, Any]:
        """:meth:`info` of the index at ``path`` from its manifest(s) alone (no key needed)."""
        root = Path(path)
        loaded = load_manifest(root)
        if is_sharded(loaded):
            top = check_top(root, loaded)
            return describe_sharded(root, top, read_shards(root, top))
        return describe_manifest(root, read_manifest(root, loaded))

    def warm(self, *, num_threads: int | None = None) -> None:
        """Reads every document table and every segment block once and checks it, so that no later
        check pays a page's first mapping, a block's first checksum or a table's first parse (on a
        1 GB index just opened, those made the first pass over 2 KB answers slower at the p99 than
        the second). It also keeps each allowlist's keys as presence bits in memory (about a byte per
        key), so that checks ask an allowlist's file only about fingerprints it may hold. ``nearcopy
        serve`` warms an index before it serves it. Raises :class:`IndexError_` naming any damage
        found, as a check would."""
        for segment in range(len(self._segments)):
            self._table(segment)
        try:
            self._reader.warm(num_threads)
        except IndexError_:
            raise
        except OSError as err:  # a segment block failing its checksum, from the native reader
            raise IndexError_(str(err)) from None

    def verify(self) -> None:
        """Reads every file through (each segment block and document table against its checksum,
        then the segments' order); raises :class:`IndexError_` naming any damage."""
        for segment in range(len(self._segments)):
            handle, (_, entry) = self._docs[segment], self._segments[segment]
            with self._tables_lock:
                parse_table(handle.name, checked_table(handle, entry), entry)
        try:
            self._reader.verify()
        except IndexError_:
            raise
        except OSError as err:  # a segment block failing its checksum, from the native reader
            raise IndexError_(str(err)) from None

    def match_answer(
        self, text: str, *, max_doc_frequency: int, min_tokens: int, min_code_tokens: int,
        language: str | None = None, popular: tuple[int, int] | None = None,
    ) -> tuple[list[RawMatch], int]:  # fmt: skip
        """Raw matches ``(segment, doc, start, end, covered, span, language, words)``, longest first, and
        the text's normalized token count; :class:`nearcopy.OutputFilter` is the friendly form.
        ``language`` is a canonical hint (:func:`nearcopy.answer.language_hint`); ``popular`` is
        ``(popular_doc_frequency, popular_factor in percent)`` (see ``OutputFilter``), None to
        ignore common fingerprints."""
        try:
            return self._reader.match_answer(
                text, max_doc_frequency, min_tokens, min_code_tokens, language, popular
            )
        except IndexError_:
            raise
        except OSError as err:  # a damaged segment block met by this lookup
            raise IndexError_(str(err)) from None

    def match_answers(
        self, texts: list[str], *, max_doc_frequency: int, min_tokens: int, min_code_tokens: int,
        num_threads: int | None = None, languages: list[str | None] | None = None,
        popular: tuple[int, int] | None = None,
    ) -> list[tuple[list[RawMatch], int]]:  # fmt: skip
        """:meth:`match_answer` of every text, in parallel without the GIL (``languages``: one
        canonical hint per text, or None)."""
        try:
            return self._reader.match_answers(
                texts, max_doc_frequency, min_tokens, min_code_tokens, num_threads, languages, popular
            )
        except IndexError_:
            raise
        except OSError as err:  # a damaged segment block met by these lookups
            raise IndexError_(str(err)) from None
