"""The shape of an index manifest, checked before anything in it is used.

A manifest is JSON that anyone may edit or damage; every value the reader uses is checked here for
its type and range, and every file it names must be a plain name inside the index directory (a
damaged or hostile manifest must not make a reader open ``../../etc/passwd`` or ``/dev/zero``).
The index turns a problem into an ``OSError`` naming the index (``IndexError_``).
"""

from __future__ import annotations

from typing import Any

from nearcopy import _core

_PARAMS = ("k", "w", "code_k", "code_w")
_SEGMENT_COUNTS = ("documents", "first_doc", "fingerprints", "tokens", "bytes")


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63


def _plain_name(value: Any) -> bool:
    return isinstance(value, str) and value not in ("", ".", "..") and "/" not in value and "\0" not in value


def _contents_problem(contents: Any) -> str | None:
    """What is wrong with a segment's ``contents`` (documents per content: "prose" or a language)."""
    if not isinstance(contents, dict):
        return "contents is not an object"
    known = {"prose", *_core.languages()}
    for name, count in contents.items():
        if name not in known or not _count(count):
            return f"contents names {name!r} with {count!r} documents"
    return None


def _sha256(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def manifest_problem(manifest: dict[str, Any]) -> str | None:
    """What is wrong with ``manifest`` (already known to be a dict of this format and version), or None."""
    if not _count(manifest.get("generation")):
        return "generation is not a count"
    params = manifest.get("params")
    if not isinstance(params, dict) or not all(_count(params.get(p)) for p in _PARAMS):
        return f"params must hold the counts {', '.join(_PARAMS)}"
    # The winnowing ranges of the core (fingerprint/mod.rs), so that opening never fails on them.
    if not all(1 <= params[k] <= 256 for k in ("k", "code_k")) or not all(
        1 <= params[w] <= 1024 for w in ("w", "code_w")
    ):
        return "params out of range (k 1-256, w 1-1024)"
    if not isinstance(manifest.get("keyed", False), bool):
        return "keyed is not true or false"
    segments, allowlist = manifest.get("segments"), manifest.get("allowlist", [])
    if not isinstance(segments, list) or not isinstance(allowlist, list):
        return "segments and allowlist must be lists"
    first_doc = 0
    for i, segment in enumerate(segments):
        if not isinstance(segment, dict) or not _plain_name(segment.get("file")):
            return f"segment {i} names no file in the index directory"
        if not _plain_name(segment.get("docs")):
            return f"segment {i} names no metadata file in the index directory"
        if not _sha256(segment.get("docs_sha256")):
            return f"segment {i} holds no SHA-256 of its metadata file"
        if not all(_count(segment.get(c)) for c in _SEGMENT_COUNTS):
            return f"segment {i} must hold the counts {', '.join(_SEGMENT_COUNTS)}"
        if (problem := _contents_problem(segment.get("contents", {}))) is not None:
            return f"segment {i}: {problem}"
        if segment["first_doc"] != first_doc:
            return f"segment {i} starts at document {segment['first_doc']}, not {first_doc}"
        first_doc += segment["documents"]
    for i, entry in enumerate(allowlist):
        if not isinstance(entry, dict) or not _plain_name(entry.get("file")):
            return f"allowlist segment {i} names no file in the index directory"
        if not all(_count(entry.get(c)) for c in ("documents", "fingerprints", "tokens", "bytes")):
            return f"allowlist segment {i} must hold its counts"
    return None
