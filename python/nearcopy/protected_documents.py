"""What a protected index holds, apart from its fingerprints: the documents given to it (text and
the metadata reported on a match), the reading each is fingerprinted under (prose or code in a
language), and the summary ``ProtectedIndex.info`` gives of a manifest."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

from nearcopy import _core
from nearcopy.answer import split_answer
from nearcopy.code import language_for_extension


@dataclass(frozen=True)
class Document:
    """A protected document: its text and the metadata reported when an output copies it
    (``language``, ``source``, ``license``, ``url``, anything JSON can hold)."""

    id: str
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, record: Mapping[str, Any]) -> Document:
        if "id" not in record or not isinstance(record.get("text"), str):
            raise ValueError(f"a document needs an 'id' and a str 'text', got keys {sorted(record)}")
        metadata = {k: v for k, v in record.items() if k not in ("id", "text")}
        return cls(str(record["id"]), record["text"], metadata)


class HeldDocument:
    """A protected document read from JSON Lines whose text is held in Rust
    (:mod:`nearcopy.held_jsonl`): what the build does with a :class:`Document`, without the text
    ever becoming a Python str (``text`` makes one, for what needs it)."""

    __slots__ = ("held", "id", "metadata")

    def __init__(self, id: str, metadata: dict[str, Any], held: _core.HeldText) -> None:
        self.id, self.metadata, self.held = id, metadata, held

    @property
    def text(self) -> str:
        return str(self.held)


# A document as the index writer takes it.
AnyDocument = Union[Document, HeldDocument]
# What a build or add is given: a document, or a mapping with ``id`` and ``text``.
DocumentInput = Union[Document, HeldDocument, Mapping[str, Any]]


def as_document(item: DocumentInput) -> Document:
    """The document of ``item`` (a held text made a str: what Ray tasks and the allowlist take)."""
    if isinstance(item, HeldDocument):
        return Document(item.id, item.text, item.metadata)
    return item if isinstance(item, Document) else Document.from_mapping(item)


def as_written(item: DocumentInput) -> AnyDocument:
    """:func:`as_document`, a held text staying held: what the index writer takes."""
    return item if isinstance(item, (Document, HeldDocument)) else Document.from_mapping(item)


def text_of(doc: AnyDocument) -> str | _core.HeldText:
    """The text as the kernel takes it (a held text stays held)."""
    return doc.held if isinstance(doc, HeldDocument) else doc.text


def text_length(doc: AnyDocument) -> int:
    """``len(doc.text)``, without making the str of a held text."""
    return len(doc.held) if isinstance(doc, HeldDocument) else len(doc.text)


# ``"language": "auto"``: read a document as code when the answer splitter finds code in one
# language over at least this share of its (non-blank) characters, else as prose. A whole source
# file is 0.95 or more (its comments and docstrings belong to its code); prose with a few examples,
# far less.
AUTO = "auto"
AUTO_CODE_SHARE = 0.8


def content_language(doc: AnyDocument) -> str | None:
    """The language a document is normalized as: its ``language``, else its path's extension, else
    None (prose). ``language="auto"``: its path's extension, else the language detection finds
    (:func:`detected_language`)."""
    language = doc.metadata.get("language")
    if isinstance(language, str) and language and language != AUTO:
        return _core.canonical_language(language)
    for key in ("path", "id"):
        name = str(doc.metadata.get(key, doc.id if key == "id" else ""))
        if "." in name and (found := language_for_extension(name.rsplit(".", 1)[1])):
            return found
    return detected_language(doc.text) if language == AUTO else None


def detected_language(text: str) -> str | None:
    """The language of ``text`` when it is code (see :data:`AUTO_CODE_SHARE`), else None. Costs a
    split of the whole text (about 3.5 MB/s on one core, measured on this machine's files)."""
    code = [s for s in split_answer(text) if s.kind == "code"]
    languages = {s.language for s in code}
    if len(languages) != 1 or None in languages:
        return None
    covered = sum(len(s.text) - s.text.count(" ") - s.text.count("\n") for s in code)
    wanted = len(text) - text.count(" ") - text.count("\n")
    return languages.pop() if covered >= AUTO_CODE_SHARE * wanted else None


def segment_contents(languages: list[str | None], also_prose: int) -> dict[str, int]:
    """Documents per reading a segment can match: prose, or code in a language; code documents
    whose code is repetitive (tables) are fingerprinted as prose too, and counted there too."""
    counts = Counter(lang or "prose" for lang in languages)
    if also_prose:
        counts["prose"] += also_prose
    return dict(counts)


def index_contents(manifest: Mapping[str, Any]) -> dict[str, int] | None:
    """Documents per content ("prose" or a language) over the manifest's segments; None when a
    segment does not say (written before nearcopy recorded it)."""
    total: Counter[str] = Counter()
    for segment in manifest["segments"]:
        if "contents" not in segment:
            return None
        total.update(segment["contents"])
    return dict(total)


def describe_manifest(path: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    segments = manifest["segments"]
    tokens = sum(int(s["tokens"]) for s in segments)
    size = sum(int(s["bytes"]) for s in segments)
    return {
        "path": str(path), "generation": manifest["generation"],
        "documents": sum(int(s["documents"]) for s in segments),
        "segments": len(segments), "fingerprints": sum(int(s["fingerprints"]) for s in segments),
        "tokens": tokens, "bytes": size, "bytes_per_token": size / tokens if tokens else 0.0,
        **manifest["params"],
        "keyed": bool(manifest.get("keyed")),
        "allowlist_documents": sum(int(s["documents"]) for s in manifest.get("allowlist", [])),
        "generated_helpers": sum(
            int(s["documents"]) for s in manifest.get("allowlist", []) if s.get("generated")
        ),
        "contents": index_contents(manifest),
        "allowlist_segments": len(manifest.get("allowlist", [])),
    }  # fmt: skip
