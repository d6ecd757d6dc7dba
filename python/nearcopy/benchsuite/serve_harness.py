"""Real processes for the serving tests: a protected index, the scripted OpenAI-compatible upstream
(`openai_upstream.py`) and `nearcopy serve`, each started as a subprocess on a free loopback port
(port 0; the process says which it got), and SSE parsing of what a client receives."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from nearcopy.index import ProtectedIndex

HERE = Path(__file__).resolve().parent

# Protected: a function (GPL-3.0: replaced), a prose passage (public domain: redacted, the default) and
# another passage (Proprietary: suppressed), so one service shows all three stopping behaviours.
FUNCTION = '''def merge_intervals(intervals, tolerance=0):
    """Merge overlapping intervals into a sorted list of disjoint intervals."""
    ordered = sorted(intervals, key=lambda pair: (pair[0], pair[1]))
    merged = []
    for start, end in ordered:
        if start > end:
            raise ValueError("interval start after its end: %r" % ((start, end),))
        if merged and start <= merged[-1][1] + tolerance:
            previous_start, previous_end = merged.pop()
            merged.append((previous_start, max(previous_end, end)))
        else:
            merged.append((start, end))
    total = 0
    for start, end in merged:
        total += end - start
    return merged, total
'''
RENAMED = (
    FUNCTION.replace("merge_intervals", "join_ranges")
    .replace("intervals", "spans")
    .replace("ordered", "srt")
    .replace("merged", "acc")
    .replace("previous_start", "ps")
    .replace("previous_end", "pe")
    .replace("tolerance", "slack")
    .replace("total", "length")
)
PROSE = (
    "It is a truth universally acknowledged, that a single man in possession of a good fortune, must be "
    "in want of a wife. However little known the feelings or views of such a man may be on his first "
    "entering a neighbourhood, this truth is so well fixed in the minds of the surrounding families, "
    "that he is considered the rightful property of some one or other of their daughters."
)
SECRET = (
    "The quarterly plan of the northern depot moves every crate of copper wire through the east gate before "
    "dawn, logs each pallet by its painted number, and sends the drivers home by the river road so that the "
    "night inspectors never see the same truck twice in one week of the winter season."
)
CLEAN = (
    "Binary search keeps two bounds and halves the interval between them at every step, so it needs about "
    "log2(n) comparisons. Watch the off-by-one errors at the boundaries, and prefer the standard library's "
    "bisect module when you can. For many lookups, sort once and reuse the sorted list.\n"
)
FENCE = "`" * 3
CODE_ANSWER = f"Sure, here it is:\n\n{FENCE}python\n{RENAMED}{FENCE}\n\nThis runs in O(n log n).\n"
PROSE_ANSWER = f"As the novel begins: {PROSE.upper()} A fine opening."
SECRET_ANSWER = f"From the notes: {SECRET} That is all."
DOCS = [
    {
        "id": "intervals.py",
        "text": FUNCTION,
        "language": "python",
        "license": "GPL-3.0",
        "url": "https://example.org/intervals.py",
    },
    {"id": "austen", "text": PROSE, "license": "PD", "url": "https://example.org/austen"},
    {"id": "depot-plan", "text": SECRET, "license": "Proprietary"},
]
POLICY_ARGS = ["--license-policy", "GPL-3.0=replace", "--license-policy", "Proprietary=suppress"]


def build_index(path: Path, docs: list[dict[str, Any]] = DOCS) -> Path:
    ProtectedIndex.build(docs, path)
    return path


@dataclass
class Process:
    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout=timeout)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def _wait_for(log: Path, pattern: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> re.Match[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(pattern, log.read_text(errors="replace"))
        if found:
            return found
        if proc.poll() is not None:
            raise RuntimeError(
                f"process exited ({proc.returncode}): {log.read_text(errors='replace')[-2000:]}"
            )
        time.sleep(0.05)
    raise TimeoutError(f"no {pattern!r} in {log}: {log.read_text(errors='replace')[-2000:]}")


def start_upstream(tmp: Path, *args: str, env: dict[str, str] | None = None) -> Process:
    log = tmp / "upstream.log"
    command = [sys.executable, str(HERE / "openai_upstream.py"), *args]
    with log.open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=out, env={**os.environ, **(env or {})})
    port = _wait_for(log, r"listening on (\d+)", proc).group(1)
    return Process(proc, f"http://127.0.0.1:{port}", log)


def start_service(
    tmp: Path, index: Path | None, *args: str, env: dict[str, str] | None = None, name: str = "serve"
) -> Process:
    """``nearcopy serve`` on a free port, once it answers; ``index`` None for a router (``--route-to``
    in ``args``)."""
    log = tmp / f"{name}.log"
    indexed = [] if index is None else ["--index", str(index)]
    command = [sys.executable, "-m", "nearcopy", "serve", *indexed, "--port", "0", *args]
    with log.open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=out, env={**os.environ, **(env or {})})
    url = _wait_for(log, r"listening on (http://\S+)", proc).group(1)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # the socket is bound before the app is ready: wait for it
        try:
            if httpx.get(f"{url}/healthz", timeout=5).status_code == 200:
                return Process(proc, url, log)
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{url}/healthz never answered: {log.read_text(errors='replace')[-2000:]}")


def sse_frames(raw: bytes) -> list[str]:
    """The frames a client received, as text (each without its blank-line terminator)."""
    text = raw.decode("utf-8").replace("\r\n", "\n")
    assert text.endswith("\n\n"), f"the stream must end with a complete frame: {text[-200:]!r}"
    return [frame for frame in text[:-2].split("\n\n")]


def frame_data(frame: str) -> str | None:
    lines = [line[5:].removeprefix(" ") for line in frame.split("\n") if line.startswith("data:")]
    return "\n".join(lines) if lines else None


def chunks(frames: list[str]) -> list[dict[str, Any]]:
    """The JSON chunks among the frames (not comments, not [DONE])."""
    out = []
    for frame in frames:
        data = frame_data(frame)
        if data is not None and data != "[DONE]":
            out.append(json.loads(data))
    return out


def received_text(chunk_list: list[dict[str, Any]], index: int = 0, field: str = "content") -> str:
    """Concatenation of one field of one choice over the chunks (``text`` for completions;
    ``tool_calls`` for the arguments of tool call 0)."""
    parts = []
    for chunk in chunk_list:
        for choice in chunk.get("choices", []):
            if choice.get("index") != index:
                continue
            holder = choice.get("delta", choice)
            if field == "tool_calls":
                for call in holder.get("tool_calls") or []:
                    parts.append((call.get("function") or {}).get("arguments") or "")
            else:
                parts.append(holder.get(field) or "")
    return "".join(parts)


def finish_reasons(chunk_list: list[dict[str, Any]]) -> dict[int, str]:
    found = {}
    for chunk in chunk_list:
        for choice in chunk.get("choices", []):
            if choice.get("finish_reason") is not None:
                assert choice["index"] not in found, "a choice finishes once"
                found[choice["index"]] = choice["finish_reason"]
    return found
