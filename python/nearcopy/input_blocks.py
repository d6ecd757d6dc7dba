"""Input files as blocks that can be read apart and give, one after the other, the documents of
:func:`nearcopy.file_metadata.documents_with_metadata` in its order, with its errors.

:class:`InputFiles` names the sources (files, directories, globs; JSONL, Parquet, text files) and
how they are read. Iterated, it reads them on this machine, as ``documents_with_metadata`` does;
the Ray build (:mod:`nearcopy.index_ray_read`) instead reads its :func:`blocks` in tasks:

- consecutive whole files (text files, gzip JSONL, Parquet, small JSONL) up to ``block_bytes`` on
  disk and :data:`MAX_BLOCK_FILES` files;
- a plain JSONL file larger than ``block_bytes``, cut into ranges of about ``block_bytes`` that end
  at line ends (the cut is found by reading one line after each offset). A range needs the number
  of its first line, for its errors (``file:line: ...``) and for the ids of records without one
  (``file:line``): the lines of the ranges before it, counted by :func:`count_lines` (a scan for
  newlines, many times faster than parsing them);
- a Parquet file larger than ``block_bytes``, in runs of row groups of about ``block_bytes``
  (uncompressed), each run's first row numbered from the row counts in the file's footer.

:func:`read_block` then reads a block as the local reading reads those files or lines. Its
reading of a file and of a JSONL line repeats ``nearcopy.inputs``' (whose functions read whole
files only); ``tests/test_index_ray.py`` checks that the two agree, documents and errors.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nearcopy._paths import glob_paths, is_pattern, walk_files
from nearcopy.file_metadata import FileMetadata, describer, documents_with_metadata
from nearcopy.inputs import (
    MAX_LINE_BYTES,
    InputError,
    LoadReport,
    _expand,
    _is_jsonl,
    _parquet_documents,
    file_documents,
    parse_record,
)

# A block: about this much input on disk (a task's reading, a few hundred milliseconds of parsing).
BLOCK_BYTES = 16 << 20
# At most this many files in a block of whole files (a directory of tiny files).
MAX_BLOCK_FILES = 2000


def no_documents_error(sources: list[str]) -> InputError:
    """What a build that is to protect something says when its sources hold no document."""
    given = " ".join(sources) or "(no SRC given)"
    return InputError(
        f"no documents to protect in {given}; an empty index flags nothing (--allow-empty to build one)"
    )


@dataclass
class InputFiles:
    """The documents of ``sources`` as :func:`~nearcopy.file_metadata.documents_with_metadata` reads
    them (``metadata`` for files; JSONL and Parquet records keep their fields), given to
    :meth:`nearcopy.ProtectedIndex.build`: iterated on this machine by the local build, read in
    Ray tasks, block by block, by ``engine="ray"``. ``report`` counts the files skipped (binary,
    oversized); ``allow_empty`` False makes sources without a document an
    :class:`~nearcopy.inputs.InputError`; ``block_bytes``: the input a Ray read task reads."""

    sources: list[str]
    metadata: FileMetadata = field(default_factory=FileMetadata)
    text_field: str = "text"
    id_field: str = "id"
    allow_unmatched: bool = False
    allow_empty: bool = True
    report: LoadReport = field(default_factory=LoadReport)
    block_bytes: int = BLOCK_BYTES

    def __iter__(self) -> Iterator[dict[str, Any]]:
        documents = documents_with_metadata(
            self.sources, self.metadata, text_field=self.text_field, id_field=self.id_field,
            report=self.report, allow_unmatched=self.allow_unmatched,
        )  # fmt: skip
        empty = True
        for document in documents:
            empty = False
            yield document
        if empty and not self.allow_empty:
            raise no_documents_error(self.sources)


@dataclass(frozen=True)
class Block:
    """Whole ``files`` (each with the source it was found under); or the lines of one JSONL file
    from byte ``start`` to ``end``, the first numbered ``first_line`` (None until counted); or, with
    ``parquet``, the row groups ``start`` to ``end`` of a Parquet file, its first row ``first_line``."""

    files: tuple[tuple[str, str], ...] = ()
    path: str = ""
    start: int = 0
    end: int = 0
    first_line: int | None = 1
    parquet: bool = False


def _files(inputs: InputFiles) -> Iterator[tuple[Path, Path]]:
    """Every file of the sources and the source it was found under, in the local reading's order."""
    if not inputs.allow_unmatched:
        for name in inputs.sources:
            if is_pattern(name) and not glob_paths(name):
                raise InputError(f"{name}: the pattern matches no file")
    for name in inputs.sources:
        for path in _expand(name):
            for file in walk_files(path) if path.is_dir() else [path]:
                yield file, path


def _size(file: Path) -> int:
    try:
        return os.stat(file).st_size
    except OSError:
        return 0  # the block's reading raises the error, in its place


def _cuts(file: Path, size: int, block_bytes: int) -> list[int]:
    """Offsets that cut ``file`` into ranges of about ``block_bytes``, each just after a newline.
    None past a line longer than the reading accepts: the range holding it fails as it should."""
    cuts: list[int] = []
    try:
        with open(file, "rb") as handle:
            while size - (cuts[-1] if cuts else 0) > block_bytes:
                handle.seek((cuts[-1] if cuts else 0) + block_bytes)
                line = handle.readline(MAX_LINE_BYTES + 1)
                cut = handle.tell()
                if not line.endswith(b"\n") or cut >= size:
                    break
                cuts.append(cut)
    except OSError:
        return []  # unreadable: one block, whose reading reports it
    return cuts


def blocks(inputs: InputFiles) -> Iterator[Block]:
    """The blocks of ``inputs``, in order; a range after a file's first has ``first_line`` None.
    A source found missing is raised after the blocks of the files before it, which the local
    reading reads before it finds that out."""
    group: list[tuple[str, str]] = []
    held = 0
    try:
        for file, source in _files(inputs):
            size = _size(file)
            large = size > inputs.block_bytes
            jsonl = large and _is_jsonl(file) and file.suffix != ".gz"
            parquet = _row_group_runs(file, inputs) if large and file.suffix.lower() == ".parquet" else []
            splittable = jsonl or len(parquet) > 1
            if group and (splittable or held + size > inputs.block_bytes or len(group) >= MAX_BLOCK_FILES):
                yield Block(files=tuple(group))
                group, held = [], 0
            if not splittable:
                group.append((str(file), str(source)))
                held += size
            elif jsonl:
                bounds = [0, *_cuts(file, size, inputs.block_bytes), size]
                for n, (start, end) in enumerate(zip(bounds, bounds[1:])):
                    yield Block(path=str(file), start=start, end=end, first_line=1 if n == 0 else None)
            else:
                for start, end, first_row in parquet:
                    yield Block(path=str(file), start=start, end=end, first_line=first_row, parquet=True)
    except InputError:
        if group:
            yield Block(files=tuple(group))
        raise
    if group:
        yield Block(files=tuple(group))


def _row_group_runs(file: Path, inputs: InputFiles) -> list[tuple[int, int, int]]:
    """Runs of consecutive row groups of a Parquet file, each of about ``block_bytes`` (uncompressed),
    with its first row's number: ``(first group, group after the last, first row)``. Empty (the
    whole file is then one block, whose reading reports what is wrong) when the file cannot be read
    here or lacks the text column."""
    try:
        import pyarrow.parquet as pq

        parquet = pq.ParquetFile(file)
    except Exception:  # pyarrow's own error types: the file's reading raises the local error
        return []
    if inputs.text_field not in parquet.schema_arrow.names:
        return []
    runs: list[tuple[int, int, int]] = []
    first, held, row, first_row = 0, 0, 0, 1
    for n in range(parquet.metadata.num_row_groups):
        group = parquet.metadata.row_group(n)
        held, row = held + group.total_byte_size, row + group.num_rows
        if held >= inputs.block_bytes:
            runs.append((first, n + 1, first_row))
            first, held, first_row = n + 1, 0, row + 1
    if first < parquet.metadata.num_row_groups:
        runs.append((first, parquet.metadata.num_row_groups, first_row))
    return runs


def count_lines(path: str, start: int, end: int) -> int:
    """The newlines of ``path`` from byte ``start`` to ``end``: the lines of a range that ends at
    a line end (0 if unreadable)."""
    count, left = 0, end - start
    try:
        with open(path, "rb") as handle:
            handle.seek(start)
            while left > 0 and (chunk := handle.read(min(left, 1 << 20))):
                count += chunk.count(b"\n")
                left -= len(chunk)
    except OSError:
        pass  # the range's reading raises the local reading's error for it
    return count


def read_block(block: Block, inputs: InputFiles, report: LoadReport) -> Iterator[dict[str, Any]]:
    """The documents of ``block``, as the local reading gives them; skipped files counted in
    ``report``."""
    defaults = inputs.metadata.defaults()
    if block.path:
        if block.first_line is None:
            raise ValueError("a range's first line must be counted before it is read")
        read = _row_groups if block.parquet else _range_documents
        for record in read(Path(block.path), block.start, block.end, block.first_line, inputs):
            yield {**defaults, **record} if defaults else record
        return
    describe = describer(inputs.metadata)
    for file, source in block.files:
        yield from file_documents(
            Path(file), Path(source), inputs.text_field, inputs.id_field, report, describe, defaults
        )


def _range_documents(
    path: Path, start: int, end: int, first_line: int, inputs: InputFiles
) -> Iterator[dict[str, Any]]:
    """The records of the lines of a plain JSONL file from ``start`` to ``end``: ``inputs``'
    ``jsonl_objects`` and ``_jsonl_documents`` over those lines alone."""
    text_field, id_field = inputs.text_field, inputs.id_field
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            handle.seek(start)
            position, number = start, first_line - 1
            while position < end:
                raw = handle.readline(MAX_LINE_BYTES + 1)
                if not raw:
                    break
                position += len(raw)
                number += 1
                if len(raw) > MAX_LINE_BYTES:
                    raise InputError(f"{path}:{number}: line longer than {MAX_LINE_BYTES} bytes")
                if raw.isspace():
                    continue
                record = parse_record(raw, f"{path}:{number}", text_field)
                doc_id = str(record.get(id_field, f"{path}:{number}"))
                metadata = {k: v for k, v in record.items() if k not in (text_field, id_field)}
                yield {**metadata, "id": doc_id, "text": record[text_field]}
    except FileNotFoundError:
        raise InputError(f"input not found: {path}") from None
    except OSError as err:
        raise InputError(f"{path}: cannot read: {err.strerror or err}") from None
    except (EOFError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: cannot read: {err}") from None


def _row_groups(
    path: Path, start: int, end: int, first_row: int, inputs: InputFiles
) -> Iterator[dict[str, Any]]:
    """The rows of the row groups ``start`` to ``end`` of a Parquet file, as the local reading
    gives them."""
    return _parquet_documents(path, inputs.text_field, inputs.id_field, (start, end), first_row)
