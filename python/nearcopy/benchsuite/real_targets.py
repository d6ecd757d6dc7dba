"""The issue's targets for ``filter-real``, measured on the summary cells (reported, never
asserted), and for every target missed a few of the answers that missed it, with what
``split_answer`` made of them and whether the peers caught them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

import nearcopy

from .real_answers import BARE_SHAPES
from .real_corpus import Corpus

SPREAD = ("verbatim", "reformatted", "renamed")
EDITED = ("renamed + literals", "statement edited")
UNRELATED_PROSE = ("held-out (negative)", "man pages (negative)")
ALL = "all"
# label, group, cases (a tuple, or a prefix), shapes ("bare", "answers" = every other, or a tuple),
# direction, bound: the targets at the filter's defaults.
TARGETS: list[tuple[str, str, tuple[str, ...] | str, tuple[str, ...] | str, str, float]] = [
    (
        "code verbatim, reformatted, renamed, with header: bare",
        "code",
        (*SPREAD, "with file header"),
        "bare",
        ">=",
        0.98,
    ),
    (
        "code verbatim, reformatted, renamed, with header: in answers",
        "code",
        (*SPREAD, "with file header"),
        "answers",
        ">=",
        0.98,
    ),
    ("code renamed + literals, statement edited: bare", "code", EDITED, "bare", ">=", 0.95),
    ("code renamed + literals, statement edited: in answers", "code", EDITED, "answers", ">=", 0.95),
    (
        "code embedded among other blocks (verbatim, reformatted, renamed)",
        "code",
        SPREAD,
        ("embedded",),
        ">=",
        0.95,
    ),
    ("code partial copies of >= 50 tokens", "code", ("partial (>= 50 tokens)",), ALL, ">=", 0.90),
    (
        "code partial copies of >= 50 tokens, indented as in their function or from mid-line",
        "code",
        ("partial, indented (>= 50 tokens)", "partial, from mid-line (>= 50 tokens)"),
        ALL,
        ">=",
        0.90,
    ),
    ("clone-dense verbatim, reformatted, renamed", "clone-dense", SPREAD, ALL, ">=", 0.98),
    ("clone-dense renamed + literals, statement edited", "clone-dense", EDITED, ALL, ">=", 0.95),
    ("prose verbatim, reformatted", "prose", ("verbatim", "reformatted"), ALL, ">=", 0.98),
    ("prose lightly edited", "prose", ("lightly edited",), ALL, ">=", 0.90),
    ("prose embedded", "prose", ("embedded",), ALL, ">=", 0.95),
    ("unrelated code: bare (negative)", "code", ("held-out (negative)",), "bare", "<=", 0.005),
    ("unrelated code: in answers (negative)", "code", ("held-out (negative)",), "answers", "<=", 0.005),
    (
        "clone-dense, other implementations of the same tasks (negative)",
        "clone-dense",
        ("same task (negative)",),
        ALL,
        "<=",
        0.005,
    ),
    ("unrelated prose: bare (negative)", "prose", UNRELATED_PROSE, ("bare",), "<=", 0.005),
    ("unrelated prose: in answers (negative)", "prose", UNRELATED_PROSE, ("in an answer",), "<=", 0.005),
    ("generated helpers: TypeScript, Babel (negative)", "idioms", ("generated helpers",), ALL, "<=", 0.01),
    ("licence headers (negative)", "idioms", "licence headers", ALL, "<=", 0.01),
    ("short idioms (negative)", "idioms", ("short idioms",), ALL, "<=", 0.01),
]


def matches(
    cell: dict[str, Any], group: str, cases: tuple[str, ...] | str, shapes: tuple[str, ...] | str
) -> bool:
    if cell["group"] != group:
        return False
    if not (cell["case"].startswith(cases) if isinstance(cases, str) else cell["case"] in cases):
        return False
    if shapes == "bare":
        return cell["shape"] in BARE_SHAPES
    if shapes == "answers":
        return cell["shape"] not in BARE_SHAPES
    return shapes == ALL or cell["shape"] in shapes


def pooled(cells: Iterable[dict[str, Any]], key: str = "flag_rate") -> tuple[float | None, int]:
    chosen = [c for c in cells if c[key] is not None]
    answers = sum(c["answers"] for c in chosen)
    return (sum(c[key] * c["answers"] for c in chosen) / answers if answers else None), answers


def _verdict(value: float | None, op: str, bound: float) -> str:
    if value is None:
        return "n/a"
    return "pass" if (value >= bound if op == ">=" else value <= bound) else "short"


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for label, group, cases, shapes, op, bound in TARGETS:
        cells = [c for c in result["cells"] if matches(c, group, cases, shapes)]
        value, answers = pooled(cells)
        hinted, _ = pooled(cells, "hint_flag_rate")
        out.append(
            {
                "target": label,
                "answers": answers,
                "value": value,
                "hinted": hinted,
                "op": op,
                "bound": bound,
                "verdict": _verdict(value, op, bound),
            }
        )
    flagged = [c for c in result["cells"] if c["positive"] and c["right_first"] is not None]
    for key, label in (
        ("right_first", "right source: first match"),
        ("right_among", "right source: among the matches"),
    ):
        total = sum(c["flagged"] for c in flagged)
        value = sum(c[key] * c["flagged"] for c in flagged) / total if total else None
        out.append(
            {
                "target": label,
                "answers": total,
                "value": value,
                "hinted": None,
                "op": ">=",
                "bound": 0.99,
                "verdict": _verdict(value, ">=", 0.99),
            }
        )
    # The latency target is for answers of 2 KB (over every size, whole files among them,
    # the latency table reports it). Results from before the 2 KB bucket judged all answers.
    bucket = "answers of 2 KB or less" if "answers of 2 KB or less" in result["latency"] else "all answers"
    latency = result["latency"][bucket]
    out.append(
        {
            "target": f"check p99 (ms), {bucket}",
            "answers": latency["answers"],
            "value": latency["p99_ms"],
            "hinted": latency["hint_p99_ms"],
            "op": "<=",
            "bound": 1.0,
            "verdict": _verdict(latency["p99_ms"], "<=", 1.0),
        }
    )
    return out


def _split_summary(text: str) -> str:
    parts = [
        f"{s.kind}{'/' + s.language if s.language else ''}[{s.start}:{s.end}]"
        for s in nearcopy.split_answer(text)
    ]
    return ", ".join(parts) or "(nothing)"


def _shorten(text: str, head: int = 420, tail: int = 120) -> str:
    return (
        text
        if len(text) <= head + tail + 20
        else f"{text[:head]}\n[... {len(text) - head - tail} characters ...]\n{text[-tail:]}"
    )


def examples(
    result: dict[str, Any], rows: list[dict[str, Any]], corpus: Corpus, index_examples: int
) -> list[dict[str, Any]]:
    """For each target missed: a few answers that missed it (missed copies, flagged negatives),
    one language after another."""
    out = []
    for (label, group, cases, shapes, _, _), target in zip(TARGETS, result["targets"]):
        if target["verdict"] != "short":
            continue
        wrong = [r for r in rows if matches(r, group, cases, shapes) and r["flagged"] != r["positive"]]
        by_language: dict[str, list[dict[str, Any]]] = {}
        for row in wrong:  # one answer per copied item first: the same function in nine shapes says less
            by_language.setdefault(row["language"], []).append(row)
        for queue in by_language.values():
            origins: Counter[str] = Counter()
            for row in queue:
                row["_rank"] = origins[corpus.answers[row["i"]].origin]
                origins[corpus.answers[row["i"]].origin] += 1
            queue.sort(key=lambda r: r["_rank"])
        picked: list[dict[str, Any]] = []
        while len(picked) < index_examples and any(by_language.values()):
            for queue in by_language.values():
                if queue and len(picked) < index_examples:
                    picked.append(queue.pop(0))
        for row in picked:
            answer = corpus.answers[row["i"]]
            out.append(
                {
                    "target": label,
                    "case": answer.case,
                    "language": row["language"],
                    "shape": answer.shape,
                    "origin": answer.origin,
                    "sources": len(answer.sources),
                    "tokens": answer.tokens,
                    "flagged": row["flagged"],
                    "split": _split_summary(answer.text),
                    "text": _shorten(answer.text),
                    "exact8": row["exact8"],
                    "kgram": row["kgram"],
                }
            )
    return out
