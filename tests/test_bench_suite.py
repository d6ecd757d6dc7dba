"""The benchmark suite runs every benchmark end to end at its smallest size and writes a well-formed
report.md and results.json; `--compare` reads two results. A smoke test, never a timing assertion:
it checks that the harness still works against the current API, that each benchmark's peers ran,
and that nearcopy's compatible schemes still give datasketch's exact signatures on real text.

One tiny run of the whole suite (about a minute on 2 cores) is shared by the tests of this file.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from nearcopy.benchsuite import NAMES, compare, real_answers, registry, suite

ROOT = Path(__file__).resolve().parent.parent


def nearcopy_bench(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "nearcopy", "bench", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=ROOT, env=env)


@pytest.fixture(scope="module")
def suite_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], str]:
    out = tmp_path_factory.mktemp("suite")
    done = nearcopy_bench("--size", "tiny", "--out", str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    return out, json.loads((out / "results.json").read_text()), done.stdout


def result_of(results: dict[str, Any], name: str) -> Any:
    entry = results["benchmarks"][name]
    assert entry["status"] == "ok", (name, entry.get("reason"), entry.get("stderr_tail"))
    return entry["result"]


def test_every_benchmark_runs_and_reports_figures(suite_run: tuple[Path, dict[str, Any], str]) -> None:
    _, results, stdout = suite_run
    assert list(results["benchmarks"]) == list(NAMES)
    assert {"cpu_model", "cpu_count", "memory_gb"} <= results["machine"].keys()
    assert results["versions"]["nearcopy"] and results["versions"]["datasketch"]
    assert all(c["sha256"] for c in results["corpora"]) and results["corpora"]
    for name in NAMES:
        result_of(results, name)
        assert results["benchmarks"][name]["headline"], name
        for fig in results["benchmarks"][name]["headline"]:
            assert fig["better"] in ("higher", "lower") and isinstance(fig["value"], (int, float))
    assert "| minhash | ok |" in stdout


def test_each_benchmark_measured_what_it_is_for(suite_run: tuple[Path, dict[str, Any], str]) -> None:
    _, results, _ = suite_run
    minhash = result_of(results, "minhash")
    assert minhash["bit_compat"]["identical"]
    assert {r["library"] for r in minhash["end_to_end"]} == {"nearcopy", "datasketch", "rensa"}
    quality = result_of(results, "filter-quality")
    assert {"code renamed", "prose lightly edited", "code other projects (negative)"} <= quality[
        "cases"
    ].keys()
    assert all(0.0 <= case["flag_rate"] <= 1.0 for case in quality["cases"].values())
    thresholds = [p["threshold"] for p in quality["curves"]["code"]]
    assert thresholds == sorted(thresholds)
    real = result_of(results, "filter-real")
    assert {c["shape"] for c in real["cells"] if c["group"] == "code"} == set(real_answers.CODE_SHAPES)
    assert {c["language"] for c in real["cells"]} >= {"python", "prose"} and real["answers"] > 300
    verdicts = {t["target"]: t["verdict"] for t in real["targets"]}
    assert set(verdicts.values()) <= {"pass", "short", "n/a"}
    assert "check p99 (ms), answers of 2 KB or less" in verdicts and "all answers" in real["latency"]
    assert all(0.0 <= c["split_correct"] <= 1.0 for c in real["cells"] if c["split_correct"] is not None)
    (row,) = result_of(results, "filter-speed")
    assert row["mb"] >= 1.5 and row["documents"] > 0 and row["check_p99_ms"] >= row["check_p50_ms"] > 0
    build = {r["kind"]: r for r in result_of(results, "build-speed")["rows"]}
    assert build.keys() == {"prose", "code"} and all(
        r["mb_s_per_core"] > 0 and r["peak_mb"] > 0 for r in build.values()
    )
    assert build["code"]["share_of_raw_parse"] > 0 and build["prose"]["bytes_per_token"] > 0
    shards = result_of(results, "filter-shards")["rows"]
    assert [r["shards"] for r in shards] == [0, 1, 4, 16] and all(r["same_verdicts"] == 1.0 for r in shards)
    assert all(r["check_p99_ms"] >= r["check_p50_ms"] > 0 for r in shards)
    routed = result_of(results, "router")["rows"]
    assert len(routed) == 2 and all(r["same_verdicts"] == 1.0 and r["check_p99_ms"] > 0 for r in routed)
    dedup = result_of(results, "dedup-quality")
    assert len(dedup["results"]) == 6 and dedup["set"]["true_duplicate_pairs"] > 0
    assert all(0.0 <= s["precision"] <= 1.0 and s["peak_mb"] > 0 for s in dedup["results"].values())
    speed = result_of(results, "dedup-speed")
    assert set(speed["results"]) == {"nearcopy 1 thread", "nearcopy all cores", "datasketch", "rensa"}
    assert all(0.0 <= s["f1"] <= 1.0 and s["docs_per_s"] > 0 for s in speed["results"].values())
    assert result_of(results, "dedup-scale")["report"]["kept"] > 0
    lsh = result_of(results, "lsh")
    for threshold in lsh["sizes"][0]["thresholds"]:
        rows = {r["method"]: r for r in threshold["rows"]}
        assert {"nearcopy", "nearcopy-datasketch-bands", "datasketch", "rensa"} <= rows.keys()
        assert threshold["candidates_identical_to_datasketch"] >= 0.99  # 32-bit band keys: rare extras
        # Rows "..., raw" are a nearcopy index's raw candidates: they have no verified recall.
        raw_rows = {m for m in rows if m.endswith(", raw")}
        assert raw_rows and all("verified" not in rows[m] for m in raw_rows)
        assert all(
            0.0 <= r.get("verified", r["raw"])["recall"] <= 1.0 and r["query_p99_us"] >= r["query_p50_us"] > 0
            for r in rows.values()
        )
        assert rows["nearcopy"]["disk_bytes_per_doc"] > 0 and rows["datasketch"]["anon_bytes_per_doc"] > 0
        # Rows at the layouts chosen to reach rensa's recall do reach it, as predicted.
        at_recall = [r for m, r in rows.items() if m.startswith("nearcopy at rensa's recall")]
        assert at_recall and all(r["raw"]["recall"] >= rows["rensa"]["raw"]["recall"] for r in at_recall)
        assert all(r["raw"]["recall"] == r["predicted_recall"] for r in at_recall if "predicted_recall" in r)
    within = {r["method"]: r for r in lsh["containment"]["rows"]}
    assert {
        "datasketch MinHashLSHEnsemble, containment 0.5",
        "nearcopy LSH index, containment 0.5",
    } <= within.keys()
    assert all(0.0 <= r["recall"] <= 1.0 and 0.0 <= r["precision"] <= 1.0 for r in within.values())
    assert lsh["containment"]["containment_index_bytes_per_document"] > 0
    serve = result_of(results, "serve")
    assert [row["workers"] for row in serve["rows"]] == [1, 2]
    first = serve["rows"][0]
    assert first["check"]["p99_ms"] >= first["check"]["p50_ms"] > 0 and first["streamed"]["chunks"] > 100


def test_report_has_every_section_and_its_plots(suite_run: tuple[Path, dict[str, Any], str]) -> None:
    out, _, _ = suite_run
    report = (out / "report.md").read_text()
    assert report.startswith("# nearcopy benchmark suite\n")
    assert "## Summary" in report and "## Corpora" in report
    for name in NAMES:
        assert f"\n## {name}\n" in report
    plots = [line.split("](", 1)[1].rstrip(")") for line in report.splitlines() if line.startswith("![")]
    assert {"plots/throughput.png", "plots/precision-recall.png", "plots/filter-latency.png"} <= set(plots)
    for plot in plots:
        assert (out / plot).read_bytes().startswith(b"\x89PNG")


def test_compare_names_what_got_slower(suite_run: tuple[Path, dict[str, Any], str], tmp_path: Path) -> None:
    out, results, _ = suite_run
    slower = copy.deepcopy(results)
    fig = next(f for f in slower["benchmarks"]["dedup-speed"]["headline"] if f["unit"] == "docs/s")
    fig["value"] /= 3
    fig["spread"] = [fig["spread"][0] / 3, fig["spread"][1] / 3] if "spread" in fig else None
    if fig["spread"] is None:
        del fig["spread"]
    (tmp_path / "results.json").write_text(json.dumps(slower))
    done = nearcopy_bench("--compare", str(out / "results.json"), str(tmp_path / "results.json"))
    assert done.returncode == 0, done.stderr
    assert f"slower dedup-speed: {fig['metric']}" in done.stdout and "1 worse" in done.stdout
    gate = nearcopy_bench("--compare", str(out), str(tmp_path / "results.json"), "--fail-on-regression")
    assert gate.returncode == 1
    same, steady, one_side = compare.changes(results, results)
    assert not same and not one_side and steady > 50


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "other.json").write_text('{"not": "a suite result"}')
    done = nearcopy_bench("--compare", str(tmp_path / "other.json"), str(tmp_path / "other.json"))
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "not a results.json" in done.stderr
    done = nearcopy_bench("--compare", str(tmp_path / "missing.json"))
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert nearcopy_bench("--only", "no-such-bench").returncode == 2


def test_a_failing_or_unrunnable_benchmark_is_recorded_not_fatal(tmp_path: Path) -> None:
    options = suite.SuiteOptions(size="tiny", out=tmp_path, echo=False)
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    broken = registry.Benchmark(
        "minhash", "bench_minhash", "bad arguments", (), {"tiny": ("--no-such-flag",)}
    )
    entry = suite.run_one(broken, options, env)
    assert entry["status"] == "failed" and entry["reason"] == "exit 2"
    assert any("--no-such-flag" in line for line in entry["stderr_tail"])
    absent = registry.Benchmark(
        "x", "bench_minhash", "needs a peer", (), {"tiny": ()}, needs=("no_such_peer",)
    )
    skipped = suite.run_one(absent, options, env)
    assert skipped["status"] == "skipped" and skipped["reason"] == "not installed: no_such_peer"


def test_a_result_saved_under_a_markdown_name_keeps_its_data_beside_the_report(tmp_path: Path) -> None:
    from nearcopy.benchsuite.benchutil import save_result

    for out in (tmp_path / "run.md", tmp_path / "other.json"):
        saved = save_result("x", {"value": 1}, "# report", out)
        assert saved == out.with_suffix(".json")
        assert json.loads(saved.read_text()) == {"value": 1}
        assert out.with_suffix(".md").read_text() == "# report\n"
