"""The OpenAI-compatible filtering proxy: ``/v1/chat/completions`` and ``/v1/completions`` are sent to
the upstream as received (byte for byte, so fields this proxy does not know pass on), and the answer
comes back filtered: a whole response checked in one batch, a streamed one frame by frame through
:class:`~nearcopy.serving.sse.CompletionStreamFilter`.

Failures never leak and never hang: an upstream that cannot be reached is 502 (504 on a timeout), an
upstream 5xx is 502 naming its status, an upstream 4xx is passed on (it is about the client's request);
a stream the upstream breaks off ends with the checked remainder and an error event; a client that
disconnects cancels the stream and closes the upstream connection at once, even while the upstream is
silent. The answer's language hint (see ``OutputFilter.check``) is the request's
``X-Nearcopy-Language`` header, else for ``/v1/completions`` the service's ``--completions-language``.
The request's own ``Authorization`` is forwarded only when the service has no token of its
own; ``--upstream-api-key-file`` (or ``NEARCOPY_UPSTREAM_API_KEY``) sets the upstream's.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import anyio
import httpx
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from nearcopy.answer import language_hint
from nearcopy.filter import Verdict
from nearcopy.serving import access_log, request_policy
from nearcopy.serving.completion import filter_completion
from nearcopy.serving.service import Service, ServiceError, json_response, read_json_object
from nearcopy.serving.sse import CompletionStreamFilter

PROXIED_PATHS = ("/v1/chat/completions", "/v1/completions")
# A request header naming the language of the answer's code (auto, text, or a language).
LANGUAGE_HEADER = "x-nearcopy-language"
# A whole upstream answer larger than this is refused rather than held in memory.
MAX_UPSTREAM_BODY = 64 * 1024 * 1024
_STREAM_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),  # tells nginx in front not to buffer the stream
]


def _upstream_url(service: Service, path: str) -> str:
    base = (service.config.upstream or "").rstrip("/")
    return base + (path[3:] if base.endswith("/v1") else path)


def _upstream_headers(request: Request, service: Service) -> dict[str, str]:
    headers = {"content-type": "application/json", "accept-encoding": "identity"}
    headers["accept"] = request.headers.get("accept", "*/*")
    if service.upstream_key:
        headers["authorization"] = f"Bearer {service.upstream_key}"
    elif service.token is None and "authorization" in request.headers:
        headers["authorization"] = request.headers["authorization"]
    return headers


async def _send(service: Service, request: httpx.Request) -> httpx.Response:
    assert service.client is not None
    try:
        return await service.client.send(request, stream=True)
    except httpx.TimeoutException:
        raise ServiceError(504, "the upstream did not answer in time", "upstream_error") from None
    except httpx.HTTPError as err:
        raise ServiceError(
            502, f"the upstream cannot be reached: {type(err).__name__}", "upstream_error"
        ) from None


async def _read_whole(response: httpx.Response) -> bytes:
    chunks, size = [], 0
    try:
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > MAX_UPSTREAM_BODY:
                raise ServiceError(502, "the upstream's answer is too large", "upstream_error")
            chunks.append(chunk)
    except httpx.HTTPError as err:
        raise ServiceError(
            502, f"the upstream's answer broke off: {type(err).__name__}", "upstream_error"
        ) from None
    finally:
        await response.aclose()
    return b"".join(chunks)


async def _passed_on_error(response: httpx.Response) -> Response:
    raw = await _read_whole(response)
    if response.status_code >= 500:
        snippet = raw[:200].decode("utf-8", "replace")
        raise ServiceError(502, f"the upstream answered {response.status_code}: {snippet}", "upstream_error")
    media_type = response.headers.get("content-type", "application/json")
    return Response(raw, response.status_code, media_type=media_type)


def answer_language(path: str, header: str | None, completions_language: str | None) -> str | None:
    """The language hint for an answer: the request's ``X-Nearcopy-Language`` header, else, for
    ``/v1/completions``, the configured ``completions_language`` (a code model's completions are
    code), else auto. Raises ValueError naming a bad header value."""
    if header is None:
        return completions_language if path.endswith("/v1/completions") else None
    try:
        return language_hint(header.strip())
    except ValueError as err:
        raise ValueError(f"{LANGUAGE_HEADER}: {err}") from None


def _language(request: Request, service: Service) -> str | None:
    try:
        return answer_language(
            request.url.path, request.headers.get(LANGUAGE_HEADER), service.config.completions_language
        )
    except ValueError as err:
        raise ServiceError(400, str(err)) from None


async def proxy_completion(request: Request) -> Response:
    service: Service = request.app.state.service
    if service.client is None:
        raise ServiceError(
            404, f"{request.url.path} needs an upstream: start the service with --upstream URL"
        )
    body, _ = await read_json_object(request, service.config)
    # This request keeps its filter to its end (its own policy only where --request-policy allows).
    output_filter = request_policy.chosen_filter(service, request_policy.from_header(request.headers))
    upstream = service.client.build_request(
        "POST",
        _upstream_url(service, request.url.path),
        content=body,
        headers=_upstream_headers(request, service),
    )
    language = _language(request, service)
    response = await _send(service, upstream)
    if response.status_code >= 400:
        return await _passed_on_error(response)
    endpoint = request.url.path

    def record(verdicts: list[Verdict]) -> None:
        access_log.note(verdicts)
        for verdict in verdicts:
            if verdict.flagged:
                service.metrics.flag(endpoint, verdict.action)

    if response.headers.get("content-type", "").startswith("text/event-stream"):
        stream_filter = CompletionStreamFilter(output_filter, language=language)
        return FilteredStream(response, stream_filter, record)  # type: ignore[return-value]
    raw = await _read_whole(response)
    try:
        answer = json.loads(raw)
    except ValueError:
        raise ServiceError(502, "the upstream's answer is not JSON", "upstream_error") from None
    if not isinstance(answer, dict):
        raise ServiceError(502, "the upstream's answer is not a JSON object", "upstream_error")
    verdicts = await anyio.to_thread.run_sync(filter_completion, answer, output_filter, language)
    record(verdicts)
    return json_response(answer, response.status_code)


async def proxy_models(request: Request) -> Response:
    service: Service = request.app.state.service
    if service.client is None:
        raise ServiceError(404, "/v1/models needs an upstream: start the service with --upstream URL")
    upstream = service.client.build_request(
        "GET", _upstream_url(service, "/v1/models"), headers=_upstream_headers(request, service)
    )
    response = await _send(service, upstream)
    if response.status_code >= 400:
        return await _passed_on_error(response)
    raw = await _read_whole(response)
    return Response(raw, response.status_code, media_type=response.headers.get("content-type"))


class FilteredStream:
    """An ASGI response streaming the upstream's SSE through the filter, cancelled the moment the
    client disconnects (a task waits for ``http.disconnect`` beside the stream), upstream closed in
    every case."""

    def __init__(
        self,
        upstream: httpx.Response,
        stream_filter: CompletionStreamFilter,
        on_end: Callable[[list[Verdict]], None],
    ) -> None:
        self.upstream = upstream
        self.filter = stream_filter
        self.on_end = on_end

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            async with anyio.create_task_group() as tasks:

                async def until_disconnect() -> None:
                    while (await receive())["type"] != "http.disconnect":
                        pass
                    tasks.cancel_scope.cancel()

                tasks.start_soon(until_disconnect)
                await self._stream(send)
                tasks.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                await self.upstream.aclose()
            self.on_end(self.filter.verdicts())

    async def _stream(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": _STREAM_HEADERS})
        body: Message = {"type": "http.response.body", "more_body": True}
        try:
            async for data in self.upstream.aiter_bytes():
                out = self.filter.feed(data)
                if out:
                    await send({**body, "body": out})
            tail = self.filter.finish()
        except httpx.HTTPError as err:
            tail = self.filter.fail(f"the upstream's stream broke off: {type(err).__name__}")
        await send({**body, "body": tail, "more_body": False})
