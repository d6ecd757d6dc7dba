"""Output-filter quality and speed on real corpora, with protected and held-out splits.

Code: modules of CPython's standard library (tests excluded), split 60/40 into protected and held-out;
functions found verbatim in several protected modules (boilerplate by design) are not positives, and
held-out functions found verbatim in a protected module are not negatives.
Prose: Perl's documentation (pod files), split the same way. Positives are disguised copies of
protected material, negatives held-out material in the same answer templates and short idioms that
many protected files share. Each answer's longest match is recorded once, so the whole
precision/recall curve over the threshold (`min_tokens`) comes from one pass.

    python benches/bench_filter.py [--functions 200] [--passages 200] [--out PATH]
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import random
import statistics
import sys
import sysconfig
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the mutation harness lives with the tests

import benchutil  # noqa: E402
import mutations  # noqa: E402
from nearcopy.filter import OutputFilter  # noqa: E402
from nearcopy.index import ProtectedIndex  # noqa: E402

THRESHOLDS = (10, 15, 20, 25, 30, 40, 50)
FENCE = "`" * 3
IDIOMS = [
    'if __name__ == "__main__":\n    main()\n',
    "import os\nimport sys\n",
    'def __repr__(self):\n    return f"{self.__class__.__name__}({self.name!r})"\n',
    "try:\n    import threading\nexcept ImportError:\n    threading = None\n",
    "def __init__(self):\n    self.items = []\n",
]


def split(
    items: list[tuple[str, str]], rng: random.Random
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    shuffled = rng.sample(items, len(items))
    cut = int(len(shuffled) * 0.6)
    return shuffled[:cut], shuffled[cut:]


def code_modules() -> list[tuple[str, str]]:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    out = []
    for path in sorted(stdlib.rglob("*.py")):
        parts = set(path.relative_to(stdlib).parts)
        if parts & {"site-packages", "__pycache__", "test", "tests", "idle_test"}:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if 500 < len(text) < 200_000:
            out.append((str(path.relative_to(stdlib)), text))
    return out


def prose_docs() -> list[tuple[str, str]]:
    docs = []
    for path in sorted(Path("/usr/share/perl").rglob("*.pod")):
        text = path.read_text(encoding="utf-8", errors="replace")
        if len(text) > 2000:
            docs.append((path.name, text))
    return docs


def passage(text: str, rng: random.Random, words: int = 80) -> str:
    tokens = text.split()
    start = rng.randrange(max(1, len(tokens) - words))
    return " ".join(tokens[start : start + words])


def light_edit(text: str, rng: random.Random) -> str:
    """5% of words substituted, 10% deleted."""
    out = []
    for word in text.split():
        roll = rng.random()
        if roll < 0.10:
            continue
        out.append("something" if roll < 0.15 else word)
    return " ".join(out)


def in_answer(body: str, code: bool) -> str:
    if code:
        return f"Sure! Here's an implementation:\n\n{FENCE}python\n{body}{FENCE}\n\nLet me know if it helps."
    return f"Here is what the documentation says, roughly: {body} I hope that answers your question."


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--functions", type=int, default=200)
    parser.add_argument("--passages", type=int, default=200)
    parser.add_argument("--k", type=int, default=None, help="k-gram length (default: the index default)")
    parser.add_argument("--w", type=int, default=None, help="winnowing window (default: the index default)")
    parser.add_argument("--code-k", type=int, default=None, help="k for code (default: the index default)")
    parser.add_argument("--code-w", type=int, default=None, help="w for code (default: the index default)")
    parser.add_argument("--max-doc-frequency", type=int, default=20)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    rng = random.Random(7)
    code_protected, code_held = split(code_modules(), rng)
    prose_protected, prose_held = split(prose_docs(), rng)
    documents = [{"id": p, "text": t, "language": "python"} for p, t in code_protected]
    documents += [{"id": p, "text": t} for p, t in prose_protected]
    protected_bytes = sum(len(d["text"].encode()) for d in documents)

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        given = (("k", args.k), ("w", args.w), ("code_k", args.code_k), ("code_w", args.code_w))
        sizes = {name: value for name, value in given if value is not None}
        index = ProtectedIndex.build(documents, Path(tmp) / "index", **sizes)
        build_seconds = time.perf_counter() - started
        index_info = index.info()
        output_filter = OutputFilter(
            index, min_tokens=min(THRESHOLDS), max_doc_frequency=args.max_doc_frequency
        )

        cases: dict[str, list[tuple[str, str | None]]] = {}  # name -> [(answer, source id or None)]
        # Positives: functions of one protected module (not boilerplate found in many); negatives:
        # held-out functions that no protected module contains verbatim (else they are copies too).
        protected_text = [t for _, t in code_protected]
        functions = [
            (p, f) for p, t in code_protected for f in mutations.functions([t], min_lines=8)
            if sum(f in other for other in protected_text) == 1
        ]  # fmt: skip
        held_functions = [
            f for _, t in code_held for f in mutations.functions([t], min_lines=8)
            if not any(f in other for other in protected_text)
        ]  # fmt: skip
        chosen = rng.sample(functions, min(args.functions, len(functions)))
        disguises = {
            "code verbatim": [], "code reformatted": ["reformat", "comments"], "code renamed": ["rename"],
            "code renamed + literals": ["rename", "literals"], "code statement edited": ["rename", "edit"],
        }  # fmt: skip
        for name, kinds in disguises.items():
            cases[name] = [
                (in_answer(mutations.mutate(f, kinds, i), True), p) for i, (p, f) in enumerate(chosen)
            ]
        cases["code partial copy"] = [
            (in_answer("".join(f.splitlines(keepends=True)[: max(8, len(f.splitlines()) // 2)]), True), p)
            for p, f in chosen
        ]
        cases["code held-out (negative)"] = [
            (in_answer(f, True), None)
            for f in rng.sample(held_functions, min(args.functions, len(held_functions)))
        ]
        cases["code idioms (negative)"] = [(in_answer(i, True), None) for i in IDIOMS]
        prose_chosen = [(p, passage(t, rng)) for p, t in rng.choices(prose_protected, k=args.passages)]
        cases["prose verbatim"] = [(in_answer(t, False), p) for p, t in prose_chosen]
        cases["prose reformatted"] = [
            (in_answer(t.upper().replace(" ", "\n ", 3), False), p) for p, t in prose_chosen
        ]
        cases["prose lightly edited"] = [(in_answer(light_edit(t, rng), False), p) for p, t in prose_chosen]
        cases["prose held-out (negative)"] = [
            (in_answer(passage(t, rng), False), None) for _, t in rng.choices(prose_held, k=args.passages)
        ]

        longest: dict[str, list[tuple[int, bool]]] = {}
        latencies = []
        for name, answers in cases.items():
            rows = []
            for answer, source in answers:
                started = time.perf_counter()
                verdict = output_filter.check(answer)
                latencies.append(time.perf_counter() - started)
                top = verdict.matches[0] if verdict.matches else None
                rows.append((top.tokens if top else 0, top is not None and top.doc_id == source))
            longest[name] = rows

    table: dict[str, dict[str, float]] = {}
    for name, rows in longest.items():
        table[name] = {str(t): sum(tokens >= t for tokens, _ in rows) / len(rows) for t in THRESHOLDS}
        flagged = [right for tokens, right in rows if tokens >= 25]
        table[name]["right source"] = sum(flagged) / len(flagged) if flagged else float("nan")
    latencies.sort()
    result: dict[str, Any] = {
        "protected_documents": len(documents), "protected_mb": protected_bytes / 1e6,
        "build_seconds": build_seconds, "index": index_info,
        "check_p50_ms": 1000 * statistics.median(latencies),
        "check_p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
        "flag_rate_by_threshold": table,
    }  # fmt: skip
    lines = [
        f"# Output filter quality ({len(documents)} protected documents, {protected_bytes / 1e6:.1f} MB; "
        f"check p50 {result['check_p50_ms']:.2f} ms, p99 {result['check_p99_ms']:.2f} ms)",
        "",
        "Share of answers flagged at each threshold (min_tokens); positives should be near 1, negatives "
        "near 0. 'right source' is the share of answers flagged at 25 whose top match names the copied "
        "document.",
        "",
        "| case | " + " | ".join(f">= {t}" for t in THRESHOLDS) + " | right source |",
        "|---" * (len(THRESHOLDS) + 2) + "|",
    ]
    for name, row in table.items():
        cells = " | ".join(f"{row[str(t)]:.3f}" for t in THRESHOLDS)
        lines.append(f"| {name} | {cells} | {row['right source']:.3f} |")
    benchutil.save_result("filter-quality", result, "\n".join(lines), args.out)


if __name__ == "__main__":
    main()
