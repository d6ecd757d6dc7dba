"""Writing an index directory's data files: segments of documents, allowlist segments, merges.

Nothing written here is visible to readers until the caller publishes a manifest listing it
(``index_store.publish``), under the directory's writer lock (``index_store.writing``). A sharded
build keeps one :class:`SegmentWriter` per shard open at once and decides when each writes its
batch, so that the documents held in memory stay bounded by one batch over all shards.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from nearcopy import _core
from nearcopy._files import write_atomically
from nearcopy.generated import collect_helpers, collect_notices
from nearcopy.index_store import FORMAT, VERSION, checked_table, file_checksum, publish, writing
from nearcopy.keys import key_check
from nearcopy.protected_documents import (
    AnyDocument,
    Document,
    DocumentInput,
    as_document,
    as_written,
    content_language,
    index_contents,
    segment_contents,
    text_length,
    text_of,
)

# How a build or add writes: (threads, batch bytes, whether transpiler helpers go to the allowlist).
HowToWrite = tuple["int | None", int, bool]


class SegmentWriter:
    """Writes the documents given to :meth:`add` into ``root`` as segments of the next generation of
    ``manifest``; the caller calls :meth:`flush` when enough is held (``buffered`` characters) and
    :meth:`finish` for the manifest to publish. ``allowlist`` documents are written at once."""

    def __init__(
        self, root: Path, manifest: dict[str, Any], key: bytes | None,
        allowlist: Iterable[DocumentInput], how: HowToWrite,
    ) -> None:  # fmt: skip
        self.root, self.key, self.num_threads = root, key, how[0]
        self.params: dict[str, int] = manifest["params"]
        self.generation = manifest["generation"] + 1
        self._helpers: dict[str, str] | None = {} if how[2] else None
        self._allowed = list(manifest.get("allowlist", []))
        allow_docs = [as_document(item) for item in allowlist]
        if allow_docs:
            self._allowed.append(self._write_allowlist(allow_docs))
        self._manifest = manifest
        self._segments = list(manifest["segments"])
        self._batch: list[AnyDocument] = []
        self.buffered = 0

    def add(self, document: AnyDocument) -> None:
        self._batch.append(document)
        self.buffered += text_length(document)

    def flush(self) -> None:
        """Writes the documents held as one segment (nothing when none is held)."""
        if self._batch:
            self._segments.append(self._write_segment(self._batch))
            self._batch, self.buffered = [], 0

    def finish(self) -> dict[str, Any]:
        """Writes what is held (an empty segment when this generation has none, so that every
        generation lists one) and the transpiler helpers found as an allowlist segment; returns the
        manifest listing them, for the caller to publish all at once."""
        if self._batch or len(self._segments) == len(self._manifest["segments"]):
            self._segments.append(self._write_segment(self._batch))
            self._batch, self.buffered = [], 0
        if self._helpers:
            found = [
                Document(f"generated-{i}", t, {"language": lang} if lang else {})
                for i, (t, lang) in enumerate(self._helpers.items())
            ]
            self._allowed.append({**self._write_allowlist(found), "generated": True})
        return {**self._manifest, "allowlist": self._allowed, "generation": self.generation,
                "segments": self._segments}  # fmt: skip

    def adopt(self, segments: list[dict[str, Any]], helpers: dict[str, str] | None) -> None:
        """Takes ``segments`` of this generation written elsewhere (by :func:`write_segment` in Ray
        tasks, numbered after this writer's), in order, and the transpiler helpers found in them
        (in the order found), as if this writer had written them."""
        self._segments.extend(segments)
        if self._helpers is not None and helpers:
            for text, language in helpers.items():
                self._helpers.setdefault(text, language)

    def _write_segment(self, docs: list[AnyDocument]) -> dict[str, Any]:
        first_doc = sum(int(s["documents"]) for s in self._segments)
        return write_segment(
            self.root, self.params, self.key, self.num_threads, (self.generation, len(self._segments)),
            first_doc, docs, self._helpers,
        )  # fmt: skip

    def _write_allowlist(self, docs: Sequence[AnyDocument]) -> dict[str, Any]:
        """Every k-gram (a window of 1) of the allowlist documents, so that none can be missed."""
        params = self.params
        name = f"allow-{self.generation:06d}-{len(self._allowed):05d}.ncs"
        count, fingerprints, tokens, size, _ = _core.build_segment(
            str(self.root / name), [text_of(d) for d in docs], [content_language(d) for d in docs],
            params["k"], 1, params["code_k"], 1, self.key, None,
        )  # fmt: skip
        return {"file": name, "documents": count, "fingerprints": fingerprints, "tokens": tokens,
                "bytes": size}  # fmt: skip


def write_segment(
    root: Path, params: dict[str, int], key: bytes | None, num_threads: int | None,
    number: tuple[int, int], first_doc: int, docs: Sequence[AnyDocument], helpers: dict[str, str] | None,
) -> dict[str, Any]:  # fmt: skip
    """Segment ``number`` (generation, position) of ``docs`` (numbered from ``first_doc`` in the
    index): one segment file and its metadata file, invisible to readers until a manifest lists
    them; returns its manifest entry. The transpiler helpers of ``docs`` are added to ``helpers``
    (unless None: kept as code). The files depend on the documents alone, not on ``num_threads``."""
    name = f"{number[0]:06d}-{number[1]:05d}"
    segment_file, docs_file = f"seg-{name}.ncs", f"docs-{name}.jsonl"
    languages = [content_language(d) for d in docs]
    texts = [text_of(d) for d in docs]  # a held text (nearcopy.held_jsonl) stays held
    if helpers is not None:
        collect_helpers(texts, languages, helpers)
        collect_notices(texts, helpers)
    count, fingerprints, tokens, size, also_prose = _core.build_segment(
        str(root / segment_file), texts, languages,
        params["k"], params["w"], params["code_k"], params["code_w"], key, num_threads,
    )  # fmt: skip
    lines = (json.dumps({"id": d.id, **d.metadata, "language": lang}) for d, lang in zip(docs, languages))
    table = ("\n".join(lines) + "\n" if docs else "").encode("utf-8")
    write_atomically(root / docs_file, table)
    return {"file": segment_file, "docs": docs_file, "docs_sha256": file_checksum(table),
            "documents": count, "first_doc": first_doc, "fingerprints": fingerprints,
            "tokens": tokens, "bytes": size,
            "contents": segment_contents(languages, also_prose)}  # fmt: skip


def new_manifest(params: dict[str, int], key: bytes | None) -> dict[str, Any]:
    """The manifest of an index with nothing in it yet (generation 0, never published)."""
    return {"format": FORMAT, "version": VERSION, "generation": 0, "params": params,
            "keyed": key is not None, "key_check": None if key is None else key_check(key),
            "segments": [], "allowlist": []}  # fmt: skip


def build_into(
    root: Path, key: bytes | None, documents: Iterable[DocumentInput],
    allowlist: Iterable[DocumentInput], how: HowToWrite, params: dict[str, int],
) -> dict[str, Any]:  # fmt: skip
    """Writes a new index of ``documents`` into the directory ``root`` (which must exist and hold
    none), merged into one segment, and publishes it; returns its manifest."""
    with writing(root):
        if (root / "manifest.json").exists():
            raise FileExistsError(f"{root} already holds an index; open it and add() to it")
        return finished(root, append(root, new_manifest(params, key), key, documents, allowlist, how), key)


def finished(root: Path, manifest: dict[str, Any], key: bytes | None) -> dict[str, Any]:
    """Publishes a build's ``manifest``, its batches merged into one segment first (checks search
    every segment); the caller holds the writer lock."""
    if len(manifest["segments"]) > 1:
        manifest = merged(root, manifest, key)
    return publish(root, manifest)


def append(
    root: Path, manifest: dict[str, Any], key: bytes | None,
    documents: Iterable[DocumentInput],
    allowlist: Iterable[DocumentInput], how: HowToWrite,
) -> dict[str, Any]:  # fmt: skip
    """Writes `documents` as segments of about `batch_bytes` of text each (so memory stays bounded
    by the batch, not the corpus), and the transpiler helpers they hold as an allowlist segment;
    returns the manifest listing them, for the caller to publish all at once."""
    writer = SegmentWriter(root, manifest, key, allowlist, how)
    for item in documents:
        writer.add(as_written(item))
        if writer.buffered >= how[1]:
            writer.flush()
    return writer.finish()


def merged(root: Path, manifest: dict[str, Any], key: bytes | None) -> dict[str, Any]:
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
    entry = {"file": segment_file, "docs": docs_file, "docs_sha256": digest.hexdigest(),
             "documents": documents, "first_doc": 0, "fingerprints": fingerprints,
             "tokens": sum(int(s["tokens"]) for s in segments), "bytes": size}  # fmt: skip
    if (contents := index_contents(manifest)) is not None:
        entry["contents"] = contents
    return {**manifest, "generation": generation, "segments": [entry]}
