"""The memory-growth benchmark (`nearcopy.benchsuite.bench_memory_growth`, not in the suite's
registry: its full run is 20 minutes) runs end to end and reports RSS samples. A smoke test with
a generous bound, never a timing or memory measurement."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def test_memory_growth_benchmark_runs_and_reports_rss(tmp_path: Path) -> None:
    out = tmp_path / "memory.json"
    command = [sys.executable, "-m", "nearcopy.benchsuite.bench_memory_growth", "--quick", "--out", str(out)]
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    data = json.loads(out.read_text())
    assert data["checks"] == 3000 and len(data["samples"]) >= 3
    # A few thousand checks must not add 200 MB: catches a gross leak, never flakes on noise.
    assert data["rss_growth_mb"] < 200, data
