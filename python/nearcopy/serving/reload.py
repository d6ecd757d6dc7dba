"""The filter a service answers with, reopened when a new index generation is published.

``add``/``merge`` publish a generation by renaming a new ``manifest.json`` into place and never
modify a file a reader has mapped, so reopening is cheap and safe: each request takes the filter that
is current when it starts and keeps it to the end (a stream finishes on the generation it began on;
the old mapping is released when its last request lets go). A reload happens on demand (``SIGHUP``)
or when the manifest file changes (checked at most every ``watch_interval`` seconds, on the request
path: one ``stat``, no watcher thread). A sharded index is watched through its own manifest and each
shard's (``ProtectedIndex.manifest_files``): a new shard list, or a shard's own ``add`` or ``merge``,
reopens every shard in one new reader. A failed reopen keeps the current filter and says why on
stderr: a half-published or damaged index never takes the service down. Every reload, done or
failed, is one line on stderr and, with an access log, one JSON line there.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import TYPE_CHECKING

from nearcopy.filter import OutputFilter
from nearcopy.index import ProtectedIndex
from nearcopy.serving.config import FilterSettings

if TYPE_CHECKING:
    from nearcopy.serving.access_log import AccessLog


class FilterHolder:
    def __init__(
        self, settings: FilterSettings, *, watch_interval: float = 2.0, log: AccessLog | None = None
    ) -> None:
        self.settings = settings
        self.watch_interval = watch_interval
        self.log = log
        self._lock = threading.Lock()
        # Stamped before opening: a manifest published meanwhile differs from its stamp, and reloads.
        self._watched, self._stamp = self._manifest_stamp()
        self._filter = settings.open()
        self._checked = time.monotonic()
        self.reloads = 0

    @property
    def generation(self) -> int:
        return int(self._filter.index.info()["generation"])

    def current(self) -> OutputFilter:
        """The filter to use for a request that starts now."""
        if self.watch_interval and time.monotonic() - self._checked >= self.watch_interval:
            self._checked = time.monotonic()
            if self._stamps(self._watched) != self._stamp:
                self.reload("manifest changed")
        return self._filter

    def reload(self, trigger: str = "SIGHUP") -> bool:
        """Reopens the index; True when it now answers with a newly opened one."""
        with self._lock:
            watched, stamp = self._manifest_stamp()
            try:
                fresh = self.settings.open()
            except (OSError, ValueError) as err:
                self._report(False, trigger, str(err))
                return False
            self._filter, self._watched, self._stamp = fresh, watched, stamp
            self.reloads += 1
            self._report(True, trigger, None)
            return True

    def _report(self, ok: bool, trigger: str, error: str | None) -> None:
        info = self._filter.index.info()
        generation, documents = int(info["generation"]), int(info["documents"])
        if ok:
            line = f"index reloaded ({trigger}), generation {generation}, {documents} documents"
        else:
            line = f"index not reloaded ({trigger}), keeping generation {generation}: {error}"
        print(f"nearcopy serve: {line}", file=sys.stderr, flush=True)
        if self.log is not None:
            self.log.reload(ok=ok, trigger=trigger, generation=generation, documents=documents, error=error)

    def _manifest_stamp(self) -> tuple[list[str], list[tuple[int, int, int]]]:
        """The manifests to watch (the index's, and a sharded index's shards'), and their stamps."""
        watched = [str(p) for p in ProtectedIndex.manifest_files(self.settings.index)]
        return watched, self._stamps(watched)

    @staticmethod
    def _stamps(paths: list[str]) -> list[tuple[int, int, int]]:
        stamps = []
        for path in paths:
            try:
                st = os.stat(path)
            except OSError:
                stamps.append((0, 0, 0))
                continue
            stamps.append((st.st_ino, st.st_mtime_ns, st.st_size))
        return stamps
