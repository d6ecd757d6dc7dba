"""Filtering a whole (non-streamed) OpenAI-compatible completion: every text field of every choice
checked in one parallel batch, rewritten under the policy in place.

A choice any of whose fields is replaced or suppressed ends with ``finish_reason: "content_filter"``;
a flagged choice loses its ``logprobs`` (they spell out the generated tokens).
"""

from __future__ import annotations

from typing import Any

from nearcopy.filter import OutputFilter, Verdict
from nearcopy.serving.fields import text_slots
from nearcopy.serving.sse import CONTENT_FILTER, STOPPING


def filter_completion(
    body: dict[str, Any], output_filter: OutputFilter, language: str | None = None
) -> list[Verdict]:
    """Rewrites ``body`` (a ``chat.completion`` or ``text_completion``) in place; returns the verdict
    of every text field checked. ``language`` is the caller's hint for the answers' text (not for
    reasoning or tool-call arguments)."""
    choices = body.get("choices")
    if not isinstance(choices, list):
        return []
    slots = []  # (choice, holder, name)
    for choice in choices:
        if not isinstance(choice, dict):
            continue
        completion = "message" not in choice
        container = choice if completion else choice["message"]
        if isinstance(container, dict):
            slots += [
                (choice, holder, name) for _, holder, name in text_slots(container, completion=completion)
            ]
    texts = [holder[name] for _, holder, name in slots]
    if not texts:
        return []
    hints = [language if name in ("content", "text") else None for _, _, name in slots]
    verdicts = output_filter.check_batch(texts, language=hints)
    for (choice, holder, name), text, verdict in zip(slots, texts, verdicts):
        if not verdict.flagged:
            continue
        holder[name] = output_filter.render(text, verdict)
        if choice.get("logprobs") is not None:
            choice["logprobs"] = None
        if verdict.action in STOPPING:
            choice["finish_reason"] = CONTENT_FILTER
    return verdicts
