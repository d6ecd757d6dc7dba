"""The router's HTTP/1.1 client for shard servers: kept-alive connections over asyncio streams.

A check through the router is two round trips to every shard server, so the client's own cost is
paid four to thirty-two times per check: httpx's async client took 2.5 to 5 ms a request on
loopback here against under 1 ms for this one (bench_router). The protocol is the shard servers'
own (``nearcopy serve --shard``, whose replies carry a Content-Length), nothing more: JSON bodies,
no redirects, no chunked uploads, no TLS (an ``https://`` shard server is refused when the router
starts; put the router and its shard servers on a private network, or front them with a proxy that
terminates TLS).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from urllib.parse import urlsplit


class ShardUnreachable(Exception):
    """The shard server could not be reached, or closed the connection without a reply."""


class Connections:
    """Idle kept-alive connections to one shard server (``http://host:port``)."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"--route-to {url!r}: the router reaches shard servers over plain http://")
        self.host, self.port = parts.hostname, parts.port or 80
        self.prefix = parts.path.rstrip("/")
        self.authority = parts.netloc
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        sock = writer.get_extra_info("socket")
        if sock is not None:  # the request is one write, but the reply must not wait on a delayed ACK
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return reader, writer

    async def request(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        """The status and body of one request. A kept-alive connection the server has closed
        meanwhile is replaced once (the shard phases are idempotent: asking again is safe)."""
        head = [f"{method} {self.prefix}{path} HTTP/1.1", f"host: {self.authority}"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        if body is not None:
            head.append(f"content-length: {len(body)}")
        message = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + (body or b"")
        for attempt in range(2):
            fresh = not self.idle
            try:
                reader, writer = self.idle.pop() if self.idle else await self._connect()
            except OSError as err:
                raise ShardUnreachable(err.strerror or str(err)) from None
            try:
                writer.write(message)
                await writer.drain()
                status, reply, keep = await _response(reader)
            except (OSError, asyncio.IncompleteReadError, ValueError) as err:
                writer.close()
                if fresh or attempt:
                    raise ShardUnreachable(f"connection lost ({type(err).__name__})") from None
                continue
            except BaseException:  # a timeout or cancellation mid-reply: the connection is unusable
                writer.close()
                raise
            if keep:
                self.idle.append((reader, writer))
            else:
                writer.close()
            return status, reply
        raise ShardUnreachable("connection lost")

    def close(self) -> None:
        for _, writer in self.idle:
            with contextlib.suppress(Exception):
                writer.close()
        self.idle.clear()


async def _response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """Status, body, and whether the connection may be used again."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    version, status = lines[0].split(" ", 2)[:2]
    fields = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            fields[name.strip().lower()] = value.strip()
    if "content-length" in fields:
        body = await reader.readexactly(int(fields["content-length"]))
        keep = fields.get("connection", "").lower() != "close" and version == "HTTP/1.1"
    elif fields.get("transfer-encoding", "").lower() == "chunked":
        body, keep = await _chunked(reader), fields.get("connection", "").lower() != "close"
    else:
        body, keep = await reader.read(), False
    return int(status), body, keep


async def _chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)
