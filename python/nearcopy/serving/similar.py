"""``POST /v1/similar`` (``nearcopy serve --lsh-index DIR``): the documents of an LSH index that a
text near-duplicates, for an application that asks before it stores or shows something.

``{"text": str}`` or ``{"texts": [str, ...]}``, optionally ``"threshold"`` (default: the index's),
``"top_k"`` and ``"language"`` (the texts' language, as ``lsh build --language-field`` gave the
documents': code is signed as code, so a text without it is prose and finds no code document) →
``{"generation", "matches": [{"key", "similarity"}, ...]}`` (or ``"results"``, one per text), the
most similar first. Texts are signed as the index records (``nearcopy lsh build``), so an index
built from Python signatures alone cannot serve this. A new generation published by ``nearcopy lsh
add|remove|merge`` is picked up within ``--watch-interval`` seconds (one manifest read at most that
often, on the request path, as the filter's reload does) and on ``SIGHUP``. A request answers from
one generation, the one it names.

``"containment": T`` (in place of ``"threshold"``; an index built with ``nearcopy lsh build
--containment``) asks instead for the documents holding at least ``T`` of each text's shingles:
``{"key", "containment"}`` matches, the most contained first (``LSHIndex.query_containment``).
"""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from nearcopy import _core
from nearcopy.lsh_containment import shingle_counts
from nearcopy.lsh_corpus import signing_of
from nearcopy.lsh_index import LSHIndex
from nearcopy.lsh_store import read_manifest
from nearcopy.neardup.stages import Params, shingle_sets, signatures
from nearcopy.serving.service import Service, ServiceError, json_response, read_json_object

FIELDS = ("text", "texts", "threshold", "containment", "top_k", "language")


class SimilarIndex:
    """The LSH index behind ``/v1/similar``, refreshed at most every ``watch_interval`` seconds and
    on :meth:`reload`. A new generation is a new :class:`LSHIndex`: a request keeps the one it took,
    so its answer and the generation it names agree."""

    def __init__(self, path: str, watch_interval: float, *, warm: bool = True) -> None:
        self.path = path
        self.warm = warm
        self.index = self._open()
        self.params: Params = signing_of(self.index)  # refuses an index that cannot sign texts
        self.watch_interval = watch_interval
        self._checked = time.monotonic()
        self._lock = threading.Lock()

    def current(self) -> LSHIndex:
        now = time.monotonic()
        if self.watch_interval and now - self._checked >= self.watch_interval:
            self.reload(now)
        return self.index

    def reload(self, now: float | None = None) -> None:
        """Opens the published generation if it is not the one served (a damaged one is not taken:
        the service keeps answering from the one it has)."""
        with self._lock:
            self._checked = time.monotonic() if now is None else now
            with contextlib.suppress(OSError):
                if read_manifest(Path(self.path))["generation"] != self.index.generation:
                    self.index = self._open()

    def _open(self) -> LSHIndex:
        """The published generation, warmed (every block read and checked once, so that no query
        pays a first touch, and a damaged block refuses the generation) unless ``--no-warm``."""
        index = LSHIndex.open(self.path)
        if self.warm:
            index.warm()
        return index


def _fraction(payload: dict[str, Any], field: str) -> float | None:
    value = payload.get(field)
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1
    ):
        raise ServiceError(400, f"'{field}' must be a number in [0, 1]")
    return value


def _request(
    payload: dict[str, Any], max_batch: int
) -> tuple[list[str], bool, float | None, float | None, int | None, str | None]:
    unknown = sorted(set(payload) - set(FIELDS))
    if unknown:
        raise ServiceError(
            400, f"unknown field(s) {', '.join(map(repr, unknown))}: expected {', '.join(FIELDS)}"
        )
    if ("text" in payload) == ("texts" in payload):
        raise ServiceError(400, "give exactly one of 'text' (a string) or 'texts' (a list of strings)")
    texts = [payload["text"]] if "text" in payload else payload["texts"]
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        raise ServiceError(400, "'text' must be a string and 'texts' a list of strings")
    if len(texts) > max_batch:
        raise ServiceError(413, f"a batch of {len(texts)} texts exceeds --max-batch {max_batch}")
    threshold, containment, top_k = (
        _fraction(payload, "threshold"),
        _fraction(payload, "containment"),
        payload.get("top_k"),
    )
    if threshold is not None and containment is not None:
        raise ServiceError(400, "give 'threshold' (Jaccard) or 'containment', not both")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise ServiceError(400, "'top_k' must be a positive integer")
    language = payload.get("language")
    if language is not None:
        try:
            language = _core.canonical_language(language) if isinstance(language, str) else None
        except ValueError as err:
            raise ServiceError(400, f"'language': {err}") from None
        if language is None:
            raise ServiceError(400, "'language' must be a string naming a code language")
    return texts, "texts" in payload, threshold, containment, top_k, language


async def similar(request: Request) -> Response:
    service: Service = request.app.state.service
    holder: SimilarIndex = request.app.state.similar
    _, payload = await read_json_object(request, service.config)
    texts, batch, threshold, containment, top_k, language = _request(payload, service.config.max_batch)
    index = holder.current()
    if containment is not None and not index.containment:
        raise ServiceError(400, "this LSH index records no set sizes: build it with --containment")

    def run() -> list[list[dict[str, Any]]]:
        languages = [language] * len(texts)
        sigs = signatures(texts, languages, holder.params)
        if containment is None:
            found = index.query(sigs, threshold=threshold, top_k=top_k)
            return [[{"key": k, "similarity": round(s, 6)} for k, s in n] for n in found]
        sizes = shingle_counts(shingle_sets(texts, languages, holder.params)[1])
        found = index.query_containment(sigs, sizes, threshold=containment, top_k=top_k)
        return [[{"key": k, "containment": round(c, 6)} for k, c in n] for n in found]

    try:
        results = await anyio.to_thread.run_sync(run)
    except OSError as err:  # a block of the index read by this query failed its checksum
        raise ServiceError(503, f"the LSH index is damaged: {err}", "server_error") from None
    body = {"results": [{"matches": m} for m in results]} if batch else {"matches": results[0]}
    return json_response({"generation": index.generation, **body})


def routes(
    path: str | None, watch_interval: float, *, warm: bool = True
) -> tuple[list[Route], SimilarIndex | None]:
    """The ``/v1/similar`` route and its index, when the service has an LSH index."""
    if path is None:
        return [], None
    return [Route("/v1/similar", similar, methods=["POST"])], SimilarIndex(path, watch_interval, warm=warm)
