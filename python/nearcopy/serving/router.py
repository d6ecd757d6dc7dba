"""The router: ``nearcopy serve --route-to URL [--route-to URL ...]`` answers ``/v1/check`` and
``/v1/filter`` as ``nearcopy serve`` over the whole sharded index would (same JSON, same verdicts,
same match order), by fanning each request out to shard servers (``nearcopy serve --shard I``,
:mod:`nearcopy.serving.shard_app`), one per shard, in the two phases of :mod:`nearcopy.shard_check`.

A verdict is never partial: before it answers, the router has heard from every shard of the index
(``/v1/shard/info``: the servers must be shards 0 to N-1 of one generation of one sharded index,
each once). A shard server that is unreachable, times out (``--shard-timeout``) or answers with an
error makes the request a 503 naming the shard; one reloaded between the phases makes the router
start the check again (twice at most). The thresholds and policy are the router's own options;
shard servers keep none.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from nearcopy.filter import Policy, Verdict, render_verdict
from nearcopy.serving import access_log, request_policy
from nearcopy.serving.app import _AuthAndMetrics, _hints, _http_error, _service_error, _summary, _texts
from nearcopy.serving.config import ServeConfig
from nearcopy.serving.service import Service, ServiceError, json_bytes, json_response, read_json_object
from nearcopy.serving.shard_client import Connections, ShardUnreachable
from nearcopy.shard_check import Contents, Thresholds, merged_verdict, other_shards, union_contents

ATTEMPTS = 3


class _Reloaded(Exception):
    """A shard server changed generation between the phases of a check."""


@dataclass(frozen=True)
class ShardView:
    """What the router knows of a shard server (from ``/v1/shard/info``)."""

    url: str
    shard: int
    top_generation: int
    generation: int
    segments: int
    documents: int
    contents: Contents


class Router:
    def __init__(self, urls: tuple[str, ...], timeout: float, token: str | None = None) -> None:
        self.urls = [url.rstrip("/") for url in urls]
        self.timeout = timeout
        self.headers = {"content-type": "application/json"}
        if token:
            self.headers["authorization"] = f"Bearer {token}"
        self.views: list[ShardView] | None = None  # in shard order, once every server answered
        self.known: dict[str, int] = {}  # the shard each server said it serves, kept for messages
        self.pools: dict[str, Connections] = {}

    async def open(self) -> None:
        self.pools = {url: Connections(url) for url in self.urls}

    async def close(self) -> None:
        for pool in self.pools.values():
            pool.close()

    def _where(self, url: str) -> str:
        """How a message names a shard server: by its shard once it has said which it serves."""
        if url in self.known:
            return f"shard {self.known[url]} ({url})"
        return f"the shard server at {url} (--route-to {self.urls.index(url) + 1} of {len(self.urls)})"

    async def _call(self, url: str, path: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        assert self.pools, "Router.open() first"
        where = self._where(url)
        body = None if payload is None else json_bytes(payload)
        try:
            status, raw = await asyncio.wait_for(
                self.pools[url].request("GET" if body is None else "POST", path, body, self.headers),
                self.timeout,
            )
        except asyncio.TimeoutError:
            raise ServiceError(503, f"{where}: no answer within {self.timeout:g} s (--shard-timeout); "
                               "no verdict without every shard", "shard_unavailable") from None  # fmt: skip
        except ShardUnreachable as err:
            raise ServiceError(503, f"{where}: unreachable ({err}); no verdict without every shard",
                               "shard_unavailable") from None  # fmt: skip
        if status == 409:
            raise _Reloaded(where)
        try:
            reply = json.loads(raw)
        except ValueError:
            reply = None
        if status != 200 or not isinstance(reply, dict):
            message = reply.get("error", {}).get("message") if isinstance(reply, dict) else None
            raise ServiceError(503, f"{where}: answered {status}"
                               f"{': ' + str(message) if message else ''}", "shard_unavailable")  # fmt: skip
        return reply

    async def _gather(self, calls: list[Any]) -> list[dict[str, Any]]:
        """Every call's answer; the first failure (in shard order) once all are done."""
        results = await asyncio.gather(*calls, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return results  # type: ignore[return-value]

    async def _discover(self) -> list[ShardView]:
        infos = await self._gather([self._call(url, "/v1/shard/info") for url in self.urls])
        views = sorted(
            (ShardView(url, int(i["shard"]), int(i["top_generation"]), int(i["generation"]),
                       int(i["segments"]), int(i["documents"]), (i["contents"][0], bool(i["contents"][1])))
             for url, i in zip(self.urls, infos)),
            key=lambda v: v.shard,
        )  # fmt: skip
        self.known.update((v.url, v.shard) for v in views)
        count = {int(i["shards"]) for i in infos}
        if count != {len(self.urls)} or [v.shard for v in views] != list(range(len(self.urls))):
            served = ", ".join(f"{v.url} serves shard {v.shard} of {int(i['shards'])}"
                               for v, i in zip(views, infos))  # fmt: skip
            raise ServiceError(
                503,
                f"the shard servers are not each shard of one index once ({served}): "
                "a missing shard would let its copies through",
                "shard_unavailable",
            )
        agreed = {(v.top_generation, repr(i["params"]), i["keyed"]) for v, i in zip(views, infos)}
        if len(agreed) != 1:
            generations = ", ".join(f"shard {v.shard}: {v.top_generation}" for v in views)
            raise ServiceError(503, f"the shard servers serve different generations of the sharded "
                               f"index ({generations})", "shard_unavailable")  # fmt: skip
        return views

    async def check(
        self, texts: list[str], hints: list[str | None], thresholds: Thresholds, policy: Policy
    ) -> tuple[int, list[Verdict]]:
        """The whole index's verdicts on ``texts``, and the sharded index's generation."""
        for _ in range(ATTEMPTS):
            try:
                if self.views is None:
                    self.views = await self._discover()
                return await self._check(self.views, texts, hints, thresholds, policy)
            except _Reloaded:
                self.views = None
            except ServiceError:
                self.views = None  # a restarted or replaced server is asked again next time
                raise
        raise ServiceError(
            503, "the shard servers kept reloading during the check; retry", "shard_unavailable"
        )

    async def _check(
        self, views: list[ShardView], texts: list[str], hints: list[str | None], thresholds: Thresholds,
        policy: Policy,
    ) -> tuple[int, list[Verdict]]:  # fmt: skip
        contents = union_contents([v.contents for v in views])
        phase = {"texts": texts, "hints": hints, "thresholds": thresholds, "contents": list(contents)}
        counted = await self._gather([self._call(v.url, "/v1/shard/frequencies", phase) for v in views])
        if any(r["generation"] != v.generation or r["shard"] != v.shard for r, v in zip(counted, views)):
            raise _Reloaded()
        sent = [other_shards([r["results"][t]["documents"] for r in counted],
                             [r["results"][t]["allowlisted"] for r in counted], thresholds[0])
                for t in range(len(texts))]  # fmt: skip
        # A shard holding none of any text's fingerprints has no match to give.
        holders = [s for s, r in enumerate(counted) if any(res["documents"] for res in r["results"])]
        calls = [
            self._call(views[s].url, "/v1/shard/matches", {
                **phase, "generation": views[s].generation,
                "others": [others[s] for others, _ in sent], "allowlisted": [allowed for _, allowed in sent],
            })
            for s in holders
        ]  # fmt: skip
        matched = dict(zip(holders, await self._gather(calls)))
        offsets = [sum(v.segments for v in views[:s]) for s in range(len(views))]
        verdicts = []
        for t, text in enumerate(texts):
            per_shard = [
                matched[s]["results"][t]["matches"] if s in matched else [] for s in range(len(views))
            ]
            tokens = next((matched[s]["results"][t]["tokens"] for s in holders), 0)
            verdicts.append(merged_verdict(text, per_shard, offsets, tokens, policy))
        return views[0].top_generation, verdicts


async def _verdicts(request: Request) -> tuple[Service, list[str], bool, Policy, int, list[Verdict]]:
    service: Service = request.app.state.service
    router: Router = request.app.state.router
    _, payload = await read_json_object(request, service.config)
    texts, batch = _texts(payload, service.config.max_batch)
    hints = _hints(payload, len(texts), batch)
    policy: Policy = request.app.state.policy
    whose = "operator"
    if "policy" in payload:
        requested = request_policy.parse(payload["policy"], "'policy'")
        if service.config.request_policy == "off":
            raise ServiceError(
                403,
                "this service does not take a per-request policy (the operator can "
                "allow it with --request-policy stricter or any)",
                "permission_error",
            )
        policy = request_policy.combined(policy, requested, service.config.request_policy)
        whose = service.config.request_policy
    generation, verdicts = await router.check(texts, hints, request.app.state.thresholds, policy)
    for verdict in verdicts:
        if verdict.flagged:
            service.metrics.flag(request.url.path, verdict.action)
    access_log.note(verdicts, generation=generation, policy=whose)
    return service, texts, batch, policy, generation, verdicts


async def check(request: Request) -> Response:
    service, _, batch, _, generation, verdicts = await _verdicts(request)
    results = [_summary(v, service) for v in verdicts]
    return json_response({"generation": generation, **({"results": results} if batch else results[0])})


async def filter_texts(request: Request) -> Response:
    service, texts, batch, policy, generation, verdicts = await _verdicts(request)
    results = [{"text": render_verdict(policy, t, v), "verdict": _summary(v, service)}
               for t, v in zip(texts, verdicts)]  # fmt: skip
    return json_response({"generation": generation, **({"results": results} if batch else results[0])})


async def healthz(request: Request) -> Response:
    """Up when every shard server answers as one sharded index (503 naming the one that does not)."""
    router: Router = request.app.state.router
    router.views = None
    views = await router._discover()
    router.views = views
    return json_response({"status": "ok", "generation": views[0].top_generation, "shards": len(views)})


async def metrics(request: Request) -> Response:
    """nearcopy serve's metrics, the index figures those of the shards the router last heard from."""
    service: Service = request.app.state.service
    views = request.app.state.router.views or []
    generation = views[0].top_generation if views else 0
    text = service.metrics.render(generation=generation, documents=sum(v.documents for v in views), reloads=0)
    return PlainTextResponse(text, media_type="text/plain; version=0.0.4")


def create_router_app(config: ServeConfig) -> ASGIApp:
    log = access_log.AccessLog(config.access_log) if config.access_log else None
    settings = config.filter
    # The thresholds are checked as OutputFilter checks them, without an index.
    popular = settings.popular_doc_frequency
    if min(settings.min_tokens, settings.min_code_tokens, settings.max_doc_frequency) < 1:
        raise ValueError("min_tokens, min_code_tokens and max_doc_frequency must be positive")
    thresholds: Thresholds = (
        settings.max_doc_frequency, settings.min_tokens, settings.min_code_tokens,
        None if popular is None else (popular, round(100 * settings.popular_factor)),
    )  # fmt: skip
    service = Service(config, holder=None, token=config.auth_token(), log=log)  # type: ignore[arg-type]
    router = Router(config.route_to, config.shard_timeout, service.token)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await router.open()
        try:
            yield
        finally:
            await router.close()
            if log is not None:
                log.close()

    routes = [
        Route("/v1/check", check, methods=["POST"]),
        Route("/v1/filter", filter_texts, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
    handlers = {ServiceError: _service_error, HTTPException: _http_error}
    app = Starlette(routes=routes, exception_handlers=handlers, lifespan=lifespan)
    app.state.service, app.state.router = service, router
    app.state.policy, app.state.thresholds = settings.make_policy(), thresholds
    return _AuthAndMetrics(app, service)
