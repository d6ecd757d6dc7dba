"""A saved reference index: a corpus signed once, then used as ``reference`` by any number of runs.

Decontaminating every new shard of training data against the same benchmarks, or against a large
licensed corpus, would otherwise read and sign that reference again in every run. ``dedup(...,
save_reference=DIR)`` writes what pass 1 computed of the run's input documents to DIR as an LSH
index (:class:`nearcopy.LSHIndex`: one format for both): full signatures, the content hashes, the
ids as keys and, for ``verify="exact"``, the shingle sets, with the settings the signatures depend
on recorded as its ``signing``. ``dedup(..., reference=DIR)`` then reads it in place of a dataset,
with the same results; the same directory answers ``nearcopy lsh query``. Any LSH index of full
signatures with content hashes and recorded signing (``nearcopy lsh build --store full``) is a
reference too. A run may use another threshold, other bands and rows, another keep policy: band
keys are recomputed from the signatures; the settings that change signatures must be equal.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from nearcopy.inputs import InputError
from nearcopy.lsh_index import LSHIndex
from nearcopy.lsh_store import LOCK_FILE, MANIFEST, LSHIndexError
from nearcopy.neardup.leftovers import LOCK_NAME, make_locked_dir, remove_work_dir
from nearcopy.neardup.stages import Params

# The format before the LSH index (flat arrays beside this manifest): refused with "save it again".
OLD_MANIFEST = "nearcopy-reference.json"
# Documents per segment of a saved index: a fixed count, so that the local and the Ray engine, which
# hand over batches of different sizes, write the same files.
SEGMENT_DOCS = 1 << 16


class ReferenceIndexError(InputError):
    """A reference index is damaged, of another version, or was signed with other settings."""


def signature_settings(params: Params) -> dict[str, Any]:
    """The settings two corpora must share for their signatures to be comparable."""
    t = params.text
    return {
        "num_perm": params.num_perm,
        "scheme": params.scheme,
        "seed": params.seed,
        "ngram": t.ngram,
        "unit": t.unit,
        "nfkc": t.nfkc,
        "casefold": t.casefold,
        "code_ngram": params.code_ngram,
        "identifiers": params.identifiers,
        "literals": params.literals,
    }


def is_reference_index(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is an index (to read as one) rather than a dataset."""
    return (Path(path) / MANIFEST).is_file() or (Path(path) / OLD_MANIFEST).is_file()


class ReferenceWriter:
    """Appends a run's signed batches to an LSH index in a hidden directory beside ``target``;
    ``commit`` publishes it under ``target`` (replacing an older index there), ``abort`` removes it."""

    def __init__(self, target: Path, params: Params) -> None:
        if target.exists() and not is_reference_index(target):
            raise InputError(f"{target}: exists and is not a reference index; not overwritten")
        target.parent.mkdir(parents=True, exist_ok=True)
        self.target, self.params = target, params
        # Locked while this run lives, so the next save beside it removes it if this run is killed.
        self.tmp, self._lock = make_locked_dir(target.parent, f".{target.name}.", ".tmp")
        exact = params.verify == "exact"
        self.index = LSHIndex.create(
            self.tmp, num_perm=params.num_perm, scheme=params.scheme, seed=params.seed,
            threshold=params.threshold, bands=params.band_count, rows=params.row_count, store="full",
            signing=signature_settings(params),
            columns=["content_hashes", "shingle_sets"] if exact else ["content_hashes"],
        )  # fmt: skip
        self._pending: list[tuple[npt.NDArray[Any], npt.NDArray[np.uint64], list[str], Any]] = []
        self._pending_docs = 0

    def add(
        self,
        sigs: npt.NDArray[Any],
        hashes: npt.NDArray[np.uint64],
        ids: list[str],
        sets: tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]] | None,
    ) -> None:
        self._pending.append((sigs, hashes, ids, sets if self.params.verify == "exact" else None))
        self._pending_docs += len(ids)
        while self._pending_docs >= SEGMENT_DOCS:
            self._insert(SEGMENT_DOCS)

    def _insert(self, count: int) -> None:
        """Inserts the first ``count`` pending documents as one segment."""
        sigs = np.concatenate([p[0] for p in self._pending])
        hashes = np.concatenate([p[1] for p in self._pending])
        ids = [i for p in self._pending for i in p[2]]
        sets = None
        if self.params.verify == "exact":
            values = np.concatenate([p[3][0] for p in self._pending])
            ends = np.concatenate([np.asarray(p[3][1][1:], dtype=np.uint64) for p in self._pending])
            offsets = np.cumsum([0] + [len(p[3][0]) for p in self._pending[:-1]], dtype=np.uint64)
            sizes = [len(p[2]) for p in self._pending]
            bounds = np.concatenate([[0], ends + np.repeat(offsets, sizes)]).astype(np.uint64)
            sets = (values[: int(bounds[count])], bounds[: count + 1])
            rest_sets = (values[int(bounds[count]) :], bounds[count:] - bounds[count])
        self.index.insert(ids[:count], sigs[:count], check_duplicates=False, content_hashes=hashes[:count],
                          shingle_sets=sets)  # fmt: skip
        self._pending = []
        if len(ids) > count:
            self._pending = [
                (sigs[count:], hashes[count:], ids[count:], rest_sets if sets is not None else None)
            ]
        self._pending_docs = len(ids) - count

    def commit(self) -> None:
        if self._pending_docs:
            self._insert(self._pending_docs)
        os.chmod(self.tmp, 0o755)  # made private by mkdtemp; an index is meant to be shared
        for name in (LOCK_NAME, LOCK_FILE):
            (self.tmp / name).unlink(missing_ok=True)  # not part of the index (ours stay held)
        old = None
        if self.target.exists():
            # Named like a leftover without a lock: a later save removes it if this one dies here.
            old = self.target.with_name(f".{self.target.name}.{os.getpid()}-old.tmp")
            os.replace(self.target, old)
        os.replace(self.tmp, self.target)
        self._lock.close()
        if old is not None:
            remove_work_dir(old)

    def abort(self) -> None:
        remove_work_dir(self.tmp)
        self._lock.close()


class ReferenceIndex:
    """A saved reference index (an LSH index of full signatures); ``chunks`` yields it a slice at a
    time. Read through once on opening (checksums): a damaged signature would match wrongly."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if (self.path / OLD_MANIFEST).is_file():
            raise ReferenceIndexError(
                f"{self.path}: a reference index of an older format (version 1); save it again with "
                "--save-reference"
            )
        try:
            self.index = LSHIndex.open(self.path)
            self.index.verify()
        except (LSHIndexError, OSError) as err:
            raise ReferenceIndexError(f"{self.path}: not a readable reference index ({err})") from None
        info = self.index.info()
        if info["store"] != "full" or "content_hashes" not in info["columns"] or self.index.signing is None:
            raise ReferenceIndexError(
                f"{self.path}: an LSH index without full signatures, content hashes and signing settings; "
                "save a reference with --save-reference (or nearcopy lsh build --store full)"
            )
        if info["key_type"] != "str":
            raise ReferenceIndexError(f"{self.path}: a reference index has str keys (document ids)")
        self.docs = len(self.index)
        self.settings: dict[str, Any] = dict(self.index.signing)
        self.has_sets = "shingle_sets" in info["columns"]

    def check(self, params: Params) -> None:
        """Raises ReferenceIndexError naming every setting in which ``params`` differ."""
        wanted = signature_settings(params)
        differ = [
            f"{k} {self.settings.get(k)!r} (this run: {v!r})"
            for k, v in wanted.items()
            if self.settings.get(k) != v
        ]
        if differ:
            raise ReferenceIndexError(f"{self.path}: signed with other settings: {', '.join(differ)}")
        if params.verify == "exact" and not self.has_sets:
            raise ReferenceIndexError(
                f"{self.path}: saved without shingle sets; save it with --verify exact to verify exactly"
            )

    def chunks(
        self, rows: int
    ) -> Iterator[tuple[npt.NDArray[Any], npt.NDArray[np.uint64], bytes, npt.NDArray[np.int64], Any]]:
        """``(signatures, hashes, id bytes, id ends from 0, (set values, set bounds from 0) | None)``
        of the live documents, ``rows`` of a segment at a time."""
        reader = self.index.reader
        for segment, (documents, _, _) in enumerate(reader.sizes()):
            for start in range(0, documents, rows):
                sigs, hashes, blob, ends, values, bounds = reader.export(segment, start, start + rows)
                if len(hashes):
                    yield sigs, hashes, blob, ends, (values, bounds) if self.has_sets else None
