"""A check fanned out over shard servers gives the verdicts of one index over every shard.

Real processes over real HTTP: a sharded index of four shards, four shard servers
(`nearcopy serve --index SHARDED --shard I`) and a router (`nearcopy serve --route-to URL ...`).
The router's /v1/check and /v1/filter answers must equal, field for field and match for match,
what `OutputFilter` over the whole sharded index opened locally gives: for copies of prose and code
(renamed), for an idiom held by documents of every shard (common over all of them, rare in each:
a shard counting document frequency alone takes it for a copy, so the case fails without the
exchange of counts), for a popular helper copied into many files, and for unrelated text. A shard
server that hangs (past --shard-timeout) or is down, or a router not given every shard, makes the
router answer 503 naming the shard, never a partial verdict.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from nearcopy.benchsuite import serve_harness as h
from nearcopy.cli_filter import verdict_summary
from nearcopy.filter import OutputFilter
from nearcopy.index import ProtectedIndex
from nearcopy.index_shards import shard_of
from nearcopy.shard_check import open_shard

SHARDS = 4
FENCE = "`" * 3
_rng = random.Random(18)
_WORDS = [f"{a}{b}" for a in ("ka", "lo", "mi", "nu", "po", "ra", "si", "tu") for b in range(60)]


def _words(n: int) -> str:
    return " ".join(_rng.choice(_WORDS) for _ in range(n))


# A 40-word passage held by 28 documents: over the index, more than max_doc_frequency (20), so
# boilerplate; in each shard about 7, so a shard alone would flag it.
IDIOM = _words(40)
# A helper pasted into 24 code files: common, but long enough to be a popular passage copied whole.
HELPER = "\n".join(
    f"    value_{i} = compute_{i % 7}(value_{i - 1}, {i}) + offset_{i % 3}" for i in range(1, 16)
)


def _corpus() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = list(h.DOCS)
    for i in range(60):
        text = _words(120) + (f" {IDIOM} " + _words(15) if i < 28 else "")
        docs.append({"id": f"story-{i:02d}", "text": text, "license": "CC-BY" if i % 2 else "PD",
                     "url": f"https://example.org/story/{i}"})  # fmt: skip
    for i in range(30):
        body = HELPER if i < 24 else "\n".join(f"    x_{j} = f_{i}(x_{j - 1})" for j in range(1, 10))
        text = f"def routine_{i}(value_0, offset_0, offset_1, offset_2):\n{body}\n    return value_{i}\n"
        docs.append({"id": f"src/routine_{i}.py", "text": text, "language": "python", "license": "MIT"})
    return docs


DOCS = _corpus()
STORY = DOCS[3 + 40]["text"]
ANSWERS = [
    h.CODE_ANSWER,
    h.PROSE_ANSWER,
    h.SECRET_ANSWER,
    h.CLEAN,
    f"Here is the usual passage: {IDIOM}.",
    f"Retold: {STORY[: len(STORY) // 2]} and so on.",
    f"{FENCE}python\ndef helper(value_0, offset_0, offset_1, offset_2):\n{HELPER}\n{FENCE}\n",
    f"Two sources at once: {h.PROSE} Then: {STORY}",
    _words(80),
]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, h.Process, list[h.Process]]]:
    tmp = tmp_path_factory.mktemp("router")
    index = tmp / "sharded"
    ProtectedIndex.build(DOCS, index, shards=SHARDS)
    with ThreadPoolExecutor(SHARDS) as pool:
        shards = list(pool.map(
            lambda i: h.start_service(tmp, index, "--shard", str(i), name=f"shard-{i}"), range(SHARDS)
        ))  # fmt: skip
    routes = [arg for s in shards for arg in ("--route-to", s.url)]
    router = h.start_service(tmp, None, *routes, "--shard-timeout", "2", *h.POLICY_ARGS, name="router")
    try:
        yield index, router, shards
    finally:
        for process in (router, *shards):
            process.stop()


def _local(index: Path) -> OutputFilter:
    return OutputFilter(ProtectedIndex.open(index), policy=_policy())


def _policy() -> Any:
    from nearcopy.serving.config import FilterSettings

    return FilterSettings(
        index="", license_policy={"GPL-3.0": "replace", "Proprietary": "suppress"}
    ).make_policy()


def test_the_corpus_spreads_over_every_shard_and_the_idiom_is_rare_in_each() -> None:
    holders = [shard_of(f"story-{i:02d}", SHARDS) for i in range(28)]
    assert all(0 < holders.count(s) <= 20 for s in range(SHARDS)), holders


def test_router_verdicts_equal_one_index_over_every_shard(cluster: Any) -> None:
    index, router, _ = cluster
    local = _local(index)
    generation = ProtectedIndex.open(index).info()["generation"]
    flagged = 0
    for answer in ANSWERS:
        expected = {"generation": generation, **verdict_summary(local.check(answer))}
        got = httpx.post(f"{router.url}/v1/check", json={"text": answer}, timeout=30).json()
        assert got == expected, answer[:80]
        flagged += expected["flagged"]
    assert 4 <= flagged < len(ANSWERS)  # copies found, the idiom and unrelated text let through
    scraped = httpx.get(f"{router.url}/metrics").text
    documents = next(line for line in scraped.splitlines() if line.startswith("nearcopy_index_documents{"))
    assert 'endpoint="/v1/check"' in scraped and documents.endswith(f"}} {len(DOCS)}")
    batch = httpx.post(f"{router.url}/v1/check", json={"texts": ANSWERS}, timeout=30).json()
    assert batch == {
        "generation": generation,
        "results": [verdict_summary(v) for v in local.check_batch(ANSWERS)],
    }


def test_router_filter_shows_what_one_index_would(cluster: Any) -> None:
    index, router, _ = cluster
    local = _local(index)
    got = httpx.post(f"{router.url}/v1/filter", json={"texts": ANSWERS}, timeout=30).json()["results"]
    assert [r["text"] for r in got] == [local.apply(a) for a in ANSWERS]
    # The operator's policy only, as nearcopy serve without --request-policy.
    asked = httpx.post(
        f"{router.url}/v1/filter", json={"text": h.PROSE_ANSWER, "policy": "allow"}, timeout=30
    )
    assert asked.status_code == 403


def test_without_the_exchange_of_counts_a_shard_would_flag_the_idiom(cluster: Any) -> None:
    index, router, _ = cluster
    answer = f"Here is the usual passage: {IDIOM}."
    alone = [OutputFilter(open_shard(index, s)).check(answer).flagged for s in range(SHARDS)]
    assert all(alone), "each shard counting alone takes the idiom for a copy"
    assert not _local(index).check(answer).flagged
    assert not httpx.post(f"{router.url}/v1/check", json={"text": answer}, timeout=30).json()["flagged"]


def test_a_shard_server_serves_no_verdicts_of_its_own(cluster: Any) -> None:
    _, _, shards = cluster
    assert httpx.post(f"{shards[0].url}/v1/check", json={"text": h.PROSE}).status_code == 404
    info = httpx.get(f"{shards[0].url}/v1/shard/info").json()
    assert info["shards"] == SHARDS and info["segments"] >= 1


def test_a_router_missing_a_shard_refuses_to_give_verdicts(cluster: Any, tmp_path: Path) -> None:
    _, _, shards = cluster
    routes = [arg for s in shards[:-1] for arg in ("--route-to", s.url)]
    log = tmp_path / "partial.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "nearcopy", "serve", *routes, "--port", "0"],
                                stdout=out, stderr=out)  # fmt: skip
    try:
        url = h._wait_for(log, r"listening on (http://\S+)", proc).group(1)
        response = _post_when_up(f"{url}/v1/check", {"text": h.PROSE_ANSWER})
        assert response.status_code == 503
        assert "not each shard of one index once" in response.json()["error"]["message"]
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _post_when_up(url: str, payload: dict[str, Any]) -> httpx.Response:
    deadline = time.monotonic() + 60
    while True:
        try:
            return httpx.post(url, json=payload, timeout=30)
        except httpx.ConnectError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_a_shard_server_that_hangs_is_a_503_after_the_timeout(cluster: Any) -> None:
    _, router, shards = cluster
    shards[1].proc.send_signal(signal.SIGSTOP)  # alive, its socket open, answering nothing
    try:
        response = httpx.post(f"{router.url}/v1/check", json={"text": h.PROSE_ANSWER}, timeout=30)
    finally:
        shards[1].proc.send_signal(signal.SIGCONT)
    assert response.status_code == 503
    message = response.json()["error"]["message"]
    assert shards[1].url in message and "no answer within 2 s" in message, message
    # Once it answers again, so does the router.
    assert httpx.post(f"{router.url}/v1/check", json={"text": h.CLEAN}, timeout=30).status_code == 200


def test_a_shard_server_down_is_a_503_naming_the_shard(cluster: Any) -> None:
    _, router, shards = cluster
    down = next(s for s in range(SHARDS) if httpx.get(f"{shards[s].url}/v1/shard/info").json()["shard"] == 2)
    shards[down].stop(signal.SIGTERM)
    for text in (h.PROSE_ANSWER, h.CLEAN):
        response = httpx.post(f"{router.url}/v1/check", json={"text": text}, timeout=30)
        assert response.status_code == 503
        message = response.json()["error"]["message"]
        assert "shard 2" in message and shards[down].url in message, message
    assert httpx.get(f"{router.url}/healthz", timeout=30).status_code == 503
