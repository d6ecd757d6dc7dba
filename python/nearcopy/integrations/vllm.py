"""An ASGI middleware that filters vLLM's OpenAI-compatible answers in process::

    NEARCOPY_INDEX=protected.idx NEARCOPY_LICENSE_POLICY=GPL-3.0=replace \\
        vllm serve MODEL --middleware nearcopy.integrations.vllm.NearcopyMiddleware

vLLM adds a middleware class with ``app.add_middleware(cls)``, without arguments, so the class reads
its settings from the environment: ``NEARCOPY_INDEX`` (required), ``NEARCOPY_POLICY`` (default
redact), ``NEARCOPY_LICENSE_POLICY`` and ``NEARCOPY_SOURCE_POLICY`` (``NAME=ACTION,...``),
``NEARCOPY_MIN_TOKENS``, ``NEARCOPY_MIN_CODE_TOKENS``, ``NEARCOPY_MAX_DOC_FREQUENCY``, and
``NEARCOPY_COMPLETIONS_LANGUAGE`` (the language of ``/v1/completions`` answers, as ``nearcopy serve
--completions-language``; a request's ``X-Nearcopy-Language`` header overrides it). In code, pass
``output_filter=`` and ``completions_language=`` (or subclass) instead.

It holds back at the ``send`` level: the body messages of a streamed answer go through the same
per-choice SSE filter as the proxy, message by message, so nothing is buffered beyond the hold-back;
only a whole (non-streamed) answer is collected, because it is checked whole. The index is reopened
when its manifest changes (checked at most every two seconds).
"""

from __future__ import annotations

import json
import os

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nearcopy.answer import language_hint
from nearcopy.filter import OutputFilter
from nearcopy.integrations import filter_settings
from nearcopy.serving.completion import filter_completion
from nearcopy.serving.proxy import LANGUAGE_HEADER, PROXIED_PATHS, answer_language
from nearcopy.serving.reload import FilterHolder
from nearcopy.serving.service import error_response, json_bytes
from nearcopy.serving.sse import CompletionStreamFilter


def settings_from_environment() -> FilterHolder:
    index = os.environ.get("NEARCOPY_INDEX")
    if not index:
        raise ValueError("NearcopyMiddleware needs NEARCOPY_INDEX (the protected index directory)")
    env = {
        name: os.environ[f"NEARCOPY_{name.upper()}"]
        for name in (
            "policy",
            "license_policy",
            "source_policy",
            "min_tokens",
            "min_code_tokens",
            "max_doc_frequency",
        )
        if f"NEARCOPY_{name.upper()}" in os.environ
    }
    return FilterHolder(filter_settings(index, **env))


class NearcopyMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        output_filter: OutputFilter | None = None,
        completions_language: str | None = None,
    ) -> None:
        self.app = app
        self._fixed = output_filter
        self._holder = None if output_filter is not None else settings_from_environment()
        if output_filter is None and completions_language is None:
            completions_language = os.environ.get("NEARCOPY_COMPLETIONS_LANGUAGE")
        self._completions_language = language_hint(completions_language)

    def _filter(self) -> OutputFilter:
        if self._fixed is not None:
            return self._fixed
        assert self._holder is not None
        return self._holder.current()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].endswith(PROXIED_PATHS):
            await self.app(scope, receive, send)
            return
        output_filter = self._filter()
        header = dict(scope["headers"]).get(LANGUAGE_HEADER.encode())
        try:
            language = answer_language(
                scope["path"],
                None if header is None else header.decode("latin-1"),
                self._completions_language,
            )
        except ValueError as err:
            await error_response(400, str(err))(scope, receive, send)
            return
        stream: CompletionStreamFilter | None = None
        held_start: Message | None = None  # the start of a whole answer, sent with its filtered body
        whole: list[bytes] = []

        async def filtered_send(message: Message) -> None:
            nonlocal stream, held_start
            if message["type"] == "http.response.start":
                headers = MutableHeaders(raw=list(message["headers"]))
                content_type = headers.get("content-type", "")
                if message["status"] != 200:
                    await send(message)
                elif content_type.startswith("text/event-stream"):
                    stream = CompletionStreamFilter(output_filter, language=language)
                    if "content-length" in headers:
                        del headers["content-length"]
                    await send({**message, "headers": headers.raw})
                elif content_type.startswith("application/json"):
                    held_start = {**message, "headers": headers.raw}
                else:
                    await send(message)
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            more = message.get("more_body", False)
            if stream is not None:
                out = stream.feed(message.get("body", b"")) + (b"" if more else stream.finish())
                if out or not more:
                    await send({"type": "http.response.body", "body": out, "more_body": more})
            elif held_start is not None:
                whole.append(message.get("body", b""))
                if not more:
                    await self._send_whole(held_start, b"".join(whole), output_filter, language, send)
            else:
                await send(message)

        await self.app(scope, receive, filtered_send)

    @staticmethod
    async def _send_whole(
        start: Message, raw: bytes, output_filter: OutputFilter, language: str | None, send: Send
    ) -> None:
        try:
            answer = json.loads(raw)
        except ValueError:
            answer = None
        if isinstance(answer, dict):
            filter_completion(answer, output_filter, language)
            raw = json_bytes(answer)
        headers = MutableHeaders(raw=list(start["headers"]))
        headers["content-length"] = str(len(raw))
        await send({**start, "headers": headers.raw})
        await send({"type": "http.response.body", "body": raw, "more_body": False})
