"""The scale model (nearcopy.benchsuite.scale_model) is arithmetic over the benchmarks' results: these
tests give it results whose consequences are worked out by hand, and check that a missing result is
an error naming the benchmark, never a model with a figure made up."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from nearcopy.benchsuite import scale_model


def results(tmp: Path) -> Path:
    rows = [
        {"kind": "prose", "engine": "local", "mb": 100.0, "mb_s_per_core": 50.0, "bytes_per_token": 4.0,
         "tokens": 15_000_000, "peak_mb": 250.0},
        {"kind": "code", "engine": "local", "mb": 10.0, "mb_s_per_core": 1.0, "bytes_per_token": 1.0,
         "tokens": 1_000_000, "peak_mb": 100.0},
        {"kind": "code", "engine": "local", "mb": 1000.0, "mb_s_per_core": 5.0, "bytes_per_token": 3.0,
         "tokens": 150_000_000, "peak_mb": 500.0},
        {"kind": "code", "engine": "ray", "mb": 1000.0, "mb_s_per_core": 0.5, "bytes_per_token": 3.0,
         "tokens": 150_000_000, "peak_mb": 900.0},
    ]  # fmt: skip
    (tmp / "build-speed-20261201.json").write_text(json.dumps({"rows": rows}))
    # An older single run and a newer suite run of filter-speed: the suite's is the one read.
    (tmp / "filter-speed-20261101.json").write_text(json.dumps([]))
    suite = tmp / "suite-20261130-cpu" / "benchmarks"
    suite.mkdir(parents=True)
    speed = [{"index_mb": 4.0, "check_p50_ms": 0.1, "check_p99_ms": 1.0},
             {"index_mb": 64.0, "check_p50_ms": 0.3, "check_p99_ms": 1.0}]  # fmt: skip
    (suite / "filter-speed.json").write_text(json.dumps({"results": speed}))
    shards = {"rows": [{"shards": 0, "check_p50_ms": 0.2}, {"shards": 1, "check_p50_ms": 0.3},
                       {"shards": 16, "check_p50_ms": 0.6}]}  # fmt: skip
    (tmp / "filter-shards-20261202.json").write_text(json.dumps(shards))
    router = {"router_cost_ms": {"check_p50_ms": 16.0, "check_p99_ms": 50.0}}
    (tmp / "router-20261203.json").write_text(json.dumps(router))
    return tmp


def test_the_model_follows_from_the_results_by_hand(tmp_path: Path) -> None:
    out = tmp_path / "model.json"
    scale_model.main(["--results", str(results(tmp_path)), "--tb", "1", "--ram-gb", "100", "--out", str(out)])
    m = json.loads(out.read_text())
    # The largest local row of each kind: code at 1000 MB (not the 10 MB row, not the Ray row).
    assert m["build"]["code"]["mb_s_per_core"] == 5.0 and m["build"]["code"]["core_s_per_gb"] == 200.0
    # Index per GB of text: bytes/token * tokens/MB: prose 4 * 150,000 = 600 MB; code 3 * 150,000 = 450.
    assert m["build"]["prose"]["index_mb_per_gb"] == 600.0 and m["build"]["code"]["index_mb_per_gb"] == 450.0
    assert m["index_gb"] == {"prose": 600.0, "code": 450.0}
    # 1e6 MB at 50 MB/s is 20,000 s; at 5 MB/s, 200,000 s.
    assert m["build_core_hours"] == {"prose": round(2e4 / 3600, 1), "code": round(2e5 / 3600, 1)}
    # 600 GB over 60% of 100 GB each: 10 machines of 60 GB shards.
    assert (m["sized_for"], m["machines"], m["shard_gb"]) == ("prose", 10, 60.0)
    # p50 from 0.1 at 4 MB to 0.3 at 64 MB: 0.05 ms per doubling; 60,000 MB is log2(15,000) doublings past 4.
    assert m["check_fit"]["p50"] == {"a_ms": 0.0, "b_ms_per_doubling": 0.05}
    assert m["check_one_machine_ms"]["p50"] == pytest.approx(0.05 * math.log2(60_000), abs=1e-3)
    assert m["check_one_machine_ms"]["p99"] == 1.0

    assert m["per_extra_shard_p50_ms"] == 0.02  # (0.6 - 0.3) / 15
    assert m["router_cost_ms"] == {"p50": 16.0, "p99": 50.0}
    assert m["sources"]["filter-speed"] == "suite-20261130-cpu/benchmarks/filter-speed.json"
    report = out.with_suffix(".md").read_text()
    assert "10 serving machines of 100 GB" in report and "| 64.0 | 0.3 | 1.0 |" in report

    # A p99 that falls as the index grows is noise: flat at the mean of the measured ones.
    speed = tmp_path / "suite-20261130-cpu" / "benchmarks" / "filter-speed.json"
    rows = [{"index_mb": 4.0, "check_p50_ms": 0.1, "check_p99_ms": 1.2},
            {"index_mb": 64.0, "check_p50_ms": 0.3, "check_p99_ms": 0.8}]  # fmt: skip
    speed.write_text(json.dumps({"results": rows}))
    scale_model.main(["--results", str(tmp_path), "--tb", "1", "--ram-gb", "100", "--out", str(out)])
    assert json.loads(out.read_text())["check_fit"]["p99"] == {"a_ms": 1.0, "b_ms_per_doubling": 0.0}


def test_a_missing_result_names_the_benchmark(tmp_path: Path) -> None:
    (results(tmp_path) / "router-20261203.json").unlink()
    with pytest.raises(SystemExit, match="no result of the 'router' benchmark"):
        scale_model.main(["--results", str(tmp_path), "--out", str(tmp_path / "m.json")])
