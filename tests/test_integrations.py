"""The in-process adapters: the vLLM middleware on a real app speaking vLLM's OpenAI wire format (vLLM
itself needs a GPU), added the way `vllm serve --middleware` adds it; the LiteLLM guardrail built the
way the LiteLLM proxy builds it from config.yaml, fed by real `litellm.acompletion` calls."""

from __future__ import annotations

import asyncio
import os
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from nearcopy.benchsuite import serve_harness as h
from nearcopy.filter import OutputFilter
from nearcopy.index import ProtectedIndex

# litellm fetches a model price list from the network on import unless told to use its own copy.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
with warnings.catch_warnings():  # litellm's own import-time warnings (pydantic) are not ours to fail on
    warnings.simplefilter("ignore")
    litellm = pytest.importorskip("litellm")
    pytest.importorskip("nearcopy.integrations.litellm")

# pydantic warns about litellm's own models as it builds them on first use: not ours to fail on.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")
LONG_CLEAN = h.CLEAN * 4
COPY = LONG_CLEAN + h.CODE_ANSWER
PROSE_COPY = LONG_CLEAN + h.PROSE_ANSWER


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return h.build_index(tmp_path_factory.mktemp("integrations") / "index")


@pytest.fixture(scope="module")
def output_filter(index: Path) -> OutputFilter:
    return OutputFilter(ProtectedIndex.open(index))


@pytest.fixture(scope="module")
def vllm_like(index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = {"NEARCOPY_INDEX": str(index), "NEARCOPY_LICENSE_POLICY": "GPL-3.0=replace"}
    server = h.start_upstream(tmp_path_factory.mktemp("vllm"), "--nearcopy-middleware", env=env)
    try:
        yield server.url
    finally:
        server.stop()


@pytest.mark.parametrize("chunking", ["1", "random", "whole"])
def test_the_vllm_middleware_never_sends_a_copy(
    vllm_like: str, output_filter: OutputFilter, chunking: str
) -> None:
    body = {"model": "m", "stream": True, "script": {"answer": COPY, "chunking": chunking, "usage": True}}
    with httpx.stream("POST", vllm_like + "/v1/chat/completions", json=body, timeout=60) as response:
        frames = h.sse_frames(response.read())
    assert frames[-1] == "data: [DONE]"
    for frame in frames:
        assert not output_filter.check(frame).flagged
    chunk_list = h.chunks(frames)
    received = h.received_text(chunk_list)
    assert not output_filter.check(received).flagged
    assert received.endswith("[output withheld: it reproduces https://example.org/intervals.py (GPL-3.0)]")
    assert h.finish_reasons(chunk_list) == {0: "content_filter"}
    assert "usage" in chunk_list[-1]


def test_the_vllm_middleware_streams_clean_answers_unchanged_and_as_they_come(vllm_like: str) -> None:
    body = {"model": "m", "stream": True, "script": {"answer": LONG_CLEAN, "chunking": "3", "delay": 0.002}}
    arrivals: list[tuple[float, bytes]] = []
    with httpx.stream("POST", vllm_like + "/v1/chat/completions", json=body, timeout=60) as response:
        for data in response.iter_raw():
            arrivals.append((time.monotonic(), data))
    frames = h.sse_frames(b"".join(data for _, data in arrivals))
    assert h.received_text(h.chunks(frames)) == LONG_CLEAN
    first_text = next(t for t, data in arrivals if b'"content":"Binary' in data)
    assert arrivals[-1][0] - first_text > 0.1, (
        "text is sent while the answer streams, not buffered to the end"
    )


def test_the_vllm_middleware_filters_whole_answers_and_leaves_other_routes(vllm_like: str) -> None:
    body = {"model": "m", "script": {"answers": [PROSE_COPY, LONG_CLEAN], "n": 2}}
    response = httpx.post(vllm_like + "/v1/chat/completions", json=body, timeout=60)
    first, second = response.json()["choices"]
    assert "[redacted: https://example.org/austen]" in first["message"]["content"]
    assert second["message"]["content"] == LONG_CLEAN
    assert int(response.headers["content-length"]) == len(response.content)
    assert httpx.get(vllm_like + "/v1/models").json()["data"][0]["id"] == "scripted"


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = h.start_upstream(tmp_path_factory.mktemp("litellm"))
    try:
        yield server.url
    finally:
        server.stop()


def guardrail_from_config(index: Path, **more: Any) -> Any:
    """What LiteLLM's proxy does with a `guardrails:` entry of config.yaml (its registry module needs
    the proxy's web stack, so its steps are repeated here with LiteLLM's own parameter model)."""
    from litellm.types.guardrails import LitellmParams

    params = LitellmParams(
        guardrail="nearcopy.integrations.litellm.NearcopyGuardrail",
        mode="post_call",
        default_on=True,
        index=str(index),
        license_policy="GPL-3.0=replace,Proprietary=suppress",
        **more,
    )
    extra = {
        k: v
        for k, v in params.model_dump(exclude_none=True).items()
        if k not in ("guardrail", "mode", "default_on", "stream_scope")
    }
    from nearcopy.integrations.litellm import NearcopyGuardrail

    return NearcopyGuardrail(guardrail_name="nearcopy", event_hook="post_call", default_on=True, **extra)


async def stream_through_guardrail(
    guardrail: Any, upstream: str, script: dict[str, Any], request: dict[str, Any] | None = None
) -> list[Any]:
    response = await litellm.acompletion(
        model="openai/scripted",
        api_base=upstream + "/v1",
        api_key="unused",
        stream=True,
        messages=[{"role": "user", "content": "hi"}],
        extra_body={"script": script},
    )
    hook = guardrail.async_post_call_streaming_iterator_hook(None, response, request or {})
    return [chunk async for chunk in hook]


def streamed_content(chunks: list[Any], index: int = 0) -> str:
    return "".join(
        c.choices[0].delta.content or "" for c in chunks if c.choices and c.choices[0].index == index
    )


@pytest.mark.parametrize("chunking", ["1", "random"])
def test_the_litellm_guardrail_holds_back_copies_in_streams(
    index: Path, upstream: str, output_filter: OutputFilter, chunking: str
) -> None:
    guardrail = guardrail_from_config(index)
    chunks = asyncio.run(
        stream_through_guardrail(guardrail, upstream, {"answer": COPY, "chunking": chunking})
    )
    received = streamed_content(chunks)
    assert received.startswith(h.CLEAN) and not output_filter.check(received).flagged
    assert received.endswith("(GPL-3.0)]")
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "content_filter"
    clean = asyncio.run(
        stream_through_guardrail(guardrail, upstream, {"answer": LONG_CLEAN, "chunking": chunking})
    )
    assert streamed_content(clean) == LONG_CLEAN


def test_the_litellm_guardrail_filters_whole_answers(index: Path, upstream: str) -> None:
    guardrail = guardrail_from_config(index)

    async def call() -> Any:
        response = await litellm.acompletion(
            model="openai/scripted",
            api_base=upstream + "/v1",
            api_key="unused",
            messages=[{"role": "user", "content": "hi"}],
            extra_body={"script": {"answers": [h.SECRET_ANSWER, LONG_CLEAN], "n": 2}},
        )
        return await guardrail.async_post_call_success_hook({}, None, response)

    response = asyncio.run(call())
    assert response.choices[0].message.content == "" and response.choices[0].finish_reason == "content_filter"
    assert response.choices[1].message.content == LONG_CLEAN and response.choices[1].finish_reason == "stop"


def test_the_litellm_guardrail_takes_a_language_hint(index: Path, upstream: str) -> None:
    """``language: text`` in litellm_params says answers are prose (the bare code copy then passes,
    which shows the hint arrived); a request's ``metadata.nearcopy_language`` overrides it."""
    guardrail = guardrail_from_config(index, language="text")
    script = {"answer": h.RENAMED, "chunking": "small"}
    passed = streamed_content(asyncio.run(stream_through_guardrail(guardrail, upstream, script)))
    assert passed == h.RENAMED
    request = {"metadata": {"nearcopy_language": "python"}}
    held = streamed_content(asyncio.run(stream_through_guardrail(guardrail, upstream, script, request)))
    assert held.endswith("(GPL-3.0)]") and h.RENAMED not in held
    with pytest.raises(ValueError, match="'cobol'"):
        guardrail_from_config(index, language="cobol")


def test_the_vllm_middleware_takes_the_completions_language_and_the_header(
    index: Path, tmp_path: Path
) -> None:
    env = {"NEARCOPY_INDEX": str(index), "NEARCOPY_COMPLETIONS_LANGUAGE": "text"}
    server = h.start_upstream(tmp_path, "--nearcopy-middleware", env=env)
    try:

        def complete(headers: dict[str, str]) -> httpx.Response:
            body = {"model": "m", "stream": True, "script": {"answer": h.RENAMED, "chunking": "small"}}
            return httpx.post(server.url + "/v1/completions", json=body, headers=headers, timeout=60)

        def text_of(response: httpx.Response) -> str:
            return h.received_text(h.chunks(h.sse_frames(response.content)), 0, "text")

        assert text_of(complete({})) == h.RENAMED
        assert "[redacted" in text_of(complete({"x-nearcopy-language": "python"}))
        bad = complete({"x-nearcopy-language": "cobol"})
        assert bad.status_code == 400 and "'cobol'" in bad.json()["error"]["message"]
    finally:
        server.stop()
