"""The settings of `nearcopy serve`, one dataclass: built from the command line, handed to worker
processes as JSON, and read by the app. Secrets are never in it, only where to find them (a file
name, or the environment, which worker processes inherit), so no token shows in a process listing."""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from nearcopy.filter import (
    DEFAULT_MAX_DOC_FREQUENCY,
    DEFAULT_MIN_CODE_TOKENS,
    DEFAULT_MIN_TOKENS,
    DEFAULT_POPULAR_DOC_FREQUENCY,
    DEFAULT_POPULAR_FACTOR,
    Action,
    OutputFilter,
    Policy,
)
from nearcopy.index import ProtectedIndex
from nearcopy.keys import find_secret

# What a client may ask of the policy for its own request (nearcopy.serving.request_policy).
RequestPolicyMode = Literal["off", "stricter", "any"]
REQUEST_POLICY_MODES: tuple[RequestPolicyMode, ...] = ("off", "stricter", "any")
AUTH_TOKEN_ENV = "NEARCOPY_AUTH_TOKEN"
UPSTREAM_KEY_ENV = "NEARCOPY_UPSTREAM_API_KEY"


class ConfigError(ValueError):
    """A setting of the service is unusable (the message names it)."""


@dataclass(frozen=True)
class FilterSettings:
    """What the filter needs: the index and the thresholds and policy of `nearcopy check`."""

    index: str
    min_tokens: int = DEFAULT_MIN_TOKENS
    min_code_tokens: int = DEFAULT_MIN_CODE_TOKENS
    max_doc_frequency: int = DEFAULT_MAX_DOC_FREQUENCY
    popular_doc_frequency: int | None = DEFAULT_POPULAR_DOC_FREQUENCY
    popular_factor: float = DEFAULT_POPULAR_FACTOR
    policy: Action = "redact"
    license_policy: dict[str, Action] = field(default_factory=dict)
    source_policy: dict[str, Action] = field(default_factory=dict)
    template: str = Policy.template
    # Where the index's key is (a file name; or None: NEARCOPY_KEY / NEARCOPY_KEY_FILE, inherited by
    # worker processes, or no key): the secret itself never travels in the settings.
    key_file: str | None = None
    # Serve only this shard of the sharded index (a shard server behind a router: --shard).
    shard: int | None = None
    # Read every segment block and document table once before serving (`--no-warm`: on first
    # use): the first checks then cost what later ones do, and damage is found before listening.
    warm: bool = True

    def make_policy(self) -> Policy:
        return Policy(
            default=self.policy,
            by_license=self.license_policy,
            by_source=self.source_policy,
            template=self.template,
        )

    def open(self) -> OutputFilter:
        """A filter over the index as it is published now (with ``shard``, over that shard alone:
        its verdicts are not the index's; a shard server answers the router's phases instead),
        warmed (:meth:`ProtectedIndex.warm`) unless the settings say not."""
        if self.shard is None:
            index = ProtectedIndex.open(self.index, key=find_secret(self.key_file))
        else:
            from nearcopy.shard_check import open_shard

            index = open_shard(self.index, self.shard, key=find_secret(self.key_file))
        if self.warm:
            index.warm()
        return OutputFilter(
            index,
            min_tokens=self.min_tokens,
            min_code_tokens=self.min_code_tokens,
            max_doc_frequency=self.max_doc_frequency,
            popular_doc_frequency=self.popular_doc_frequency,
            popular_factor=self.popular_factor,
            policy=self.make_policy(),
        )


@dataclass(frozen=True)
class ServeConfig:
    filter: FilterSettings
    host: str = "127.0.0.1"
    port: int = 8000
    upstream: str | None = None
    workers: int = 1
    auth_token_file: str | None = None
    upstream_api_key_file: str | None = None
    max_body_bytes: int = 4 * 1024 * 1024
    max_batch: int = 256
    body_timeout: float = 30.0
    upstream_timeout: float = 300.0
    watch_interval: float = 2.0
    excerpts: bool = False
    # The language hint for /v1/completions answers (canonical: None = auto, "text", a language).
    completions_language: str | None = None
    access_log: str | None = None  # a file to append JSON lines to, or "-" for stderr
    request_policy: RequestPolicyMode = "off"
    lsh_index: str | None = None  # an LSH index for POST /v1/similar (nearcopy.serving.similar)
    # A router: the shard servers (nearcopy serve --shard I) it fans checks out to (nearcopy.serving.router).
    route_to: tuple[str, ...] = ()
    shard_timeout: float = 10.0  # seconds a router waits for a shard server's answer

    def __post_init__(self) -> None:
        positive = {
            "--workers": self.workers,
            "--max-body-bytes": self.max_body_bytes,
            "--max-batch": self.max_batch,
            "--body-timeout": self.body_timeout,
            "--upstream-timeout": self.upstream_timeout,
            "--shard-timeout": self.shard_timeout,
        }
        for option, value in positive.items():
            if value <= 0:
                raise ConfigError(f"{option} must be positive, got {value}")
        if self.watch_interval < 0:
            raise ConfigError(f"--watch-interval must be 0 (off) or positive, got {self.watch_interval}")
        if self.request_policy not in REQUEST_POLICY_MODES:
            raise ConfigError(f"--request-policy must be off, stricter or any, got {self.request_policy!r}")
        if not 0 <= self.port < 65536:
            raise ConfigError(f"--port must be in 0..65535, got {self.port}")
        if self.upstream is not None and not self.upstream.startswith(("http://", "https://")):
            raise ConfigError(f"--upstream must be an http:// or https:// URL, got {self.upstream!r}")
        for url in self.route_to:
            if not url.startswith("http://"):
                raise ConfigError(f"--route-to must be an http:// URL (shard servers are reached on a "
                                  f"private network, docs/serving.md), got {url!r}")  # fmt: skip
        if self.route_to and (self.upstream or self.lsh_index):
            raise ConfigError("a router (--route-to) serves /v1/check and /v1/filter only: drop "
                              "--upstream and --lsh-index")  # fmt: skip

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ServeConfig:
        raw = json.loads(text)
        route_to = tuple(raw.pop("route_to", ()))
        return cls(filter=FilterSettings(**raw.pop("filter")), route_to=route_to, **raw)

    def auth_token(self) -> str | None:
        """The bearer token clients must present (from the file, else the environment), or None."""
        return _secret(self.auth_token_file, AUTH_TOKEN_ENV, "--auth-token-file")

    def upstream_api_key(self) -> str | None:
        return _secret(self.upstream_api_key_file, UPSTREAM_KEY_ENV, "--upstream-api-key-file")


def _secret(path: str | None, env: str, option: str) -> str | None:
    if path is None:
        return os.environ.get(env) or None
    try:
        secret = Path(path).read_text(encoding="utf-8").strip()
    except OSError as err:
        raise ConfigError(f"{option} {path}: cannot read: {err.strerror or err}") from None
    if not secret:
        raise ConfigError(f"{option} {path}: the file is empty")
    return secret
