"""How often is the language of an unlabelled code snippet detected right?

Snippets are what an answer shows without a fence tag: a function, method or class (3 to 40 lines),
cut from real source files of each language this machine has (the test corpora); each is detected
with `nearcopy.detect_language` and compared with the language of the file it came from.

    python -m nearcopy.benchsuite.bench_code_detect [--snippets 80] [--out PATH]
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

import nearcopy

from . import benchutil, code_corpus, code_reference

LANGUAGES = ("python", "javascript", "java", "c", "cpp", "rust", "go", "ruby")


# Syntax units a model answer typically shows on their own: functions, methods, classes.
UNITS = {
    "python": {"function_definition", "class_definition"},
    "javascript": {"function_declaration", "class_declaration", "method_definition"},
    "java": {"method_declaration", "class_declaration", "constructor_declaration"},
    "c": {"function_definition", "struct_specifier"},
    "cpp": {"function_definition", "class_specifier", "template_declaration"},
    "rust": {"function_item", "impl_item", "struct_item"},
    "go": {"function_declaration", "method_declaration"},
    "ruby": {"method", "class"},
}


def snippets(language: str, count: int, seed: int) -> list[str]:
    """Up to `count` functions, methods or classes of 3-40 lines cut from real files of `language`."""
    rng = random.Random(seed)
    units: list[str] = []
    for _, source in code_corpus.sample(language, count=60, seed=seed):
        tree = code_reference.parser(language).parse(source.encode("utf-8"))
        stack = [tree.root_node]
        while stack:
            node = stack.pop()
            lines = node.end_point[0] - node.start_point[0] + 1
            if node.type in UNITS[language] and 3 <= lines <= 40 and not node.has_error:
                units.append((node.text or b"").decode("utf-8", "replace"))
            else:
                stack.extend(node.children)
    return rng.sample(units, min(count, len(units)))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snippets", type=int, default=80)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    rows: dict[str, dict[str, Any]] = {}
    for language in LANGUAGES:
        chunks = snippets(language, args.snippets, seed=21)
        if not chunks:
            continue
        started = time.perf_counter()
        found = Counter(nearcopy.detect_language(chunk) or "none" for chunk in chunks)
        seconds = time.perf_counter() - started
        wrong = {k: v for k, v in found.most_common() if k != language}
        rows[language] = {
            "snippets": len(chunks), "accuracy": found[language] / len(chunks),
            "ms_per_snippet": 1000 * seconds / len(chunks), "mistaken_for": wrong,
        }  # fmt: skip
    total = sum(r["snippets"] for r in rows.values())
    overall = sum(r["accuracy"] * r["snippets"] for r in rows.values()) / max(total, 1)
    lines = [
        f"# Language detection on unlabelled snippets ({total} functions, methods, classes of real files)",
        "",
        "| language | snippets | accuracy | ms per snippet | mistaken for |",
        "|---|---:|---:|---:|---|",
    ]
    for language, r in rows.items():
        mistakes = ", ".join(f"{k} {v}" for k, v in r["mistaken_for"].items()) or "-"
        lines.append(
            f"| {language} | {r['snippets']} | {r['accuracy']:.2f} | {r['ms_per_snippet']:.1f} | {mistakes} |"
        )
    lines += [
        "",
        f"Overall accuracy: {overall:.3f}. A fence tag, when present, is used instead of detection.",
    ]
    benchutil.save_result("code-detect", {"overall": overall, "languages": rows}, "\n".join(lines), args.out)


if __name__ == "__main__":
    main()
