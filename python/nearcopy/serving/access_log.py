"""Structured access logs: one JSON object per line for every request, and one for every reload.

A request's line holds what an operator needs to find it and to account for what was withheld:

    {"time": "2026-11-24T10:00:00.123Z", "event": "request", "request_id": "6f1c...", "method": "POST",
     "endpoint": "/v1/check", "status": 200, "latency_ms": 0.41, "generation": 3,
     "verdicts": [{"flagged": true, "action": "replace", "score": 0.93, "sources": ["merge.py"]}]}

and never the request body, the output, the protected text or a token: the verdicts name sources
(document ids, as the verdicts the client gets do) and nothing else. ``request_id`` is the client's
``X-Request-Id`` when it sent a usable one (printable ASCII, at most 128 characters), else a fresh
one; the response carries it back in ``X-Request-Id`` so both sides can find the line. A proxied
request logs one verdict per filtered field of each choice, as the filter saw them.

The verdicts of a request are collected in a context variable that the outermost layer of the app
sets, so an endpoint adds to its request's line without passing anything around; the line is
written when the response has been sent (for a stream: when it ends).
"""

from __future__ import annotations

import json
import sys
import threading
import time
import uuid
from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import IO, Any

from nearcopy.filter import Verdict

REQUEST_ID_HEADER = "x-request-id"
_MAX_REQUEST_ID = 128


@dataclass
class RequestRecord:
    request_id: str
    method: str
    endpoint: str
    started: float = field(default_factory=time.perf_counter)
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    generation: int | None = None
    policy: str | None = None  # "operator", or the mode of a per-request policy


_current: ContextVar[RequestRecord | None] = ContextVar("nearcopy_request", default=None)


def request_id(headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The client's ``X-Request-Id`` if usable, else a new random id."""
    for name, value in headers:
        if name.lower() == REQUEST_ID_HEADER.encode():
            text = value.decode("latin-1")
            if 0 < len(text) <= _MAX_REQUEST_ID and text.isascii() and text.isprintable():
                return text
    return uuid.uuid4().hex


def begin(record: RequestRecord) -> object:
    """Makes ``record`` the current request's; returns the token :func:`end` takes."""
    return _current.set(record)


def end(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]


def note(verdicts: Iterable[Verdict], *, generation: int | None = None, policy: str | None = None) -> None:
    """Adds ``verdicts`` to the current request's line (nothing when no request is being logged)."""
    record = _current.get()
    if record is None:
        return
    for verdict in verdicts:
        record.verdicts.append({
            "flagged": verdict.flagged, "action": verdict.action, "score": round(verdict.score, 4),
            "sources": sorted({m.doc_id for m in verdict.matches}),
        })  # fmt: skip
    if generation is not None:
        record.generation = generation
    if policy is not None:
        record.policy = policy


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class AccessLog:
    """Writes the lines to a file (appended) or to standard error (``-``); thread-safe, and each
    line flushed as written so that a log shipper sees it at once."""

    def __init__(self, target: str) -> None:
        self.target = target
        self._lock = threading.Lock()
        self._out: IO[str] = (
            sys.stderr if target == "-" else open(target, "a", encoding="utf-8", buffering=1)  # noqa: SIM115
        )

    def request(self, record: RequestRecord, status: int) -> None:
        line: dict[str, Any] = {
            "time": _now(), "event": "request", "request_id": record.request_id, "method": record.method,
            "endpoint": record.endpoint, "status": status,
            "latency_ms": round((time.perf_counter() - record.started) * 1000, 3),
        }  # fmt: skip
        if record.generation is not None:
            line["generation"] = record.generation
        if record.policy is not None:
            line["policy"] = record.policy
        if record.verdicts:
            line["verdicts"] = record.verdicts
        self._write(line)

    def reload(self, *, ok: bool, trigger: str, generation: int, documents: int, error: str | None) -> None:
        line: dict[str, Any] = {"time": _now(), "event": "reload", "ok": ok, "trigger": trigger,
                                "generation": generation, "documents": documents}  # fmt: skip
        if error is not None:
            line["error"] = error
        self._write(line)

    def _write(self, line: dict[str, Any]) -> None:
        text = json.dumps(line, ensure_ascii=True, separators=(",", ":")) + "\n"
        with self._lock:
            self._out.write(text)
            self._out.flush()

    def close(self) -> None:
        if self._out is not sys.stderr:
            self._out.close()
