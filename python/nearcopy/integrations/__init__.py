"""In-process adapters of the output filter for serving stacks: :mod:`nearcopy.integrations.vllm`
(an ASGI middleware for ``vllm serve --middleware``) and :mod:`nearcopy.integrations.litellm` (a
LiteLLM proxy guardrail). Both run the same per-choice streaming filter as ``nearcopy serve``."""

from __future__ import annotations

from collections.abc import Mapping

from nearcopy.filter import (
    ACTIONS,
    DEFAULT_MAX_DOC_FREQUENCY,
    DEFAULT_MIN_CODE_TOKENS,
    DEFAULT_MIN_TOKENS,
    Action,
)
from nearcopy.serving.config import FilterSettings


def _actions(value: str | Mapping[str, str] | None, name: str) -> dict[str, Action]:
    """``{"GPL-3.0": "replace"}`` or ``"GPL-3.0=replace,Proprietary=suppress"``, checked."""
    if not value:
        return {}
    items = (
        value.items() if isinstance(value, Mapping) else (i.rpartition("=")[::2] for i in value.split(","))
    )
    out: dict[str, Action] = {}
    for key, action in items:
        key, action = key.strip(), action.strip()
        if not key or action not in ACTIONS:
            raise ValueError(f"{name} wants NAME=ACTION with ACTION one of {ACTIONS}, got {key}={action}")
        out[key] = action  # checked against ACTIONS just above
    return out


def filter_settings(
    index: str,
    *,
    policy: str = "redact",
    license_policy: str | Mapping[str, str] | None = None,
    source_policy: str | Mapping[str, str] | None = None,
    min_tokens: int | str = DEFAULT_MIN_TOKENS,
    min_code_tokens: int | str = DEFAULT_MIN_CODE_TOKENS,
    max_doc_frequency: int | str = DEFAULT_MAX_DOC_FREQUENCY,
    key_file: str | None = None,
) -> FilterSettings:
    """Filter settings from the loosely typed values a config file or the environment gives. A keyed
    index's secret comes from ``key_file``, else ``NEARCOPY_KEY`` or ``NEARCOPY_KEY_FILE``."""
    if policy not in ACTIONS:
        raise ValueError(f"policy must be one of {ACTIONS}, got {policy!r}")
    return FilterSettings(
        index=str(index),
        min_tokens=int(min_tokens),
        min_code_tokens=int(min_code_tokens),
        max_doc_frequency=int(max_doc_frequency),
        policy=policy,  # checked against ACTIONS above
        license_policy=_actions(license_policy, "license_policy"),
        source_policy=_actions(source_policy, "source_policy"),
        key_file=key_file,
    )
