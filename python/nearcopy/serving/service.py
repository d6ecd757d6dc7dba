"""What every endpoint shares: the service's state, errors as OpenAI-style JSON, bounded body reads.

Bad input is a 4xx with a message that says what is wrong, never a 500: a malformed or non-object JSON
body is 400, a body over ``--max-body-bytes`` 413, one slower than ``--body-timeout`` 408.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio
from starlette.requests import Request
from starlette.responses import Response

from nearcopy.serving.config import ServeConfig
from nearcopy.serving.metrics import Metrics
from nearcopy.serving.reload import FilterHolder

if TYPE_CHECKING:
    import httpx

    from nearcopy.serving.access_log import AccessLog


class ServiceError(Exception):
    """Answered as ``{"error": {"message", "type", "code"}}`` with HTTP status ``status``."""

    def __init__(self, status: int, message: str, kind: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind


@dataclass
class Service:
    config: ServeConfig
    holder: FilterHolder
    metrics: Metrics = field(default_factory=Metrics)
    token: str | None = None
    upstream_key: str | None = None
    client: httpx.AsyncClient | None = None  # opened by the app's lifespan when there is an upstream
    log: AccessLog | None = None  # --access-log


def json_bytes(payload: Any) -> bytes:
    try:
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: keep it as a \ud800 escape
        return json.dumps(payload, separators=(",", ":")).encode("ascii")


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json_bytes(payload), status, headers=headers, media_type="application/json")


def error_response(status: int, message: str, kind: str = "invalid_request_error") -> Response:
    return json_response({"error": {"message": message, "type": kind, "code": status}}, status)


async def read_body(request: Request, config: ServeConfig) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > config.max_body_bytes:
        raise ServiceError(
            413, f"request body of {declared} bytes exceeds the limit of {config.max_body_bytes}"
        )
    chunks, size = [], 0
    try:
        with anyio.fail_after(config.body_timeout):
            async for chunk in request.stream():
                size += len(chunk)
                if size > config.max_body_bytes:
                    raise ServiceError(
                        413, f"request body exceeds the limit of {config.max_body_bytes} bytes"
                    )
                chunks.append(chunk)
    except TimeoutError:
        raise ServiceError(408, f"request body not received within {config.body_timeout:g} s") from None
    return b"".join(chunks)


async def read_json_object(request: Request, config: ServeConfig) -> tuple[bytes, dict[str, Any]]:
    """The raw body and its JSON object."""
    body = await read_body(request, config)
    try:
        payload = json.loads(body.decode("utf-8"))  # json.loads(bytes) would also guess UTF-16 and 32
    except UnicodeDecodeError:
        raise ServiceError(400, "malformed JSON: the body is not UTF-8") from None
    except json.JSONDecodeError as err:
        raise ServiceError(
            400, f"malformed JSON: {err.msg} at line {err.lineno} column {err.colno}"
        ) from None
    except RecursionError:
        raise ServiceError(400, "malformed JSON: nested too deeply") from None
    if not isinstance(payload, dict):
        raise ServiceError(400, f"the body must be a JSON object, got {type(payload).__name__}")
    return body, payload
