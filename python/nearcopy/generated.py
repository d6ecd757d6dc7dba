"""Code that no one wrote: the helpers a transpiler emits into every file it compiles.

TypeScript puts ``var __importStar = (this && this.__importStar) || function (mod) {...};`` and its
kin into every CommonJS file it emits, Babel ``function _interopRequireDefault(obj) {...}``; a code
base holds each of them in hundreds of files, so an output that writes one reproduces all of those
files and copies nothing anyone wrote. When a protected index is built, these helpers are found in
its JavaScript and TypeScript documents (``_core.generated_spans``) and put in its allowlist, whose
passages are never reported: an output that carries one is not flagged for it, while the code
written around it still is.
"""

from __future__ import annotations

from collections.abc import Sequence

from nearcopy import _core


def collect_helpers(texts: Sequence[str], languages: Sequence[str | None], into: dict[str, str]) -> None:
    """Adds the transpiler helpers of ``texts`` (text to language) to ``into``, each once."""
    code = [(t, lang) for t, lang in zip(texts, languages) if lang in ("javascript", "typescript", "tsx")]
    if not code:
        return
    docs, starts, ends = _core.generated_spans([t for t, _ in code], [lang for _, lang in code])
    for d, start, end in zip(docs.tolist(), starts.tolist(), ends.tolist()):
        text, language = code[d]
        raw = text.encode("utf-8", "surrogatepass")[start:end].decode("utf-8", "surrogatepass")
        into.setdefault(raw, language or "javascript")
