"""The labelled answers of the ``filter-real`` benchmark, built from real code and text on this
machine (``real_functions``), disguised (``real_disguises``) and shaped as answers (``real_answers``).

Protected: 60% of the sampled files of each language, whole, and 60% of Perl's pod pages (prose).

* **code** positives: functions of protected files (100+ leaves, with at least one local name),
  disguised six ways plus "with file header" (the file's licence, package line and imports above
  the function), in every answer shape; negatives: held-out functions, in every shape.
* **clone-dense**: functions grouped by normalized name across projects (every ``copyfile``,
  ``copy_file``, ``copyFile``...); groups with implementations in three or more projects. Positives:
  disguised copies of a protected implementation; negatives: held-out implementations of the same
  tasks.
* **idioms** (negatives): TypeScript and Babel helpers and licence headers found in two or more
  protected files, and three-line stretches found in many protected files.
* **prose**: protected passages verbatim, reformatted, lightly edited and embedded; negatives from
  held-out pod pages and man pages.

Labels come from ``real_reference``, not from nearcopy: a held-out function is a negative only if
it shares no run of 20 raw leaves with the protected split (a passage: no run of 12 words); the
others are set aside and counted. ``sources`` are the protected documents that hold the copied
text (white space aside), so attribution to any of several equal sources counts as right.
"""

from __future__ import annotations

import random
import textwrap

from . import filter_cases, real_disguises, real_functions, real_repetition, real_sources
from .real_answers import CODE_SHAPES, PROSE_SHAPES, Answer, prose_answer
from .real_corpus import (
    CASES,
    MAX_LEAVES,
    MAX_LINES,
    NEGATIVE_LEAVES,
    PARTIAL_MIN,
    POSITIVE_LEAVES,
    Corpus,
    Holders,
    Sizes,
    clean,
    round_robin,
    shaped,
    split,
)
from .real_functions import Function
from .real_reference import CodeReference, WordMatcher
from .real_sources import SourceFile

__all__ = ["Corpus", "Sizes", "build"]


def code_cases(
    corpus: Corpus,
    language: str,
    protected: list[SourceFile],
    held: list[SourceFile],
    sizes: Sizes,
    rng: random.Random,
) -> list[str]:
    """Positives from the protected files, negatives from the held-out ones; returns the short clean
    functions that ``embedded`` answers use as their other blocks."""
    reference, holders = corpus.references[language], corpus.holders[language]
    mine = [f for file in protected for f in real_functions.functions(file)]
    theirs = [f for file in held for f in real_functions.functions(file)]
    fits = [f for f in theirs if NEGATIVE_LEAVES <= f.leaves <= MAX_LEAVES and f.lines <= MAX_LINES]
    negatives = clean(round_robin(fits, rng), reference, sizes.negatives, corpus, f"{language} held-out")
    helpers = [f.text for f in negatives if f.lines <= 30] or [f.text for f in negatives]
    chosen: list[Function] = []
    for f in round_robin(
        [f for f in mine if POSITIVE_LEAVES <= f.leaves <= MAX_LEAVES and f.lines <= MAX_LINES], rng
    ):
        if len(chosen) == sizes.functions:
            break
        if real_disguises.disguise(f.text, language, ["rename"], 0) != f.text:  # it has a local name
            chosen.append(f)
    for i, f in enumerate(chosen):
        common = dict(
            group="code", language=language, positive=True, origin=f.path, sources=holders.of(f.original)
        )
        for case, kinds in CASES.items():
            code = real_disguises.disguise(f.text, language, kinds, seed=i)
            if code is not None:
                shaped(corpus, rng, CODE_SHAPES, helpers, case=case, code=code, tokens=f.leaves, **common)
        if f.header:
            with_header = f"{f.header}\n{f.text}"
            shaped(
                corpus,
                rng,
                CODE_SHAPES,
                helpers,
                case="with file header",
                code=with_header,
                tokens=f.leaves,
                **common,
            )
        lines = real_disguises.partial_lines(f.text, rng)
        part = textwrap.dedent(lines)
        tokens = real_disguises.leaves(part, language)
        size = f">= {PARTIAL_MIN}" if tokens >= PARTIAL_MIN else f"< {PARTIAL_MIN}"
        case = f"partial ({size} tokens)"
        shaped(corpus, rng, CODE_SHAPES, helpers, case=case, code=part, tokens=tokens, **common)
        # The same lines as indented in the function, as a completion inside its body gives them,
        # and from the middle of their first line on, as a completion of a prompt that ended
        # mid-line does; shaped with an rng of their own, so that the other cases stay as they were.
        own = random.Random(f"{language} indented partial {i}")
        if lines != part:
            case = f"partial, indented ({size} tokens)"
            shaped(corpus, own, CODE_SHAPES, helpers, case=case, code=lines, tokens=tokens, **common)
        cut = real_disguises.from_mid_line(lines, own)
        cut_tokens = real_disguises.leaves(textwrap.dedent(cut), language)
        cut_size = f">= {PARTIAL_MIN}" if cut_tokens >= PARTIAL_MIN else f"< {PARTIAL_MIN}"
        case = f"partial, from mid-line ({cut_size} tokens)"
        shaped(corpus, own, CODE_SHAPES, helpers, case=case, code=cut, tokens=cut_tokens, **common)
    for f in negatives:
        shaped(
            corpus,
            rng,
            CODE_SHAPES,
            helpers,
            group="code",
            case="held-out (negative)",
            language=language,
            positive=False,
            origin=f.path,
            code=f.text,
            tokens=f.leaves,
        )
    corpus.info.setdefault("languages", {})[language] = {
        "files": len(protected) + len(held),
        "protected_files": len(protected),
        "projects": len({f.project for f in protected + held}),
        "functions": len(mine) + len(theirs),
        "positive_functions": len(chosen),
        "negative_functions": len(negatives),
    }
    return helpers


def prose_cases(corpus: Corpus, sizes: Sizes, rng: random.Random) -> None:
    protected, held = split(filter_cases.pod_documents(), rng)
    protected = [(corpus.new_id(f"perl-pod/{name}"), text) for name, text in protected]
    corpus.documents += [{"id": doc_id, "text": text} for doc_id, text in protected]
    for _, text in protected:
        corpus.words.add(text)
    reference = filter_cases.LexicalReference((t for _, t in protected), filter_cases.PROSE_RUN, str)
    holders = {doc_id: " ".join(text.split()) for doc_id, text in protected}
    if not protected:
        return
    own = [
        t
        for t in (filter_cases.passage(t, rng) for _, t in rng.choices(held, k=4 * sizes.passages))
        if not reference.copies(t)
    ]
    for i, (name, text) in enumerate(rng.choices(protected, k=sizes.passages)):
        passage = filter_cases.passage(text, rng)
        sources = frozenset(d for d, body in holders.items() if passage in body)
        variants = {
            "verbatim": passage,
            "reformatted": passage.upper().replace(" ", "\n ", 3),
            "lightly edited": filter_cases.light_edit(passage, rng),
        }
        if len(own) >= 2 * i + 2:
            variants["embedded"] = f"{own[2 * i]} {passage} {own[2 * i + 1]}"
        for case, body in variants.items():
            for shape in PROSE_SHAPES:
                answer, spans = prose_answer(shape, body)
                corpus.answers.append(
                    Answer(
                        "prose",
                        case,
                        None,
                        shape,
                        answer,
                        spans,
                        True,
                        name,
                        sources,
                        filter_cases.PASSAGE_WORDS,
                    )
                )
    for case, texts in (
        (
            "held-out (negative)",
            [filter_cases.passage(t, rng) for _, t in rng.choices(held, k=3 * sizes.prose_negatives)],
        ),
        (
            "man pages (negative)",
            [filter_cases.passage(t, rng) for t in filter_cases.man_pages(3 * sizes.prose_negatives)],
        ),
    ):
        clean = [t for t in texts if not reference.copies(t)][: sizes.prose_negatives]
        corpus.set_aside[f"prose {case.split(' (')[0]}"] += sum(reference.copies(t) for t in texts)
        for text in clean:
            for shape in PROSE_SHAPES:
                answer, spans = prose_answer(shape, text)
                corpus.answers.append(
                    Answer(
                        "prose", case, None, shape, answer, spans, False, "held-out", tokens=len(text.split())
                    )
                )


def build(seed: int, sizes: Sizes) -> Corpus:
    """The protected documents, the references over them, and the labelled answers."""
    rng = random.Random(seed)
    corpus = Corpus([], {}, WordMatcher())
    corpus.info["missing_languages"] = []
    for language in real_sources.LANGUAGES:
        files = real_sources.source_files(language, sizes.files, rng)
        if len(files) < 4:
            corpus.info["missing_languages"].append(language)
            continue
        protected, held = split(files, rng)
        scanned = real_sources.source_files(
            language, sizes.clone_files, rng, frozenset(f.path for f in files)
        )
        tasks = real_repetition.protect_tasks(
            corpus, language, real_repetition.clone_tasks(scanned, sizes, rng), rng
        )
        corpus.documents += [
            {"id": corpus.new_id(f.path), "text": f.text, "language": language} for f in protected
        ]
        mine = [d for d in corpus.documents if d.get("language") == language]
        reference = corpus.references[language] = CodeReference(language)
        for document in mine:
            reference.add(document["text"])
            corpus.words.add(document["text"])
        reference.freeze()
        corpus.holders[language] = Holders((d["id"], d["text"]) for d in mine)
        helpers = code_cases(corpus, language, protected, held, sizes, rng)
        real_repetition.clone_cases(corpus, language, tasks, helpers, rng)
        real_repetition.idioms(corpus, language, protected, helpers, rng)
    prose_cases(corpus, sizes, rng)
    corpus.words.freeze()
    return corpus
