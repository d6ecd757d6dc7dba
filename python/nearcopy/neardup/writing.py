"""Pass 2 of a dedup run: every output written to a temporary file beside it, synced, and all of
them renamed into place only once every one is complete."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from nearcopy.inputs import InputError
from nearcopy.neardup import formats
from nearcopy.neardup.clustering import Corpus
from nearcopy.neardup.formats import Annotator
from nearcopy.neardup.leftovers import temporary_output
from nearcopy.neardup.ray_stages import write_files
from nearcopy.neardup.reading import BadLines
from nearcopy.neardup.report import Progress


def _write_file(
    source: Path, label: str, tmp: Path, first: int, annotator: Annotator, skipped: set[int]
) -> int:
    """One output, complete and synced, at its temporary name; the documents its input held."""
    with open(tmp, "wb") as handle:
        if formats.file_format(source) == ("parquet", ""):
            written = formats.write_parquet(source, first, annotator, handle, skipped)
        else:
            written = formats.write_jsonl(source, label, first, annotator, handle, skipped)
        handle.flush()
        os.fsync(handle.fileno())
    return written


def write_outputs(
    files: list[tuple[Path, Path]],
    targets: list[Path],
    corpus: Corpus,
    decisions: Any,
    annotate: bool,
    show: Progress,
    bad: BadLines,
    ray: Any = None,
) -> None:
    """Every output to a temporary file beside it, synced; all renamed into place only when every
    one is complete. Any failure (Ctrl-C included) removes the temporary files and leaves the
    outputs as they were. With ``ray``, each file is written by a task of its own."""
    pending: list[tuple[Path, Path]] = []
    locks: list[int] = []  # held while the temporary files may be written (see leftovers.py)
    try:
        jobs = []
        first = 0
        for (source, rel), target, count in zip(files, targets, corpus.file_docs):
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp, lock = temporary_output(target)
            locks.append(lock)
            pending.append((tmp, target))
            end = first + count
            # Each job gets its own documents' decisions only, numbered from 0; the ids of the
            # documents they duplicate are made only when they are written.
            annotator = Annotator(
                decisions.keep[first:end],
                decisions.cluster[first:end],
                decisions.size[first:end],
                corpus.ids.strings(decisions.duplicate_of[first:end]) if annotate else [],
                annotate,
            )
            skipped = bad.by_file.get(str(rel), set())
            jobs.append((_write_file, (source.resolve(), str(rel), tmp, 0, annotator, skipped)))
            first = end
        if ray is not None:
            written = write_files(ray, jobs)
            show.update("writing", first, len(decisions.keep), unit="documents")
        else:
            written, done = [], 0
            for fn, args in jobs:
                written.append(fn(*args))
                done += written[-1]
                show.update("writing", done, len(decisions.keep), unit="documents")
        for (source, _), count, wrote in zip(files, corpus.file_docs, written):
            if wrote != count:
                raise InputError(
                    f"{source}: changed while being deduplicated ({count} then {wrote} documents)"
                )
        for tmp, target in pending:
            os.replace(tmp, target)
        show.done()
    except BaseException:
        for tmp, _ in pending:
            tmp.unlink(missing_ok=True)
        raise
    finally:
        for lock in locks:
            os.close(lock)
