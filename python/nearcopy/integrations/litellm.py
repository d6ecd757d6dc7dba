"""A LiteLLM proxy guardrail (post-call) that filters answers against a protected index, streamed
answers with the same per-choice hold-back as ``nearcopy serve``. In the proxy's ``config.yaml``
(a complete one: ``examples/litellm/config.yaml``)::

    guardrails:
      - guardrail_name: nearcopy
        litellm_params:
          guardrail: nearcopy.integrations.litellm.NearcopyGuardrail
          mode: post_call
          default_on: true
          index: /srv/protected.idx
          license_policy: GPL-3.0=replace,Proprietary=suppress

LiteLLM passes the extra ``litellm_params`` (``index``, ``policy``, ``license_policy``,
``source_policy``, ``min_tokens``, ``min_code_tokens``, ``max_doc_frequency``, ``language``: the
language of the answers' code, as ``OutputFilter.check(language=...)``) to the constructor; a request
may name its own in ``metadata: {nearcopy_language: ...}``. The
guardrail uses LiteLLM's own hooks (``use_native_lifecycle_hooks``), not its generic text
extraction, so that a streamed answer is filtered chunk by chunk with the hold-back: nothing copied
is yielded, and a clean answer is released as it streams rather than after it ends.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from typing import Any, ClassVar

from litellm.integrations.custom_guardrail import CustomGuardrail
from litellm.types.utils import ModelResponseStream

from nearcopy.answer import language_hint
from nearcopy.filter import DEFAULT_MAX_DOC_FREQUENCY, DEFAULT_MIN_CODE_TOKENS, DEFAULT_MIN_TOKENS
from nearcopy.integrations import filter_settings
from nearcopy.serving.completion import filter_completion
from nearcopy.serving.fields import MESSAGE_TEXT_FIELDS
from nearcopy.serving.reload import FilterHolder
from nearcopy.serving.sse import CompletionStreamFilter


class NearcopyGuardrail(CustomGuardrail):
    use_native_lifecycle_hooks: ClassVar[bool] = True

    def __init__(
        self,
        index: str | None = None,
        policy: str = "redact",
        license_policy: str | Mapping[str, str] | None = None,
        source_policy: str | Mapping[str, str] | None = None,
        min_tokens: int = DEFAULT_MIN_TOKENS,
        min_code_tokens: int = DEFAULT_MIN_CODE_TOKENS,
        max_doc_frequency: int = DEFAULT_MAX_DOC_FREQUENCY,
        language: str | None = None,
        **kwargs: Any,
    ) -> None:
        if not index:
            raise ValueError(
                "NearcopyGuardrail needs 'index' (the protected index directory) in litellm_params"
            )
        settings = filter_settings(
            index,
            policy=policy,
            license_policy=license_policy,
            source_policy=source_policy,
            min_tokens=min_tokens,
            min_code_tokens=min_code_tokens,
            max_doc_frequency=max_doc_frequency,
        )
        self.holder = FilterHolder(settings)
        self.language = language_hint(language)
        super().__init__(**kwargs)

    def _language(self, request: Mapping[str, Any] | None) -> str | None:
        """The request's ``metadata.nearcopy_language``, else the guardrail's ``language``."""
        metadata = (request or {}).get("metadata") or {}
        given = metadata.get("nearcopy_language") if isinstance(metadata, Mapping) else None
        return self.language if given is None else language_hint(given)

    async def async_post_call_success_hook(
        self, data: dict[str, Any], user_api_key_dict: Any, response: Any
    ) -> Any:
        """A whole answer (``ModelResponse`` or ``TextCompletionResponse``), filtered in place."""
        choices = getattr(response, "choices", None)
        if not choices or not hasattr(response, "model_dump"):
            return response
        dumped = response.model_dump()
        filter_completion(dumped, self.holder.current(), self._language(data))
        for choice, plain in zip(choices, dumped.get("choices", [])):
            _write_back(choice, plain)
        return response

    async def async_post_call_streaming_iterator_hook(
        self, user_api_key_dict: Any, response: Any, request_data: dict[str, Any]
    ) -> AsyncGenerator[ModelResponseStream, None]:
        """Each chunk rewritten by the per-choice stream filter; chunks with nothing to show yet are
        held, and the remainders of choices the model did not finish come last."""
        stream = CompletionStreamFilter(self.holder.current(), language=self._language(request_data))
        async for item in response:
            if not isinstance(item, ModelResponseStream) or not item.choices:
                yield item  # the usage chunk, anything else
                continue
            rewritten = stream.filter_chunk(item.model_dump())  # type: ignore[no-untyped-call]
            if rewritten is not None:
                yield ModelResponseStream(**rewritten)
        rest = stream.flush_chunk()
        if rest is not None:
            yield ModelResponseStream(**rest)


def _write_back(choice: Any, plain: dict[str, Any]) -> None:
    """Copies the filtered fields of a dumped choice onto LiteLLM's choice object."""
    choice.finish_reason = plain.get("finish_reason")
    message = plain.get("message")
    if not isinstance(message, dict):
        if isinstance(plain.get("text"), str):
            choice.text = plain["text"]
        return
    for name in MESSAGE_TEXT_FIELDS:
        if isinstance(message.get(name), str):
            setattr(choice.message, name, message[name])
    for call, plain_call in zip(choice.message.tool_calls or [], message.get("tool_calls") or []):
        call.function.arguments = plain_call["function"]["arguments"]
    if plain.get("logprobs") is None and getattr(choice, "logprobs", None) is not None:
        choice.logprobs = None
