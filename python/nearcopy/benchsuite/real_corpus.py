"""What the case builders of ``filter-real`` share: the sizes, the corpus being built (protected
documents, references, answers, what was set aside), which protected documents hold a passage, and
the helpers that draw functions and shape them into answers."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .real_answers import Answer, code_answer
from .real_functions import Function
from .real_reference import CodeReference, WordMatcher

CASES = {
    "verbatim": [],
    "reformatted": ["reformat"],
    "renamed": ["rename"],
    "renamed + literals": ["rename", "literals"],
    "statement edited": ["edit"],
}
PARTIAL_MIN = 50  # a partial copy counts as a "partial >= 50 tokens" positive from this many leaves
POSITIVE_LEAVES, NEGATIVE_LEAVES, MAX_LEAVES, MAX_LINES = 100, 50, 1500, 150


@dataclass(frozen=True)
class Sizes:
    files: int  # sampled per language
    functions: int  # protected functions disguised per language
    negatives: int  # held-out functions per language
    groups: int  # clone-dense task groups per language
    clone_files: int  # files scanned per language for the clone-dense groups
    passages: int
    prose_negatives: int


@dataclass
class Corpus:
    documents: list[dict[str, str]]
    references: dict[str, CodeReference]
    words: WordMatcher
    holders: dict[str, Holders] = field(default_factory=dict)
    answers: list[Answer] = field(default_factory=list)
    set_aside: Counter[str] = field(default_factory=Counter)
    info: dict[str, Any] = field(default_factory=dict)
    ids: set[str] = field(default_factory=set)

    def new_id(self, wanted: str) -> str:
        """``wanted``, or ``wanted#2``, ``#3``... if a protected document already has that id. Ids
        must be unique: ``Holders`` and the attribution check go by id, and two methods ``Error`` of
        one Go file (or two ``Tutorial.pod`` of two directories) under one id made the right
        document, reported first, count as the wrong one."""
        found, n = wanted, 1
        while found in self.ids:
            n += 1
            found = f"{wanted}#{n}"
        self.ids.add(found)
        return found


class Holders:
    """Which protected documents hold a passage, white space aside."""

    def __init__(self, documents: Iterable[tuple[str, str]]) -> None:
        self.collapsed: dict[str, str] = {}
        self.by_line: dict[str, set[str]] = {}
        for doc_id, text in documents:
            self.collapsed[doc_id] = " ".join(text.split())
            for line in text.splitlines():
                if len(stripped := line.strip()) >= 20:
                    self.by_line.setdefault(stripped, set()).add(doc_id)

    def of(self, text: str) -> frozenset[str]:
        lines = sorted({s for line in text.splitlines() if len(s := line.strip()) >= 20}, key=len)[-3:]
        candidates = (
            set(self.collapsed)
            if not lines
            else set.intersection(*(self.by_line.get(s, set()) for s in lines))
        )
        needle = " ".join(text.split())
        return frozenset(d for d in candidates if needle in self.collapsed[d])


def split(items: list[Any], rng: random.Random) -> tuple[list[Any], list[Any]]:
    shuffled = rng.sample(items, len(items))
    cut = round(len(shuffled) * 0.6)
    return shuffled[:cut], shuffled[cut:]


def round_robin(functions: list[Function], rng: random.Random) -> list[Function]:
    """The functions shuffled so that consecutive ones come from different projects."""
    by_project: dict[str, list[Function]] = {}
    for f in rng.sample(functions, len(functions)):
        by_project.setdefault(f.project, []).append(f)
    queues = list(by_project.values())
    out = []
    while queues:
        out += [q.pop() for q in queues]
        queues = [q for q in queues if q]
    return out


def shaped(
    corpus: Corpus, rng: random.Random, shapes: Iterable[str], helpers: list[str], **answer: Any
) -> None:
    """One answer per shape around ``answer["code"]``; helpers are drawn for ``embedded``."""
    code = answer.pop("code")
    for shape in shapes:
        pair = (rng.choice(helpers), rng.choice(helpers)) if helpers else ("", "")
        text, spans = code_answer(shape, code, answer["language"], rng, pair)
        corpus.answers.append(Answer(shape=shape, text=text, spans=spans, **answer))


def clean(
    pool: list[Function], reference: CodeReference, limit: int, corpus: Corpus, kind: str
) -> list[Function]:
    clean: list[Function] = []
    for f in pool:
        if len(clean) == limit:
            break
        if reference.copies(f.text):
            corpus.set_aside[kind] += 1
        elif reference.renamed_copy(f.text):
            corpus.set_aside[f"{kind}, renamed copy"] += 1
        else:
            clean.append(f)
    return clean
