"""Output-filter quality on what users actually send: bare and fenced code of five languages, a
clone-dense protected corpus, generated helpers and licence headers, prose.

The labelled answers come from ``real_cases`` (real functions of this machine's source trees,
disguised, in nine answer shapes; labels from an independent reference). Every answer is checked
at the filter's defaults through the public API only (``ProtectedIndex``, ``OutputFilter``,
``split_answer``), timed, and its split compared with where the code really is. When
``OutputFilter.check`` accepts a ``language`` hint, every answer holding code is checked again with
the oracle language. Two peers run on the same answers: a plain exact 8-gram matcher and a
tree-sitter k-gram reference given the oracle language and code spans (``real_reference``).

    python -m nearcopy.benchsuite.bench_filter_real [--size tiny|quick|full] [--seed 7] [--out PATH]
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import inspect
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

import nearcopy

from . import benchutil, real_cases, real_report, real_targets
from .real_answers import BARE_SHAPES, Answer
from .real_reference import PEER_RUN

SIZES = {
    "tiny": real_cases.Sizes(
        files=16, functions=2, negatives=6, groups=2, clone_files=60, passages=4, prose_negatives=8
    ),
    "quick": real_cases.Sizes(
        files=150, functions=15, negatives=40, groups=10, clone_files=600, passages=40, prose_negatives=100
    ),
    "full": real_cases.Sizes(
        files=500, functions=60, negatives=150, groups=30, clone_files=2500, passages=150, prose_negatives=400
    ),
}
WHITE = np.frombuffer(b" \t\r\n", dtype=np.uint8)


def hint_supported(output_filter: nearcopy.OutputFilter) -> bool:
    """Whether this nearcopy's ``check`` takes a ``language`` hint (the issue adds one)."""
    return "language" in inspect.signature(output_filter.check).parameters


def splitter_scores(answer: Answer, segments: list[nearcopy.Segment]) -> dict[str, bool | None]:
    """How ``split_answer`` did on one answer, against where its code really is: every code part
    found as one code segment covering 90% or more of its (non-blank) bytes, in the right language;
    no line of prose inside a code segment."""
    raw = np.frombuffer(answer.text.encode("utf-8", "surrogatepass"), dtype=np.uint8)
    solid = ~np.isin(raw, WHITE)
    in_code = np.zeros(len(raw), dtype=bool)
    code = [s for s in segments if s.kind == "code"]
    for part in code:
        in_code[part.start : part.end] = True
    solid_sum = np.concatenate([[0], np.cumsum(solid)])
    found: bool | None = None
    right: bool | None = None
    for span in answer.code_spans():
        need = solid_sum[span.end] - solid_sum[span.start]
        covered: list[tuple[int, nearcopy.Segment | None]] = [
            (solid_sum[min(span.end, s.end)] - solid_sum[max(span.start, s.start)], s)
            for s in code
            if s.start < span.end and s.end > span.start
        ]
        best, segment = max(covered, key=lambda c: c[0], default=(0, None))  # the segment covering most
        ok = bool(need == 0 or best >= 0.9 * need)
        found = ok if found is None else found and ok
        same = ok and segment is not None and segment.language == span.language
        right = same if right is None else right and same
    kept = True
    solid_code = np.concatenate([[0], np.cumsum(solid & in_code)])
    for span in answer.spans:
        if span.language is None and span.role in ("prose", "copy"):
            at = span.start
            for line in answer.text.encode("utf-8", "surrogatepass")[span.start : span.end].split(b"\n"):
                end = at + len(line)
                letters = solid_sum[end] - solid_sum[at]
                if letters and solid_code[end] - solid_code[at] == letters:
                    kept = False
                at = end + 1
    return {"code_found": found, "language_right": right, "prose_kept": kept}


def measure(
    corpus: real_cases.Corpus, output_filter: nearcopy.OutputFilter, hinted: bool
) -> list[dict[str, Any]]:
    """One row per answer: nearcopy's verdict, time and attribution, the hinted verdict, the
    peers' verdicts and the splitter's scores. The checks are timed one after another, as a server
    makes them, then the hinted ones; the peers and the splitter's scores come after. With the
    peers' work between two checks (Python sets of n-grams, another parse: likely what left the
    filter's data out of the caches), the p99 of answers of 2 KB or less was 1.05 ms, against
    0.65-0.75 ms for the same checks made one after another."""
    for answer in corpus.answers[:20]:  # warm-up: grammars and pools start once, not per check
        output_filter.check(answer.text)
    timed = [_timed(output_filter.check, answer.text) for answer in corpus.answers]
    hint: list[tuple[nearcopy.Verdict, float] | None] = [
        _timed(output_filter.check, answer.text, language=answer.language)
        if hinted and answer.language is not None
        else None
        for answer in corpus.answers
    ]
    rows = []
    for i, answer in enumerate(corpus.answers):
        verdict, ms = timed[i]
        docs = [m.doc_id for m in verdict.matches]
        row: dict[str, Any] = {
            "i": i,
            "group": answer.group,
            "case": answer.case,
            "language": answer.language or "prose",
            "shape": answer.shape,
            "positive": answer.positive,
            "flagged": verdict.flagged,
            "ms": ms,
            "bytes": len(answer.text.encode("utf-8", "surrogatepass")),
            "first_right": bool(docs) and docs[0] in answer.sources,
            "among": any(d in answer.sources for d in docs),
            "sources": len(answer.sources),
            "exact8": corpus.words.flags(answer.text),
            "kgram": None,
            "hint_flagged": None,
            "hint_ms": None,
        }
        if answer.language is not None:
            reference = corpus.references[answer.language]
            raw = answer.text.encode("utf-8", "surrogatepass")
            row["kgram"] = any(
                reference.longest_run(raw[s.start : s.end].decode("utf-8", "replace")) >= PEER_RUN
                for s in answer.code_spans()
            )
        hinted_check = hint[i]
        if hinted_check is not None:
            row["hint_flagged"], row["hint_ms"] = hinted_check[0].flagged, hinted_check[1]
        row.update(splitter_scores(answer, nearcopy.split_answer(answer.text)))
        row["split_ok"] = (
            row["prose_kept"] and row["code_found"] is not False and row["language_right"] is not False
        )
        rows.append(row)
    return rows


def _timed(check: Callable[..., nearcopy.Verdict], text: str, **hint: Any) -> tuple[nearcopy.Verdict, float]:
    """The verdict of ``check(text, **hint)`` and its milliseconds."""
    started = time.perf_counter()
    verdict = check(text, **hint)
    return verdict, 1000 * (time.perf_counter() - started)


def share(rows: Iterable[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in rows if r[key] is not None]
    return sum(map(bool, values)) / len(values) if values else None


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Flag rates and attribution per (group, case, language, shape), and the splitter's scores."""
    cells: dict[tuple[str, str, str, str], list[dict[str, Any]]] = {}
    for row in rows:
        cells.setdefault((row["group"], row["case"], row["language"], row["shape"]), []).append(row)
    out = []
    for (group, case, language, shape), members in sorted(cells.items()):
        flagged = [r for r in members if r["flagged"]]
        positive = members[0]["positive"]
        out.append(
            {
                "group": group,
                "case": case,
                "language": language,
                "shape": shape,
                "positive": positive,
                "answers": len(members),
                "flagged": len(flagged),
                "flag_rate": share(members, "flagged"),
                "right_first": share(flagged, "first_right") if positive and flagged else None,
                "right_among": share(flagged, "among") if positive and flagged else None,
                "several_sources": sum(r["sources"] > 1 for r in members) if positive else None,
                "hint_flag_rate": share(members, "hint_flagged"),
                "exact8_rate": share(members, "exact8"),
                "kgram_rate": share(members, "kgram"),
                "code_found": share(members, "code_found"),
                "language_right": share(members, "language_right"),
                "prose_kept": share(members, "prose_kept"),
                "split_correct": share(members, "split_ok"),
            }
        )
    return {"cells": out}


SMALL_BYTES = 2048
SMALL = "answers of 2 KB or less"


def latency(rows: list[dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    def pct(values: list[float], q: float) -> float | None:
        ordered = sorted(values)
        return ordered[int(q * (len(ordered) - 1))] if ordered else None

    # The latency target is for answers of 2 KB; the set also holds whole files and long
    # passages, whose checks take longer in proportion.
    by_shape: dict[str, list[dict[str, Any]]] = {
        "all answers": rows,
        SMALL: [r for r in rows if r["bytes"] <= SMALL_BYTES],
        "answers over 2 KB": [r for r in rows if r["bytes"] > SMALL_BYTES],
    }
    for row in rows:
        by_shape.setdefault(row["shape"], []).append(row)
    return {
        shape: {
            "answers": len(members),
            "p50_ms": pct([r["ms"] for r in members], 0.5),
            "p99_ms": pct([r["ms"] for r in members], 0.99),
            "hint_p50_ms": pct([r["hint_ms"] for r in members if r["hint_ms"] is not None], 0.5),
            "hint_p99_ms": pct([r["hint_ms"] for r in members if r["hint_ms"] is not None], 0.99),
        }
        for shape, members in by_shape.items()
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=tuple(SIZES), default="full")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--examples", type=int, default=3, help="failing answers shown per case below target")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    corpus = real_cases.build(args.seed, SIZES[args.size])
    build_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        index = nearcopy.ProtectedIndex.build(corpus.documents, Path(tmp) / "index")
        index_s = time.perf_counter() - started
        output_filter = nearcopy.OutputFilter(index)
        hinted = hint_supported(output_filter)
        started = time.perf_counter()
        rows = measure(corpus, output_filter, hinted)
        measure_s = time.perf_counter() - started
        info = {k: v for k, v in index.info().items() if k != "path"}
    by_language: dict[str, dict[str, float]] = {}
    for document in corpus.documents:
        entry = by_language.setdefault(document.get("language", "prose"), {"documents": 0, "mb": 0.0})
        entry["documents"] += 1
        entry["mb"] += len(document["text"].encode("utf-8", "surrogatepass")) / 1e6
    result: dict[str, Any] = {
        "size": args.size,
        "seed": args.seed,
        "sizes": vars(SIZES[args.size]),
        "protected": by_language,
        "index": info,
        "answers": len(rows),
        "hint_supported": hinted,
        "defaults": {
            "min_tokens": output_filter.min_tokens,
            "min_code_tokens": output_filter.min_code_tokens,
            "max_doc_frequency": output_filter.max_doc_frequency,
        },
        "set_aside": dict(corpus.set_aside),
        "info": corpus.info,
        "latency": latency(rows),
        "seconds": {"cases": build_s, "index": index_s, "checks": measure_s},
        "bare_shapes": list(BARE_SHAPES),
        **summarize(rows),
        "machine": benchutil.machine_info(),
    }
    result["targets"] = real_targets.targets(result)
    result["examples"] = real_targets.examples(result, rows, corpus, index_examples=args.examples)
    p99 = result["latency"]["all answers"]["p99_ms"]
    print(
        f"filter-real: {len(rows)} answers, check p50 {statistics.median(r['ms'] for r in rows):.3f} ms, "
        f"p99 {p99:.3f} ms; cases {build_s:.1f} s, checks {measure_s:.1f} s"
    )
    benchutil.save_result("filter-real", result, real_report.render(result), args.out)


if __name__ == "__main__":
    main()
