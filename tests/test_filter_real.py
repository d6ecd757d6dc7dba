"""The pieces of the `filter-real` benchmark do what its report says they do, on real code of this
machine: functions come out with their doc comments and headers, every disguise keeps or changes
exactly what it claims (checked through the abstracted tree-sitter leaves, not through nearcopy),
answer shapes label where their code is, the splitter score and the references are right on
answers whose truth is known, and a filter that takes a language hint is measured with it."""

from __future__ import annotations

import random
import textwrap
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

import nearcopy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nearcopy.benchsuite import (
    bench_filter_real,
    real_answers,
    real_disguises,
    real_functions,
    real_repetition,
    real_sources,
)
from nearcopy.benchsuite.real_corpus import Corpus
from nearcopy.benchsuite.real_reference import CodeReference, WordMatcher, leaf_tokens

JAVA = """/*
 * Copyright (c) 2020 Example. Licensed under the Apache License, Version 2.0.
 */
package demo;

import java.util.List;

public class Totals {
    /**
     * Sums the prices.
     */
    @Override
    public int total(List<Item> items) {
        int acc = 0; // running sum
        for (Item it : items) {
            acc += it.price * 2;
        }
        return acc;
    }
}
"""


@cache
def real(language: str) -> list[real_functions.Function]:
    files = real_sources.source_files(language, 25, random.Random(3))
    return [f for file in files for f in real_functions.functions(file) if 60 <= f.leaves <= 600][:40]


def abstract(code: str, language: str) -> list[str]:
    return leaf_tokens(code, language)[1]


LANGUAGES = [lang for lang in real_sources.LANGUAGES if real(lang)]
picks = st.tuples(st.sampled_from(LANGUAGES), st.integers(0, 10**6), st.integers(0, 2**32 - 1))


def test_a_method_comes_out_with_its_doc_comment_annotation_and_the_file_header() -> None:
    file = real_sources.SourceFile("java", "demo/Totals.java", "demo", JAVA)
    (method,) = real_functions.functions(file)
    assert method.name == "total" and method.text.startswith("/**\n * Sums the prices.\n */\n@Override\n")
    assert "// running sum" in method.text and method.text.endswith("}\n")
    assert method.header.startswith("/*\n * Copyright") and method.header.rstrip().endswith(
        "import java.util.List;"
    )
    assert real_functions.licence(file) == ("apache", JAVA[: JAVA.index("*/") + 2] + "\n")


def test_generated_helpers_are_recognised_and_left_out_of_functions() -> None:
    js = (
        "var __importDefault = (this && this.__importDefault) || function (mod) {\n"
        '    return (mod && mod.__esModule) ? mod : { "default": mod };\n};\n'
        "function copyFile(src, dst) {\n  return fs.copyFileSync(src, dst)\n}\n"
    )
    file = real_sources.SourceFile("javascript", "x.js", "x", js)
    assert [name for name, _ in real_functions.generated_helpers(file)] == ["__importDefault"]
    assert [f.name for f in real_functions.functions(file)] == ["copyFile"]


def test_the_machine_has_real_functions_of_most_languages() -> None:
    assert "python" in LANGUAGES and len(LANGUAGES) >= 3
    for language in LANGUAGES:
        assert all(f.path and f.project and f.text.endswith("\n") for f in real(language))


@settings(max_examples=40, deadline=None)
@given(picks)
def test_cosmetic_disguises_keep_the_abstracted_leaves(pick: tuple[str, int, int]) -> None:
    language, i, seed = pick
    function = real(language)[i % len(real(language))]
    for kinds in (["reformat"], ["rename"], ["rename", "literals"]):
        disguised = real_disguises.disguise(function.text, language, kinds, seed)
        if disguised is None:  # refused: it would have added a syntax error
            continue
        assert abstract(disguised, language) == abstract(function.text, language), kinds
    renamed = real_disguises.disguise(function.text, language, ["rename"], seed)
    if renamed is not None and renamed != function.text:
        assert leaf_tokens(renamed, language)[0] != leaf_tokens(function.text, language)[0]


@settings(max_examples=40, deadline=None)
@given(picks)
def test_a_statement_edit_changes_one_statement_and_adds_no_syntax_error(pick: tuple[str, int, int]) -> None:
    language, i, seed = pick
    function = real(language)[i % len(real(language))]
    edited = real_disguises.disguise(function.text, language, ["edit"], seed)
    if edited is None:
        return
    assert real_disguises.parse_errors(edited, language) <= real_disguises.parse_errors(
        function.text, language
    )
    before, after = function.text.splitlines(), edited.splitlines()
    assert abs(len(before) - len(after)) == 1 and abstract(edited, language) != abstract(
        function.text, language
    )


def test_renaming_spares_members_and_library_calls() -> None:
    source = (
        "def total(items):\n    acc = 0\n    for it in items:\n        acc += it.price\n    return len(acc)\n"
    )
    renamed = real_disguises.rename_locals(source, "python", random.Random(1))
    for name in ("total", "items", "acc", "it"):
        assert f" {name}" not in renamed and f"({name}" not in renamed
    assert ".price" in renamed and "len(" in renamed


@given(st.integers(1, 200), st.integers(0, 2**32 - 1))
def test_a_partial_copy_is_a_contiguous_40_to_60_percent_of_the_lines(lines: int, seed: int) -> None:
    source = "".join(f"line{i} = {i}\n" for i in range(lines))
    part = real_disguises.partial(source, random.Random(seed))
    taken = part.splitlines(keepends=True)
    assert part in source and abs(len(taken) - 0.5 * lines) <= 0.1 * lines + 1


@given(st.integers(0, 12), st.text("ab(),: ", min_size=0, max_size=30), st.integers(0, 2**32 - 1))
def test_a_copy_from_mid_line_starts_inside_its_first_lines_code(indent: int, code: str, seed: int) -> None:
    lines = " " * indent + "x" + code + "\n        return y\n"
    cut = real_disguises.from_mid_line(lines, random.Random(seed))
    first = lines.split("\n", 1)[0]
    assert lines.endswith(cut) and "\n        return y\n" in cut
    if len(first) - indent >= 2:  # a first line of one character has no inside to start from
        assert indent < len(lines) - len(cut) < len(first)
    else:
        assert cut == lines


@pytest.mark.parametrize("shape", real_answers.CODE_SHAPES)
def test_every_shape_labels_where_its_code_is(shape: str) -> None:
    code = "def add(a, b):\n    return a + b\n"
    text, spans = real_answers.code_answer(shape, code, "python", random.Random(0), ("x = 1\n", "y = 2\n"))
    raw = text.encode()
    assert b"".join(raw[s.start : s.end] for s in spans) == raw  # the parts tile the answer
    (copy,) = [s for s in spans if s.role == "copy"]
    expected = textwrap.indent(code, "   ") if shape == "numbered list" else code
    assert raw[copy.start : copy.end].decode() == expected and copy.language == "python"
    assert all(s.language is None for s in spans if s.role in ("prose", "fence"))
    assert len([s for s in spans if s.role == "other"]) == (2 if shape == "embedded" else 0)


def answer_of(shape: str, code: str = "def add(a, b):\n    return a + b\n") -> real_answers.Answer:
    text, spans = real_answers.code_answer(shape, code, "python", random.Random(0))
    return real_answers.Answer("code", "verbatim", "python", shape, text, spans, True, "add.py")


def test_the_splitter_score_against_known_segments() -> None:
    answer = answer_of("prose line + code")
    raw = answer.text.encode()
    intro = raw.index(b"def")

    def segments(*parts: tuple[str, int, int, str | None]) -> list[nearcopy.Segment]:
        return [nearcopy.Segment(kind, a, b, raw[a:b].decode(), lang) for kind, a, b, lang in parts]  # type: ignore[arg-type]

    right = segments(("prose", 0, intro, None), ("code", intro, len(raw), "python"))
    assert bench_filter_real.splitter_scores(answer, right) == {
        "code_found": True, "language_right": True, "prose_kept": True,
    }  # fmt: skip
    wrong_language = segments(("prose", 0, intro, None), ("code", intro, len(raw), "ruby"))
    assert bench_filter_real.splitter_scores(answer, wrong_language)["language_right"] is False
    swallowed = segments(("code", 0, len(raw), "python"))
    assert bench_filter_real.splitter_scores(answer, swallowed)["prose_kept"] is False
    half = segments(("prose", 0, intro + 12, None), ("code", intro + 12, len(raw), "python"))
    assert bench_filter_real.splitter_scores(answer, half)["code_found"] is False


def test_references_tell_copies_from_unrelated_code() -> None:
    protected = real("python")[0]
    reference = CodeReference("python")
    reference.add(protected.text)
    reference.freeze()
    assert reference.copies(protected.text) and reference.longest_run(protected.text) >= protected.leaves - 1
    renamed = real_disguises.disguise(protected.text, "python", ["rename"], 1)
    assert renamed is not None and reference.longest_run(renamed) == reference.longest_run(protected.text)
    other = next(f for f in real("python") if f.path != protected.path and f.text not in protected.text)
    assert reference.longest_run(other.text) < 50
    words = WordMatcher()
    words.add("one two three four five six seven eight nine")
    words.freeze()
    assert words.flags("so: TWO three four five six seven eight nine!") and not words.flags("one two three")


class HintedFilter(nearcopy.OutputFilter):
    """A filter that takes the language hint the issue adds (and checks as before), so the hinted
    rows of the benchmark run today."""

    hints: ClassVar[list[str]] = []

    def check(self, text: str, language: str | None = None) -> nearcopy.Verdict:
        if language is not None:
            self.hints.append(language)
        return super().check(text)


def test_a_filter_with_a_language_hint_is_measured_with_the_oracle_language(tmp_path: Path) -> None:
    function = real("python")[0]
    reference = CodeReference("python")
    reference.add(function.text)
    reference.freeze()
    words = WordMatcher()
    words.add(function.text)
    words.freeze()
    corpus = Corpus(
        [{"id": "f.py", "text": function.text, "language": "python"}], {"python": reference}, words
    )
    corpus.answers = [answer_of(shape, function.text) for shape in ("bare", "fenced")]
    index = nearcopy.ProtectedIndex.build(corpus.documents, tmp_path / "index")
    output_filter = HintedFilter(index)
    assert bench_filter_real.hint_supported(output_filter)
    assert bench_filter_real.hint_supported(nearcopy.OutputFilter(index)), "check() takes language="
    rows: list[dict[str, Any]] = bench_filter_real.measure(corpus, output_filter, hinted=True)
    assert [r["hint_flagged"] for r in rows] == [r["flagged"] for r in rows] and rows[1]["flagged"]
    assert HintedFilter.hints == ["python", "python"] and all(r["kgram"] for r in rows)


def test_clone_dense_tasks_group_one_name_across_projects() -> None:
    assert {real_repetition.task_name(n) for n in ("copyfile", "copy_file", "copyFile", "CopyFile")} == {
        "copyfile"
    }

    def function(name: str, statements: int) -> str:
        body = "".join(f"    out{i} = read(src, {i}) + len(dst)\n" for i in range(statements))
        return f"def {name}(src, dst):\n{body}    return dst\n"

    files = [
        real_sources.SourceFile(
            "python", f"{project}/util.py", project, function(name, size) + function("helper", 3)
        )
        for project, name, size in (
            ("a", "copyfile", 12),
            ("b", "copy_file", 6),
            ("c", "copyFile", 6),
            ("d", "main", 12),
        )
    ]
    sizes = bench_filter_real.SIZES["tiny"]
    tasks = real_repetition.clone_tasks(files, sizes, random.Random(0))
    assert [(name, sorted(f.project for f in members)) for name, members in tasks] == [
        ("copyfile", ["a", "b", "c"])
    ]


SCANDIRAT = """int
__scandirat (int dfd, const char *dir, struct dirent ***namelist,
             int (*select) (const struct dirent *),
             int (*cmp) (const struct dirent **, const struct dirent **))
{
  return __scandir_tail (__opendirat (dfd, dir), namelist, select, cmp);
}
"""


def test_a_consistently_renamed_held_out_function_is_a_renamed_copy_and_a_reshuffled_one_is_not() -> None:
    reference = CodeReference("c")
    reference.add(SCANDIRAT)
    reference.freeze()
    # glibc's scandirat64: scandirat with every name renamed the same way throughout (a Type-2 clone)
    renamed = SCANDIRAT.replace("dirent", "dirent64").replace("__scandir_tail", "__scandir64_tail")
    assert not reference.copies(renamed) and reference.renamed_copy(renamed)
    assert reference.renamed_copy(renamed.replace("dfd", "fd").replace("namelist", "list"))
    # The same shape with names that repeat in another pattern: equal abstracted, not a renaming
    reshuffled = SCANDIRAT.replace("(*select)", "(*cmp)").replace("(dfd, dir)", "(dir, dir)")
    _, abstract = leaf_tokens(reshuffled, "c")
    assert abstract == leaf_tokens(SCANDIRAT, "c")[1] and reference.longest_run(reshuffled) >= 50
    assert not reference.renamed_copy(reshuffled)


def test_protected_documents_get_unique_ids() -> None:
    corpus = Corpus([], {}, WordMatcher())
    assert [corpus.new_id(i) for i in ("a.go::Error", "a.go::Error", "b.go", "a.go::Error")] == [
        "a.go::Error", "a.go::Error#2", "b.go", "a.go::Error#3",
    ]  # fmt: skip
