"""Code normalization: spans checked against an independent tree-sitter walk, real code, bad input."""

from __future__ import annotations

import nearcopy
import numpy as np
import pytest
from nearcopy.benchsuite import code_corpus, code_reference

SNIPPETS = {
    "go": 'package main\nimport "fmt"\n// c\nfunc add(a, b int) int { return a + b * 2 }\n',
    "csharp": "using System; class A { static int F(int a) { return a + 1; } } // c",
    "ruby": "class A\n  def f(a)\n    @x = a.b + 1 # c\n  end\nend\n",
    "php": '<?php\nfunction f($a) { return $a->b + 1; } // c\necho "hi $a";\n',
    "typescript": "interface P { x: number }\nconst f = (p: P): number => p.x + 1; // c\n",
    "tsx": 'const C = (p: { x: number }) => <div className="a">{p.x + 1}</div>; // c\n',
}


def real_sources(language: str) -> list[tuple[str, str]]:
    found = code_corpus.sample(language, count=12)
    return found or [(f"<{language} snippet>", SNIPPETS[language])]


@pytest.mark.parametrize("language", nearcopy.languages())
def test_spans_match_an_independent_walk(language: str) -> None:
    checked = 0
    for path, source in (
        real_sources(language) if language in SNIPPETS or code_corpus.sample(language) else []
    ):
        tokens = nearcopy.code_tokens(source, language)
        raw = source.encode("utf-8", "surrogatepass")
        expected = code_reference.token_spans(raw, language)
        got = list(zip(tokens.starts.tolist(), tokens.ends.tolist()))
        first_difference = next((i for i, (x, y) in enumerate(zip(got, expected)) if x != y), None)
        assert got == expected, f"{path}: spans differ at token {first_difference}"
        checked += 1
    if language not in SNIPPETS and checked == 0:
        pytest.skip(f"no {language} sources on this machine")


@pytest.mark.parametrize("language", ["python", "javascript", "java", "c", "cpp", "rust"])
def test_real_code_has_a_real_corpus(language: str) -> None:
    # The corpora the spans are checked on are really there (else the check above proves little).
    assert len(code_corpus.sample(language, count=12)) >= 5, f"too little {language} code on this machine"


@pytest.mark.parametrize("language", nearcopy.languages())
def test_tokens_slice_back_to_their_text(language: str) -> None:
    for _, source in real_sources(language)[:4]:
        raw = source.encode("utf-8", "surrogatepass")
        kept = nearcopy.code_tokens(
            source, nearcopy.CodeOptions(language, identifiers="keep", literals="keep")
        )
        for text, kind, start, end in zip(kept.texts, kept.kinds, kept.starts, kept.ends):
            original = raw[start:end].decode("utf-8", "replace")
            if kind in (nearcopy.TokenKind.IDENTIFIER, nearcopy.TokenKind.MEMBER):
                assert text == original
            elif kind == nearcopy.TokenKind.SYMBOL and text.isidentifier() and original.isidentifier():
                # A keyword is written as the source spells it (operators, delimiters and long or
                # spaced leaves as the grammar names them: C's `# if` is `#if`, Ruby's `%w/` is `%w(`).
                assert text == original


def test_batch_equals_single_and_threads_do_not_matter() -> None:
    sources = [s for _, s in code_corpus.sample("python", count=30)]
    batch = nearcopy.code_tokens_batch(sources, "python", num_threads=2)
    assert len(batch) == len(sources)
    single_thread = nearcopy.code_tokens_batch(sources, "python", num_threads=1)
    for field in ("doc_bounds", "kinds", "symbols", "starts", "ends"):
        np.testing.assert_array_equal(getattr(batch, field), getattr(single_thread, field))
    for d in (0, 7, len(sources) - 1):
        single = nearcopy.code_tokens(sources[d], "python")
        np.testing.assert_array_equal(batch.symbols[batch.tokens_of(d)], single.symbols)
        np.testing.assert_array_equal(batch.starts[batch.tokens_of(d)], single.starts)


def test_code_minhash_sees_through_renaming() -> None:
    a = "def total(items):\n    acc = 0\n    for it in items:\n        acc += it.price\n    return acc\n"
    b = "def grand(xs):  # renamed\n    s = 0\n    for x in xs:\n        s += x.price\n    return s\n"
    options = nearcopy.CodeOptions("python", ngram=5)
    signatures = nearcopy.minhash([a, b], options=options)
    assert nearcopy.jaccard(signatures[0], signatures[1]) == 1.0
    assert nearcopy.shingles(a, options) == nearcopy.shingles(b, options)
    text_signatures = nearcopy.minhash([a, b])
    assert nearcopy.jaccard(text_signatures[0], text_signatures[1]) < 0.5


def test_unknown_language_lists_the_supported_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown language .cobol.; supported: python, javascript.*php"):
        nearcopy.code_tokens("x", "cobol")
    with pytest.raises(ValueError, match="identifiers must be one of"):
        nearcopy.CodeOptions("python", identifiers="rename")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="token lists"):
        nearcopy.minhash([["a"]], options=nearcopy.CodeOptions("go"))


def test_aliases_and_extensions() -> None:
    assert nearcopy.CodeOptions("c++").language == "cpp"
    assert nearcopy.CodeOptions("golang") == nearcopy.CodeOptions("go")
    assert nearcopy.language_for_extension(".py") == "python"
    assert nearcopy.language_for_extension("hpp") == "cpp"
    assert nearcopy.language_for_extension("txt") is None


def test_broken_deep_and_huge_input() -> None:
    truncated = "def f(a, b):\n    if a >\n        return [b for"
    assert "return" in nearcopy.code_tokens(truncated, "python").texts
    deep = "x = " + "[" * 50_000 + "]" * 50_000
    assert len(nearcopy.code_tokens(deep, "python")) > 100_000
    huge = "function f(a) { return a + 1; }\n" * 320_000  # ~10 MB
    tokens = nearcopy.code_tokens_batch([huge], "javascript")
    assert len(tokens.kinds) == 320_000 * 12
