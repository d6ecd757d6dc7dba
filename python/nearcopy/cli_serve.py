"""The `nearcopy serve` verb: the HTTP sidecar and OpenAI-compatible filtering proxy
(:mod:`nearcopy.serving`), configured with the same thresholds and policy options as `check`."""

from __future__ import annotations

import argparse
from typing import Any

from nearcopy.cli_filter import add_filter_options, policy_actions
from nearcopy.cli_options import language_option
from nearcopy.index import IndexError_


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        # The server itself imports these only when it starts serving: importing them here says
        # what is missing before anything listens (or prints that it does).
        import httpx  # noqa: F401
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401

        from nearcopy.serving.config import FilterSettings, ServeConfig
        from nearcopy.serving.server import run
    except ImportError as err:
        raise ValueError(
            "nearcopy serve needs the serve extra: pip install 'nearcopy[serve]' "
            f"({err.name or err} is missing)"
        ) from None
    if args.route_to and (args.index is not None or args.shard is not None):
        raise ValueError("--route-to makes a router over shard servers: it takes no --index or --shard")
    if not args.route_to and args.index is None:
        raise ValueError("--index is required (or --route-to URL for a router over shard servers)")
    settings = FilterSettings(
        index=args.index or "",
        min_tokens=args.min_tokens,
        min_code_tokens=args.min_code_tokens,
        max_doc_frequency=args.max_doc_frequency,
        popular_doc_frequency=args.popular_doc_frequency,
        popular_factor=args.popular_factor,
        policy=args.policy,
        license_policy=policy_actions(args.license_policy, "--license-policy"),
        source_policy=policy_actions(args.source_policy, "--source-policy"),
        template=args.template,
        key_file=args.key_file,
        shard=args.shard,
        warm=args.warm,
    )
    try:
        if not args.route_to:
            # A missing or damaged index is reported now, before anything listens (each worker then
            # opens and warms its own: the second reading is from the page cache).
            settings.open()
    except IndexError_ as err:
        raise type(err)(f"--index {err}") from None
    if args.lsh_index is not None:
        from nearcopy.lsh_store import LSHIndexError
        from nearcopy.serving.similar import SimilarIndex

        try:
            SimilarIndex(args.lsh_index, 0, warm=args.warm)  # likewise: one that cannot serve /v1/similar
        except (LSHIndexError, ValueError) as err:
            raise type(err)(f"--lsh-index {err}") from None
    config = ServeConfig(
        filter=settings,
        host=args.host,
        port=args.port,
        upstream=args.upstream,
        workers=args.workers,
        auth_token_file=args.auth_token_file,
        upstream_api_key_file=args.upstream_api_key_file,
        max_body_bytes=args.max_body_bytes,
        max_batch=args.max_batch,
        body_timeout=args.body_timeout,
        upstream_timeout=args.upstream_timeout,
        watch_interval=args.watch_interval,
        excerpts=args.excerpts,
        completions_language=args.completions_language,
        access_log=args.access_log,
        request_policy=args.request_policy,
        lsh_index=args.lsh_index,
        route_to=tuple(args.route_to),
        shard_timeout=args.shard_timeout,
    )
    config.auth_token()  # an unreadable token file is an error now, not in every worker
    return run(config)


def add_verbs(verbs: Any) -> None:
    sub = verbs.add_parser(
        "serve",
        help="HTTP sidecar and OpenAI-compatible filtering proxy",
        description="Serve the output filter over HTTP: POST /v1/check and /v1/filter, GET /healthz and "
        "/metrics; with --upstream, also an OpenAI-compatible proxy for /v1/chat/completions and "
        "/v1/completions that filters answers, streamed ones with a hold-back so copied text never "
        "leaves. SIGHUP (or a change of the index's manifest) reopens the index without downtime.",
    )
    add_filter_options(sub, index_required=False)
    shards = sub.add_argument_group(
        'shards on several machines (docs/serving.md, "A router over shard servers")'
    )
    shards.add_argument(
        "--shard", type=int, metavar="I", help="serve only shard I of the sharded --index, to a router "
        "(the shard-server endpoints /v1/shard/*, no /v1/check)",
    )  # fmt: skip
    shards.add_argument(
        "--route-to", action="append", default=[], metavar="URL", help="be a router: answer /v1/check "
        "and /v1/filter as one index over every shard, by asking the shard server at URL (one "
        "--route-to per shard; no --index)",
    )  # fmt: skip
    shards.add_argument(
        "--shard-timeout", type=float, default=10.0,
        help="seconds a router waits for a shard server (default 10); then 503 naming the shard",
    )  # fmt: skip
    net = sub.add_argument_group("service")
    net.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    net.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    net.add_argument(
        "--upstream", metavar="URL", help="OpenAI-compatible server to proxy, e.g. http://127.0.0.1:8001/v1"
    )
    net.add_argument("--workers", type=int, default=1, help="worker processes sharing the index (default 1)")
    net.add_argument(
        "--auth-token-file",
        metavar="FILE",
        help="require 'Authorization: Bearer <token>' with the token in FILE (or NEARCOPY_AUTH_TOKEN)",
    )
    net.add_argument(
        "--upstream-api-key-file",
        metavar="FILE",
        help="API key sent to the upstream (or NEARCOPY_UPSTREAM_API_KEY)",
    )
    limits = sub.add_argument_group("limits")
    limits.add_argument(
        "--max-body-bytes", type=int, default=4 * 1024 * 1024, help="request body limit (default 4 MiB)"
    )
    limits.add_argument(
        "--max-batch", type=int, default=256, help="texts per /v1/check or /v1/filter request (default 256)"
    )
    limits.add_argument(
        "--body-timeout", type=float, default=30.0, help="seconds to receive a request body (default 30)"
    )
    limits.add_argument(
        "--upstream-timeout",
        type=float,
        default=300.0,
        help="seconds to wait for the upstream's answer or its next bytes (default 300)",
    )
    sub.add_argument(
        "--no-warm",
        dest="warm",
        action="store_false",
        help="do not read the whole index (and --lsh-index) before serving (by default every block and "
        "document table is read and checked once at start and at each reload, so that the first checks "
        "are not slower)",
    )
    sub.add_argument(
        "--watch-interval",
        type=float,
        default=2.0,
        help="seconds between checks of the index manifest for a new version (default 2; 0: SIGHUP only)",
    )
    net.add_argument(
        "--completions-language",
        type=language_option,
        default=None,
        metavar="LANG",
        help="the language of /v1/completions answers (a code model's completions are code): a "
        "language skips detection and takes an answer without fences as code; auto (default) "
        "detects; a request's X-Nearcopy-Language header overrides it",
    )
    net.add_argument(
        "--lsh-index",
        metavar="DIR",
        help="also serve POST /v1/similar: the near-duplicates of a text in this LSH index "
        "(built by nearcopy lsh build)",
    )
    sub.add_argument(
        "--excerpts",
        action="store_true",
        help="include the matched output text in /v1/check verdicts (off: sources and spans only)",
    )
    sub.add_argument(
        "--access-log", metavar="FILE", help="one JSON line per request and per reload (request id, "
        "endpoint, status, latency, verdicts and their sources; never a body or protected text), appended "
        "to FILE, or - for stderr (default: none)",
    )  # fmt: skip
    sub.add_argument(
        "--request-policy", choices=("off", "stricter", "any"), default="off",
        help="may a request name its own policy ('policy' in /v1/check and /v1/filter, the "
        "X-Nearcopy-Policy header on the proxy)? off: refused (default); stricter: only to be stricter "
        "than yours; any: for trusted clients",
    )  # fmt: skip
    sub.set_defaults(run=cmd_serve)
