"""The container image definition, tested without a Docker engine (the test machine has none): what
it copies exists, its Python is one the package supports, its command is one `nearcopy serve`
accepts, and that command, run as a user without privileges on an index nobody may write to, serves
and passes the image's own health check."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import tomllib
from nearcopy.benchsuite import serve_harness as h
from nearcopy.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = (ROOT / "Dockerfile").read_text()
INSTRUCTIONS = re.findall(r"(?m)^([A-Z]+)\s+((?:.*\\\n)*.*)$", DOCKERFILE)


def instructions(name: str) -> list[str]:
    return [args.replace("\\\n", " ") for keyword, args in INSTRUCTIONS if keyword == name]


def exec_form(name: str) -> list[str]:
    (args,) = instructions(name)
    parsed: list[str] = json.loads(args)
    return parsed


def test_what_the_build_copies_exists_and_nothing_it_needs_is_ignored() -> None:
    ignored = [line for line in (ROOT / ".dockerignore").read_text().splitlines() if line and line[0] != "#"]
    for args in instructions("COPY"):
        if args.startswith("--from="):
            continue
        *sources, _ = shlex.split(args)
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
            assert source not in ignored, f"COPY {source}: excluded by .dockerignore"
    members = tomllib.loads((ROOT / "Cargo.toml").read_text())["workspace"]["members"]
    copied = {shlex.split(a)[0] for a in instructions("COPY") if not a.startswith("--from=")}
    assert all(member.split("/")[0] in copied for member in members), "every workspace member is copied"


def test_the_image_runs_a_python_the_package_supports_and_its_console_script() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    minimum = tuple(int(p) for p in project["requires-python"].removeprefix(">=").split("."))
    for base in instructions("FROM"):
        version = re.match(r"python:(\d+)\.(\d+)", base)
        assert version and tuple(map(int, version.groups())) >= minimum, base
    entrypoint = exec_form("ENTRYPOINT")
    assert entrypoint == ["nearcopy", "serve"] and "nearcopy" in project["scripts"]
    assert any("[serve]" in line for line in instructions("RUN")), "the runtime installs the serve extra"
    assert instructions("USER") == ["10001"], "the service does not run as root"


def test_the_default_command_is_one_nearcopy_serve_accepts() -> None:
    args = build_parser().parse_args([*exec_form("ENTRYPOINT")[1:], *exec_form("CMD")])
    assert (args.index, args.host, args.port, args.access_log) == ("/index", "0.0.0.0", 8000, "-")
    assert "/index" in instructions("VOLUME")[0]


@pytest.fixture
def readonly_index() -> Iterator[Path]:
    """An index as its builder left it (under the usual umask 022), in a directory others may enter
    but not write to; the service runs as another user (nobody, when the test runs as root), so the
    index is read-only to it, as a read-only mount is, and every file must be readable by others."""
    top = Path(tempfile.mkdtemp(prefix="nearcopy-docker-"))
    previous = os.umask(0o022)
    try:
        top.chmod(0o755)
        yield h.build_index(top / "index")
    finally:
        os.umask(previous)
        shutil.rmtree(top)


def test_the_command_serves_a_read_only_index_as_an_unprivileged_user(readonly_index: Path) -> None:
    cmd = exec_form("CMD")
    cmd = [readonly_index.as_posix() if a == "/index" else a for a in cmd]
    cmd = ["127.0.0.1" if a == "0.0.0.0" else "0" if a == "8000" else a for a in cmd]
    command = [sys.executable, "-m", "nearcopy", "serve", *cmd]
    before = sorted(p.name for p in readonly_index.iterdir())
    if os.geteuid() == 0:
        command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]
    env = {**os.environ, "HOME": "/nonexistent"}
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        url = re.search(r"listening on (http://\S+)", line)
        assert url, line
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url.group(1) + "/healthz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "never healthy"
                time.sleep(0.1)
        check = httpx.post(url.group(1) + "/v1/check", json={"text": h.CODE_ANSWER})
        assert check.status_code == 200 and check.json()["flagged"]
        healthcheck = _healthcheck()
        port = url.group(1).rsplit(":", 1)[1]
        probe = [sys.executable if a == "python" else a.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
                 for a in healthcheck]  # fmt: skip
        assert subprocess.run(probe, timeout=30).returncode == 0, "the image's health check passes"
        access = json.loads(proc.stderr.readline())
        assert access["event"] == "request" and access["endpoint"] == "/healthz", (
            "the access log is on stderr"
        )
    finally:
        proc.terminate()
        proc.communicate(timeout=30)  # reads the rest of stderr and closes the pipe
    assert sorted(p.name for p in readonly_index.iterdir()) == before, "serving wrote nothing"


def _healthcheck() -> list[str]:
    (args,) = instructions("HEALTHCHECK")
    parsed: list[str] = json.loads(args.split(" CMD ", 1)[1])
    return parsed
