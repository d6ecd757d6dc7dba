"""Running the service: one process, or ``--workers N`` processes sharing one listening socket and
one memory-mapped index (the page cache holds the index once, whatever N is).

The parent binds the socket (so ``--port 0`` works and the address is known before any worker
starts), then either serves in-process or starts N workers (``python -m nearcopy.serving.server``,
the socket passed by descriptor, the settings as JSON) and supervises them: ``SIGHUP`` is forwarded
(each worker reopens the index itself, in-flight requests finishing on the old one), ``SIGTERM`` and
``SIGINT`` stop them gracefully, a worker that dies is restarted.
"""

from __future__ import annotations

import ipaddress
import signal
import socket
import subprocess
import sys
import time
from types import FrameType

from nearcopy.neardup.report import plural
from nearcopy.serving.config import ServeConfig

# Seconds a stopping worker gets to finish its in-flight requests before it is killed.
GRACEFUL_STOP_SECONDS = 30


def bind(config: ServeConfig) -> socket.socket:
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    sock = socket.create_server((config.host, config.port), family=family, backlog=2048)
    sock.set_inheritable(True)
    # Accepted connections inherit this on Linux: without it, a response written as headers then body
    # waits for the client's delayed ACK (about 40 ms) between the two.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def serve_socket(config: ServeConfig, sock: socket.socket) -> None:
    """Serves on an already bound socket until SIGTERM or SIGINT (uvicorn's graceful shutdown)."""
    import uvicorn

    from nearcopy.serving.app import create_app

    app = create_app(config)
    server_config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_keep_alive=30,
        timeout_graceful_shutdown=GRACEFUL_STOP_SECONDS,
    )
    uvicorn.Server(server_config).run(sockets=[sock])


def run(config: ServeConfig) -> int:
    sock = bind(config)
    host, port = sock.getsockname()[:2]
    if not is_loopback(config.host) and config.auth_token() is None:
        print(
            f"nearcopy serve: warning: listening on {config.host} without --auth-token-file", file=sys.stderr
        )
    shown = f"[{host}]" if ":" in host else host
    print(
        f"nearcopy serve: listening on http://{shown}:{port} ({plural(config.workers, 'worker')})",
        file=sys.stderr,
        flush=True,
    )
    if config.workers == 1:
        serve_socket(config, sock)
        return 0
    return _supervise(config, sock)


def _start_worker(config: ServeConfig, sock: socket.socket) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "nearcopy.serving.server", str(sock.fileno()), config.to_json()]
    return subprocess.Popen(command, pass_fds=[sock.fileno()])


def _supervise(config: ServeConfig, sock: socket.socket) -> int:
    workers = [_start_worker(config, sock) for _ in range(config.workers)]
    stopping: list[int] = []

    def forward(signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGHUP:
            for worker in workers:
                worker.send_signal(signal.SIGHUP)
        else:
            stopping.append(signum)

    for signum in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, forward)
    while not stopping:
        time.sleep(0.2)
        for i, worker in enumerate(workers):
            if worker.poll() is not None and not stopping:
                print(
                    f"nearcopy serve: worker {worker.pid} exited ({worker.returncode}); restarting",
                    file=sys.stderr,
                )
                workers[i] = _start_worker(config, sock)
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + GRACEFUL_STOP_SECONDS + 5
    for worker in workers:
        try:
            worker.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    return 0


def _worker_main(argv: list[str]) -> None:
    fd, settings = int(argv[0]), ServeConfig.from_json(argv[1])
    serve_socket(settings, socket.socket(fileno=fd))


if __name__ == "__main__":
    _worker_main(sys.argv[1:])
