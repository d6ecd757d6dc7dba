"""The filtering proxy, end to end with real processes: a scripted OpenAI-compatible upstream, the
`nearcopy serve --upstream` service in front of it, and an HTTP client reading what a user would get.

The promise: however the upstream chunks its stream, no frame the client receives, nor all of them
together, carries a passage the filter flags; a clean answer arrives with exactly its content; every
stream ends with well-formed finish chunks and ``[DONE]``.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from nearcopy.benchsuite import serve_harness as h
from nearcopy.benchsuite.openai_upstream import pieces
from nearcopy.filter import OutputFilter
from nearcopy.index import ProtectedIndex

LONG_CLEAN = h.CLEAN * 4  # longer than the hold-back, so text is released before the end
# Each copy comes after clean text that is released before the copy is seen.
COPIES = {
    "code (replace)": LONG_CLEAN + h.CODE_ANSWER,
    "prose (redact)": LONG_CLEAN + h.PROSE_ANSWER + " " + LONG_CLEAN,
    "secret (suppress)": LONG_CLEAN + h.SECRET_ANSWER,
}
CHUNKINGS = ["1", "3", "random", "whole"]
HELPER = "def helper(values):\n    return [v * 2 for v in values]\n"
# Code as models send it: bare (a completion, a code assistant), after one line of prose, in an
# unclosed fence (a truncated answer), and as the middle one of several blocks.
BARE_COPIES = {
    "bare": h.RENAMED,
    "after one line": "Here you go:\n" + h.RENAMED,
    "unclosed fence": "Sure:\n\n" + h.FENCE + "python\n" + h.RENAMED,
    "several blocks": (
        f"A helper first:\n\n{h.FENCE}python\n{HELPER}{h.FENCE}\n\nThen the merge:\n\n{h.FENCE}\n"
        f"{h.RENAMED}{h.FENCE}\n\nAnd a check:\n\n{h.FENCE}python\nassert helper([1]) == [2]\n{h.FENCE}\n"
    ),
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, h.Process, OutputFilter]]:
    tmp = tmp_path_factory.mktemp("proxy")
    index = h.build_index(tmp / "index")
    upstream = h.start_upstream(tmp)
    service = h.start_service(tmp, index, "--upstream", upstream.url, *h.POLICY_ARGS)
    try:
        yield service.url, upstream, OutputFilter(ProtectedIndex.open(index))
    finally:
        status = service.stop()
        upstream.stop()
    assert status in (0, -signal.SIGTERM), service.output()  # uvicorn re-raises the signal it handled


def stream_chat(url: str, script: dict[str, Any], path: str = "/v1/chat/completions") -> list[str]:
    body = {"model": "scripted", "stream": True, "script": script}
    with httpx.stream("POST", url + path, json=body, timeout=60) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        return h.sse_frames(response.read())


def assert_well_formed_end(frames: list[str], choices: int = 1) -> list[dict[str, Any]]:
    assert frames[-1] == "data: [DONE]"
    chunk_list = h.chunks(frames)
    assert set(h.finish_reasons(chunk_list)) == set(range(choices)), "every choice finishes exactly once"
    for chunk in chunk_list:
        assert chunk["id"] == "cmpl-test" and chunk["model"] == "scripted"
    return chunk_list


def assert_nothing_copied(frames: list[str], output_filter: OutputFilter, field: str = "content") -> None:
    for frame in frames:
        assert not output_filter.check(frame).flagged, f"a frame carries a copy: {frame[:300]}"
    received = h.received_text(h.chunks(frames), 0, field)
    assert not output_filter.check(received).flagged, received


@pytest.mark.parametrize("chunking", CHUNKINGS)
@pytest.mark.parametrize("case", sorted(COPIES))
def test_a_streamed_copy_never_reaches_the_client(world: Any, case: str, chunking: str) -> None:
    url, _, output_filter = world
    assert output_filter.check(COPIES[case]).flagged, "the scripted answer is a copy"
    frames = stream_chat(url, {"answer": COPIES[case], "chunking": chunking, "seed": 7})
    chunk_list = assert_well_formed_end(frames)
    assert_nothing_copied(frames, output_filter)
    received = h.received_text(chunk_list)
    if chunking != "whole":  # (in one delta, the copy is seen before anything is released)
        assert received.startswith(h.CLEAN), "clean text before the copy is released as it comes"
    if case.startswith("code"):
        assert h.finish_reasons(chunk_list) == {0: "content_filter"}
        assert received.endswith(
            "[output withheld: it reproduces https://example.org/intervals.py (GPL-3.0)]"
        )
    elif case.startswith("secret"):
        assert h.finish_reasons(chunk_list) == {0: "content_filter"}
        assert "[output withheld" not in received and "depot" not in received
    else:
        assert h.finish_reasons(chunk_list) == {0: "stop"}
        assert "[redacted: https://example.org/austen]" in received and received.endswith(h.CLEAN)


@pytest.mark.parametrize("chunking", ["1", "small", "random"])
@pytest.mark.parametrize("case", sorted(BARE_COPIES))
def test_code_as_models_send_it_never_reaches_the_client(world: Any, case: str, chunking: str) -> None:
    url, _, output_filter = world
    answer = BARE_COPIES[case]
    assert output_filter.check(answer).flagged, "the scripted answer is a copy"
    frames = stream_chat(url, {"answer": answer, "chunking": chunking, "seed": 11})
    chunk_list = assert_well_formed_end(frames)
    assert_nothing_copied(frames, output_filter)
    assert h.finish_reasons(chunk_list) == {0: "content_filter"}
    assert h.received_text(chunk_list).endswith(
        "[output withheld: it reproduces https://example.org/intervals.py (GPL-3.0)]"
    )


@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_a_clean_answer_streams_through_with_identical_content(world: Any, chunking: str) -> None:
    url, _, _ = world
    answer = LONG_CLEAN + "Ünïcode, emoji 🚀 and a CJK 文字 line.\n"
    frames = stream_chat(url, {"answer": answer, "chunking": chunking, "usage": True})
    chunk_list = assert_well_formed_end(frames)
    assert h.received_text(chunk_list) == answer
    assert h.finish_reasons(chunk_list) == {0: "stop"}
    assert chunk_list[0]["choices"][0]["delta"]["role"] == "assistant"
    if chunking != "whole":
        released_early = [c for c in chunk_list if c["choices"] and c["choices"][0]["delta"].get("content")]
        assert len(released_early) > 2, "a long clean answer is released as it streams, not at the end"


def test_the_usage_chunk_and_keepalives_pass_through(world: Any) -> None:
    url, _, _ = world
    frames = stream_chat(url, {"answer": LONG_CLEAN, "chunking": "random", "keepalive": True, "usage": True})
    assert frames.count(": keep-alive") == len(pieces(LONG_CLEAN, "random", 0))
    usage = [c for c in h.chunks(frames) if "usage" in c]
    assert usage == [
        {
            "id": "cmpl-test",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "scripted",
            "choices": [],
            "usage": {"prompt_tokens": 3, "completion_tokens": 9, "total_tokens": 12},
        }
    ]
    assert frames[-2] == "data: " + json.dumps(usage[0]), "the usage chunk is passed on byte for byte"


def test_choices_are_filtered_independently(world: Any) -> None:
    url, _, output_filter = world
    answers = [LONG_CLEAN, COPIES["code (replace)"], COPIES["prose (redact)"]]
    frames = stream_chat(url, {"answers": answers, "n": 3, "chunking": "3"})
    chunk_list = assert_well_formed_end(frames, choices=3)
    assert h.received_text(chunk_list, 0) == LONG_CLEAN
    assert h.finish_reasons(chunk_list) == {0: "stop", 1: "content_filter", 2: "stop"}
    for index in (1, 2):
        assert not output_filter.check(h.received_text(chunk_list, index)).flagged


def test_tool_call_arguments_and_reasoning_are_filtered_like_content(world: Any) -> None:
    url, _, output_filter = world
    arguments = json.dumps({"path": "notes.txt", "text": h.PROSE_ANSWER + " " + LONG_CLEAN})
    script = {"reasoning": LONG_CLEAN + h.PROSE, "tool_arguments": arguments, "answer": "", "chunking": "3"}
    frames = stream_chat(url, script)
    chunk_list = assert_well_formed_end(frames)
    assert_nothing_copied(frames, output_filter, "reasoning_content")
    assert_nothing_copied(frames, output_filter, "tool_calls")
    reasoning = h.received_text(chunk_list, 0, "reasoning_content")
    assert reasoning.startswith(h.CLEAN) and "[redacted: https://example.org/austen]" in reasoning
    calls = [c for chunk in chunk_list for c in chunk["choices"][0]["delta"].get("tool_calls", [])]
    assert calls[0]["id"] == "call_1" and calls[0]["function"]["name"] == "save"
    assert h.received_text(chunk_list, 0, "tool_calls").endswith('reuse the sorted list.\\n"}')
    assert h.finish_reasons(chunk_list) == {0: "tool_calls"}


def test_the_completions_endpoint_streams_and_filters_text(world: Any) -> None:
    url, _, output_filter = world
    frames = stream_chat(url, {"answer": COPIES["prose (redact)"], "chunking": "random"}, "/v1/completions")
    chunk_list = assert_well_formed_end(frames)
    assert all(c["object"] == "text_completion" for c in chunk_list)
    assert_nothing_copied(frames, output_filter, "text")
    clean = stream_chat(url, {"answer": LONG_CLEAN, "chunking": "1"}, "/v1/completions")
    assert h.received_text(h.chunks(clean), 0, "text") == LONG_CLEAN


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/completions"])
def test_a_whole_response_is_checked_whole(world: Any, path: str) -> None:
    url, _, _ = world
    script = {"answers": [COPIES["code (replace)"], LONG_CLEAN], "n": 2, "reasoning": h.SECRET_ANSWER}
    response = httpx.post(url + path, json={"model": "scripted", "script": script}, timeout=60)
    assert response.status_code == 200
    first, second = response.json()["choices"]
    if path.endswith("chat/completions"):
        assert first["message"]["content"].startswith("[output withheld: it reproduces")
        assert first["message"]["reasoning_content"] == "" and first["logprobs"] is None
        assert second["message"] == {"role": "assistant", "content": LONG_CLEAN, "reasoning_content": ""}
    else:
        assert first["text"].startswith("[output withheld") and second["text"] == LONG_CLEAN
    assert first["finish_reason"] == "content_filter"
    assert response.json()["usage"]["total_tokens"] == 12


def test_upstream_errors_are_reported_not_leaked(world: Any) -> None:
    url, _, output_filter = world
    failed = httpx.post(
        url + "/v1/chat/completions", json={"model": "m", "script": {"status": 500}}, timeout=30
    )
    assert failed.status_code == 502 and "upstream answered 500" in failed.json()["error"]["message"]
    refused = httpx.post(
        url + "/v1/chat/completions", json={"model": "m", "script": {"status": 404}}, timeout=30
    )
    assert refused.status_code == 404, "a client error of the upstream is the client's to see"
    # The upstream drops the connection in the middle of a copy: what was held back was checked.
    script = {"answer": COPIES["prose (redact)"], "chunking": "3", "break_after": 150}
    frames = stream_chat(url, script)
    assert_nothing_copied(frames, output_filter)
    error = json.loads(h.frame_data(frames[-1]) or "{}")
    assert error["error"]["type"] == "upstream_error" and "broke off" in error["error"]["message"]


def test_a_client_that_disconnects_closes_the_upstream_stream(world: Any) -> None:
    url, upstream, _ = world
    before = httpx.get(upstream.url + "/stats").json()
    body = {"model": "m", "stream": True, "script": {"answer": LONG_CLEAN, "chunking": "1", "stall": 60}}
    with httpx.stream("POST", url + "/v1/chat/completions", json=body, timeout=30) as response:
        next(response.iter_raw())  # the role chunk, then the upstream goes silent
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        stats = httpx.get(upstream.url + "/stats").json()
        if stats["ended"] > before["ended"] and stats["open"] == 0:
            break
        time.sleep(0.05)
    assert stats["open"] == 0 and stats["ended"] == before["ended"] + 1, stats
    assert httpx.get(url + "/healthz").status_code == 200


def test_models_are_passed_through_and_bad_requests_never_reach_the_upstream(world: Any) -> None:
    url, upstream, _ = world
    assert httpx.get(url + "/v1/models").json()["data"][0]["id"] == "scripted"
    before = httpx.get(upstream.url + "/stats").json()["requests"]
    bad = httpx.post(
        url + "/v1/chat/completions", content=b'{"model": ', headers={"content-type": "application/json"}
    )
    assert bad.status_code == 400 and bad.json()["error"]["message"].startswith("malformed JSON")
    assert httpx.get(upstream.url + "/stats").json()["requests"] == before


def test_an_unreachable_upstream_is_502(tmp_path: Path) -> None:
    index = h.build_index(tmp_path / "index")
    service = h.start_service(tmp_path, index, "--upstream", "http://127.0.0.1:9")
    try:
        response = httpx.post(
            service.url + "/v1/completions", json={"model": "m", "prompt": "hi"}, timeout=30
        )
        assert response.status_code == 502 and "cannot be reached" in response.json()["error"]["message"]
    finally:
        service.stop()
