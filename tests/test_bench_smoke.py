"""The benchmark harness runs end to end on a tiny corpus and writes a well-formed result.

A smoke test, not a timing assertion: it checks the harness still works against the current API and
that its bit-compatibility check (nearcopy vs datasketch on real text) says identical.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_quick_benchmark_writes_a_result(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, str(ROOT / "benches" / "bench_minhash.py"), "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    data = json.loads(out.read_text())
    assert {"machine", "versions", "params", "corpus", "ratios", "targets"} <= data.keys()
    assert out.with_suffix(".md").read_text().startswith("# MinHash benchmark")
    assert "identical: yes" in result.stdout


def run_bench(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    command = [sys.executable, str(ROOT / "benches" / script), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=ROOT, env=env)


def test_filter_quality_benchmark_writes_every_case_and_both_curves(tmp_path: Path) -> None:
    out = tmp_path / "quality.json"
    result = run_bench(
        "bench_filter.py", "--functions", "15", "--passages", "15", "--negatives", "30", "--out", str(out)
    )
    assert result.returncode == 0, result.stderr[-2000:]
    data = json.loads(out.read_text())
    assert {"code renamed", "prose lightly edited", "code other projects (negative)"} <= data["cases"].keys()
    assert all(0.0 <= case["flag_rate"] <= 1.0 for case in data["cases"].values())
    assert [p["threshold"] for p in data["curves"]["code"]] == sorted(
        p["threshold"] for p in data["curves"]["code"]
    )
    assert out.with_suffix(".md").read_text().startswith("# Output filter quality")


def test_filter_speed_benchmark_on_a_small_index(tmp_path: Path) -> None:
    out = tmp_path / "speed.json"
    result = run_bench("bench_filter_speed.py", "--sizes", "2", "--answers", "20", "--out", str(out))
    assert result.returncode == 0, result.stderr[-2000:]
    (row,) = json.loads(out.read_text())
    assert row["mb"] >= 1.5 and row["documents"] > 0 and row["check_p99_ms"] >= row["check_p50_ms"] > 0


def test_serve_benchmark_runs_against_real_processes(tmp_path: Path) -> None:
    out = tmp_path / "serve.json"
    result = run_bench("bench_serve.py", "--quick", "--out", str(out))
    assert result.returncode == 0, result.stderr[-2000:]
    data = json.loads(out.read_text())
    assert [row["workers"] for row in data["rows"]] == [1, 2]
    first = data["rows"][0]
    assert first["check"]["requests"] == 60 and first["check"]["p99_ms"] >= first["check"]["p50_ms"] > 0
    assert first["streamed"]["chunks"] > 100 and "rss_after_mb" in first["memory"]
    assert out.with_suffix(".md").read_text().startswith("# Serving benchmark")


def test_memory_growth_benchmark_runs_and_reports_rss(tmp_path: Path) -> None:
    out = tmp_path / "memory.json"
    result = run_bench("bench_memory_growth.py", "--quick", "--out", str(out))
    assert result.returncode == 0, result.stderr[-2000:]
    data = json.loads(out.read_text())
    assert data["checks"] == 3000 and len(data["samples"]) >= 3
    # A generous bound, not a measurement: a few thousand checks must not add 200 MB.
    assert data["rss_growth_mb"] < 200, data
