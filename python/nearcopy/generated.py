"""Text that no one copies from a protected document: the helpers a transpiler emits into every
file it compiles, and the licence notices files carry.

TypeScript puts ``var __importStar = (this && this.__importStar) || function (mod) {...};`` and its
kin into every CommonJS file it emits, Babel ``function _interopRequireDefault(obj) {...}``; a code
base holds each of them in hundreds of files, so an output that writes one reproduces all of those
files and copies nothing anyone wrote. When a protected index is built, these helpers are found in
its JavaScript and TypeScript documents (``_core.generated_spans``) and put in its allowlist, whose
passages are never reported: an output that carries one is not flagged for it, while the code
written around it still is. Licence notices (a header's comment block, a paragraph quoting the GPL)
are found by the phrases only notices use, in every document, and allowlisted the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

from nearcopy import _core


def collect_helpers(
    texts: Sequence[str | _core.HeldText], languages: Sequence[str | None], into: dict[str, str]
) -> None:
    """Adds the transpiler helpers of ``texts`` (text to language) to ``into``, each once, and each
    run of helpers that follow one another (only white space between) as one more: a copy of the
    run holds k-grams across each boundary, which no single helper holds. (Held texts of
    JavaScript and TypeScript documents are made str here: the helpers are cut out of them.)"""
    code = [
        (str(t), lang) for t, lang in zip(texts, languages) if lang in ("javascript", "typescript", "tsx")
    ]
    if not code:
        return
    docs, starts, ends = _core.generated_spans([t for t, _ in code], [lang for _, lang in code])
    encoded: dict[int, bytes] = {}
    run: tuple[int, int, int] | None = None  # (document, start, end) of the run so far
    helpers_in_run = 0

    def add(d: int, start: int, end: int) -> None:
        raw = encoded[d][start:end].decode("utf-8", "surrogatepass")
        into.setdefault(raw, code[d][1] or "javascript")

    for d, start, end in zip(docs.tolist(), starts.tolist(), ends.tolist()):
        if d not in encoded:
            encoded[d] = code[d][0].encode("utf-8", "surrogatepass")
        add(d, start, end)
        if run is not None and run[0] == d and not encoded[d][run[2] : start].strip():
            run, helpers_in_run = (d, run[1], end), helpers_in_run + 1
            continue
        if run is not None and helpers_in_run > 1:
            add(*run)
        run, helpers_in_run = (d, start, end), 1
    if run is not None and helpers_in_run > 1:
        add(*run)


def collect_notices(texts: Sequence[str | _core.HeldText], into: dict[str, str]) -> None:
    """Adds the licence notices of ``texts`` (a licence header's comment block, a paragraph quoting
    a licence) to ``into``, each once: like transpiler helpers, text that many files carry and no
    output copies *from* them. Found by the phrases only notices use; a block is the run of
    non-blank lines around such a phrase, at most 40 of them (``_core.licence_notices``: kept
    lowercased, as the allowlist is matched after case folding anyway)."""
    for notice in _core.licence_notices(list(texts)):
        into.setdefault(notice, "")
