"""Spilling signatures and band-key records to a work directory, so memory follows a setting and
not the corpus.

Signatures are appended to one file and memory-mapped for verification (the page cache, not the
process, holds them). Band-key records ``(key u64, doc u64)``, 16 bytes each, go to one of
``partitions`` files by the key's high bits; every record of a key lands in the same file, so each
file is sorted and grouped on its own, and consecutive files are loaded together up to the budget.

Records are held in memory, and no file is written, as long as all of them fit in the budget of one
group: most runs are that small, and opening, writing and reading back dozens of files cost them
more than finding their duplicates. The groups are then the ones the files would have given.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt

from nearcopy import _core

RECORD_BYTES = 16
# A loaded record is read, filtered (exact duplicates out), argsorted (8 bytes) and copied in key
# order, and copied once more by the Rust kernel: about six times its 16 bytes at the peak.
BYTES_PER_LOADED_RECORD = 6 * RECORD_BYTES
# A candidate pair takes 16 bytes, and it is copied a few times while it is split by kind (input or
# reference), filtered and verified: slices of pairs are cut to budget / PAIR_BYTES pairs.
PAIR_BYTES = 8 * 16


def parse_size(value: int | str) -> int:
    """Bytes from an int or a string such as ``"512M"``, ``"2G"``, ``"1.5GiB"``."""
    if isinstance(value, int) and not isinstance(value, bool):
        size = value
    elif isinstance(value, str):
        text = value.strip().upper().removesuffix("IB").removesuffix("B")
        scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}.get(text[-1:], 1)
        number = text[:-1] if text[-1:] in "KMGT" else text
        try:
            size = int(float(number) * scale)
        except ValueError:
            raise ValueError(f"not a size: {value!r} (examples: 512M, 2G)") from None
    else:
        raise TypeError(f"a size must be an int or a string such as '2G', got {type(value).__name__}")
    if size < 1 << 20:
        raise ValueError(f"the memory limit must be at least 1M, got {value!r}")
    return size


class Spill:
    """The work files of one dedup run, under ``root`` (a fresh directory the caller removes)."""

    def __init__(
        self,
        root: Path,
        partitions: int,
        num_perm: int,
        dtype: type[np.unsignedinteger],
        group_budget: int = 0,
    ) -> None:
        """``group_budget``: the bytes ``groups`` will be given; records are held in memory while
        they all fit in it (0: always written to the partition files)."""
        if not 1 <= partitions <= 4096:
            raise ValueError(f"partitions must be between 1 and 4096, got {partitions}")
        self.root, self.partitions, self.num_perm, self.dtype = root, partitions, num_perm, np.dtype(dtype)
        self.docs = 0
        self.counts = np.zeros(partitions, dtype=np.int64)
        self._group_budget = group_budget
        # Per batch: its records, ordered by partition, and how many each partition has.
        self._held: list[tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]] = []
        self._held_records = 0
        self._spilled = False
        # Once spilling, held records are appended to the files this many bytes at a time: batches
        # are small (about 1 MiB of text), and opening every partition file for each would cost a
        # 10-million-document run ~800,000 opens.
        self._flush_bytes = max(1 << 20, min(64 << 20, group_budget // 8))
        self._signatures = open(root / "signatures.bin", "wb")  # noqa: SIM115 (closed in finish)
        self._sets = open(root / "sets.bin", "wb")  # noqa: SIM115
        self._set_bounds: list[npt.NDArray[np.uint64]] = [np.zeros(1, dtype=np.uint64)]
        self._set_values = 0

    def add(self, sigs: npt.NDArray[np.unsignedinteger], keys: npt.NDArray[np.uint64]) -> None:
        """Appends a batch's signatures and its band keys' records (documents numbered on)."""
        # The array's own buffer, not a `tobytes` copy of it (20 MB per 20k documents).
        self._signatures.write(np.ascontiguousarray(sigs, dtype=self.dtype).data)
        records, counts = _core.dedup_bucket_records(keys, self.docs, self.partitions)
        self.counts += counts.astype(np.int64)
        self.docs += len(sigs)
        self._held.append((records, counts))
        self._held_records += len(records)
        if self._spilled:
            if self._held_records * RECORD_BYTES >= self._flush_bytes:
                self._spill_held()
        elif int(self.counts.sum()) * BYTES_PER_LOADED_RECORD > self._group_budget:
            self._spill_held()

    def _spill_held(self) -> None:
        """Appends the held records to their partition files, each file opened once (from now on,
        records are held only until there are ``_flush_bytes`` of them)."""
        self._spilled = True
        # Where each partition's records start in each held batch (a batch is ordered by partition).
        starts = [np.concatenate(([0], np.cumsum(counts, dtype=np.int64))) for _, counts in self._held]
        held_counts = np.sum([counts for _, counts in self._held], axis=0)
        for part in np.flatnonzero(held_counts).tolist():
            with open(self._bucket(part), "ab") as handle:
                for (records, _), bounds in zip(self._held, starts):
                    if bounds[part + 1] > bounds[part]:
                        handle.write(np.ascontiguousarray(records[bounds[part] : bounds[part + 1]]).data)
        self._held.clear()
        self._held_records = 0

    def add_sets(self, values: npt.NDArray[np.uint64], bounds: npt.NDArray[np.uint64]) -> None:
        """Appends a batch's shingle sets (``--verify exact``)."""
        self._sets.write(np.ascontiguousarray(values).data)
        self._set_bounds.append(bounds[1:] + np.uint64(self._set_values))
        self._set_values += len(values)

    def _bucket(self, part: int) -> Path:
        return self.root / f"bucket-{part:05d}.bin"

    def finish(self) -> None:
        """Closes the files being appended to (again: a no-op)."""
        for handle in (self._signatures, self._sets):
            handle.close()

    def signatures(self) -> npt.NDArray[np.unsignedinteger]:
        """Every signature, ``(docs, num_perm)``, memory-mapped read-only."""
        if self.docs == 0:
            return np.empty((0, self.num_perm), dtype=self.dtype)
        return np.memmap(
            self.root / "signatures.bin", dtype=self.dtype, mode="r", shape=(self.docs, self.num_perm)
        )

    def sets(self) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
        bounds = np.concatenate(self._set_bounds)
        if self._set_values == 0:
            return np.empty(0, dtype=np.uint64), bounds
        return np.memmap(self.root / "sets.bin", dtype=np.uint64, mode="r", shape=(self._set_values,)), bounds

    def groups(self, budget: int) -> Iterator[npt.NDArray[np.uint64]]:
        """The records of consecutive partitions, as many at a time as ``budget`` bytes allow (at
        least one partition, whatever its size); each partition file is deleted once read."""
        if not self._spilled:
            yield from self._held_groups(budget)
            return
        if self._held:
            self._spill_held()
        part = 0
        while part < self.partitions:
            last = part + 1
            total = int(self.counts[part])
            while last < self.partitions and (total + self.counts[last]) * BYTES_PER_LOADED_RECORD <= budget:
                total += int(self.counts[last])
                last += 1
            chunks = []
            for p in range(part, last):
                path = self._bucket(p)
                if self.counts[p]:
                    chunks.append(np.fromfile(path, dtype=np.uint64).reshape(-1, 2))
                    os.unlink(path)
            part = last
            if chunks:
                yield np.concatenate(chunks) if len(chunks) > 1 else chunks[0]

    def _held_groups(self, budget: int) -> Iterator[npt.NDArray[np.uint64]]:
        """The held records as one group when they fit in ``budget`` (as they do when it is the group
        budget), else spilled and grouped from the files. One group holds the partitions in another
        order than the files would, which changes nothing: a key's records are all in one partition,
        in batch order either way, and the group is sorted by key before use."""
        if not self._held:
            return
        if int(self.counts.sum()) * BYTES_PER_LOADED_RECORD <= budget:
            records = np.concatenate([records for records, _ in self._held])
            self._held.clear()
            yield records
            return
        self._spill_held()
        yield from self.groups(budget)
