"""Transpiler helpers are code no one wrote: in a protected code base they sit in every compiled
file, and an output that writes one is not a copy of any of them. A build puts them in the index's
allowlist; the code written around them is still found."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from nearcopy import _core
from nearcopy.filter import OutputFilter
from nearcopy.index import ProtectedIndex

IMPORT_STAR = "".join(
    line + "\n"
    for line in [
        "var __importStar = (this && this.__importStar) || function (mod) {",
        "    if (mod && mod.__esModule) return mod;",
        "    var result = {};",
        '    if (mod != null) for (var k in mod) if (k !== "default" && '
        "Object.prototype.hasOwnProperty.call(mod, k)) __createBinding(result, mod, k);",
        "    __setModuleDefault(result, mod);",
        "    return result;",
        "};",
    ]
)
INTEROP = (
    'function _interopRequireDefault(obj) { return obj && obj.__esModule ? obj : { "default": obj }; }\n'
)


STATEMENTS = [
    "    const page = await fetchPage(url, { retries: 3 });",
    "    if (!page.ok) { throw new Error(`status ${page.status}`); }",
    "    for (const link of page.links) { queue.push(link.href); }",
    "    while (queue.length > limit) { queue.shift(); }",
    "    seen.add(url);",
    "    let total = 0; for (let i = 0; i < page.items.length; i++) { total += page.items[i].size; }",
    "    const names = page.items.map((item) => item.name.trim()).filter(Boolean);",
    "    try { cache.set(url, JSON.parse(page.body)); } catch (err) { log.warn(err.message); }",
    "    switch (page.kind) { case 'html': parse(page); break; default: skip(page); }",
    "    return { url, total: page.items.length, when: Date.now() };",
]


def own_function(n: int) -> str:
    """A function written by someone: its statements, in an order of its own."""
    order = sorted(range(len(STATEMENTS)), key=lambda i: (i * (n + 3)) % 11)
    body = "\n".join(STATEMENTS[i] for i in order)
    return f"async function crawl{n}(url, queue, seen, limit) {{\n{body}\n}}\n"


def compiled(n: int) -> str:
    marker = 'Object.defineProperty(exports, "__esModule", { value: true });\n'
    return f'"use strict";\n{IMPORT_STAR}{INTEROP}{marker}{own_function(n)}'


@pytest.fixture(scope="module")
def files() -> list[dict[str, str]]:
    return [{"id": f"dist/{n}.js", "text": compiled(n), "language": "javascript"} for n in range(6)]


def test_helpers_are_found_whole_and_only_in_javascript() -> None:
    text = compiled(1)
    docs, starts, ends = _core.generated_spans([text, text], ["javascript", "python"])
    found = [text.encode()[s:e].decode() for d, s, e in zip(docs, starts, ends)]
    assert list(docs) == [0, 0] and found == [IMPORT_STAR.rstrip("\n"), INTEROP.rstrip("\n")]


def test_an_output_that_writes_a_helper_is_not_flagged_but_the_code_around_it_is(
    files: list[dict[str, str]], tmp_path: Path
) -> None:
    index = ProtectedIndex.build(files, tmp_path / "index")
    # each helper once, however many files hold it, and the two as the run they form
    assert index.info()["generated_helpers"] == 3
    output_filter = OutputFilter(index, max_doc_frequency=20)
    helper_only = f"Here is the interop code:\n\n{IMPORT_STAR}"
    assert not output_filter.check(helper_only).flagged
    copied = f"{IMPORT_STAR}{own_function(3)}"
    verdict = output_filter.check(copied)
    assert verdict.flagged and verdict.matches[0].doc_id == "dist/3.js"
    # (a match's span is widened by a window each way, so it may reach into the helper's last line)
    assert all(m.start > len(IMPORT_STAR) * 3 // 4 for m in verdict.matches), "the helper is never matched"
    # Kept as code when asked: then the helper is a passage of all six files.
    kept = ProtectedIndex.build(files, tmp_path / "kept", allowlist_generated=False)
    assert kept.info()["generated_helpers"] == 0
    assert len({m.doc_id for m in OutputFilter(kept).check(helper_only).matches}) == 6


def test_the_cli_keeps_generated_code_when_told(files: list[dict[str, str]], tmp_path: Path) -> None:
    import json

    source = tmp_path / "files.jsonl"
    source.write_text("".join(json.dumps(f) + "\n" for f in files))
    for flag, helpers in (([], 3), (["--keep-generated"], 0)):
        out = tmp_path / f"index{len(flag)}"
        command = [sys.executable, "-m", "nearcopy", "index", "build", str(source), "-o", str(out), *flag]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        assert ProtectedIndex.open(out).info()["generated_helpers"] == helpers


BABEL_RUN = (
    INTEROP + "function _inheritsLoose(subClass, superClass) { subClass.prototype = Object.create("
    "superClass.prototype); subClass.prototype.constructor = subClass; _setPrototypeOf(subClass, "
    "superClass); }\n"
    "function _setPrototypeOf(o, p) { _setPrototypeOf = Object.setPrototypeOf ? Object.setPrototypeOf"
    ".bind() : function _setPrototypeOf(o, p) { o.__proto__ = p; return o; }; return "
    "_setPrototypeOf(o, p); }\n"
)


def test_a_run_of_helpers_copied_whole_is_not_flagged(tmp_path: Path) -> None:
    # Babel writes its helpers one after another: a copy of the run holds k-grams across each
    # boundary, which no helper alone holds (filter-real found such a copy flagged, from one file).
    text = f'"use strict";\n{BABEL_RUN}{own_function(1)}'
    files = [{"id": "lib/a.js", "text": text, "language": "javascript"}]
    output_filter = OutputFilter(ProtectedIndex.build(files, tmp_path / "index"))
    for answer in (BABEL_RUN, f"Sure, here is the function:\n{BABEL_RUN}", f"```js\n{BABEL_RUN}```\n"):
        assert not output_filter.check(answer).flagged, answer
    assert output_filter.check(f"{BABEL_RUN}{own_function(1)}").flagged
