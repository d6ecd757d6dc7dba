"""A small, real OpenAI-compatible server for the serving tests, run as its own process.

It answers ``/v1/chat/completions`` and ``/v1/completions`` with a scripted answer, read from the
request's ``script`` field (the proxy passes fields it does not know on, byte for byte):
``answer`` (the content), ``n`` (choices, each ``answers[i]`` if given), ``chunking`` ("1", "3",
"random", "small" (1 to 8), "whole": characters per delta), ``reasoning`` and ``tool_arguments``
(streamed before the content, like vLLM's ``reasoning_content`` and tool-call deltas),
``keepalive`` (an SSE comment before every delta), ``usage`` (a final usage chunk), ``status``
(answer with this HTTP error instead), ``break_after`` (drop the connection after this many
frames), ``stall`` (stop sending after the first few frames and wait this many seconds), ``delay``
(seconds between frames). ``GET /stats`` says how
many streams are open and how many ended, so a test can see that the proxy closed one.

    python tests/openai_upstream.py      # prints "listening on PORT" on stdout

With ``--nearcopy-middleware`` the app adds ``nearcopy.integrations.vllm.NearcopyMiddleware`` the
way ``vllm serve --middleware`` does (``app.add_middleware(cls)``, settings from the environment),
so the middleware is tested on an app speaking vLLM's wire format.
"""

from __future__ import annotations

import asyncio
import json
import random
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

STATS = {"open": 0, "ended": 0, "requests": 0}


def pieces(text: str, chunking: str, seed: int) -> list[str]:
    if chunking == "whole" or not text:
        return [text] if text else []
    if chunking in ("random", "small"):
        # "small": 1 to 8 characters per delta, as token-by-token streaming sends them.
        steps = [1, 2, 4, 9, 30, 120] if chunking == "random" else list(range(1, 9))
        rng, out, i = random.Random(seed), [], 0
        while i < len(text):
            step = rng.choice(steps)
            out.append(text[i : i + step])
            i += step
        return out
    step = int(chunking)
    return [text[i : i + step] for i in range(0, len(text), step)]


def chat_frames(script: dict[str, Any], completion: bool) -> Iterator[dict[str, Any] | str]:
    n = int(script.get("n", 1))
    answers = script.get("answers") or [script.get("answer", "")] * n
    chunking, seed = str(script.get("chunking", "3")), int(script.get("seed", 0))
    identity = {
        "id": "cmpl-test",
        "object": "text_completion" if completion else "chat.completion.chunk",
        "created": 1,
        "model": "scripted",
    }

    def chunk(index: int, **fields: Any) -> dict[str, Any]:
        finish = fields.pop("finish_reason", None)
        if completion:
            choice = {
                "index": index,
                "text": fields.get("content", ""),
                "logprobs": None,
                "finish_reason": finish,
            }
        else:
            choice = {"index": index, "delta": fields, "logprobs": None, "finish_reason": finish}
        return {**identity, "choices": [choice]}

    if not completion:
        for i in range(n):
            yield chunk(i, role="assistant", content="")
    for part in pieces(script.get("reasoning", ""), chunking, seed):
        yield chunk(0, reasoning_content=part)
    if script.get("tool_arguments") is not None:
        call = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "save", "arguments": ""}}
        yield chunk(0, tool_calls=[call])
        for part in pieces(script["tool_arguments"], chunking, seed):
            yield chunk(0, tool_calls=[{"index": 0, "function": {"arguments": part}}])
    split = [pieces(a, chunking, seed + i) for i, a in enumerate(answers)]
    for step in range(max(map(len, split), default=0)):
        for i, parts in enumerate(split):
            if step < len(parts):
                if script.get("keepalive"):
                    yield ": keep-alive"
                yield chunk(i, content=parts[step])
    finish = "tool_calls" if script.get("tool_arguments") is not None else "stop"
    for i in range(n):
        yield chunk(i, finish_reason=finish)
    if script.get("usage"):
        yield {
            **identity,
            "choices": [],
            "usage": {"prompt_tokens": 3, "completion_tokens": 9, "total_tokens": 12},
        }


async def stream(script: dict[str, Any], completion: bool) -> AsyncIterator[bytes]:
    STATS["open"] += 1
    try:
        for count, frame in enumerate(chat_frames(script, completion)):
            if script.get("break_after") is not None and count >= int(script["break_after"]):
                raise ConnectionAbortedError("scripted break")  # uvicorn drops the connection
            if script.get("stall") and count == 4:
                await asyncio.sleep(float(script["stall"]))
            if script.get("delay"):
                await asyncio.sleep(float(script["delay"]))
            yield (f"{frame}\n\n" if isinstance(frame, str) else f"data: {json.dumps(frame)}\n\n").encode()
        yield b"data: [DONE]\n\n"
    finally:
        STATS["open"] -= 1
        STATS["ended"] += 1


def whole(script: dict[str, Any], completion: bool) -> dict[str, Any]:
    n = int(script.get("n", 1))
    answers = script.get("answers") or [script.get("answer", "")] * n
    choices = []
    for i, answer in enumerate(answers):
        if completion:
            choices.append({"index": i, "text": answer, "logprobs": None, "finish_reason": "stop"})
            continue
        message: dict[str, Any] = {"role": "assistant", "content": answer}
        if script.get("reasoning"):
            message["reasoning_content"] = script["reasoning"]
        if script.get("tool_arguments") is not None:
            message["tool_calls"] = [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "save", "arguments": script["tool_arguments"]},
                }
            ]
        choices.append({"index": i, "message": message, "logprobs": {"content": []}, "finish_reason": "stop"})
    kind = "text_completion" if completion else "chat.completion"
    return {
        "id": "cmpl-test",
        "object": kind,
        "created": 1,
        "model": "scripted",
        "choices": choices,
        "usage": {"prompt_tokens": 3, "completion_tokens": 9, "total_tokens": 12},
    }


async def completions(request: Request) -> Response:
    STATS["requests"] += 1
    body = await request.json()
    script, completion = body.get("script", {}), request.url.path.endswith("/v1/completions")
    if script.get("status"):
        return JSONResponse({"error": {"message": "scripted failure"}}, status_code=int(script["status"]))
    if body.get("stream"):
        return StreamingResponse(stream(script, completion), media_type="text/event-stream")
    return JSONResponse(whole(script, completion))


async def stats(request: Request) -> Response:
    return JSONResponse(STATS)


async def models(request: Request) -> Response:
    return JSONResponse({"object": "list", "data": [{"id": "scripted", "object": "model"}]})


app = Starlette(
    routes=[
        Route("/v1/chat/completions", completions, methods=["POST"]),
        Route("/v1/completions", completions, methods=["POST"]),
        Route("/v1/models", models),
        Route("/stats", stats),
    ]
)

if __name__ == "__main__":
    if "--nearcopy-middleware" in sys.argv:
        from nearcopy.integrations.vllm import NearcopyMiddleware

        app.add_middleware(NearcopyMiddleware)
    sock = socket.create_server(("127.0.0.1", 0))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as `nearcopy serve` does
    print(f"listening on {sock.getsockname()[1]}", flush=True)
    uvicorn.Server(uvicorn.Config(app, log_level="critical", access_log=False)).run(sockets=[sock])
    sys.exit(0)
