"""A saved reference index: a corpus signed once, then used as ``reference`` by any number of runs.

Decontaminating every new shard of training data against the same benchmarks, or against a large
licensed corpus, would otherwise read and sign that reference again in every run. ``dedup(...,
save_reference=DIR)`` writes what pass 1 computed of the run's input documents (signatures, content
hashes, ids and, for ``verify="exact"``, the shingle sets) to DIR; ``dedup(..., reference=DIR)``
then loads it in place of a dataset, with the same results.

Layout: ``nearcopy-reference.json`` (format, counts, the settings the signatures depend on) and flat
little-endian arrays: ``signatures.bin`` (docs x num_perm), ``hashes.bin`` (docs x 2 uint64),
``ids.bin`` (the ids' UTF-8) with ``id_ends.bin`` (int64), and for exact verification ``sets.bin``
(uint64 shingle hashes) with ``set_bounds.bin`` (docs + 1 uint64). A run may use another threshold,
other bands and rows, another keep policy; the settings that change signatures must be equal.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from nearcopy.inputs import InputError
from nearcopy.minhash import signature_dtype
from nearcopy.neardup.leftovers import LOCK_NAME, make_locked_dir, remove_work_dir
from nearcopy.neardup.stages import Params

MANIFEST = "nearcopy-reference.json"
FORMAT = "nearcopy-dedup-reference"
VERSION = 1


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
    return (Path(path) / MANIFEST).is_file()


class ReferenceWriter:
    """Appends a run's signed batches to a hidden directory beside ``target``; ``commit`` publishes
    it under ``target`` (replacing an older index there), ``abort`` removes it."""

    def __init__(self, target: Path, params: Params) -> None:
        if target.exists() and not is_reference_index(target):
            raise InputError(f"{target}: exists and is not a reference index; not overwritten")
        target.parent.mkdir(parents=True, exist_ok=True)
        self.target, self.params = target, params
        self.dtype = np.dtype(signature_dtype(params.scheme))
        # Locked while this run lives, so the next save beside it removes it if this run is killed.
        self.tmp, self._lock = make_locked_dir(target.parent, f".{target.name}.", ".tmp")
        names = ["signatures", "hashes", "ids", "id_ends", "sets", "set_bounds"]
        self._files = {n: open(self.tmp / f"{n}.bin", "wb") for n in names}  # noqa: SIM115 (closed below)
        self.docs = self._id_bytes = self._set_values = 0
        self._files["set_bounds"].write(np.zeros(1, dtype="<u8").data)

    def add(
        self,
        sigs: npt.NDArray[Any],
        hashes: npt.NDArray[np.uint64],
        ids: list[str],
        sets: tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]] | None,
    ) -> None:
        encoded = [i.encode("utf-8", "surrogatepass") for i in ids]
        ends = self._id_bytes + np.cumsum([len(e) for e in encoded], dtype=np.int64)
        self._files["signatures"].write(np.ascontiguousarray(sigs, dtype=self.dtype.newbyteorder("<")).data)
        self._files["hashes"].write(np.ascontiguousarray(hashes, dtype="<u8").data)
        self._files["ids"].write(b"".join(encoded))
        self._files["id_ends"].write(np.ascontiguousarray(ends, dtype="<i8").data)
        if sets is not None:
            values, bounds = sets
            self._files["sets"].write(np.ascontiguousarray(values, dtype="<u8").data)
            shifted = np.asarray(bounds[1:], dtype=np.uint64) + np.uint64(self._set_values)
            self._files["set_bounds"].write(np.ascontiguousarray(shifted, dtype="<u8").data)
            self._set_values += len(values)
        self.docs += len(ids)
        self._id_bytes = int(ends[-1]) if len(ends) else self._id_bytes

    def commit(self) -> None:
        for handle in self._files.values():
            handle.flush()
            os.fsync(handle.fileno())
            handle.close()
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "documents": self.docs,
            "signature_dtype": self.dtype.name,
            "has_sets": self.params.verify == "exact",
            "set_values": self._set_values,
            "settings": signature_settings(self.params),
        }
        (self.tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        os.chmod(self.tmp, 0o755)  # made private by mkdtemp; an index is meant to be shared
        (self.tmp / LOCK_NAME).unlink()  # not part of the index (the handle keeps the lock held)
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
        for handle in self._files.values():
            handle.close()
        remove_work_dir(self.tmp)
        self._lock.close()


class ReferenceIndex:
    """A saved reference index, its arrays memory-mapped; ``chunks`` yields it a slice at a time."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            manifest = json.loads((self.path / MANIFEST).read_text())
            if manifest.get("format") != FORMAT:
                raise ReferenceIndexError(f"{self.path}: not a nearcopy reference index")
            if manifest.get("version") != VERSION:
                raise ReferenceIndexError(
                    f"{self.path}: reference index version {manifest.get('version')!r}, this nearcopy "
                    f"reads version {VERSION}; save it again"
                )
            self.docs, self.has_sets = int(manifest["documents"]), bool(manifest["has_sets"])
            self.settings: dict[str, Any] = dict(manifest["settings"])
            self.dtype = np.dtype(manifest["signature_dtype"]).newbyteorder("<")
            num_perm, set_values = int(self.settings["num_perm"]), int(manifest["set_values"])
            self.sigs = self._array("signatures", self.dtype, (self.docs, num_perm))
            self.hashes = self._array("hashes", np.dtype("<u8"), (self.docs, 2))
            self.id_ends = self._array("id_ends", np.dtype("<i8"), (self.docs,))
            self.ids = self._array("ids", np.dtype("u1"), (int(self.id_ends[-1]) if self.docs else 0,))
            if self.docs and (self.id_ends[0] < 0 or (np.diff(self.id_ends) < 0).any()):
                raise ReferenceIndexError(f"{self.path}: id_ends.bin is damaged")
            if self.has_sets:
                self.set_bounds = self._array("set_bounds", np.dtype("<u8"), (self.docs + 1,))
                self.sets = self._array("sets", np.dtype("<u8"), (set_values,))
                bounds = self.set_bounds
                if bounds[0] != 0 or bounds[-1] != set_values or (np.diff(bounds.astype(np.int64)) < 0).any():
                    raise ReferenceIndexError(f"{self.path}: set_bounds.bin is damaged")
        except ReferenceIndexError:
            raise
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise ReferenceIndexError(f"{self.path}: not a readable reference index ({err})") from None

    def _array(self, name: str, dtype: np.dtype[Any], shape: tuple[int, ...]) -> npt.NDArray[Any]:
        path = self.path / f"{name}.bin"
        expected = int(np.prod(shape)) * dtype.itemsize
        if path.stat().st_size != expected:
            raise ReferenceIndexError(
                f"{self.path}: {name}.bin holds {path.stat().st_size} bytes, the manifest says {expected}"
            )
        if expected == 0:
            return np.empty(shape, dtype=dtype)
        return np.memmap(path, dtype=dtype, mode="r", shape=shape)

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
        """``(signatures, hashes, id bytes, id ends from 0, (set values, set bounds from 0) | None)``."""
        for start in range(0, self.docs, rows):
            end = min(start + rows, self.docs)
            first_byte = int(self.id_ends[start - 1]) if start else 0
            ends = np.asarray(self.id_ends[start:end], dtype=np.int64) - first_byte
            blob = bytes(self.ids[first_byte : int(self.id_ends[end - 1])])
            sets = None
            if self.has_sets:
                bounds = np.asarray(self.set_bounds[start : end + 1], dtype=np.uint64)
                values = np.asarray(self.sets[int(bounds[0]) : int(bounds[-1])], dtype=np.uint64)
                sets = (values, bounds - bounds[0])
            sigs = np.asarray(self.sigs[start:end], dtype=self.dtype.newbyteorder("="))
            yield sigs, np.asarray(self.hashes[start:end], dtype=np.uint64), blob, ends, sets
