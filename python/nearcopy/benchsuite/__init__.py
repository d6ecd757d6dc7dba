"""The CPU benchmark suite (`nearcopy bench`, `make bench`): nearcopy against the peers doing the
same job (datasketch, rensa, the bare tree-sitter parse) on the same data in the same run.

It lives in the package, not only in the repository, so that a user who installed the wheel with
the `bench` extra can reproduce the published figures on their own machine: `nearcopy bench --quick`.
The benchmark modules (`bench_*.py`) each still run on their own with `python -m
nearcopy.benchsuite.bench_minhash --help`; `suite` runs them together, `suite_report` and
`suite_plots` write report.md, `compare` diffs two results.json files. The corpus builders
(`corpus`, `source_corpus`, `code_corpus`, `filter_cases`, the `real_*` modules of `filter-real`)
and the code mutations and serving harness are shared with the test suite.

    from pathlib import Path
    from nearcopy.benchsuite import run, SuiteOptions
    results = run(SuiteOptions(size="quick", only=["minhash"], out=Path("bench-out")))
"""

from __future__ import annotations

from .registry import NAMES, SIZES
from .suite import SuiteOptions, load, run

__all__ = ["NAMES", "SIZES", "SuiteOptions", "load", "run"]
