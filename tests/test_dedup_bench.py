"""The dedup benchmarks (quality, end-to-end speed) run on a small set and write well-formed results."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def run_quick(script: str, out: Path) -> dict[str, Any]:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, str(ROOT / "benches" / script), "--quick", "--out", str(out)],
        capture_output=True, text=True, timeout=600, cwd=ROOT, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    data: dict[str, Any] = json.loads(out.read_text())
    return data


def test_quick_dedup_benchmark_writes_a_result(tmp_path: Path) -> None:
    out = tmp_path / "dedup.json"
    data = run_quick("bench_dedup.py", out)
    assert len(data["results"]) == 6 and data["set"]["true_duplicate_pairs"] > 0
    for scores in data["results"].values():
        assert 0.0 <= scores["precision"] <= 1.0 and scores["peak_mb"] > 0
    assert out.with_suffix(".md").read_text().startswith("# Dedup quality")


def test_quick_dedup_speed_benchmark_writes_a_result(tmp_path: Path) -> None:
    out = tmp_path / "speed.json"
    data = run_quick("bench_dedup_speed.py", out)
    assert set(data["results"]) == {"nearcopy 1 thread", "nearcopy all cores", "datasketch", "rensa"}
    for scores in data["results"].values():
        assert 0.0 <= scores["f1"] <= 1.0 and scores["docs_per_s"] > 0 and scores["kept"] > 0
    assert data["ratios_per_core"]["datasketch"] > 0
    assert out.with_suffix(".md").read_text().startswith("# Dedup end to end")
