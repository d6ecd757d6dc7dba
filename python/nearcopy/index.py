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
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO

from nearcopy import _core
from nearcopy._files import write_atomically
from nearcopy.generated import collect_helpers, collect_notices
from nearcopy.index_store import (
    FORMAT,
    VERSION,
    IndexBusyError,
    IndexError_,
    IndexKeyError,
    checked_table,
    derived_key,
    file_checksum,
    parse_table,
    publish,
    read_manifest,
    writing,
)
from nearcopy.keys import fingerprint_key, key_check
from nearcopy.protected_documents import (
    Document,
    as_document,
    content_language,
    describe_manifest,
    index_contents,
    segment_contents,
)

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


# How a build or add writes: (threads, batch bytes, whether transpiler helpers go to the allowlist).
_HowToWrite = tuple["int | None", int, bool]
# (segment, document, start byte, end byte, covered tokens, span tokens, language or None for prose)
RawMatch = tuple[int, int, int, int, int, int, "str | None"]


__all__ = ["Document", "IndexBusyError", "IndexError_", "IndexKeyError", "ProtectedIndex"]


class ProtectedIndex:
    """Fingerprints of a protected corpus. Build with :meth:`build`, open with :meth:`open`."""

    def __init__(self, path: Path, manifest: dict[str, Any], key: bytes | None) -> None:
        """Opens the segments ``manifest`` lists; ``key`` is the derived fingerprint key (see
        :func:`nearcopy.keys.fingerprint_key`), not the user's secret."""
        self.path = path
        self._manifest = manifest
        self._key = key
        params = manifest["params"]
        paths = [str(path / s["file"]) for s in manifest["segments"]]
        allowlist = [str(path / s["file"]) for s in manifest.get("allowlist", [])]
        contents = index_contents(manifest)
        languages = None if contents is None else sorted(c for c in contents if c != "prose")
        self._reader = _core.IndexReader(
            paths, allowlist, params["k"], params["w"], params["code_k"], params["code_w"], key,
            languages, contents is None or "prose" in contents,
        )  # fmt: skip
        self._metadata: list[dict[str, Any]] | None = None
        # The metadata files are opened now and read on first use: an open file outlives a merge that
        # removes it, as the mapped segments do, so this handle keeps answering whatever is published.
        self._docs = [open(path / s["docs"], "rb") for s in manifest["segments"]]  # noqa: SIM115

    def __del__(self) -> None:
        for handle in getattr(self, "_docs", ()):
            handle.close()

    @classmethod
    def build(
        cls,
        documents: Iterable[Document | Mapping[str, Any]],
        path: str | os.PathLike[str],
        *,
        k: int = DEFAULT_K,
        w: int = DEFAULT_W,
        code_k: int = DEFAULT_CODE_K,
        code_w: int = DEFAULT_CODE_W,
        key: bytes | None = None,
        allowlist: Iterable[Document | Mapping[str, Any]] = (),
        num_threads: int | None = None,
        batch_bytes: int = BATCH_BYTES,
        allowlist_generated: bool = True,
    ) -> ProtectedIndex:
        """Fingerprints ``documents`` into a new index at ``path`` (which must not hold one).

        ``k``/``w`` winnow prose, ``code_k``/``code_w`` code; ``key`` (a secret of at least 16
        bytes) keys the fingerprints so that the index cannot be probed for guessed text without it.
        Passages of ``allowlist`` documents (licence headers, idioms) are never reported as copies,
        nor (unless ``allowlist_generated`` is False) the transpiler helpers found in the JavaScript
        and TypeScript documents (:mod:`nearcopy.generated`). Nothing is published until the whole
        index is written; a failed build leaves nothing."""
        root = Path(path)
        derived = None if key is None else fingerprint_key(key)
        created = not root.exists()
        if not created and not root.is_dir():
            raise IndexError_(f"{root}: exists and is not a directory (an index is a directory)")
        root.mkdir(parents=True, exist_ok=True)
        try:
            how = (num_threads, batch_bytes, allowlist_generated)
            params = {"k": k, "w": w, "code_k": code_k, "code_w": code_w}
            return cls._build(root, derived, documents, allowlist, how, params)
        except BaseException:
            with contextlib.suppress(OSError):
                if created:  # rmdir: only if empty (a foreign file put there meanwhile stays)
                    root.rmdir()
            raise

    @classmethod
    def _build(
        cls, root: Path, derived: bytes | None, documents: Iterable[Document | Mapping[str, Any]],
        allowlist: Iterable[Document | Mapping[str, Any]], how: _HowToWrite, params: dict[str, int],
    ) -> ProtectedIndex:  # fmt: skip
        with writing(root):
            if (root / "manifest.json").exists():
                raise FileExistsError(f"{root} already holds an index; open it and add() to it")
            manifest: dict[str, Any] = {
                "format": FORMAT, "version": VERSION, "generation": 0, "params": params,
                "keyed": derived is not None, "key_check": None if derived is None else key_check(derived),
                "segments": [], "allowlist": [],
            }  # fmt: skip
            manifest = cls._append(root, manifest, derived, documents, allowlist, how)
            if len(manifest["segments"]) > 1:
                manifest = cls._merged(root, manifest, derived)
            manifest = publish(root, manifest)
            return cls(root, manifest, derived)

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, key: bytes | None = None) -> ProtectedIndex:
        """Opens the index at ``path``; a keyed index needs the secret it was built with, and
        :class:`IndexKeyError` says so when it is missing or wrong."""
        root = Path(path)
        manifest = read_manifest(root)
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

    def add(
        self,
        documents: Iterable[Document | Mapping[str, Any]],
        *,
        allowlist: Iterable[Document | Mapping[str, Any]] = (),
        num_threads: int | None = None,
        batch_bytes: int = BATCH_BYTES,
        allowlist_generated: bool = True,
    ) -> ProtectedIndex:
        """Adds ``documents`` as new segments (and ``allowlist`` passages, and the transpiler helpers
        of the new documents unless ``allowlist_generated`` is False, to the allowlist); returns the
        index at its new generation."""
        with writing(self.path):
            fresh = read_manifest(self.path)
            if fresh.get("key_check") != self._manifest.get("key_check"):
                raise IndexKeyError(f"{self.path}: the index was rebuilt with another key; reopen it")
            manifest = self._append(
                self.path,
                fresh,
                self._key,
                documents,
                allowlist,
                (num_threads, batch_bytes, allowlist_generated),
            )
            if len(manifest["segments"]) > MAX_SEGMENTS:
                manifest = self._merged(self.path, manifest, self._key)
            manifest = publish(self.path, manifest)
            return type(self)(self.path, manifest, self._key)

    def merge(self) -> ProtectedIndex:
        """Merges every segment into one, published as a new generation (readers of the old one keep
        working on what they mapped); returns the merged index. Lookups search every segment, so
        fewer segments make checks faster. Memory stays bounded: the segments are streamed."""
        with writing(self.path):
            manifest = read_manifest(self.path)
            if len(manifest["segments"]) > 1:
                manifest = publish(self.path, self._merged(self.path, manifest, self._key))
            return type(self)(self.path, manifest, self._key)

    @staticmethod
    def _merged(root: Path, manifest: dict[str, Any], key: bytes | None) -> dict[str, Any]:
        """Writes one segment (and metadata file) holding all of ``manifest``'s; returns the manifest
        listing it, for the caller to publish."""
        segments, params = manifest["segments"], manifest["params"]
        generation = manifest["generation"] + 1
        name = f"{generation:06d}-00000"
        segment_file, docs_file = f"seg-{name}.ncs", f"docs-{name}.jsonl"
        documents, fingerprints, size = _core.merge_segments(
            str(root / segment_file), [str(root / s["file"]) for s in segments],
            params["k"], params["w"], params["code_k"], params["code_w"], key,
        )  # fmt: skip

        digest = hashlib.sha256()

        def concatenate(handle: BinaryIO) -> None:
            # Each table is checked as it is copied: a damaged one must not be sealed under a new,
            # valid checksum (the segments are verified by merge_segments for the same reason).
            for segment in segments:
                with open(root / segment["docs"], "rb") as source:
                    data = checked_table(source, segment)
                handle.write(data)
                digest.update(data)

        write_atomically(root / docs_file, concatenate)
        merged = {"file": segment_file, "docs": docs_file, "docs_sha256": digest.hexdigest(),
                  "documents": documents, "first_doc": 0, "fingerprints": fingerprints,
                  "tokens": sum(int(s["tokens"]) for s in segments), "bytes": size}  # fmt: skip
        if (contents := index_contents(manifest)) is not None:
            merged["contents"] = contents
        return {**manifest, "generation": generation, "segments": [merged]}

    @classmethod
    def _append(
        cls, root: Path, manifest: dict[str, Any], key: bytes | None,
        documents: Iterable[Document | Mapping[str, Any]],
        allowlist: Iterable[Document | Mapping[str, Any]], how: _HowToWrite,
    ) -> dict[str, Any]:  # fmt: skip
        """Writes `documents` as segments of about `batch_bytes` of text each (so memory stays bounded
        by the batch, not the corpus), and the transpiler helpers they hold as an allowlist segment;
        returns the manifest listing them, for the caller to publish all at once."""
        num_threads, batch_bytes, allowlist_generated = how
        helpers: dict[str, str] | None = {} if allowlist_generated else None
        generation = manifest["generation"] + 1
        allowed = list(manifest.get("allowlist", []))
        allow_docs = [as_document(item) for item in allowlist]
        if allow_docs:
            allowed.append(
                cls._write_allowlist(root, manifest["params"], key, generation, allowed, allow_docs)
            )
        manifest = {**manifest, "allowlist": allowed}
        segments = list(manifest["segments"])
        batch: list[Document] = []
        size = 0
        for item in documents:
            document = as_document(item)
            batch.append(document)
            size += len(document.text)
            if size >= batch_bytes:
                segments.append(
                    cls._write_segment(
                        root, manifest["params"], key, generation, segments, batch, num_threads, helpers
                    )
                )
                batch, size = [], 0
        if batch or len(segments) == len(manifest["segments"]):
            segments.append(
                cls._write_segment(
                    root, manifest["params"], key, generation, segments, batch, num_threads, helpers
                )
            )
        if helpers:
            found = [
                Document(f"generated-{i}", t, {"language": lang} if lang else {})
                for i, (t, lang) in enumerate(helpers.items())
            ]
            entry = cls._write_allowlist(root, manifest["params"], key, generation, allowed, found)
            allowed.append({**entry, "generated": True})
        return {**manifest, "allowlist": allowed, "generation": generation, "segments": segments}

    @staticmethod
    def _write_segment(
        root: Path, params: dict[str, int], key: bytes | None, generation: int,
        segments: list[dict[str, Any]], docs: list[Document], num_threads: int | None,
        helpers: dict[str, str] | None,
    ) -> dict[str, Any]:  # fmt: skip
        """One segment file and its metadata file; invisible to readers until a manifest lists them.
        The transpiler helpers of `docs` are added to `helpers` (unless it is None)."""
        name = f"{generation:06d}-{len(segments):05d}"
        segment_file, docs_file = f"seg-{name}.ncs", f"docs-{name}.jsonl"
        languages = [content_language(d) for d in docs]
        if helpers is not None:
            collect_helpers([d.text for d in docs], languages, helpers)
            collect_notices([d.text for d in docs], helpers)
        count, fingerprints, tokens, size, also_prose = _core.build_segment(
            str(root / segment_file), [d.text for d in docs], languages,
            params["k"], params["w"], params["code_k"], params["code_w"], key, num_threads,
        )  # fmt: skip
        lines = (json.dumps({"id": d.id, **d.metadata, "language": lang}) for d, lang in zip(docs, languages))
        table = ("\n".join(lines) + "\n" if docs else "").encode("utf-8")
        write_atomically(root / docs_file, table)
        first_doc = sum(int(s["documents"]) for s in segments)
        return {"file": segment_file, "docs": docs_file, "docs_sha256": file_checksum(table),
                "documents": count, "first_doc": first_doc, "fingerprints": fingerprints,
                "tokens": tokens, "bytes": size,
                "contents": segment_contents(languages, also_prose)}  # fmt: skip

    @staticmethod
    def _write_allowlist(
        root: Path, params: dict[str, int], key: bytes | None, generation: int, allowed: list[dict[str, Any]],
        docs: list[Document],
    ) -> dict[str, Any]:  # fmt: skip
        """Every k-gram (a window of 1) of the allowlist documents, so that none can be missed."""
        name = f"allow-{generation:06d}-{len(allowed):05d}.ncs"
        count, fingerprints, tokens, size, _ = _core.build_segment(
            str(root / name), [d.text for d in docs], [content_language(d) for d in docs],
            params["k"], 1, params["code_k"], 1, key, None,
        )  # fmt: skip
        return {"file": name, "documents": count, "fingerprints": fingerprints, "tokens": tokens,
                "bytes": size}  # fmt: skip

    def __len__(self) -> int:
        return sum(int(s["documents"]) for s in self._manifest["segments"])

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self._all_metadata())

    def metadata(self, segment: int, doc: int) -> dict[str, Any]:
        """Metadata of document ``doc`` of segment ``segment`` (as matches name them)."""
        return self._all_metadata()[int(self._manifest["segments"][segment]["first_doc"]) + doc]

    def _all_metadata(self) -> list[dict[str, Any]]:
        if self._metadata is None:
            rows: list[dict[str, Any]] = []
            for handle, segment in zip(self._docs, self._manifest["segments"]):
                rows.extend(parse_table(handle.name, checked_table(handle, segment), segment))
            self._metadata = rows
        return self._metadata

    def info(self) -> dict[str, Any]:
        """Sizes and parameters (no content)."""
        return describe_manifest(self.path, self._manifest)

    @staticmethod
    def describe(path: str | os.PathLike[str]) -> dict[str, Any]:
        """:meth:`info` of the index at ``path`` from its manifest alone (no key needed)."""
        return describe_manifest(Path(path), read_manifest(Path(path)))

    def verify(self) -> None:
        """Reads every file through (each segment block and document table against its checksum,
        then the segments' order); raises :class:`IndexError_` naming any damage."""
        for handle, segment in zip(self._docs, self._manifest["segments"]):
            parse_table(handle.name, checked_table(handle, segment), segment)
        self._reader.verify()

    def match_answer(
        self, text: str, *, max_doc_frequency: int, min_tokens: int, min_code_tokens: int,
        language: str | None = None, popular: tuple[int, int] | None = None,
    ) -> tuple[list[RawMatch], int]:  # fmt: skip
        """Raw matches ``(segment, doc, start, end, covered, span, language)``, longest first, and
        the text's normalized token count; :class:`nearcopy.OutputFilter` is the friendly form.
        ``language`` is a canonical hint (:func:`nearcopy.answer.language_hint`); ``popular`` is
        ``(popular_doc_frequency, popular_factor in percent)`` (see ``OutputFilter``), None to
        ignore common fingerprints."""
        return self._reader.match_answer(
            text, max_doc_frequency, min_tokens, min_code_tokens, language, popular
        )

    def match_answers(
        self, texts: list[str], *, max_doc_frequency: int, min_tokens: int, min_code_tokens: int,
        num_threads: int | None = None, languages: list[str | None] | None = None,
        popular: tuple[int, int] | None = None,
    ) -> list[tuple[list[RawMatch], int]]:  # fmt: skip
        """:meth:`match_answer` of every text, in parallel without the GIL (``languages``: one
        canonical hint per text, or None)."""
        return self._reader.match_answers(
            texts, max_doc_frequency, min_tokens, min_code_tokens, num_threads, languages, popular
        )
