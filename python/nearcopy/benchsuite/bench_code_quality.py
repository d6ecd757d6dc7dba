"""Which identifier abstraction catches disguised copies without flagging unrelated code?

For held-out functions of CPython's standard library (real code nobody here wrote), disguised copies
are made with the mutation harness of the tests (rename, reformat, comments, literals, a statement
edited, the copy embedded after other code, and all of these at once). For each identifier mode a copy
counts as *caught* when it shares a run of at least L normalized tokens with its source, and an
unrelated pair of functions (from different modules) as a *false positive* when they share one.

    python -m nearcopy.benchsuite.bench_code_quality [--functions 300] [--out PATH]
"""

from __future__ import annotations

import os

# numpy's OpenBLAS threads spin on the cores being measured unless told not to start.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import random
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt

import nearcopy

from . import benchutil, code_corpus, mutations

MODES = ("keep", "placeholder", "consistent", "members")
RUNS = (15, 25, 40)
DISGUISES = {
    "rename": ["rename"],
    "reformat": ["reformat", "comments"],
    "literals": ["literals"],
    "edit statement": ["edit"],
    "embedded": [],
    "all of them": ["rename", "reformat", "comments", "literals", "edit"],
}
IDIOMS = [
    'if __name__ == "__main__":\n    main()\n',
    "import os\nimport sys\n",
    "def __init__(self):\n    self.items = []\n",
    "try:\n    import threading\nexcept ImportError:\n    threading = None\n",
    "for i in range(len(items)):\n    print(i, items[i])\n",
    "with open(path) as f:\n    data = f.read()\n",
]
MULTIPLIERS = np.random.default_rng(12345).integers(1, 2**63, size=64, dtype=np.uint64) | np.uint64(1)


def run_hashes(symbols: npt.NDArray[np.uint64], length: int) -> set[int]:
    """Hashes of every run of `length` consecutive symbols (a random linear map, wrapping at 2^64)."""
    if len(symbols) < length:
        return set()
    windows = np.lib.stride_tricks.sliding_window_view(symbols, length)
    with np.errstate(over="ignore"):
        return set((windows * MULTIPLIERS[:length]).sum(axis=1, dtype=np.uint64).tolist())


def symbols(sources: list[str], mode: str) -> list[npt.NDArray[np.uint64]]:
    batch = nearcopy.code_tokens_batch(sources, nearcopy.CodeOptions("python", identifiers=mode))  # type: ignore[arg-type]
    return [batch.symbols[batch.tokens_of(d)] for d in range(len(batch))]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--functions", type=int, default=300)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    modules = code_corpus.sample("python", count=400, seed=11)
    module_of: list[int] = []
    functions: list[str] = []
    for m, (_, source) in enumerate(modules):
        for function in mutations.functions([source], min_lines=10):
            functions.append(function)
            module_of.append(m)
    rng = random.Random(3)
    chosen = sorted(rng.sample(range(len(functions)), min(args.functions, len(functions))))
    originals = [functions[i] for i in chosen]
    copies: dict[str, list[str]] = {}
    for name, kinds in DISGUISES.items():
        if name == "embedded":
            copies[name] = [functions[(i + 1) % len(functions)] + "\n\n" + functions[i] for i in chosen]
        else:
            copies[name] = [mutations.mutate(f, kinds, seed) for seed, f in enumerate(originals)]
    pairs = [(a, b) for a, b in (rng.sample(chosen, 2) for _ in range(3000)) if module_of[a] != module_of[b]]

    results: dict[str, dict[str, dict[str, float]]] = {}
    for mode in MODES:
        source_symbols = symbols(originals, mode)
        all_symbols = dict(zip(chosen, source_symbols))
        copy_symbols = {name: symbols(docs, mode) for name, docs in copies.items()}
        results[mode] = {}
        for length in RUNS:
            source_runs = [run_hashes(s, length) for s in source_symbols]
            row = {
                name: float(np.mean([bool(run_hashes(c, length) & r) for c, r in zip(syms, source_runs)]))
                for name, syms in copy_symbols.items()
            }
            row["false positives"] = float(
                np.mean(
                    [
                        bool(run_hashes(all_symbols[a], length) & run_hashes(all_symbols[b], length))
                        for a, b in pairs
                    ]
                )
            )
            # Short idioms common to many files: do they share such a run with any of the functions?
            every_run = set().union(*source_runs)
            row["idioms"] = float(
                np.mean([bool(run_hashes(i, length) & every_run) for i in symbols(IDIOMS, mode)])
            )
            results[mode][str(length)] = row

    lines = [
        f"# Code normalization quality ({len(originals)} held-out stdlib functions, "
        f"{len(pairs)} unrelated pairs; {time.perf_counter() - started:.0f} s)",
        "",
        "Share of disguised copies that still share a run of L normalized tokens with their source, and "
        "share of unrelated function pairs (different modules) that do (false positives), and share of short "
        "common idioms that share such a run with any of the functions.",
        "",
    ]
    for length in RUNS:
        names = [*DISGUISES, "false positives", "idioms"]
        lines += [
            f"## L = {length}",
            "",
            "| identifiers | " + " | ".join(names) + " |",
            "|---" * (len(names) + 1) + "|",
        ]
        for mode in MODES:
            lines.append(
                f"| {mode} | " + " | ".join(f"{results[mode][str(length)][n]:.3f}" for n in names) + " |"
            )
        lines.append("")
    benchutil.save_result(
        "code-quality",
        {"functions": len(originals), "pairs": len(pairs), "results": results},
        "\n".join(lines),
        args.out,
    )


if __name__ == "__main__":
    main()
