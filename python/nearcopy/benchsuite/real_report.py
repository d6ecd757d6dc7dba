"""The Markdown report of ``filter-real``: the targets beside the figures, the flag rates per case,
language and answer shape with the peers beside them, idioms, prose, check latency, the answer
splitter's own accuracy, the clone-dense tasks, and the answers that missed a target."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from . import benchutil
from .real_answers import BARE_SHAPES, CODE_SHAPES, PROSE_SHAPES
from .real_targets import pooled

Cells = list[dict[str, Any]]
SHORT = {
    "bare + prose after": "bare+prose", "prose line + code": "line+code", "fenced, no tag": "no tag",
    "fenced, other tag": "other tag", "unclosed fence": "unclosed", "numbered list": "list",
}  # fmt: skip


def _rate(value: float | None) -> str:
    return benchutil.fmt(value, 3)


def _table(headers: list[str], rows: list[list[Any]]) -> list[str]:
    """A Markdown table whose columns holding any figure are right-aligned."""
    numeric = [any(re.fullmatch(r"[-+]?[\d.,]+", str(row[i])) for row in rows) for i in range(len(headers))]
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---:" if n else "---" for n in numeric) + "|"]
    out += ["| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in rows]
    return ["\n".join(out), ""]


def _rate_of(cells: Iterable[dict[str, Any]], key: str = "flag_rate") -> str:
    return _rate(pooled(cells, key)[0])


def _weighted(cells: Cells, key: str) -> float | None:
    """An attribution share over the flagged answers of the cells."""
    chosen = [c for c in cells if c[key] is not None]
    flagged = sum(c["flagged"] for c in chosen)
    return sum(c[key] * c["flagged"] for c in chosen) / flagged if flagged else None


def header(result: dict[str, Any]) -> list[str]:
    cells, defaults, seconds = result["cells"], result["defaults"], result["seconds"]
    protected = ", ".join(f"{k} {v['documents']} ({v['mb']:.1f} MB)" for k, v in result["protected"].items())
    several = sum(c["several_sources"] or 0 for c in cells)
    positives = sum(c["answers"] for c in cells if c["positive"])
    hint = "measured" if result["hint_supported"] else "not in this nearcopy, not measured"
    return [
        f"# Output filter on real outputs ({result['answers']} answers, size {result['size']}, "
        f"seed {result['seed']}; check p99 {result['latency']['all answers']['p99_ms']:.2f} ms)",
        "",
        f"Protected documents per language: {protected}. Defaults: min_tokens {defaults['min_tokens']}, "
        f"min_code_tokens {defaults['min_code_tokens']}, max_doc_frequency {defaults['max_doc_frequency']}. "
        f"Language hint (`check(text, language=...)`): {hint}. Held-out items the reference found "
        f"copied, set aside: {result['set_aside']}. Positive answers whose copy several protected "
        f"documents hold: {several} of {positives}. Languages missing on this machine: "
        f"{result['info']['missing_languages'] or 'none'}. Seconds: cases {seconds['cases']:.0f}, "
        f"index {seconds['index']:.1f}, checks {seconds['checks']:.0f}.",
        "",
        "## Targets (the issue's; reported, not asserted)",
        "",
        *_table(
            ["target", "answers", "nearcopy", "with language hint", "target", "verdict"],
            [[t["target"], t["answers"], _rate(t["value"]), _rate(t["hinted"]), f"{t['op']} {t['bound']}",
              t["verdict"]] for t in result["targets"]],
        ),
    ]  # fmt: skip


def code_tables(cells: Cells) -> list[str]:
    cases = sorted({(c["group"], c["case"]) for c in cells if c["group"] in ("code", "clone-dense")})
    shapes = [s for s in CODE_SHAPES if any(c["shape"] == s for c in cells)]
    rows = []
    for group, case in cases:
        mine = [c for c in cells if (c["group"], c["case"]) == (group, case)]
        per_shape = [_rate_of(c for c in mine if c["shape"] == s) for s in shapes]
        peers = [_rate_of(mine, "exact8_rate"), _rate_of(mine, "kgram_rate")]
        rows.append([f"{group}: {case}", pooled(mine)[1], *per_shape, *peers])
    lines = ["## Code copies per answer shape (all languages)", ""]
    lines += _table(
        ["case", "answers", *[SHORT.get(s, s) for s in shapes], "exact 8-gram", "tree-sitter k-gram"], rows
    )
    lines += [
        "## Per language: bare and in answers", "",
        "bare: the code alone, with a prose line after it, or after one line of prose; in answers: every "
        "fenced shape. Right source: among flagged answers, the first match is a protected document that "
        "holds the copy / one of the matches is.", "",
    ]  # fmt: skip
    rows = []
    for language in sorted({c["language"] for c in cells if c["group"] in ("code", "clone-dense")}):
        for group, case in cases:
            mine = [c for c in cells if (c["group"], c["case"], c["language"]) == (group, case, language)]
            if not mine:
                continue
            bare = [c for c in mine if c["shape"] in BARE_SHAPES]
            fenced = [c for c in mine if c["shape"] not in BARE_SHAPES]
            rows.append([
                language, f"{group}: {case}", pooled(mine)[1], _rate_of(bare), _rate_of(fenced),
                _rate_of(bare, "hint_flag_rate"), _rate_of(fenced, "hint_flag_rate"),
                _rate(_weighted(mine, "right_first")), _rate(_weighted(mine, "right_among")),
                _rate_of(mine, "exact8_rate"), _rate_of(mine, "kgram_rate"),
            ])  # fmt: skip
    headers = ["language", "case", "answers", "bare", "in answers", "hint: bare", "hint: in answers",
               "right source first", "right source among", "exact 8-gram", "tree-sitter k-gram"]  # fmt: skip
    return lines + _table(headers, rows)


def idiom_and_prose_tables(cells: Cells) -> list[str]:
    lines = ["## Idioms and generated code (negatives)", ""]
    rows = []
    for case, language in sorted({(c["case"], c["language"]) for c in cells if c["group"] == "idioms"}):
        mine = [c for c in cells if c["group"] == "idioms" and (c["case"], c["language"]) == (case, language)]
        rows.append([case, language, pooled(mine)[1], _rate_of(mine), _rate_of(mine, "exact8_rate"),
                     _rate_of(mine, "kgram_rate")])  # fmt: skip
    lines += _table(["kind", "language", "answers", "flagged", "exact 8-gram", "tree-sitter k-gram"], rows)
    lines += ["## Prose", ""]
    rows = []
    for case in sorted({c["case"] for c in cells if c["group"] == "prose"}):
        mine = [c for c in cells if c["group"] == "prose" and c["case"] == case]
        per_shape = [_rate_of(c for c in mine if c["shape"] == s) for s in PROSE_SHAPES]
        rows.append([case, pooled(mine)[1], *per_shape, _rate_of(mine, "exact8_rate"),
                     _rate(_weighted(mine, "right_first"))])  # fmt: skip
    return lines + _table(["case", "answers", *PROSE_SHAPES, "exact 8-gram", "right source first"], rows)


def latency_table(result: dict[str, Any]) -> list[str]:
    rows = [
        [
            shape,
            v["answers"],
            *(benchutil.fmt(v[k], 3) for k in ("p50_ms", "p99_ms", "hint_p50_ms", "hint_p99_ms")),
        ]
        for shape, v in result["latency"].items()
    ]
    lines = ["## Check latency per answer shape (one thread, defaults)", ""]
    return lines + _table(["shape", "answers", "p50 ms", "p99 ms", "hint p50 ms", "hint p99 ms"], rows)


def splitter_tables(cells: Cells) -> list[str]:
    lines = [
        "## The answer splitter on its own (`split_answer`)", "",
        "Correct: every code part of the answer found as one code segment covering >= 90% of its "
        "non-blank bytes, in the right language, and no line of prose inside a code segment. Over every "
        "answer holding code (positives and negatives); prose answers count for 'prose kept' only.", "",
    ]  # fmt: skip
    coded = [c for c in cells if c["language"] != "prose"]
    shapes = [s for s in CODE_SHAPES if any(c["shape"] == s for c in coded)]
    headers = [SHORT.get(s, s) for s in shapes]
    rows = []
    for language in [*sorted({c["language"] for c in coded}), "all"]:
        mine = [c for c in coded if language in ("all", c["language"])]
        rows.append(
            [language, *[_rate_of((c for c in mine if c["shape"] == s), "split_correct") for s in shapes]]
        )
    lines += _table(["correct", *headers], rows)
    rows = [
        [key.replace("_", " "), *[_rate_of((c for c in coded if c["shape"] == s), key) for s in shapes]]
        for key in ("code_found", "language_right", "prose_kept")
    ]
    prose = [c for c in cells if c["language"] == "prose"]
    kept = [_rate_of((c for c in prose if c["shape"] == s), "prose_kept") for s in PROSE_SHAPES]
    described = ", ".join(f"{s} {k}" for s, k in zip(PROSE_SHAPES, kept))
    return [
        *lines,
        *_table(["all languages", *headers], rows),
        f"Prose answers, prose kept: {described}.",
        "",
    ]


def clone_lines(result: dict[str, Any]) -> list[str]:
    lines = [
        "## Clone-dense tasks", "",
        "Functions grouped by normalized name across projects; half of each group protected as documents "
        "of their own.", "",
    ]  # fmt: skip
    for language, groups in result["info"].get("clone_dense", {}).items():
        described = ", ".join(
            f"{g['task']} ({g['implementations']} in {g['projects']} projects, {g['protected']} protected)"
            for g in groups[:12]
        )
        lines.append(f"- {language}: {len(groups)} tasks: {described}{', ...' if len(groups) > 12 else ''}")
    return [*lines, ""]


def _yes(flag: bool | None) -> str:
    return "n/a" if flag is None else "flagged" if flag else "not flagged"


def example_lines(found: list[dict[str, Any]]) -> list[str]:
    lines = ["## Examples below target", ""]
    if not found:
        return [*lines, "Every target was met.", ""]
    for e in found:
        lines += [
            f"**{e['target']}** — {e['language']}, {e['case']}, {e['shape']}: "
            f"{'flagged' if e['flagged'] else 'not flagged'}; from `{e['origin']}` ({e['sources']} protected "
            f"documents hold it, {e['tokens']} tokens; exact 8-gram peer: {_yes(e['exact8'])}, tree-sitter "
            f"k-gram peer: {_yes(e['kgram'])}). split_answer: {e['split']}",
            "", "````text", e["text"].replace("````", "` ` ` `"), "````", "",
        ]  # fmt: skip
    return lines


def render(result: dict[str, Any]) -> str:
    cells = result["cells"]
    sections = [
        header(result), code_tables(cells), idiom_and_prose_tables(cells), latency_table(result),
        splitter_tables(cells), clone_lines(result), example_lines(result["examples"]),
    ]  # fmt: skip
    return "\n".join(line for section in sections for line in section).rstrip() + "\n"
