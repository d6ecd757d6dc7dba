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
        capture_output=True, text=True, timeout=600, cwd=ROOT, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    data = json.loads(out.read_text())
    assert {"machine", "versions", "params", "corpus", "ratios", "targets"} <= data.keys()
    assert out.with_suffix(".md").read_text().startswith("# MinHash benchmark")
    assert "identical: yes" in result.stdout
