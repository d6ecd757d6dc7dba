"""The `nearcopy bench` verb: run the CPU benchmark suite, or compare two of its results.

Exit status: 0 done (also when a benchmark failed or was skipped: the report says which), 1 with
`--fail-on-regression` when `--compare` finds a figure that got worse, 2 bad usage or an unreadable
results file, 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from nearcopy.benchsuite import benchutil, compare, registry, suite, suite_report

DESCRIPTION = f"""\
Run the CPU benchmark suite: {", ".join(registry.NAMES)}. Each benchmark runs nearcopy and the
peers doing the same job (datasketch, rensa, the bare tree-sitter parse) on the same data in the
same run. Writes OUT/results.json, OUT/report.md with PNG plots, and each benchmark's own report
under OUT/benchmarks/. Needs the `bench` extra (pip install 'nearcopy[bench]'); a benchmark whose
peer is missing is reported as skipped. --quick takes under 5 minutes on 2 cores, the full suite
under an hour. Corpora are built from what the machine has and cached (--cache-dir)."""

COMPARE_HELP = """\
compare with an earlier results.json (or its directory): after this run, or, given two files,
OLD and NEW without running anything. Prints what got faster or slower beyond the noise"""


def default_out(size: str) -> Path:
    """Full runs of a checkout go to benches/results/ (committed, README generated from them);
    quick and tiny runs to the cache, so they never sit beside real results."""
    stamp = f"{time.strftime('%Y%m%d')}-{benchutil.cpu_slug()}"
    if size == "full":
        return benchutil.results_dir() / f"suite-{stamp}"
    return benchutil.cache_dir() / "bench-results" / f"suite-{size}-{stamp}"


def cmd_bench(args: argparse.Namespace) -> int:
    if args.compare and len(args.compare) > 2:
        raise ValueError("--compare takes OLD_RESULTS or OLD_RESULTS NEW_RESULTS")
    if args.compare and len(args.compare) == 2:
        old, new = (suite.load(Path(p)) for p in args.compare)
        return _report_comparison(old, new, args)
    old_results = suite.load(Path(args.compare[0])) if args.compare else None  # fail before running
    size = "quick" if args.quick else args.size
    out = args.out or default_out(size)
    options = suite.SuiteOptions(
        size=size, only=args.only, out=out, cache_dir=args.cache_dir, plots=not args.no_plots
    )
    results = suite.run(options)
    print(suite_report.summary_table(results))
    print(f"\nwrote {out / 'report.md'} and {out / 'results.json'} ({results['suite']['seconds']} s)")
    if old_results is not None:
        return _report_comparison(old_results, results, args)
    return 0


def _report_comparison(old: dict[str, Any], new: dict[str, Any], args: argparse.Namespace) -> int:
    text, worse = compare.render(old, new, args.noise)
    print(text)
    return 1 if worse and args.fail_on_regression else 0


def add_verbs(verbs: Any) -> None:
    sub = verbs.add_parser(
        "bench", help="run the CPU benchmark suite against the peers", description=DESCRIPTION
    )
    sub.add_argument("--quick", action="store_true", help="small inputs, same code (same as --size quick)")
    sub.add_argument(
        "--size",
        choices=registry.SIZES,
        default="full",
        help="input sizes (default full; tiny is the smoke test)",
    )
    sub.add_argument(
        "--only", nargs="+", metavar="NAME", choices=registry.NAMES, help="run only these benchmarks"
    )
    sub.add_argument(
        "--out", type=Path, help="output directory (default: benches/results/suite-DATE-CPU in a checkout "
        "for full runs, the cache for quick ones)"
    )  # fmt: skip
    sub.add_argument(
        "--cache-dir", type=Path, help="corpus cache (default .cache/ of a checkout, else ~/.cache/nearcopy)"
    )
    sub.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    group = sub.add_argument_group("comparing runs")
    group.add_argument("--compare", nargs="+", metavar="RESULTS", help=COMPARE_HELP)
    group.add_argument(
        "--noise",
        type=float,
        default=0.10,
        help="relative change of a speed figure taken as noise (default 0.10)",
    )
    group.add_argument(
        "--fail-on-regression",
        action="store_true",
        help="exit 1 when --compare finds a figure that got worse",
    )
    sub.set_defaults(run=cmd_bench)
