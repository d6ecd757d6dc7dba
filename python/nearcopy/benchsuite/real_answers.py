"""Answer shapes as models and code assistants send them, each composed with its labels.

Every answer is built from parts whose role is known (prose, code in a language, fence line), so
the benchmark knows for each byte whether it is code, and of which language, and which part is the
copy: that is what the answer splitter is measured against, and what the tree-sitter peer is given.

Shapes of an answer holding code:

* ``bare``: the code alone (a completions endpoint, a code assistant);
* ``bare + prose after``: the code, then one sentence;
* ``prose line + code``: one line of prose ("Here you go:") then the code, unfenced;
* ``fenced``: a chatty answer with the code in a fence tagged with its language;
* ``fenced, no tag``; ``fenced, other tag``: a tag a model plausibly writes that is a variant or a
  neighbouring language (``python3``, ``golang``, ``cpp`` for C, ``kotlin`` for Java,
  ``typescript`` for JavaScript);
* ``unclosed fence``: the answer was cut off inside the block;
* ``embedded``: three fenced blocks (a helper, the copy, another) with prose between them;
* ``numbered list``: the fenced block indented inside a numbered list item.

Prose answers are ``bare`` (the passage alone) or ``in an answer`` (wrapped in a sentence each side).
"""

from __future__ import annotations

import random
import textwrap
from dataclasses import dataclass, field

FENCE = "`" * 3
TAGS = {"python": "python", "java": "java", "go": "go", "c": "c", "javascript": "javascript"}
OTHER_TAGS = {"python": "python3", "java": "kotlin", "go": "golang", "c": "cpp", "javascript": "typescript"}
BARE_SHAPES = ("bare", "bare + prose after", "prose line + code")
FENCED_SHAPES = (
    "fenced",
    "fenced, no tag",
    "fenced, other tag",
    "unclosed fence",
    "embedded",
    "numbered list",
)
CODE_SHAPES = BARE_SHAPES + FENCED_SHAPES
PROSE_SHAPES = ("bare", "in an answer")
INTROS = (
    "Here you go:",
    "Sure, here is the function:",
    "This should do it:",
    "Try this:",
    "Here's one way to write it:",
)
AFTERS = (
    "This runs in linear time and needs no extra memory.",
    "Let me know if you need it adapted to your code.",
    "It handles the empty case too.",
    "You can drop it into your module as it is.",
)


@dataclass(frozen=True)
class Span:
    start: int  # bytes of the answer's UTF-8
    end: int
    role: str  # "copy" (the material the case is about), "other" (helper code), "prose", "fence"
    language: str | None = None


@dataclass(frozen=True)
class Answer:
    group: str  # "code", "clone-dense", "idioms", "prose"
    case: str  # the disguise, or the kind of negative
    language: str | None  # oracle language of the copied material (None: prose)
    shape: str
    text: str
    spans: tuple[Span, ...]
    positive: bool
    origin: str  # the document (or file) the material comes from
    sources: frozenset[str] = field(default_factory=frozenset)  # protected documents holding it
    tokens: int = 0  # independent count of the material's tokens (leaves, or words for prose)

    def code_spans(self) -> list[Span]:
        return [s for s in self.spans if s.language is not None]


class _Builder:
    def __init__(self) -> None:
        self.parts: list[tuple[str, str, str | None]] = []

    def add(self, text: str, role: str, language: str | None = None) -> _Builder:
        self.parts.append((text, role, language))
        return self

    def code(self, text: str, role: str, language: str, tag: str | None, indent: str = "") -> _Builder:
        self.add(f"{indent}{FENCE}{tag or ''}\n", "fence")
        self.add(textwrap.indent(text, indent) if indent else text, role, language)
        return self.add(f"{indent}{FENCE}\n", "fence")

    def build(self) -> tuple[str, tuple[Span, ...]]:
        spans, at = [], 0
        for text, role, language in self.parts:
            size = len(text.encode("utf-8", "surrogatepass"))
            if size:
                spans.append(Span(at, at + size, role, language))
            at += size
        return "".join(text for text, _, _ in self.parts), tuple(spans)


def code_answer(
    shape: str, code: str, language: str, rng: random.Random, helpers: tuple[str, str] = ("", "")
) -> tuple[str, tuple[Span, ...]]:
    """The answer of ``shape`` around ``code``; ``helpers`` are the other blocks of ``embedded``."""
    code = code if code.endswith("\n") else code + "\n"
    intro, after = rng.choice(INTROS), rng.choice(AFTERS)
    tag = TAGS[language]
    b = _Builder()
    if shape == "bare":
        b.add(code, "copy", language)
    elif shape == "bare + prose after":
        b.add(code, "copy", language).add(f"\n{after}\n", "prose")
    elif shape == "prose line + code":
        b.add(f"{intro}\n", "prose").add(code, "copy", language)
    elif shape in ("fenced", "fenced, no tag", "fenced, other tag"):
        chosen = {"fenced": tag, "fenced, no tag": None, "fenced, other tag": OTHER_TAGS[language]}[shape]
        b.add(f"{intro}\n\n", "prose").code(code, "copy", language, chosen).add(f"\n{after}\n", "prose")
    elif shape == "unclosed fence":
        b.add(f"{intro}\n\n", "prose").add(f"{FENCE}{tag}\n", "fence").add(code, "copy", language)
    elif shape == "embedded":
        first, last = (h if h.endswith("\n") else h + "\n" for h in helpers)
        b.add("You need a small helper first:\n\n", "prose").code(first, "other", language, tag)
        b.add("\nThen the main part, adapted to your names:\n\n", "prose").code(code, "copy", language, tag)
        b.add("\nAnd this is how the two fit together:\n\n", "prose").code(last, "other", language, tag)
        b.add(f"\n{after}\n", "prose")
    elif shape == "numbered list":
        b.add(
            "Here is how to set it up:\n\n1. Keep your existing imports.\n2. Add this function:\n\n", "prose"
        )
        b.code(code, "copy", language, tag, indent="   ")
        b.add("\n3. Call it where you need the result.\n", "prose")
    else:
        raise ValueError(f"unknown shape {shape!r}")
    return b.build()


def prose_answer(shape: str, passage: str) -> tuple[str, tuple[Span, ...]]:
    b = _Builder()
    if shape == "bare":
        b.add(passage + "\n", "copy")
    elif shape == "in an answer":
        b.add("Here is what the documentation says, roughly: ", "prose").add(passage, "copy")
        b.add(" I hope that answers your question.\n", "prose")
    else:
        raise ValueError(f"unknown shape {shape!r}")
    return b.build()
