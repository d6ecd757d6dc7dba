"""Per-request policy: what a client may ask of the filter for its own request, where the operator
allows it (``--request-policy``).

A client names a policy in the body of ``/v1/check`` and ``/v1/filter`` (``"policy"``) or, for the
proxy, whose body goes upstream unchanged, in the ``X-Nearcopy-Policy`` header; either holds an
action (``"replace"``) or an object ``{"default": ..., "by_license": {...}, "by_source": {...}}``.

- ``off`` (the default): a request naming a policy is refused (403): the operator's policy is the
  only one, and a client must not think it got another.
- ``stricter``: per match, the stricter of the operator's action and the request's; a client can
  ask for more (replace where the operator redacts) but never for less.
- ``any``: the request's fields replace the operator's (its ``default``, and its licences and
  sources over the operator's): for a trusted client, e.g. an internal evaluation harness.

The template and mask stay the operator's; the thresholds are not per request.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nearcopy.filter import ACTIONS, Action, Match, OutputFilter, Policy
from nearcopy.serving import access_log
from nearcopy.serving.config import RequestPolicyMode
from nearcopy.serving.service import Service, ServiceError

HEADER = "x-nearcopy-policy"
_FIELDS = ("default", "by_license", "by_source")
_SEVERITY = {action: rank for rank, action in enumerate(ACTIONS)}


@dataclass(frozen=True)
class StricterPolicy(Policy):
    """Per match, the stricter of the operator's policy and the request's."""

    requested: Policy = field(default_factory=Policy)

    def action_for(self, match: Match) -> Action:
        ours, theirs = super().action_for(match), self.requested.action_for(match)
        return theirs if _SEVERITY[theirs] > _SEVERITY[ours] else ours


def parse(raw: Any, where: str) -> dict[str, Any]:
    """The fields of a requested policy (an action, or an object of them), checked; 400 otherwise."""
    if isinstance(raw, str):
        raw = {"default": raw}
    if not isinstance(raw, dict):
        raise ServiceError(400, f"{where} must be an action or an object with {', '.join(_FIELDS)}")
    if unknown := sorted(set(raw) - set(_FIELDS)):
        raise ServiceError(400, f"{where}: unknown field(s) {', '.join(map(repr, unknown))}")
    if "default" in raw and raw["default"] not in ACTIONS:
        raise ServiceError(400, f"{where}: 'default' must be one of {', '.join(ACTIONS)}")
    for name in ("by_license", "by_source"):
        table = raw.get(name, {})
        if not isinstance(table, dict) or not all(
            isinstance(k, str) and v in ACTIONS for k, v in table.items()
        ):
            raise ServiceError(400, f"{where}: {name!r} must map names to one of {', '.join(ACTIONS)}")
    return dict(raw)


def from_header(headers: Mapping[str, str]) -> dict[str, Any] | None:
    """The policy of an ``X-Nearcopy-Policy`` header (an action, or JSON), or None."""
    value = headers.get(HEADER)
    if value is None:
        return None
    value = value.strip()
    if value.startswith("{"):
        try:
            return parse(json.loads(value), f"the {HEADER} header")
        except ValueError:
            raise ServiceError(400, f"the {HEADER} header is not a JSON object") from None
    return parse(value, f"the {HEADER} header")


def combined(base: Policy, requested: Mapping[str, Any], mode: RequestPolicyMode) -> Policy:
    """The policy a request gets: ``base`` and what it asked for, under ``mode`` (not ``off``)."""
    asked = Policy(
        default=requested.get("default", base.default if mode == "any" else "allow"),
        by_license=dict(requested.get("by_license", {})),
        by_source=dict(requested.get("by_source", {})),
        template=base.template,
        mask=base.mask,
    )
    if mode == "stricter":
        return StricterPolicy(base.default, base.by_license, base.by_source, base.template, base.mask, asked)
    return Policy(
        default=asked.default,
        by_license={**base.by_license, **asked.by_license},
        by_source={**base.by_source, **asked.by_source},
        template=base.template,
        mask=base.mask,
    )


def request_filter(
    current: OutputFilter, requested: Mapping[str, Any] | None, mode: RequestPolicyMode
) -> OutputFilter:
    """``current`` (the operator's filter), or one on the same index with the request's policy."""
    if requested is None:
        return current
    if mode == "off":
        raise ServiceError(
            403,
            "this service does not take a per-request policy (the operator can allow it with "
            "--request-policy stricter or any)",
            "permission_error",
        )
    return OutputFilter(
        current.index,
        min_tokens=current.min_tokens,
        min_code_tokens=current.min_code_tokens,
        max_doc_frequency=current.max_doc_frequency,
        popular_doc_frequency=current.popular_doc_frequency,
        popular_factor=current.popular_factor,
        policy=combined(current.policy, requested, mode),
    )


def chosen_filter(service: Service, requested: Mapping[str, Any] | None) -> OutputFilter:
    """The filter a request gets (the operator's, or one with the policy it names), noted in its
    access-log line with the generation it answers from."""
    mode = service.config.request_policy
    chosen = request_filter(service.holder.current(), requested, mode)
    generation = int(chosen.index.info()["generation"])
    access_log.note((), generation=generation, policy="operator" if requested is None else mode)
    return chosen
