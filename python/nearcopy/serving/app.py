"""The `nearcopy serve` ASGI app (Starlette): the sidecar endpoints, the filtering proxy, bearer-token
auth and per-endpoint metrics.

- ``POST /v1/check``: ``{"text": str}`` or ``{"texts": [str, ...]}`` → the verdict (or
  ``{"results": [...]}``): flagged, action, score, and each match's source id, licence, URL, byte span
  and length. The matched text itself only with ``--excerpts``. An optional ``"language"`` is the
  caller's hint (``"auto"``, ``"text"`` or a language; for a batch, one for all or a list of one per
  text), as for ``OutputFilter.check``.
- ``POST /v1/filter``: the same input → ``{"text": shown, "verdict": ...}`` (or ``results``).
- ``POST /v1/chat/completions``, ``POST /v1/completions``: the proxy (:mod:`nearcopy.serving.proxy`);
  ``GET /v1/models`` is passed through.
- ``POST /v1/similar`` (with ``--lsh-index``): the near-duplicates of a text in an LSH index
  (:mod:`nearcopy.serving.similar`).
- ``GET /healthz`` (no auth: load balancers probe it), ``GET /metrics`` (Prometheus).

With ``--access-log``, every request is a JSON line there (:mod:`nearcopy.serving.access_log`);
with ``--request-policy``, a request may name its own policy (:mod:`nearcopy.serving.request_policy`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import signal
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nearcopy.answer import language_hint
from nearcopy.cli_filter import verdict_summary
from nearcopy.filter import Verdict
from nearcopy.serving import access_log, request_policy
from nearcopy.serving.config import ServeConfig
from nearcopy.serving.proxy import PROXIED_PATHS, proxy_completion, proxy_models
from nearcopy.serving.reload import FilterHolder
from nearcopy.serving.service import (
    Service,
    ServiceError,
    error_response,
    json_response,
    read_json_object,
)
from nearcopy.serving.similar import routes as similar_routes

CHECK_FIELDS = ("text", "texts", "language", "policy")
OPEN_PATHS = ("/healthz",)
SERVED_PATHS = ("/v1/check", "/v1/filter", "/v1/similar", "/healthz", "/metrics", "/v1/shard/info",
                "/v1/shard/frequencies", "/v1/shard/matches")  # fmt: skip


def _service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


def _hints(payload: dict[str, Any], count: int, batch: bool) -> list[str | None]:
    """The canonical language hint of each text of a check or filter request."""
    given = payload.get("language")
    values = given if batch and isinstance(given, list) else [given] * count
    if len(values) != count:
        raise ServiceError(400, f"'language' lists {len(values)} hints for {count} texts")
    try:
        return [language_hint(v) for v in values]
    except (TypeError, ValueError) as err:
        raise ServiceError(400, f"'language': {err}") from None


def _texts(payload: dict[str, Any], max_batch: int) -> tuple[list[str], bool]:
    """The texts of a check or filter request, and whether it was a batch."""
    unknown = sorted(set(payload) - set(CHECK_FIELDS))
    if unknown:
        raise ServiceError(
            400,
            f"unknown field(s) {', '.join(map(repr, unknown))}: expected 'text' or 'texts' "
            "(and 'language', 'policy')",
        )
    if ("text" in payload) == ("texts" in payload):
        raise ServiceError(400, "give exactly one of 'text' (a string) or 'texts' (a list of strings)")
    if "text" in payload:
        if not isinstance(payload["text"], str):
            raise ServiceError(400, f"'text' must be a string, got {type(payload['text']).__name__}")
        return [payload["text"]], False
    texts = payload["texts"]
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        raise ServiceError(400, "'texts' must be a list of strings")
    if len(texts) > max_batch:
        raise ServiceError(413, f"a batch of {len(texts)} texts exceeds --max-batch {max_batch}")
    return texts, True


async def _verdicts(request: Request, endpoint: str) -> tuple[Service, list[str], bool, Any, list[Verdict]]:
    service = _service(request)
    _, payload = await read_json_object(request, service.config)
    texts, batch = _texts(payload, service.config.max_batch)
    hints = _hints(payload, len(texts), batch)
    requested = request_policy.parse(payload["policy"], "'policy'") if "policy" in payload else None
    output_filter = request_policy.chosen_filter(service, requested)
    verdicts = await anyio.to_thread.run_sync(
        lambda: (
            output_filter.check_batch(texts, language=hints)
            if batch
            else [output_filter.check(texts[0], language=hints[0])]
        )
    )
    for verdict in verdicts:
        if verdict.flagged:
            service.metrics.flag(endpoint, verdict.action)
    access_log.note(verdicts)
    return service, texts, batch, output_filter, verdicts


def _summary(verdict: Verdict, service: Service) -> dict[str, Any]:
    summary = verdict_summary(verdict)
    if service.config.excerpts:
        for row, match in zip(summary["matches"], verdict.matches):
            row["text"] = match.text
    return summary


async def check(request: Request) -> Response:
    service, _, batch, output_filter, verdicts = await _verdicts(request, "/v1/check")
    generation = output_filter.index.info()["generation"]
    results = [_summary(v, service) for v in verdicts]
    return json_response({"generation": generation, **({"results": results} if batch else results[0])})


async def filter_texts(request: Request) -> Response:
    service, texts, batch, output_filter, verdicts = await _verdicts(request, "/v1/filter")
    generation = output_filter.index.info()["generation"]
    results = [
        {"text": output_filter.render(t, v), "verdict": _summary(v, service)} for t, v in zip(texts, verdicts)
    ]
    return json_response({"generation": generation, **({"results": results} if batch else results[0])})


async def healthz(request: Request) -> Response:
    info = _service(request).holder.current().index.info()
    return json_response({"status": "ok", "generation": info["generation"], "documents": info["documents"]})


async def metrics(request: Request) -> Response:
    service = _service(request)
    info = service.holder.current().index.info()
    text = service.metrics.render(
        generation=info["generation"], documents=info["documents"], reloads=service.holder.reloads
    )
    return PlainTextResponse(text, media_type="text/plain; version=0.0.4")


async def _service_error(request: Request, err: Exception) -> Response:
    assert isinstance(err, ServiceError)
    return error_response(err.status, err.message, err.kind)


async def _http_error(request: Request, err: Exception) -> Response:
    assert isinstance(err, HTTPException)
    return error_response(err.status_code, f"{request.method} {request.url.path}: {err.detail}")


class _AuthAndMetrics:
    """Outermost layer: the bearer token (constant-time comparison), then timing by endpoint."""

    def __init__(self, app: ASGIApp, service: Service) -> None:
        self.app = app
        self.service = service
        self.expected = f"Bearer {service.token}".encode() if service.token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        endpoint = path if path in (*PROXIED_PATHS, *SERVED_PATHS) else "other"
        started, status = time.perf_counter(), 500
        record = access_log.RequestRecord(access_log.request_id(scope["headers"]), scope["method"], endpoint)
        token = access_log.begin(record)

        async def timed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", []), (b"x-request-id", record.request_id.encode())]
                message = {**message, "headers": headers}
            await send(message)

        try:
            if self.expected is not None and path not in OPEN_PATHS:
                presented = dict(scope["headers"]).get(b"authorization", b"")
                if not hmac.compare_digest(presented, self.expected):
                    response = error_response(401, "missing or wrong bearer token", "authentication_error")
                    response.headers["www-authenticate"] = "Bearer"
                    await response(scope, receive, timed_send)
                    return
            await self.app(scope, receive, timed_send)
        finally:
            self.service.metrics.observe(endpoint, status, time.perf_counter() - started)
            if self.service.log is not None:
                self.service.log.request(record, status)
            access_log.end(token)


def create_app(config: ServeConfig) -> ASGIApp:
    if config.route_to:  # a router over shard servers
        from nearcopy.serving.router import create_router_app

        return create_router_app(config)
    if config.filter.shard is not None:  # a shard server behind a router
        from nearcopy.serving.shard_app import create_shard_app

        return create_shard_app(config)
    log = access_log.AccessLog(config.access_log) if config.access_log else None
    service = Service(
        config,
        FilterHolder(config.filter, watch_interval=config.watch_interval, log=log),
        token=config.auth_token(),
        upstream_key=config.upstream_api_key(),
        log=log,
    )

    def on_sighup() -> None:
        service.holder.reload("SIGHUP")  # says so on stderr (and in the access log), done or not
        if similar_index is not None:
            similar_index.reload()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if config.upstream:
            timeout = httpx.Timeout(config.upstream_timeout, connect=min(30.0, config.upstream_timeout))
            limits = httpx.Limits(max_connections=1000, max_keepalive_connections=100)
            # No Nagle delay on the small writes of a request (headers, then body): with the peer's
            # delayed ACK it would add up to 40 ms to a request.
            nodelay = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
            transport = httpx.AsyncHTTPTransport(limits=limits, socket_options=nodelay)
            service.client = httpx.AsyncClient(timeout=timeout, transport=transport)
        loop = asyncio.get_running_loop()
        # Not in the main thread (an embedding app), or no SIGHUP: the manifest watch still reloads.
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGHUP, on_sighup)
        try:
            yield
        finally:
            loop.remove_signal_handler(signal.SIGHUP)
            if service.client is not None:
                await service.client.aclose()
            if log is not None:
                log.close()

    similar, similar_index = similar_routes(config.lsh_index, config.watch_interval, warm=config.filter.warm)
    routes = [
        *similar,
        Route("/v1/check", check, methods=["POST"]),
        Route("/v1/filter", filter_texts, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/v1/models", proxy_models, methods=["GET"]),
        *(Route(path, proxy_completion, methods=["POST"]) for path in PROXIED_PATHS),
    ]
    handlers = {ServiceError: _service_error, HTTPException: _http_error}
    app = Starlette(routes=routes, exception_handlers=handlers, lifespan=lifespan)
    app.state.service = service
    app.state.similar = similar_index
    return _AuthAndMetrics(app, service)
