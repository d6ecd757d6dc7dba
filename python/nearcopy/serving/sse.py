"""The streaming filter of an OpenAI-compatible completion stream (Server-Sent Events), written once
and shared by the proxy (`nearcopy serve --upstream`) and the in-process vLLM middleware.

Bytes in, bytes out: ``feed(data)`` takes whatever bytes the upstream sent (frames may be cut
anywhere) and returns the bytes that may be sent on. Each choice (``index``) and each text field of
it (answer, reasoning, every tool call's arguments) runs through its own :class:`FilterStream`, whose
hold-back guarantees that no passage at or above the filter's threshold is released. What the policy
does on a flag is the stream's: ``redact`` and ``annotate`` keep the choice going, ``replace`` and
``suppress`` end it at once with ``finish_reason: "content_filter"`` (the notice, for ``replace``, as
its last text); later chunks of an ended choice are dropped.

Passed through untouched: comments (keep-alives), frames without data, ``[DONE]``, data that is not a
completion chunk (an upstream error object), and chunks without choices (the usage chunk). Token
``logprobs`` are dropped from streamed choices, because they carry the generated tokens' text and
would let it out ahead of the hold-back.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from nearcopy.filter import OutputFilter, Verdict
from nearcopy.serving.fields import append_text, text_slots
from nearcopy.stream import FilterStream

STOPPING = ("replace", "suppress")
CONTENT_FILTER = "content_filter"
# Fields of a chunk copied into the chunks this filter makes up (the remainders of unfinished choices).
_CHUNK_IDENTITY = ("id", "object", "created", "model", "system_fingerprint")


class FrameSplitter:
    """Cuts a byte stream into SSE frames (each ends with a blank line), however it is chunked."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._pending_cr = False

    def feed(self, data: bytes) -> list[bytes]:
        if self._pending_cr:
            data, self._pending_cr = b"\r" + data, False
        if data.endswith(b"\r"):  # the "\n" of a "\r\n" may come with the next read
            data, self._pending_cr = data[:-1], True
        self._buffer += data.replace(b"\r\n", b"\n")
        frames = []
        while (end := self._buffer.find(b"\n\n")) >= 0:
            frames.append(bytes(self._buffer[:end]))
            del self._buffer[: end + 2]
        return frames

    def rest(self) -> bytes:
        """What is left after the last complete frame (an unterminated last frame), emptied."""
        rest, self._buffer = bytes(self._buffer).strip(b"\r\n"), bytearray()
        return rest


def encode_frame(other_lines: Iterable[str], payload: Any) -> bytes:
    """One SSE frame: the frame's non-data lines kept as they were, then the payload as JSON."""
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    text = "\n".join([*other_lines, f"data: {data}"]) + "\n\n"
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from a \ud800 escape upstream: keep it escaped
        data = json.dumps(payload, separators=(",", ":"))
        return ("\n".join([*other_lines, f"data: {data}"]) + "\n\n").encode("utf-8")


def _says_something(delta: dict[str, Any]) -> bool:
    """Whether a rewritten delta still carries anything (a role, text, a tool call's name...)."""
    calls = delta.get("tool_calls")
    if isinstance(calls, list):
        # Entries that held back all of their arguments and carry nothing else are left out.
        delta["tool_calls"] = calls = [c for c in calls if not _empty_call(c)]
        if not calls:
            del delta["tool_calls"]
    return any(value not in (None, "") for value in delta.values())


def _empty_call(call: Any) -> bool:
    if not isinstance(call, dict):
        return False
    function = call.get("function")
    rest = [v for k, v in call.items() if k not in ("index", "function")]
    parts = list(function.values()) if isinstance(function, dict) else [function]
    return all(v in (None, "") for v in [*rest, *parts])


class _Choice:
    """The filter streams of one choice, one per text field, created as fields appear."""

    def __init__(
        self, output_filter: OutputFilter, index: Any, completion: bool, language: str | None
    ) -> None:
        self.filter = output_filter
        self.index = index
        self.completion = completion
        self.language = language  # the caller's hint, for the answer's text (not reasoning or tool calls)
        self.streams: dict[str, FilterStream] = {}
        self.ended = False

    def _stopped(self) -> bool:
        return any(s.verdict.action in STOPPING for s in self.streams.values())

    def rewrite(self, choice: dict[str, Any]) -> dict[str, Any] | None:
        """The choice as it may be sent (None: nothing to send yet); ends it on a stop or a finish."""
        container = choice if self.completion else choice.get("delta")
        if not isinstance(container, dict):
            container = choice["delta"] = {}
        for key, holder, name in list(text_slots(container, completion=self.completion)):
            if key not in self.streams:
                hint = self.language if name in ("content", "text") else None
                self.streams[key] = self.filter.stream(language=hint)
            holder[name] = self.streams[key].feed(holder[name])
        if choice.get("logprobs") is not None:
            choice["logprobs"] = None
        if self._stopped() or choice.get("finish_reason") is not None:
            self._close_into(container)
            if self._stopped():
                choice["finish_reason"] = CONTENT_FILTER
            self.ended = True
            return choice
        if self.completion:
            return choice if choice.get("text") else None
        return choice if _says_something(container) else None

    def close(self) -> dict[str, Any] | None:
        """Ends a choice the upstream did not finish; the remainder as a choice, if there is any."""
        self.ended = True
        choice: dict[str, Any] = {"index": self.index}
        container = choice if self.completion else choice.setdefault("delta", {})
        self._close_into(container)
        if self._stopped():
            choice["finish_reason"] = CONTENT_FILTER
            return choice
        has_text = container.get("text") if self.completion else _says_something(container)
        return choice if has_text else None

    def _close_into(self, container: dict[str, Any]) -> None:
        for key, stream in self.streams.items():
            rest = stream.close()
            if rest:
                append_text(container, key, rest, completion=self.completion)


class CompletionStreamFilter:
    """Filters one streamed completion; see the module's docstring."""

    def __init__(self, output_filter: OutputFilter, *, language: str | None = None) -> None:
        self.filter = output_filter
        self.language = language
        self._splitter = FrameSplitter()
        self._choices: dict[Any, _Choice] = {}
        self._identity: dict[str, Any] = {}
        self.done = False  # [DONE] seen

    def feed(self, data: bytes) -> bytes:
        return b"".join(self._frame(frame) for frame in self._splitter.feed(data))

    def finish(self) -> bytes:
        """The upstream's stream ended: its last frame, then the remainder of every open choice."""
        rest = self._splitter.rest()
        out = self._frame(rest) if rest else b""
        return out + (b"" if self.done else self._flush())

    def fail(self, message: str) -> bytes:
        """The upstream failed mid-stream: the (checked) remainders, then an error event."""
        error = {"error": {"message": message, "type": "upstream_error", "code": 502}}
        return self._flush() + encode_frame([], error)

    def verdicts(self) -> list[Verdict]:
        return [s.verdict for c in self._choices.values() for s in c.streams.values()]

    def _frame(self, frame: bytes) -> bytes:
        if self.done:
            return b""
        lines = frame.decode("utf-8", "replace").split("\n")
        data_lines = [line[5:].removeprefix(" ") for line in lines if line.startswith("data:")]
        if not data_lines:  # comments (keep-alives) and frames without data
            return frame + b"\n\n"
        data = "\n".join(data_lines)
        if data.strip() == "[DONE]":
            flushed = self._flush()
            self.done = True
            return flushed + frame + b"\n\n"
        try:
            chunk = json.loads(data)
        except ValueError:
            return frame + b"\n\n"
        if not isinstance(chunk, dict) or not isinstance(chunk.get("choices"), list) or not chunk["choices"]:
            return frame + b"\n\n"  # an error object, the usage chunk
        rewritten = self.filter_chunk(chunk)
        if rewritten is None:
            return b""
        return encode_frame([line for line in lines if not line.startswith("data:")], rewritten)

    def filter_chunk(self, chunk: dict[str, Any]) -> dict[str, Any] | None:
        """One parsed completion chunk as it may be sent, rewritten in place (None: nothing to send
        yet). For callers that get chunks already parsed (the LiteLLM guardrail)."""
        choices = chunk.get("choices")
        if not isinstance(choices, list) or not choices:
            return chunk
        self._identity = {k: chunk[k] for k in _CHUNK_IDENTITY if k in chunk}
        kept = []
        for choice in choices:
            if not isinstance(choice, dict):
                continue
            index = choice.get("index", 0)
            state = self._choices.get(index)
            if state is None:
                state = self._choices[index] = _Choice(
                    self.filter, index, "delta" not in choice, self.language
                )
            if not state.ended and (rewritten := state.rewrite(choice)) is not None:
                kept.append(rewritten)
        if not kept and chunk.get("usage") is None:
            return None
        chunk["choices"] = kept
        return chunk

    def flush_chunk(self) -> dict[str, Any] | None:
        """Ends every choice still open; their remainders as one chunk, if there are any."""
        choices = [c for state in self._choices.values() if not state.ended if (c := state.close())]
        return {**self._identity, "choices": choices} if choices else None

    def _flush(self) -> bytes:
        chunk = self.flush_chunk()
        return encode_frame([], chunk) if chunk else b""
