"""`nearcopy demo`: protect a corpus every machine has, then check realistic model answers.

The protected corpus is this Python's standard library (code, licence PSF-2.0) and the licence texts
the machine ships. Three answers are checked: a standard-library function with every name changed
inside a chatty answer, a reworded and recased licence paragraph, and an original answer. Each
verdict is printed with its sources, the copied passage beside the protected text it was made from
(so a person sees what was caught, through the renaming and rewording), and the output as the
filter would let it through.
"""

from __future__ import annotations

import inspect
import re
import sysconfig
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nearcopy.code import CodeOptions, TokenKind, code_tokens
from nearcopy.filter import OutputFilter, Policy, Verdict
from nearcopy.index import ProtectedIndex

FENCE = "`" * 3
DOCSTRING = re.compile(r'"""(?:.|\n)*?"""')
FRESH_NAMES = ["data", "value", "result", "item", "node", "count", "buf", "idx", "acc", "tmp", "part", "key"]


def protected_corpus() -> Iterator[dict[str, Any]]:
    """The standard library's modules (without its test suites) and the licence texts here."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for path in sorted(stdlib.rglob("*.py")):
        parts = path.relative_to(stdlib).parts
        if {"site-packages", "__pycache__", "test", "tests", "idle_test"} & set(parts):
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        yield {"id": f"stdlib/{'/'.join(parts)}", "text": text, "language": "python",
               "license": "PSF-2.0", "source": "CPython standard library"}  # fmt: skip
    licences = [stdlib / "LICENSE.txt", *sorted(Path("/usr/share/common-licenses").glob("*"))]
    for path in licences:
        if path.is_file() and not path.is_symlink():
            yield {"id": f"licenses/{path.name}", "text": path.read_text(encoding="utf-8", errors="replace"),
                   "license": path.stem if path.parent.name == "common-licenses" else "PSF-2.0"}  # fmt: skip


def rename_everything(source: str) -> str:
    """Every identifier (not attribute names) consistently renamed, as a model rewriting code does."""
    tokens = code_tokens(source, CodeOptions("python", identifiers="keep"))
    raw = source.encode("utf-8")
    names: dict[str, str] = {}
    edits = []
    for text, kind, start, end in zip(tokens.texts, tokens.kinds, tokens.starts, tokens.ends):
        if kind == TokenKind.IDENTIFIER and not text.startswith("__"):
            fresh = names.setdefault(
                text, f"{FRESH_NAMES[len(names) % len(FRESH_NAMES)]}{len(names) // 12 or ''}"
            )
            edits.append((int(start), int(end), fresh.encode()))
    for start, end, replacement in reversed(edits):
        raw = raw[:start] + replacement + raw[end:]
    return raw.decode("utf-8")


def reword(paragraph: str) -> str:
    """Recased, repunctuated, with a few words swapped: a paraphrase that is still a copy."""
    swaps = {"the": "THE", "and": "&", "any": "every", "shall": "will", "this": "THIS", "of": "OF"}
    words = [swaps.get(w, w) if i % 5 else w.upper() for i, w in enumerate(paragraph.split())]
    return " ".join(words).replace(",", " -")


def answers() -> list[tuple[str, str, str | None]]:
    """(what the answer is, the answer, the protected text it was made from or None)."""
    function = textwrap.dedent(inspect.getsource(textwrap.dedent))
    licence = (Path(sysconfig.get_paths()["stdlib"]) / "LICENSE.txt").read_text(encoding="utf-8")
    clause = " ".join(next(p for p in licence.split("\n\n") if len(p.split()) > 60).split())
    return [
        ("a standard-library function, every name changed, in a chatty answer",
         f"Great question! Here's a helper I often use:\n\n{FENCE}python\n{rename_everything(function)}"
         f"{FENCE}\n\nIt strips the common indentation from every line. Hope this helps!", function),
        ("a licence paragraph, recased and reworded",
         f"In short, the licence says: {reword(clause)} That's the gist.", clause),
        ("an original answer",
         "To reverse a list in place, call its reverse method; to get a reversed copy, slice it:\n\n"
         f"{FENCE}python\nnumbers = [3, 1, 2]\nbackwards = numbers[::-1]\nprint(backwards)\n{FENCE}\n",
         None),
    ]  # fmt: skip


def side_by_side(left: str, right: str, *, width: int = 48, lines: int = 14) -> str:
    """Two texts in columns, for a person to compare: code line by line (a line cut at ``width``,
    so that the two sides stay aligned), prose wrapped; each cut after ``lines`` lines."""

    def column(text: str) -> list[str]:
        if "\n" in text.strip():
            out = [
                line if len(line) <= width else line[: width - 1] + "~"
                for line in text.expandtabs(4).splitlines()
            ]
        else:
            out = textwrap.wrap(text, width)
        return out[:lines] + (["[...]"] if len(out) > lines else [])

    a, b = column(left), column(right)
    rows = [
        f"  {x:<{width}} | {y}" for x, y in zip(a + [""] * (len(b) - len(a)), b + [""] * (len(a) - len(b)))
    ]
    return "\n".join(rows)


def show(title: str, answer: str, verdict: Verdict, shown: str, original: str | None = None) -> None:
    print(f"\n=== {title}")
    if not verdict.flagged:
        print("verdict: clean, shown as written")
        return
    print(f"verdict: {verdict.action} ({verdict.score:.0%} of the output is copied)")
    for m in verdict.matches[:3]:
        licence = m.metadata.get("license")
        print(f"  {m.tokens} {m.kind} tokens from {m.doc_id} ({licence}), bytes {m.start}-{m.end}")
    if original is not None:
        top, note = verdict.matches[0], ""
        left, right = top.text, original
        if top.kind == "code":  # the docstring is copied as is: the renamed code is what to compare
            left, right = (DOCSTRING.sub('"""..."""', t, count=1) for t in (left, right))
            note = ", docstrings shortened"
        print(f"caught: the answer's passage (left) beside the protected text of {top.doc_id} (right{note}):")
        print(side_by_side(left, right))
    print("shown to the user:")
    text = textwrap.shorten(shown, 600, placeholder=" [...]") if "\n" not in shown else shown
    print(textwrap.indent(text, "  | ", predicate=lambda _: True))


def run_demo() -> int:
    with tempfile.TemporaryDirectory(prefix="nearcopy-demo-") as tmp:
        started = time.perf_counter()
        index = ProtectedIndex.build(protected_corpus(), Path(tmp) / "index")
        info = index.info()
        print(f"protected index: {info['documents']} documents ({info['tokens']:,} normalized tokens) "
              f"in {time.perf_counter() - started:.1f} s, {info['bytes'] / 1e6:.1f} MB on disk "
              f"({info['bytes_per_token']:.2f} bytes per token)")  # fmt: skip
        output_filter = OutputFilter(index, policy=Policy(default="redact", by_license={"GPL-3": "replace"}))
        for title, answer, original in answers():
            started = time.perf_counter()
            verdict = output_filter.check(answer)
            elapsed = time.perf_counter() - started
            show(title, answer, verdict, output_filter.apply(answer), original)
            print(f"  (checked in {elapsed * 1000:.1f} ms)")
    return 0
