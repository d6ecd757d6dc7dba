"""Licence, URL and source metadata for protected documents read from files and directories.

A JSONL or Parquet corpus carries its metadata in its fields; files do not, and without a licence
``--license-policy`` has nothing to act on. Metadata for files comes from, most specific first:

1. a sidecar metadata file (``--metadata FILE``): a JSON object whose keys are shell-style patterns
   matched against each file's path relative to the source directory it was found under (``*``
   matches across directories, so ``"*.py"`` is every Python file and ``"vendor/*"`` everything
   under ``vendor/``) and whose values are the fields to set; later patterns win;
2. an SPDX header in the file's first 4 KiB (``SPDX-License-Identifier: Apache-2.0 OR MIT``),
   read as the document's ``license`` (``spdx=False`` turns it off);
3. defaults for every document (``--license``, ``--url``, ``--source``); ``url`` may name
   ``{path}``, the relative path, to link each file to its place in a repository.

JSONL and Parquet records keep their own fields; the defaults only fill in those they lack.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nearcopy._paths import glob_paths, is_pattern
from nearcopy.inputs import InputError, LoadReport, read_documents, read_held_documents
from nearcopy.protected_documents import HeldDocument

# SPDX's own recommendation: the tag on a line of its own near the top of the file, in a comment.
SPDX_TAG = re.compile(rb"SPDX-License-Identifier:[ \t]*([^\r\n]*?)[ \t]*(?:\*/|-->|#\}|\r?$)", re.MULTILINE)
SPDX_WINDOW = 4096
# The fields a sidecar may not set: they are the document itself, not metadata about it.
_RESERVED = ("id", "text")


class MetadataFileError(InputError):
    """A sidecar metadata file is missing, not JSON, or not an object of objects."""


@dataclass(frozen=True)
class FileMetadata:
    """Where the metadata of file documents comes from (see the module's docstring)."""

    license: str | None = None
    url: str | None = None
    source: str | None = None
    rules: tuple[tuple[str, Mapping[str, Any]], ...] = ()
    spdx: bool = True
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_file(cls, path: str | Path, **defaults: Any) -> FileMetadata:
        """Defaults plus the rules of the sidecar metadata file at ``path``."""
        return cls(rules=read_rules(Path(path)), **defaults)

    def defaults(self) -> dict[str, Any]:
        given = {"license": self.license, "url": self.url, "source": self.source, **self.extra}
        return {k: v for k, v in given.items() if v is not None}

    def for_file(self, relative: str, head: bytes) -> dict[str, Any]:
        """The metadata of a file at ``relative`` (posix, under its source) starting with ``head``."""
        fields = self.defaults()
        if "url" in fields:
            fields["url"] = str(fields["url"]).replace("{path}", relative)
        if self.spdx and (found := spdx_license(head)):
            fields["license"] = found
        for pattern, values in self.rules:
            if fnmatch.fnmatchcase(relative, pattern):
                fields.update(values)
        return fields


def spdx_license(head: bytes) -> str | None:
    """The licence expression of the first SPDX tag in ``head`` (the start of a file), if any."""
    match = SPDX_TAG.search(head[:SPDX_WINDOW])
    if match is None:
        return None
    expression = match.group(1).decode("utf-8", "replace").strip()
    return expression or None


def read_rules(path: Path) -> tuple[tuple[str, Mapping[str, Any]], ...]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MetadataFileError(f"--metadata {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise MetadataFileError(
            f"--metadata {path}: cannot read: {getattr(err, 'strerror', None) or err}"
        ) from None
    except json.JSONDecodeError as err:
        raise MetadataFileError(f"--metadata {path}: not JSON ({err.msg} at line {err.lineno})") from None
    if not isinstance(raw, dict) or not all(isinstance(v, dict) for v in raw.values()):
        raise MetadataFileError(
            f"--metadata {path}: expected an object of pattern -> fields, "
            'e.g. {"*.py": {"license": "MIT"}}'
        )
    for pattern, values in raw.items():
        if reserved := sorted(set(values) & set(_RESERVED)):
            raise MetadataFileError(
                f"--metadata {path}: {pattern!r} sets {', '.join(reserved)}, which it may not"
            )
    return tuple(raw.items())


def documents_with_metadata(
    sources: list[str],
    metadata: FileMetadata | None = None,
    *,
    text_field: str = "text",
    id_field: str = "id",
    report: LoadReport | None = None,
    allow_unmatched: bool = False,
) -> Iterator[dict[str, Any]]:
    """The documents of ``sources`` (files, directories, globs, JSONL, Parquet) as mappings ready for
    :meth:`nearcopy.ProtectedIndex.build`, each file's with the metadata ``metadata`` gives it
    (``{path}`` and the sidecar's patterns see a file's path relative to the directory named, or a
    file named or matched by a glob as given).

    A glob that matches no file is an :class:`~nearcopy.inputs.InputError` (a mistyped pattern would
    otherwise protect nothing), unless ``allow_unmatched``.
    """
    metadata = _checked_sources(sources, metadata, allow_unmatched)
    yield from read_documents(
        sources, text_field, id_field, report, describe_file=describer(metadata),
        record_defaults=metadata.defaults(),
    )  # fmt: skip


def held_documents_with_metadata(
    sources: list[str],
    metadata: FileMetadata | None = None,
    *,
    text_field: str = "text",
    id_field: str = "id",
    report: LoadReport | None = None,
    allow_unmatched: bool = False,
    num_threads: int | None = None,
) -> Iterator[dict[str, Any] | HeldDocument]:
    """:func:`documents_with_metadata`'s documents, those of JSONL files with their texts held in
    Rust (:class:`~nearcopy.protected_documents.HeldDocument`, their lines split on
    ``num_threads`` threads, default all cores): what the CLI's build reads."""
    metadata = _checked_sources(sources, metadata, allow_unmatched)
    yield from read_held_documents(
        sources, text_field, id_field, report, describe_file=describer(metadata),
        record_defaults=metadata.defaults(), num_threads=num_threads,
    )  # fmt: skip


def _checked_sources(
    sources: list[str], metadata: FileMetadata | None, allow_unmatched: bool
) -> FileMetadata:
    if not allow_unmatched:
        for name in sources:
            if is_pattern(name) and not glob_paths(name):
                raise InputError(f"{name}: the pattern matches no file")
    return metadata or FileMetadata()


def describer(metadata: FileMetadata) -> Callable[[Path, Path, bytes], dict[str, Any]]:
    """What ``metadata`` says of a text file found under a source directory or named itself (its
    path relative to the directory, its first bytes for an SPDX tag)."""

    def describe(file: Path, source: Path, data: bytes) -> dict[str, Any]:
        relative = file.relative_to(source) if source.is_dir() else file
        return metadata.for_file(relative.as_posix(), data[:SPDX_WINDOW])

    return describe
