"""Where generated text sits in OpenAI-compatible completions, streamed or whole.

Every place a model writes free text is filtered alike: the answer (``content`` of a chat message or
delta, ``text`` of a completion choice), the reasoning fields that servers add (``reasoning_content``
from vLLM and DeepSeek, ``reasoning`` from others), and the ``arguments`` of tool calls, which are as
free as any answer. Each field of each choice is filtered on its own, under a key naming it, so a copy
split between the reasoning and the answer is two short passages, as a reader would see them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

REASONING_FIELDS = ("reasoning_content", "reasoning")
MESSAGE_TEXT_FIELDS = ("content", *REASONING_FIELDS)


def text_slots(container: dict[str, Any], *, completion: bool) -> Iterator[tuple[str, dict[str, Any], str]]:
    """``(key, holder, name)`` of every string of generated text in a message, a delta or a
    completion choice: ``holder[name]`` is the text, ``key`` names the field stably across chunks."""
    if completion:
        if isinstance(container.get("text"), str):
            yield "text", container, "text"
        return
    for name in MESSAGE_TEXT_FIELDS:
        if isinstance(container.get(name), str):
            yield name, container, name
    calls = container.get("tool_calls")
    if isinstance(calls, list):
        for position, call in enumerate(calls):
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict) and isinstance(function.get("arguments"), str):
                # Streamed tool calls name their index; a whole message lists them in order.
                yield f"tool_calls.{call.get('index', position)}", function, "arguments"


def append_text(container: dict[str, Any], key: str, text: str, *, completion: bool) -> None:
    """Appends ``text`` to the field ``key`` names, creating it (or its tool call) when absent."""
    if completion or not key.startswith("tool_calls."):
        name = "text" if completion else key
        container[name] = (container.get(name) or "") + text
        return
    index = int(key.split(".", 1)[1])
    calls = container.setdefault("tool_calls", [])
    for call in calls:
        if isinstance(call, dict) and call.get("index") == index:
            function = call.setdefault("function", {})
            function["arguments"] = (function.get("arguments") or "") + text
            return
    calls.append({"index": index, "function": {"arguments": text}})
