"""Repetition in real corpora: many implementations of one task (the clone-dense cases) and text
that many files share and nobody copies (the idiom negatives).

* **clone-dense**: functions grouped by normalized name across projects (every ``copyfile``,
  ``copy_file``, ``copyFile``...); groups with implementations in three or more projects, half of
  each protected as documents of their own, as a clone benchmark holds them. Positives: disguised
  copies of a protected implementation; negatives: held-out implementations of the same tasks that
  copy none of the protected ones (by the reference).
* **idioms**: the TypeScript and Babel helpers and licence headers found in two or more protected
  files, and three-line stretches found in many protected files.
"""

from __future__ import annotations

import random
import re
from collections import Counter

from . import filter_cases, real_disguises, real_functions
from .real_answers import CODE_SHAPES
from .real_corpus import (
    CASES,
    MAX_LEAVES,
    MAX_LINES,
    NEGATIVE_LEAVES,
    POSITIVE_LEAVES,
    Corpus,
    Sizes,
    clean,
    round_robin,
    shaped,
)
from .real_functions import Function
from .real_sources import SourceFile

CLONE_SHAPES = ("bare", "fenced")
MAX_MEMBERS = 40  # implementations kept per task, half of them protected
CLONE_NEGATIVES = 4  # held-out implementations per task
# Names that say nothing about what a function does, so grouping by them would not find one task.
VAGUE_NAMES = {
    "init",
    "main",
    "new",
    "run",
    "call",
    "apply",
    "setup",
    "constructor",
    "test",
    "execute",
    "exports",
}


def task_name(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def clone_tasks(
    files: list[SourceFile], sizes: Sizes, rng: random.Random
) -> list[tuple[str, list[Function]]]:
    """Functions of ``files`` grouped by normalized name (``copyfile``, ``copy_file``, ``copyFile``),
    the groups with implementations in three or more projects, most projects first, each with up to
    MAX_MEMBERS members of 50-1500 leaves drawn round-robin over projects."""
    groups: dict[str, list[Function]] = {}
    for file in files:
        for f in real_functions.functions(file, count=False):
            name = task_name(f.name)
            if len(name) >= 4 and name not in VAGUE_NAMES and f.lines <= MAX_LINES:
                groups.setdefault(name, []).append(f)
    ranked = sorted(groups, key=lambda n: (-len({f.project for f in groups[n]}), n))
    chosen: list[tuple[str, list[Function]]] = []
    for name in ranked:
        if len(chosen) == sizes.groups or len({f.project for f in groups[name]}) < 3:
            break
        members = [
            f
            for f in map(real_functions.counted, round_robin(groups[name], rng)[: 2 * MAX_MEMBERS])
            if NEGATIVE_LEAVES <= f.leaves <= MAX_LEAVES
        ][:MAX_MEMBERS]
        if len({f.project for f in members}) >= 3 and any(f.leaves >= POSITIVE_LEAVES for f in members):
            chosen.append((name, members))
    return chosen


def protect_tasks(
    corpus: Corpus, language: str, tasks: list[tuple[str, list[Function]]], rng: random.Random
) -> list[tuple[str, list[Function], list[Function]]]:
    """Protects half of each task's implementations as documents of their own (as a clone
    benchmark holds them); returns (task, protected, held-out) per task."""
    out = []
    for name, members in tasks:
        shuffled = rng.sample(members, len(members))
        big = [f for f in shuffled if f.leaves >= POSITIVE_LEAVES]
        protected = [big[0], *[f for f in shuffled if f is not big[0]][: len(members) // 2 - 1]]
        held = [f for f in shuffled if all(f is not p for p in protected)]
        for f in protected:
            doc_id = corpus.new_id(f"{f.path}::{f.name}")
            corpus.documents.append({"id": doc_id, "text": f.text, "language": language})
        out.append((name, protected, held))
    return out


def clone_cases(
    corpus: Corpus,
    language: str,
    tasks: list[tuple[str, list[Function], list[Function]]],
    helpers: list[str],
    rng: random.Random,
) -> None:
    reference, holders = corpus.references[language], corpus.holders[language]
    summary = []
    for g, (name, protected, held) in enumerate(tasks):
        for source in [f for f in protected if f.leaves >= POSITIVE_LEAVES][:2]:
            common = dict(
                group="clone-dense",
                language=language,
                origin=f"{source.path}::{source.name}",
                tokens=source.leaves,
                positive=True,
                sources=holders.of(source.text),
            )
            for case, kinds in CASES.items():
                code = real_disguises.disguise(source.text, language, kinds, seed=g)
                if code is not None:
                    shaped(corpus, rng, CLONE_SHAPES, helpers, case=case, code=code, **common)
        for f in clean(held, reference, CLONE_NEGATIVES, corpus, f"{language} clone-dense same task"):
            shaped(
                corpus,
                rng,
                CLONE_SHAPES,
                helpers,
                group="clone-dense",
                case="same task (negative)",
                language=language,
                positive=False,
                origin=f"{f.path}::{f.name}",
                code=f.text,
                tokens=f.leaves,
            )
        summary.append(
            {
                "task": name,
                "implementations": len(protected) + len(held),
                "protected": len(protected),
                "projects": len({f.project for f in protected + held}),
                "names": sorted({f.name for f in protected + held})[:6],
            }
        )
    corpus.info.setdefault("clone_dense", {})[language] = summary


def idioms(
    corpus: Corpus, language: str, protected: list[SourceFile], helpers: list[str], rng: random.Random
) -> None:
    """Generated helpers and licence headers present in two or more protected files, and short
    stretches present in many: what a company's code base repeats and nobody copies. Each in every
    answer shape (``helpers``: the other blocks of ``embedded``)."""
    found: dict[str, tuple[str, str, set[str]]] = {}  # collapsed text -> (kind, text, files)
    for file in protected:
        generated = real_functions.generated_helpers(file)
        for _, text in generated:
            found.setdefault(" ".join(text.split()), ("generated helpers", text, set()))[2].add(file.path)
        if len(generated) >= 2:  # the prologue TypeScript writes: several helpers in a row
            block = "\n".join(text for _, text in generated)
            found.setdefault(" ".join(block.split()), ("generated helpers", block, set()))[2].add(file.path)
        if (licence := real_functions.licence(file)) is not None:
            family, text = licence
            found.setdefault(" ".join(text.split()), (f"licence headers ({family})", text, set()))[2].add(
                file.path
            )
    kept = sorted((v for v in found.values() if len(v[2]) >= 2), key=lambda v: (-len(v[2]), v[1]))
    per_kind: Counter[str] = Counter()
    for kind, text, files in kept:
        if per_kind[kind] < 12:
            per_kind[kind] += 1
            shaped(
                corpus,
                rng,
                CODE_SHAPES,
                helpers,
                group="idioms",
                case=kind,
                language=language,
                positive=False,
                origin=f"{len(files)} protected files",
                code=text,
                tokens=real_disguises.leaves(text, language),
            )
    common = filter_cases.common_snippets([f.text for f in protected], max(3, len(protected) // 30), 8)
    for snippet in common:
        shaped(
            corpus,
            rng,
            CODE_SHAPES,
            helpers,
            group="idioms",
            case="short idioms",
            language=language,
            positive=False,
            origin="many protected files",
            code=snippet,
            tokens=real_disguises.leaves(snippet, language),
        )
