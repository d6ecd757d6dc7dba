"""The Ray engine of ``nearcopy dedup`` (``engine="ray"``; ``pip install 'nearcopy[ray]'``).

The per-document stages (signatures, band keys, content hashes and, for ``verify="exact"``, the
shingle sets) run as Ray Data map tasks over Arrow blocks, each calling the Rust core on its own
documents (one thread per task: Ray supplies the parallelism, across as many machines as the
cluster has). The driver reads the inputs as the local engine does (so errors name the same file
and line), sends each batch of texts to the cluster, and gets back fixed-width binary columns that
it puts in document order and spills. The later stages (candidates and their verification, the
writing of each output) run as Ray tasks too (``ray_stages``), with the union-find on the driver
over the verified edges (8 bytes per document) and the same keep decisions, so the decisions cannot
differ from the local engine's (the union-find's result does not depend on the order of unions,
and the records are numbered in input order before it runs).

Ray is imported only when this engine is used, so nearcopy works without it.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import math
import socket
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

from nearcopy.minhash import signature_dtype
from nearcopy.neardup.reading import Batch
from nearcopy.neardup.stages import Params, Signed, sign

INSTALL_HINT = "pip install 'nearcopy[ray]'"
# Documents per Ray block: small enough to spread one batch over a cluster's CPUs, large enough
# that a task's overhead (a few milliseconds) stays small against hashing its documents.
MIN_BLOCK_DOCS = 64


class RayNotInstalledError(ImportError):
    """``engine="ray"`` without Ray Data installed."""


class RayUnreachableError(ConnectionError):
    """``ray_address`` names a cluster that does not answer."""


def check_reachable(address: str, timeout: float = 10.0) -> None:
    """Fails fast on an address nobody listens at: Ray itself retries for minutes before it gives
    up. ``auto`` and addresses without a port are left to Ray."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not port.isdigit():
        return
    try:
        socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout).close()
    except OSError as err:
        raise RayUnreachableError(f"cannot reach the Ray cluster at {address}: {err}") from None


def _import(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError as error:
        raise RayNotInstalledError(
            f"engine='ray' needs Ray Data ({error}); install it with: {INSTALL_HINT}"
        ) from error


def connect(address: str | None, num_cpus: int | None = 2) -> tuple[Any, bool]:
    """The ``ray`` module, initialized: the Ray runtime already initialized in this process, else
    the cluster at ``address``, else a local one (``num_cpus``, no dashboard); and whether this call
    started it (the caller then calls ``ray.shutdown()`` when done)."""
    ray = _import("ray")
    if ray.is_initialized():
        return ray, False
    if address is not None:
        check_reachable(address)
        ray.init(address=address, log_to_driver=False)
    else:
        ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)
    return ray, True


def settle(ray: Any, refs: list[Any], timeout: float = 120.0) -> None:
    """Waits until none of the tasks ``refs`` runs (at most ``timeout``): a failed build's tasks are
    let finish, not cancelled (with ``ray.cancel`` a test run's process once exited mid-test), so
    that none writes a file once the build's clean-up has begun."""
    with contextlib.suppress(Exception):
        ray.wait(refs, num_returns=len(refs), timeout=timeout)


def _sign_block(block: Any, params: Params) -> Any:
    """The map task: one Arrow block of ``doc``, ``text``, ``language`` in, the same rows' ``doc``
    and binary columns ``sig``, ``keys``, ``hash``, ``sets`` (empty unless ``verify="exact"``) out."""
    pa = importlib.import_module("pyarrow")
    texts: list[str] = block.column("text").to_pylist()
    languages: list[str | None] = block.column("language").to_pylist()
    signed = sign(texts, languages, params, num_threads=1)
    n = len(texts)
    sig_bytes = np.ascontiguousarray(signed.sigs).reshape(n, -1).view(np.uint8)
    key_bytes = np.ascontiguousarray(signed.keys).reshape(n, -1).view(np.uint8)
    hash_bytes = np.ascontiguousarray(signed.hashes).reshape(n, -1).view(np.uint8)
    if signed.sets is not None:
        values, bounds = signed.sets
        raw = np.ascontiguousarray(values).tobytes()
        edges = (bounds.astype(np.int64) * 8).tolist()
        sets = [raw[a:b] for a, b in zip(edges[:-1], edges[1:])]
    else:
        sets = [b""] * n
    return pa.table(
        {
            "doc": block.column("doc"),
            "sig": pa.array([row.tobytes() for row in sig_bytes], type=pa.binary()),
            "keys": pa.array([row.tobytes() for row in key_bytes], type=pa.binary()),
            "hash": pa.array([row.tobytes() for row in hash_bytes], type=pa.binary()),
            "sets": pa.array(sets, type=pa.binary()),
        }
    )


def _joined(column: Any, dtype: Any, n: int) -> Any:
    """A binary column of equal-width rows as one ``(n, width)`` array of ``dtype``."""
    data = b"".join(column.to_pylist())
    return np.frombuffer(data, dtype=dtype).reshape(n, -1).copy()


class RaySigner:
    """Runs :func:`nearcopy.neardup.stages.sign` for the driver's batches as Ray Data map tasks.

    Uses the Ray runtime already initialized in this process, else connects to ``address``
    (``ray.init(address=...)``), else starts a local one (``num_cpus``, no dashboard); :meth:`close`
    stops what it connected to or started.
    """

    def __init__(self, params: Params, address: str | None = None, num_cpus: int | None = 2) -> None:
        self.params = params
        self.dtype = signature_dtype(params.scheme)
        self._data = _import("ray.data")
        self._pa = _import("pyarrow")
        self._ray, self._started = connect(address, num_cpus)
        # One dataset runs per batch read: its progress bars and "execution finished" lines would
        # flood stderr (and turning the bars off logs a warning of its own).
        self._logger = logging.getLogger("ray.data")
        self._log_level = self._logger.level
        self._logger.setLevel(logging.ERROR)
        with warnings.catch_warnings():
            # Ray Data 2.5x warns about its own deprecated defaults when it creates the context.
            warnings.simplefilter("ignore", DeprecationWarning)
            self._context = self._data.DataContext.get_current()
        self._saved = (self._context.enable_progress_bars, self._context.print_on_execution_start)
        self._context.enable_progress_bars = False
        self._context.print_on_execution_start = False
        self._logger.setLevel(max(logging.WARNING, self._log_level))
        cpus = int(self._ray.cluster_resources().get("CPU", 1))
        self.parallelism = max(1, 2 * cpus)

    @property
    def ray(self) -> Any:
        """The ``ray`` module, initialized: the later stages run their tasks on the same runtime."""
        return self._ray

    def close(self) -> None:
        """Restores Ray Data's settings; stops the Ray runtime if this signer started it."""
        self._logger.setLevel(self._log_level)
        self._context.enable_progress_bars, self._context.print_on_execution_start = self._saved
        if self._started:
            self._ray.shutdown()
            self._started = False

    def __enter__(self) -> RaySigner:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _blocks(self, batch: Batch, first: int) -> list[Any]:
        n = len(batch.texts)
        size = max(MIN_BLOCK_DOCS, math.ceil(n / self.parallelism))
        pa = self._pa
        return [
            pa.table(
                {
                    "doc": pa.array(range(first + a, first + min(a + size, n)), type=pa.int64()),
                    "text": pa.array(batch.texts[a : a + size], type=pa.large_string()),
                    "language": pa.array(batch.languages[a : a + size], type=pa.string()),
                }
            )
            for a in range(0, n, size)
        ]

    def sign_batch(self, batch: Batch) -> Signed:
        """The batch's :class:`Signed` arrays in its order, computed by the cluster."""
        n = len(batch.texts)
        dataset = self._data.from_arrow(self._blocks(batch, 0)).map_batches(
            _sign_block,
            batch_format="pyarrow",
            batch_size=None,
            zero_copy_batch=True,
            fn_kwargs={"params": self.params},
            num_cpus=1,
        )
        parts = list(dataset.iter_batches(batch_format="pyarrow", batch_size=None))
        table = self._pa.concat_tables(parts).sort_by("doc") if parts else None
        if table is None or table.num_rows != n or table.column("doc").to_pylist() != list(range(n)):
            raise RuntimeError(
                f"the Ray map tasks returned {0 if table is None else table.num_rows} of {n} rows"
            )
        sigs = _joined(table.column("sig"), self.dtype, n)
        keys = _joined(table.column("keys"), np.uint64, n)
        hashes = _joined(table.column("hash"), np.uint64, n)
        sets = None
        if self.params.verify == "exact":
            rows = table.column("sets").to_pylist()
            values = np.frombuffer(b"".join(rows), dtype=np.uint64).copy()
            bounds = np.zeros(n + 1, dtype=np.uint64)
            bounds[1:] = np.cumsum([len(r) // 8 for r in rows], dtype=np.uint64)
            sets = (values, bounds)
        return Signed(sigs, keys, hashes, sets)

    def sign(self, batches: Iterator[Batch]) -> Iterator[tuple[Batch, Signed]]:
        for batch in batches:
            yield batch, self.sign_batch(batch)
