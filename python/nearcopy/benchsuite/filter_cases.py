"""The labelled answers of the output-filter quality benchmark, built from real text on this machine.

Protected: 60% of the modules of CPython's standard library (code) and of Perl's pod documentation
(prose). Positives are disguised copies of protected material inside model-style answers; negatives
are material that copies nothing protected, in the same answer templates.

Labels come from an independent reference, not from nearcopy: a held-out passage is a negative only
if it shares no run of 12 words (prose, lowercased) or 20 raw Python tokens (code, via ``tokenize``,
names and literals kept) with the protected split. Real corpora copy themselves (``lzma.open`` and
``bz2.open``, Perl pod pages quoting each other), and those copies are the filter's job to find, so
they are counted apart (``held-out copies``), not as false positives.
"""

from __future__ import annotations

import io
import random
import re
import sysconfig
import textwrap
import tokenize
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import nearcopy

from . import mutations

FENCE = "`" * 3
PROSE_RUN = 12  # words a held-out passage may not share with the protected split
CODE_RUN = 20  # raw tokens a held-out function may not share with it
# Positives are functions of at least this many normalized tokens (a dozen lines of real code);
# negatives need only be long enough to be flagged at all.
POSITIVE_CODE_TOKENS = 100
NEGATIVE_CODE_TOKENS = 50
# Winnowing may miss up to w - 1 tokens at each end of a copy, so a partial copy is long enough to
# be flagged by any setting when it holds the threshold plus 2 (w - 1) tokens: 80 covers 50 + 18.
PARTIAL_CODE_TOKENS = 80
PASSAGE_WORDS = 80
# Third-party code installed next to the benchmark: independent projects, minus vendored copies.
THIRD_PARTY = (
    "numpy",
    "scipy",
    "matplotlib",
    "hypothesis",
    "mypy",
    "pyarrow",
    "fontTools",
    "PIL",
    "pygments",
    "sortedcontainers",
    "dateutil",
    "datasketch",
    "_pytest",
    "pyparsing",
)
_VENDORED = {"_vendor", "vendor", "extern", "externals", "_external", "tests", "test", "testing"}


@dataclass(frozen=True)
class Answer:
    case: str
    text: str
    source: str | None  # the protected document it copies; None for negatives
    kind: str  # "code" or "prose": which threshold decides it


def split(items: list[tuple[str, str]], rng: random.Random) -> tuple[list[tuple[str, str]], ...]:
    shuffled = rng.sample(items, len(items))
    cut = int(len(shuffled) * 0.6)
    return shuffled[:cut], shuffled[cut:]


def stdlib_modules() -> list[tuple[str, str]]:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    out = []
    for path in sorted(stdlib.rglob("*.py")):
        if set(path.relative_to(stdlib).parts) & {
            "site-packages",
            "__pycache__",
            "test",
            "tests",
            "idle_test",
        }:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if 500 < len(text) < 200_000:
            out.append((str(path.relative_to(stdlib)), text))
    return out


def third_party_modules() -> list[tuple[str, str]]:
    site = Path(sysconfig.get_paths()["purelib"])
    out = []
    for package in THIRD_PARTY:
        for path in sorted((site / package).rglob("*.py")):
            if _VENDORED & set(path.relative_to(site).parts):
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            if 500 < len(text) < 200_000:
                out.append((str(path.relative_to(site)), text))
    return out


def pod_documents() -> list[tuple[str, str]]:
    return [
        (path.name, text)
        for path in sorted(Path("/usr/share/perl").rglob("*.pod"))
        if len(text := path.read_text(encoding="utf-8", errors="replace")) > 2000
    ]


def man_pages(limit: int) -> list[str]:
    """Plain text of section-1 man pages (roff requests and escapes stripped)."""
    import gzip

    out = []
    for path in sorted(Path("/usr/share/man/man1").glob("*.gz"))[: limit * 3]:
        try:
            raw = gzip.decompress(path.read_bytes()).decode("utf-8", "replace")
        except OSError:
            continue
        lines = [line for line in raw.splitlines() if line and line[0] not in ".'"]
        text = re.sub(r"\\f[A-Z]|\\\(..|\\[-&e]|\\", " ", " ".join(lines))
        if len(text.split()) > PASSAGE_WORDS * 2:
            out.append(text)
    return out[:limit]


def code_length(source: str) -> int:
    return len(nearcopy.code_tokens(source, nearcopy.CodeOptions("python")))


def raw_tokens(source: str) -> list[str]:
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT}
    try:
        return [
            t.string for t in tokenize.generate_tokens(io.StringIO(source).readline) if t.type not in skip
        ]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return []


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


class LexicalReference:
    """Every run of `n` units (words or raw tokens) of the protected split, to tell real copies from
    unrelated material with no help from nearcopy."""

    def __init__(self, texts: Iterable[str], n: int, units: type[object] = object) -> None:
        self.n = n
        self.split_units = words if units is str else raw_tokens
        self.runs: set[int] = set()
        for text in texts:
            u = self.split_units(text)
            self.runs.update(hash(tuple(u[i : i + n])) for i in range(len(u) - n + 1))

    def copies(self, text: str) -> bool:
        u = self.split_units(text)
        return any(hash(tuple(u[i : i + self.n])) in self.runs for i in range(len(u) - self.n + 1))


def passage(text: str, rng: random.Random, length: int = PASSAGE_WORDS) -> str:
    tokens = text.split()
    start = rng.randrange(max(1, len(tokens) - length))
    return " ".join(tokens[start : start + length])


def light_edit(text: str, rng: random.Random) -> str:
    """5% of words substituted, 10% deleted (the issue's 'lightly edited prose')."""
    out = []
    for word in text.split():
        roll = rng.random()
        if roll < 0.10:
            continue
        out.append("something" if roll < 0.15 else word)
    return " ".join(out)


def code_answer(body: str, before: str = "", after: str = "") -> str:
    return (
        f"Sure! Here's an implementation:\n\n{before}{FENCE}python\n{body}{FENCE}\n\n{after}"
        "Let me know if it helps."
    )


def prose_answer(body: str) -> str:
    return f"Here is what the documentation says, roughly: {body} I hope that answers your question."


def common_snippets(modules: list[str], min_modules: int = 25, count: int = 40) -> list[str]:
    """Three-line stretches found in many protected modules: idioms, not anyone's copy."""
    seen: Counter[tuple[str, ...]] = Counter()
    first: dict[tuple[str, ...], list[str]] = {}
    for module in modules:
        lines = [line for line in module.splitlines() if line.strip() and not line.lstrip().startswith("#")]
        runs: dict[tuple[str, ...], list[str]] = {}
        for i in range(len(lines) - 2):
            runs.setdefault(tuple(line.strip() for line in lines[i : i + 3]), lines[i : i + 3])
        seen.update(runs.keys())
        for run, original in runs.items():
            first.setdefault(run, original)
    widespread = [run for run, n in seen.most_common() if n >= min_modules and len("".join(run)) >= 40]
    return [textwrap.dedent("\n".join(first[run])) + "\n" for run in widespread[:count]]


def partial(function: str) -> str | None:
    """The first lines of a function that hold at least PARTIAL_CODE_TOKENS normalized tokens, if
    that is at most two thirds of it (a copy of part of a function, long enough to be flagged)."""
    lines = function.splitlines(keepends=True)
    for end in range(1, len(lines)):
        head = "".join(lines[:end])
        if code_length(head) >= PARTIAL_CODE_TOKENS:
            return head if 3 * code_length(head) <= 2 * code_length(function) else None
    return None


def build(
    rng: random.Random, functions: int, passages: int, negatives: int
) -> tuple[list[dict[str, str]], list[Answer], dict[str, int]]:
    """The protected documents, the labelled answers, and how many held-out items the lexical
    reference set aside as real copies."""
    code_protected, code_held = split(stdlib_modules(), rng)
    prose_protected, prose_held = split(pod_documents(), rng)
    documents = [{"id": p, "text": t, "language": "python"} for p, t in code_protected]
    documents += [{"id": p, "text": t} for p, t in prose_protected]
    protected_code = [t for _, t in code_protected]
    code_reference = LexicalReference(protected_code, CODE_RUN)
    prose_reference = LexicalReference((t for _, t in prose_protected), PROSE_RUN, str)
    answers: list[Answer] = []
    set_aside: dict[str, int] = {}

    # Positives: substantive functions of exactly one protected module (a function found in several
    # is boilerplate by the filter's contract, and attributable to none of them).
    candidates = [
        (p, f)
        for p, t in code_protected
        for f in mutations.functions([t], min_lines=8)
        if code_length(f) >= POSITIVE_CODE_TOKENS and sum(f in other for other in protected_code) == 1
    ]
    chosen = rng.sample(candidates, min(functions, len(candidates)))
    held_functions = [f for _, t in code_held for f in mutations.functions([t], min_lines=6)]
    fillers = rng.sample(held_functions, len(chosen))
    disguises = {
        "code verbatim": [],
        "code reformatted": ["reformat", "comments"],
        "code renamed": ["rename"],
        "code renamed + literals": ["rename", "literals"],
        "code statement edited": ["rename", "edit"],
    }
    for name, kinds in disguises.items():
        answers += [
            Answer(name, code_answer(mutations.mutate(f, kinds, i)), p, "code")
            for i, (p, f) in enumerate(chosen)
        ]
    answers += [
        Answer(
            "code embedded",
            code_answer(
                mutations.mutate(f, ["rename"], i),
                before=(
                    f"First a helper:\n\n{FENCE}python\n{filler}{FENCE}\n\n"
                    "Then the main part, renamed to fit:\n\n"
                ),
                after="Both run in linear time. ",
            ),
            p,
            "code",
        )
        for i, ((p, f), filler) in enumerate(zip(chosen, fillers))
    ]
    answers += [
        Answer("code partial copy", code_answer(part), p, "code") for p, f in chosen if (part := partial(f))
    ]

    # Code negatives: functions of held-out modules and of independent projects that copy nothing.
    for name, pool in (
        ("code held-out", held_functions),
        ("code other projects", [f for _, t in third_party_modules() for f in mutations.functions([t])]),
    ):
        pool = [
            f
            for f in rng.sample(pool, min(len(pool), 3 * negatives))
            if code_length(f) >= NEGATIVE_CODE_TOKENS
        ]
        clean = [f for f in pool if not code_reference.copies(f)][:negatives]
        set_aside[name] = sum(code_reference.copies(f) for f in pool)
        answers += [Answer(f"{name} (negative)", code_answer(f), None, "code") for f in clean]
    answers += [
        Answer("code idioms (negative)", code_answer(s), None, "code")
        for s in common_snippets(protected_code)
    ]

    # Prose: 80-word passages of protected pod pages, and negatives from held-out pages and man pages.
    picked = [(p, passage(t, rng)) for p, t in rng.choices(prose_protected, k=passages)]
    answers += [Answer("prose verbatim", prose_answer(t), p, "prose") for p, t in picked]
    answers += [
        Answer("prose reformatted", prose_answer(t.upper().replace(" ", "\n ", 3)), p, "prose")
        for p, t in picked
    ]
    answers += [
        Answer("prose lightly edited", prose_answer(light_edit(t, rng)), p, "prose") for p, t in picked
    ]
    own = [
        t
        for t in (passage(t, rng) for _, t in rng.choices(prose_held, k=4 * passages))
        if not prose_reference.copies(t)
    ]
    answers += [
        Answer("prose embedded", prose_answer(f"{own[2 * i]} {t} {own[2 * i + 1]}"), p, "prose")
        for i, (p, t) in enumerate(picked)
    ]
    for name, texts in (
        ("prose held-out", [passage(t, rng) for _, t in rng.choices(prose_held, k=3 * negatives)]),
        ("prose man pages", [passage(t, rng) for t in man_pages(3 * negatives)]),
    ):
        clean = [t for t in texts if not prose_reference.copies(t)][:negatives]
        set_aside[name] = sum(prose_reference.copies(t) for t in texts)
        answers += [Answer(f"{name} (negative)", prose_answer(t), None, "prose") for t in clean]
    return documents, answers, set_aside
