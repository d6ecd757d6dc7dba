"""A persistent, incremental MinHash-LSH index: insert, query, remove; on disk, from many processes.

An index is a directory::

    manifest.json        format, version, generation, parameters, the list of segments
    lsh-000001-00000.ncl a batch of documents: band-key tables, keys, verification store (immutable)
    del-000002-00000.ncd the removed documents of one segment (tombstones)

``insert`` writes its documents as a new segment and publishes a new manifest by renaming it into
place; ``remove`` writes new tombstone files; segments are merged (removed documents left out)
when a tier of similar-sized segments fills up, or on ``merge()``. Readers in any number of
processes map the files without locks and see one generation or the next, never a part; a writer
killed at any moment leaves the last published generation whole (``lsh_store.py``).

A query's candidates are the documents sharing one band with it, exactly as datasketch's
``MinHashLSH`` finds them (band keys are 32 bits of a hash of the band's slots, so a chance
collision adds a candidate with probability about documents / 2^32 per band, which verification
then drops); each candidate is verified against the stored signature, by default.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from nearcopy import _core
from nearcopy.lsh import VERIFIED_WEIGHTS
from nearcopy.lsh_containment import (
    SET_SIZES,
    ContainmentQueries,
    checked_sizes,
    containment_bands,
    is_containment,
    refuse_unless_containment,
)
from nearcopy.lsh_inputs import KeysLike, Signatures, key_list, signature_rows
from nearcopy.lsh_results import Key, Neighbors, NeighborsBatch
from nearcopy.lsh_segments import (
    describe_manifest,
    merge_segments,
    merged_tiers,
    open_reader,
    reader_params,
    refuse_duplicates,
)
from nearcopy.lsh_store import (
    COLUMNS,
    FORMAT,
    VERSION,
    LSHIndexError,
    MissingKeyError,
    damage_is_index_error,
    index_params,
    publish,
    read_manifest,
    writing,
)
from nearcopy.minhash import Scheme, signature_dtype

# An insert writes segments of at most this many documents, so its memory is bounded by the batch
# (4 bytes per document and band for the band keys, about 20 per document and thread while the
# tables are built), not by the index.
SEGMENT_DOCS = 1 << 20
# Opening reads the manifest again when its files vanished meanwhile (a writer replaced them).
OPEN_ATTEMPTS = 50


class LSHIndex(ContainmentQueries):
    """A MinHash-LSH index in a directory. Create with :meth:`create`, open with :meth:`open`."""

    def __init__(self, path: Path, manifest: dict[str, Any]) -> None:
        self.path = path
        self._load(manifest)

    def _load(self, manifest: dict[str, Any]) -> None:
        self._manifest = manifest
        self._reader = open_reader(self.path, manifest)
        params = manifest["params"]
        self._dtype = np.dtype(signature_dtype(params["scheme"]))
        self._threshold, self._num_perm = float(params["threshold"]), int(params["num_perm"])

    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        *,
        num_perm: int = 128,
        scheme: Scheme = "fast",
        seed: int = 1,
        threshold: float = 0.8,
        bands: int | None = None,
        rows: int | None = None,
        weights: tuple[float, float] = VERIFIED_WEIGHTS,
        store: str = "8bit",
        key_type: str = "str",
        signing: Mapping[str, Any] | None = None,
        columns: Sequence[str] = (),
        containment: bool = False,
    ) -> LSHIndex:
        """A new, empty index at ``path`` (a directory that must not hold one).

        Signatures to insert and query must be of ``scheme``, ``num_perm`` and ``seed``. ``threshold``
        is the default of :meth:`query` and chooses ``bands`` x ``rows`` as ``dedup`` chooses them
        (``weights``: false positives 0.1, false negatives 0.9; datasketch's ``MinHashLSH`` uses
        0.5/0.5), unless they are given. ``store``: what is kept of each signature to verify
        candidates: ``"8bit"`` (8 bits of each slot, b-bit minwise hashing: 128 bytes at 128 slots,
        the default), ``"16bit"``, or ``"full"`` (every slot). ``key_type``: ``"str"`` or ``"int"``.
        ``signing`` records how the signatures were made (``dedup --reference`` checks it);
        ``columns`` adds per-document ``content_hashes`` and ``shingle_sets`` (what dedup's
        reference mode needs beside full signatures). ``containment=True`` makes an index that also
        answers :meth:`query_containment`: single-slot bands (``num_perm`` x 1 unless ``bands``)
        and each document's set size, given to :meth:`insert` as ``sizes``.
        """
        if containment:
            bands, rows = containment_bands(num_perm, bands, rows)
            columns = [*columns, SET_SIZES]
        elif SET_SIZES in columns:
            raise ValueError("the set_sizes column comes with containment=True")
        params = index_params(num_perm, scheme, seed, threshold, bands, rows, weights, store, key_type)
        if any(c not in COLUMNS for c in columns):
            raise ValueError(f"columns must be among {', '.join(COLUMNS)}, got {list(columns)}")
        root = Path(path)
        root.mkdir(parents=True, exist_ok=True)
        manifest = {"format": FORMAT, "version": VERSION, "generation": 0, "params": params,
                    "signing": None if signing is None else dict(signing), "columns": list(columns),
                    "segments": []}  # fmt: skip
        with writing(root):
            if (root / "manifest.json").exists():
                raise FileExistsError(f"{root} already holds an index; open it instead")
            publish(root, manifest)
        return cls(root, read_manifest(root))

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> LSHIndex:
        """Opens the index at ``path`` (memory-mapped: instant, whatever its size)."""
        root = Path(path)
        handle = cls.__new__(cls)
        handle.path = root
        handle._load_latest(read_manifest(root))
        return handle

    def _load_latest(self, manifest: dict[str, Any]) -> None:
        """Loads ``manifest``'s generation, or a later one: writers may publish a new manifest and
        remove files the one read listed before they are opened; the newest manifest lists what
        exists (tried again while generations keep coming, since writers can publish quickly)."""
        for _ in range(OPEN_ATTEMPTS):
            try:
                self._load(manifest)
                return
            except OSError:
                fresh = read_manifest(self.path)
                if fresh["generation"] == manifest["generation"]:
                    raise
                manifest = fresh
        self._load(manifest)

    def refresh(self) -> bool:
        """Picks up what other processes published since this handle opened; True if it changed."""
        fresh = read_manifest(self.path)
        if fresh["generation"] == self._manifest["generation"]:
            return False
        self._load_latest(fresh)
        return True

    # Parameters ----------------------------------------------------------------------------------

    @property
    def params(self) -> dict[str, Any]:
        return dict(self._manifest["params"])

    @property
    def threshold(self) -> float:
        return self._threshold

    @property
    def num_perm(self) -> int:
        return self._num_perm

    @property
    def signing(self) -> dict[str, Any] | None:
        signing = self._manifest.get("signing")
        return None if signing is None else dict(signing)

    @property
    def containment(self) -> bool:
        """Whether the index answers :meth:`query_containment` (created with ``containment=True``)."""
        return is_containment(self._manifest)

    @property
    def generation(self) -> int:
        return int(self._manifest["generation"])

    def __len__(self) -> int:
        return sum(int(s["documents"]) - int(s["removed"]) for s in self._manifest["segments"])

    def info(self) -> dict[str, Any]:
        """Sizes and parameters (no keys)."""
        return describe_manifest(self.path, self._manifest)

    @staticmethod
    def describe(path: str | os.PathLike[str]) -> dict[str, Any]:
        """:meth:`info` of the index at ``path``, from its manifest alone."""
        return describe_manifest(Path(path), read_manifest(Path(path)))

    @property
    def reader(self) -> Any:
        """The native reader of this generation (``nearcopy._core.LshReader``), for nearcopy's own
        modules (dedup's reference mode reads signatures through it)."""
        return self._reader

    @damage_is_index_error
    def verify(self) -> None:
        """Reads every segment through (checksums, order, keys); raises ``OSError`` naming damage."""
        self._reader.verify()

    @damage_is_index_error
    def warm(self, num_threads: int | None = None) -> None:
        """Reads and checks every block of this generation once, with the GIL released, on
        ``num_threads`` (default: all cores). A reader opened afresh maps each page of its files and
        checks each block's checksum the first time a query reads it, so its first queries are
        slower; a server warms once before serving (``nearcopy serve`` does, for
        ``--lsh-index``). Raises ``LSHIndexError`` naming a damaged block."""
        self._reader.warm(num_threads)

    # Reading -------------------------------------------------------------------------------------

    def _signatures(self, signatures: npt.ArrayLike) -> tuple[Signatures, bool]:
        return signature_rows(signatures, self.num_perm, self._dtype, self._manifest["params"]["scheme"])

    def _keys(self, keys: KeysLike | Key) -> tuple[Any, bool]:
        return key_list(keys, self._manifest["params"]["key_type"] == "int")

    def query(
        self,
        signatures: npt.ArrayLike,
        *,
        threshold: float | None = None,
        top_k: int | None = None,
        verify: bool = True,
        num_threads: int | None = None,
    ) -> Any:
        """The documents similar to each signature: :class:`Neighbors` for one signature (1-D),
        :class:`NeighborsBatch` for a matrix, the most similar first.

        Candidates share a band with the query; with ``verify`` (the default) only those whose
        estimated Jaccard similarity reaches ``threshold`` (default: the index's) are kept; ``top_k``
        the most similar ones only. ``verify=False`` gives the raw candidates, as datasketch's
        ``MinHashLSH.query`` and rensa's do: band lookups only, no stored signature read, so
        ``similarity`` is NaN and the keys come in no particular order (with ``top_k``, the
        candidates are estimated to rank them). Every candidate with its estimate:
        ``threshold=0``."""
        try:  # damage_is_index_error inline: the wrapper's call was a fifth of a light query
            limit = self._threshold if threshold is None else float(threshold)
            if top_k is not None and top_k < 1:
                raise ValueError(f"top_k must be at least 1, got {top_k}")
            # One contiguous 1-D signature of the index's dtype: the reader's short path (else None).
            found = self._reader.query_one(signatures, limit, verify, top_k or 0)
            if found is not None:
                return Neighbors(*found)
            sigs, single = self._signatures(signatures)
            if single:
                return self.query(sigs[0], threshold=limit, top_k=top_k, verify=verify)
            bounds, keys, similarity, _, _ = self._reader.query(sigs, limit, verify, top_k or 0, num_threads)
            return NeighborsBatch(bounds, keys, similarity)
        except LSHIndexError:
            raise
        except OSError as err:
            raise LSHIndexError(str(err)) from None

    @damage_is_index_error
    def contains(self, keys: KeysLike) -> npt.NDArray[np.bool_]:
        """For each key, whether the index holds it."""
        taken, _ = self._keys(keys)
        found, _, _ = self._reader.find(taken)
        out = np.zeros(len(taken), dtype=bool)
        out[found.astype(np.int64)] = True
        return out

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, (str, int, np.integer)):
            return False
        try:
            one: Any = [key]
            return bool(self.contains(one)[0])
        except TypeError:
            return False

    # Writing -------------------------------------------------------------------------------------

    @damage_is_index_error
    def insert(
        self,
        keys: KeysLike,
        signatures: npt.ArrayLike,
        *,
        check_duplicates: bool = True,
        content_hashes: npt.NDArray[np.uint64] | None = None,
        shingle_sets: tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]] | None = None,
        sizes: npt.ArrayLike | None = None,
        num_threads: int | None = None,
    ) -> None:
        """Adds documents: ``keys[i]`` with ``signatures[i]`` (a ``(n, num_perm)`` matrix).

        Published as one new generation when every segment is written (a crash before leaves the
        index as it was). A key already in the index, or given twice, raises
        :class:`DuplicateKeyError` and nothing is inserted, unless ``check_duplicates=False``
        (then a key may name several documents, and ``remove`` removes them all).
        ``content_hashes``/``shingle_sets`` fill the index's columns, when it has them; ``sizes``
        (each document's number of distinct shingles) is required by a containment index, and
        refused by any other (:class:`ContainmentUnsupportedError`).
        """
        sigs, single = self._signatures(signatures)
        if single:
            raise ValueError("insert takes a matrix of signatures, one row per key")
        taken, _ = self._keys(keys)
        if len(taken) != len(sigs):
            raise ValueError(f"{len(taken)} keys for {len(sigs)} signatures")
        columns = self._manifest.get("columns", [])
        if ("content_hashes" in columns) != (content_hashes is not None):
            raise ValueError(f"this index's columns are {columns}: give exactly those")
        if ("shingle_sets" in columns) != (shingle_sets is not None):
            raise ValueError(f"this index's columns are {columns}: give exactly those")
        set_sizes = None
        if sizes is not None:
            refuse_unless_containment(self.path, self.containment)
            set_sizes = checked_sizes(sizes, len(sigs)).astype(np.uint32)
        elif self.containment:
            raise ValueError("a containment index needs sizes= (each document's number of distinct shingles)")
        with writing(self.path):
            manifest = read_manifest(self.path)
            reader = open_reader(self.path, manifest)
            if check_duplicates:
                refuse_duplicates(taken, reader)
            generation = manifest["generation"] + 1
            segments = list(manifest["segments"])
            for number, start in enumerate(range(0, len(sigs), SEGMENT_DOCS)):
                end = min(start + SEGMENT_DOCS, len(sigs))
                name = f"lsh-{generation:06d}-{number:05d}.ncl"
                hashes = sets = None
                if content_hashes is not None:
                    hashes = np.ascontiguousarray(content_hashes[start:end], dtype=np.uint64)
                if shingle_sets is not None:
                    values, bounds = shingle_sets
                    part = np.asarray(bounds[start : end + 1], dtype=np.uint64)
                    sets = (np.ascontiguousarray(values[int(part[0]) : int(part[-1])]), part - part[0])
                documents, size = _core.lsh_write_segment(
                    str(self.path / name), sigs[start:end], taken[start:end], *reader_params(manifest),
                    content_hashes=hashes, set_values=None if sets is None else sets[0],
                    set_bounds=None if sets is None else sets[1],
                    set_sizes=None if set_sizes is None else set_sizes[start:end], num_threads=num_threads,
                )  # fmt: skip
                segments.append(
                    {"file": name, "documents": documents, "removed": 0, "tombstones": None, "bytes": size}
                )
            manifest = merged_tiers(self.path, {**manifest, "generation": generation, "segments": segments})
            publish(self.path, manifest)
            self._load(manifest)

    @damage_is_index_error
    def remove(self, keys: KeysLike, *, missing: str = "error") -> int:
        """Removes the documents of ``keys``; returns how many were removed. A key the index does
        not hold raises :class:`MissingKeyError` (nothing removed), or is skipped with
        ``missing="ignore"``. Written as tombstones, left out at the next merge."""
        if missing not in ("error", "ignore"):
            raise ValueError(f"missing must be 'error' or 'ignore', got {missing!r}")
        taken, _ = self._keys(keys)
        with writing(self.path):
            manifest = read_manifest(self.path)
            reader = open_reader(self.path, manifest)
            found, segment_of, doc_of = reader.find(taken)
            if missing == "error" and len(np.unique(found)) < len(taken):
                absent = sorted(set(range(len(taken))) - set(found.tolist()))
                shown = ", ".join(repr(taken[i]) for i in absent[:3])
                more = f" and {len(absent) - 3} more" if len(absent) > 3 else ""
                raise MissingKeyError(f"not in the index: {shown}{more}")
            if not len(found):
                return 0
            generation = manifest["generation"] + 1
            segments = []
            for s, entry in enumerate(manifest["segments"]):
                new = doc_of[segment_of == s]
                if not len(new):
                    segments.append(entry)
                    continue
                docs = np.union1d(reader.removed(s), new).astype(np.uint32)
                if len(docs) == entry["documents"]:
                    continue  # every document removed: the segment goes
                name = f"del-{generation:06d}-{s:05d}.ncd"
                reader.write_tombstones(str(self.path / name), s, docs)
                segments.append({**entry, "removed": len(docs), "tombstones": name})
            manifest = merged_tiers(self.path, {**manifest, "generation": generation, "segments": segments})
            publish(self.path, manifest)
            self._load(manifest)
            return len(found)

    @damage_is_index_error
    def merge(self) -> None:
        """Merges every segment into one, removed documents left out (a query then searches one
        segment). Streams the segments: memory stays bounded whatever the index's size. Readers of
        the old generation keep working on what they mapped."""
        with writing(self.path):
            manifest = read_manifest(self.path)
            segments = manifest["segments"]
            if len(segments) > 1 or any(s["removed"] for s in segments):
                manifest = merge_segments(self.path, manifest, list(range(len(segments))))
                publish(self.path, manifest)
            self._load(manifest)
