"""What an operator of `nearcopy serve` relies on, with real processes over loopback: structured
access logs (one JSON line per request, with its id, verdicts and sources, never a body or
protected text), a line for every reload, a per-request policy only where the operator allows it,
and a clear message, before anything listens, when the serve extra is missing."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from nearcopy.benchsuite import serve_harness as h
from nearcopy.index import ProtectedIndex


def log_lines(path: Path, event: str = "request") -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    return [line for line in lines if line["event"] == event]


def wait_for(predicate: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, h.Process]]:
    tmp = tmp_path_factory.mktemp("logged")
    index = h.build_index(tmp / "index")
    upstream = h.start_upstream(tmp)
    log = tmp / "access.jsonl"
    service = h.start_service(tmp, index, "--upstream", upstream.url, *h.POLICY_ARGS,
                              "--access-log", str(log), "--request-policy", "stricter")  # fmt: skip
    try:
        yield service.url, log, service
    finally:
        service.stop()
        upstream.stop()


def test_every_request_is_one_json_line_with_its_verdicts_and_never_the_text(logged: Any) -> None:
    url, log, _ = logged
    flagged = httpx.post(f"{url}/v1/check", json={"text": h.CODE_ANSWER}, headers={"x-request-id": "abc-1"})
    assert flagged.status_code == 200 and flagged.headers["x-request-id"] == "abc-1"
    clean = httpx.post(f"{url}/v1/filter", json={"texts": [h.CLEAN, h.PROSE_ANSWER]})
    fresh_id = clean.headers["x-request-id"]
    assert len(fresh_id) == 32, "a request without an id gets a fresh one"
    streamed = {"model": "scripted", "stream": True, "script": {"answer": h.SECRET_ANSWER, "chunking": "3"}}
    with httpx.stream("POST", f"{url}/v1/chat/completions", json=streamed, timeout=60) as response:
        response.read()
    bad = httpx.post(f"{url}/v1/check", content=b"{not json", headers={"x-request-id": "bad\x01id"})
    assert bad.status_code == 400 and bad.headers["x-request-id"] != "bad\x01id"
    wait_for(lambda: len(log_lines(log)) >= 4)
    by_id = {line["request_id"]: line for line in log_lines(log)}
    first = by_id["abc-1"]
    assert (first["endpoint"], first["method"], first["status"]) == ("/v1/check", "POST", 200)
    assert first["latency_ms"] > 0 and first["generation"] == 1 and first["policy"] == "operator"
    (verdict,) = first["verdicts"]
    assert verdict == {
        "flagged": True,
        "action": "replace",
        "score": verdict["score"],
        "sources": ["intervals.py"],
    }
    batch = by_id[fresh_id]
    assert [v["sources"] for v in batch["verdicts"]] == [[], ["austen"]]
    assert [v["action"] for v in batch["verdicts"]] == ["allow", "redact"]
    proxied = next(line for line in log_lines(log) if line["endpoint"] == "/v1/chat/completions")
    assert any(v["action"] == "suppress" and v["sources"] == ["depot-plan"] for v in proxied["verdicts"])
    assert any(line["status"] == 400 and "verdicts" not in line for line in log_lines(log))
    text = log.read_text()
    for secret in (h.FUNCTION, h.PROSE, h.SECRET, h.CLEAN):
        words = secret.split()
        runs = {" ".join(words[i : i + 4]) for i in range(len(words) - 3)}
        assert not [run for run in runs if run in text], "no protected text and no request text in the log"


def test_a_request_policy_may_only_be_stricter_when_the_operator_says_so(logged: Any) -> None:
    url, log, _ = logged
    stricter = httpx.post(f"{url}/v1/filter", json={"text": h.PROSE_ANSWER, "policy": "replace"})
    assert stricter.status_code == 200 and stricter.json()["verdict"]["action"] == "replace"
    assert stricter.json()["text"].startswith("[output withheld: it reproduces https://example.org/austen")
    laxer = httpx.post(f"{url}/v1/check", json={"text": h.CODE_ANSWER, "policy": {"default": "allow",
                       "by_license": {"GPL-3.0": "allow"}}})  # fmt: skip
    assert laxer.json()["action"] == "replace", "a request cannot weaken the operator's policy"
    body = {"model": "scripted", "stream": False, "script": {"answer": h.PROSE_ANSWER}}
    proxied = httpx.post(f"{url}/v1/chat/completions", json=body, headers={"x-nearcopy-policy": "suppress"})
    assert proxied.status_code == 200
    assert proxied.json()["choices"][0]["message"]["content"] == "", "suppressed at the client's request"
    wrong = httpx.post(f"{url}/v1/check", json={"text": "x", "policy": {"default": "shout"}})
    assert wrong.status_code == 400 and "'default' must be one of" in wrong.json()["error"]["message"]
    wait_for(lambda: any(line.get("policy") == "stricter" for line in log_lines(log)))


def test_a_request_policy_changes_the_policy_and_nothing_else(tmp_path: Path) -> None:
    # Every detection setting of the operator's filter carries over to the filter a request's policy
    # makes (the popular-function rule used to fall back to its defaults).
    from nearcopy.filter import OutputFilter
    from nearcopy.serving.request_policy import request_filter

    index = ProtectedIndex.build([{"id": "a", "text": h.PROSE_ANSWER}], tmp_path / "idx")
    current = OutputFilter(index, min_tokens=9, min_code_tokens=11, max_doc_frequency=5,
                           popular_doc_frequency=7, popular_factor=3.0)  # fmt: skip
    made = request_filter(current, {"default": "suppress"}, "any")
    settings = ("min_tokens", "min_code_tokens", "max_doc_frequency", "popular_doc_frequency",
                "popular_factor")  # fmt: skip
    assert [getattr(made, s) for s in settings] == [getattr(current, s) for s in settings]
    assert made.policy.default == "suppress" and made.index is index


def test_without_the_operators_leave_a_request_policy_is_refused(tmp_path: Path) -> None:
    index = h.build_index(tmp_path / "index")
    service = h.start_service(tmp_path, index, "--request-policy", "any")
    try:
        allowed = httpx.post(f"{service.url}/v1/filter", json={"text": h.PROSE_ANSWER, "policy": "allow"})
        assert allowed.json()["verdict"]["action"] == "allow" and allowed.json()["text"] == h.PROSE_ANSWER
    finally:
        service.stop()
    service = h.start_service(tmp_path, index, name="strict")
    try:
        refused = httpx.post(f"{service.url}/v1/check", json={"text": h.PROSE_ANSWER, "policy": "allow"})
        assert refused.status_code == 403 and "--request-policy" in refused.json()["error"]["message"]
    finally:
        service.stop()


def test_every_reload_is_a_line_on_stderr_and_in_the_access_log(tmp_path: Path) -> None:
    index = h.build_index(tmp_path / "index")
    log = tmp_path / "access.jsonl"
    service = h.start_service(tmp_path, index, "--access-log", str(log), "--watch-interval", "0.2")
    try:
        ProtectedIndex.open(index).add([{"id": "late", "text": h.CLEAN * 3}])
        wait_for(lambda: httpx.get(f"{service.url}/healthz").json()["generation"] == 2)
        service.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: len(log_lines(log, "reload")) == 2)
        reloads = log_lines(log, "reload")
        assert [(r["ok"], r["trigger"], r["generation"]) for r in reloads] == [
            (True, "manifest changed", 2), (True, "SIGHUP", 2),
        ]  # fmt: skip
        assert "index reloaded (manifest changed), generation 2, 4 documents" in service.output()
        assert "index reloaded (SIGHUP), generation 2" in service.output()
    finally:
        service.stop()


def test_serve_without_its_extra_says_which_to_install_before_listening(tmp_path: Path) -> None:
    index = h.build_index(tmp_path / "index")
    # As if uvicorn were not installed: its import fails, as it does without the serve extra.
    code = (
        "import sys; sys.modules['uvicorn'] = None; from nearcopy.cli import main; "
        f"sys.exit(main(['serve', '--index', {str(index)!r}, '--port', '0']))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == (
        "nearcopy: error: nearcopy serve needs the serve extra: pip install 'nearcopy[serve]' "
        "(uvicorn is missing)"
    )
