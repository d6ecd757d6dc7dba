"""The ids of a dedup run's documents, held compactly between the two passes.

Every document has an id: its id field's value, or ``file:N`` (its line in a JSONL file, its row
in a Parquet file) when it has none. A run over ten million documents held them as ten million
Python strings, about 80 bytes each with their list, most of the memory it needed beyond
``memory_limit``. Here an id costs 21 bytes (file, line number, end offset, a flag) plus, when it
was given, its UTF-8 bytes; the string is made again only when it is asked for (``duplicate_of``
when annotating, the examples of the report's largest clusters).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt


class DocIds:
    """Ids of documents numbered from 0 in the order they were added."""

    def __init__(self) -> None:
        self._labels: list[str] = []  # file labels, for the ids made from a line number
        self._blob = bytearray()  # the given ids' UTF-8, one after another
        # Per added batch; joined into one array each by `_compact`.
        self._label_chunks: list[npt.NDArray[np.int32]] = []
        self._line_chunks: list[npt.NDArray[np.int64]] = []
        self._end_chunks: list[npt.NDArray[np.int64]] = []  # where each id's bytes end in the blob
        self._given_chunks: list[npt.NDArray[np.bool_]] = []
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def add(self, label: str, ids: Sequence[str | None], lines: Sequence[int]) -> None:
        """A batch of documents of the file ``label``: their id field's values (None: none) and
        their line (or row) numbers."""
        if len(ids) != len(lines):
            raise ValueError("ids and lines must have the same length")
        if not self._labels or self._labels[-1] != label:
            self._labels.append(label)
        given = np.fromiter((i is not None for i in ids), dtype=bool, count=len(ids))
        # Lone surrogates are valid in JSON strings ("\ud800"), so they must survive the round trip.
        encoded = [i.encode("utf-8", "surrogatepass") for i in ids if i is not None]
        lengths = np.zeros(len(ids), dtype=np.int64)
        lengths[given] = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
        self._end_chunks.append(len(self._blob) + np.cumsum(lengths))
        self._blob += b"".join(encoded)
        self._label_chunks.append(np.full(len(ids), len(self._labels) - 1, dtype=np.int32))
        self._line_chunks.append(np.asarray(lines, dtype=np.int64))
        self._given_chunks.append(given)
        self._count += len(ids)

    def add_encoded(self, blob: bytes, ends: npt.NDArray[np.int64]) -> None:
        """A batch of documents whose ids are all given, as their UTF-8 one after another and where
        each ends in ``blob`` (a saved reference index holds them so)."""
        if len(ends) and (int(ends[-1]) != len(blob) or (np.diff(ends) < 0).any() or int(ends[0]) < 0):
            raise ValueError("id ends must rise to the end of the id bytes")
        self._end_chunks.append(len(self._blob) + np.asarray(ends, dtype=np.int64))
        self._blob += blob
        self._label_chunks.append(np.zeros(len(ends), dtype=np.int32))
        self._line_chunks.append(np.zeros(len(ends), dtype=np.int64))
        self._given_chunks.append(np.ones(len(ends), dtype=bool))
        self._count += len(ends)

    def _compact(self) -> None:
        if len(self._line_chunks) > 1:
            self._label_chunks = [np.concatenate(self._label_chunks)]
            self._line_chunks = [np.concatenate(self._line_chunks)]
            self._end_chunks = [np.concatenate(self._end_chunks)]
            self._given_chunks = [np.concatenate(self._given_chunks)]

    def __getitem__(self, doc: int) -> str:
        if not 0 <= doc < self._count:
            raise IndexError(f"document {doc} of {self._count}")
        self._compact()
        if self._given_chunks[0][doc]:
            end = int(self._end_chunks[0][doc])
            start = int(self._end_chunks[0][doc - 1]) if doc else 0
            return self._blob[start:end].decode("utf-8", "surrogatepass")
        return f"{self._labels[int(self._label_chunks[0][doc])]}:{int(self._line_chunks[0][doc])}"

    def strings(self, docs: npt.NDArray[np.int64]) -> list[str | None]:
        """The ids of ``docs``, None where a doc is negative (no document)."""
        return [None if d < 0 else self[d] for d in docs.tolist()]

    def nbytes(self) -> int:
        """Memory held, in bytes."""
        arrays = self._label_chunks + self._line_chunks + self._end_chunks + self._given_chunks
        return len(self._blob) + sum(a.nbytes for a in arrays)
