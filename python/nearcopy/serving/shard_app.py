"""The shard server: ``nearcopy serve --index SHARDED --shard I`` serves one shard of a sharded index
to a router (``nearcopy serve --route-to URL ...``, :mod:`nearcopy.serving.router`), in the two
phases of :mod:`nearcopy.shard_check`. It has no ``/v1/check``: a shard alone counts document
frequency over its own documents only, and its verdicts would not be the index's.

- ``GET /v1/shard/info``: which shard this is (``shard`` of ``shards``), the sharded index's
  generation it was opened from (``top_generation``), the shard's own ``generation``, its
  ``segments`` and ``contents`` (``[languages or null, prose]``), ``params`` and ``keyed``.
- ``POST /v1/shard/frequencies``: ``{"texts", "hints", "thresholds", "contents"}`` → per text, the
  documents here holding each looked-up fingerprint and the allowlisted ones
  (``{"results": [{"documents": [[hash, n], ...], "allowlisted": [hash, ...]}]}``).
- ``POST /v1/shard/matches``: the same with ``"others"`` and ``"allowlisted"`` (per text, from the
  router) and the ``"generation"`` phase one saw → per text its matches here and token count; 409
  when the shard was reloaded in between (the router starts the check again).
- ``GET /healthz``, ``GET /metrics`` as ``nearcopy serve``'s.

Every reply carries ``shard``, ``generation`` and ``segments``; the router checks them.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from nearcopy.serving import access_log
from nearcopy.serving.app import _AuthAndMetrics, _http_error, _service_error, healthz, metrics
from nearcopy.serving.config import ServeConfig
from nearcopy.serving.reload import FilterHolder
from nearcopy.serving.service import Service, ServiceError, json_response, read_json_object
from nearcopy.shard_check import Contents, ShardChecker, ShardIndex, Thresholds, contents_of


def _current(request: Request) -> ShardIndex:
    service: Service = request.app.state.service
    index = service.holder.current().index
    assert isinstance(index, ShardIndex)
    return index


def _stamp(index: ShardIndex) -> dict[str, Any]:
    info = index.info()
    return {"shard": index.number, "shards": index.count, "top_generation": index.top_generation,
            "generation": int(info["generation"]), "segments": int(info["segments"])}  # fmt: skip


def _list(payload: dict[str, Any], name: str, count: int | None = None) -> list[Any]:
    value = payload.get(name)
    if not isinstance(value, list) or (count is not None and len(value) != count):
        size = "" if count is None else f" of {count}"
        raise ServiceError(400, f"{name!r} must be a list{size}")
    return value


def _phase(payload: dict[str, Any]) -> tuple[list[str], list[str | None], Thresholds, Contents]:
    """What both phases are given: the texts, their hints, the router's thresholds and the whole
    index's contents."""
    texts = _list(payload, "texts")
    if not all(isinstance(t, str) for t in texts):
        raise ServiceError(400, "'texts' must be a list of strings")
    hints = _list(payload, "hints", len(texts))
    thresholds, contents = _list(payload, "thresholds", 4), _list(payload, "contents", 2)
    popular = thresholds[3]
    try:
        limits = (int(thresholds[0]), int(thresholds[1]), int(thresholds[2]),
                  None if popular is None else (int(popular[0]), int(popular[1])))  # fmt: skip
        languages = None if contents[0] is None else [str(name) for name in contents[0]]
    except (TypeError, ValueError, IndexError):
        raise ServiceError(400, "'thresholds' or 'contents' is malformed") from None
    return texts, hints, limits, (languages, bool(contents[1]))


async def _run(function: Any) -> Any:
    try:
        return await anyio.to_thread.run_sync(function)
    except (TypeError, ValueError, OverflowError) as err:  # a malformed hint, hash or count
        raise ServiceError(400, f"malformed phase request: {err}") from None


async def info(request: Request) -> Response:
    index = _current(request)
    described = index.info()
    return json_response({**_stamp(index), "contents": list(contents_of(index)),
                          "params": {k: described[k] for k in ("k", "w", "code_k", "code_w")},
                          "keyed": described["keyed"], "documents": described["documents"]})  # fmt: skip


async def frequencies(request: Request) -> Response:
    service: Service = request.app.state.service
    _, payload = await read_json_object(request, service.config)
    texts, hints, thresholds, contents = _phase(payload)
    index = _current(request)
    found = await _run(lambda: ShardChecker(index).frequencies(texts, hints, thresholds, contents))
    results = [{"documents": documents, "allowlisted": allowed} for documents, allowed in found]
    return json_response({**_stamp(index), "results": results})


async def matches(request: Request) -> Response:
    service: Service = request.app.state.service
    _, payload = await read_json_object(request, service.config)
    texts, hints, thresholds, contents = _phase(payload)
    others, allowed = _list(payload, "others", len(texts)), _list(payload, "allowlisted", len(texts))
    index = _current(request)
    stamp = _stamp(index)
    if payload.get("generation") != stamp["generation"]:
        raise ServiceError(
            409,
            f"shard {index.number} is at generation {stamp['generation']}, not "
            f"{payload.get('generation')!r}: reloaded since phase one",
            "conflict",
        )
    found = await _run(
        lambda: ShardChecker(index).matches(texts, hints, thresholds, contents, others, allowed)
    )
    access_log.note((), generation=stamp["generation"])
    results = [{"matches": rows, "tokens": tokens} for rows, tokens in found]
    return json_response({**stamp, "results": results})


def create_shard_app(config: ServeConfig) -> ASGIApp:
    log = access_log.AccessLog(config.access_log) if config.access_log else None
    holder = FilterHolder(config.filter, watch_interval=config.watch_interval, log=log)
    service = Service(config, holder, token=config.auth_token(), log=log)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        running = asyncio.get_running_loop()
        with suppress(NotImplementedError, RuntimeError, ValueError):
            running.add_signal_handler(signal.SIGHUP, lambda: holder.reload("SIGHUP"))
        try:
            yield
        finally:
            running.remove_signal_handler(signal.SIGHUP)
            if log is not None:
                log.close()

    routes = [
        Route("/v1/shard/info", info, methods=["GET"]),
        Route("/v1/shard/frequencies", frequencies, methods=["POST"]),
        Route("/v1/shard/matches", matches, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
    handlers = {ServiceError: _service_error, HTTPException: _http_error}
    app = Starlette(routes=routes, exception_handlers=handlers, lifespan=lifespan)
    app.state.service = service
    return _AuthAndMetrics(app, service)
