"""The caller's language hint, and recall that does not depend on how an answer is split.

A hint (``language=`` in the API, ``--language`` in the CLI, ``"language"`` in the sidecar, a header
or ``--completions-language`` in the proxy) skips detection; it must never lose a copy that
detection finds. And the same protected function must be found whether the answer shows it bare,
fenced, after a line of prose or among other blocks: the splitter decides how fast, not whether.
"""

from __future__ import annotations

import json
import subprocess
import sys
from functools import cache
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nearcopy.benchsuite import code_corpus, code_reference
from nearcopy.benchsuite import serve_harness as h
from nearcopy.filter import OutputFilter
from nearcopy.index import ProtectedIndex

LANGUAGES = ("python", "java", "go", "c", "javascript")
# Functions and methods, with the comments and docstrings that real code carries above them.
UNITS = {
    "python": {"function_definition"},
    "java": {"method_declaration", "constructor_declaration"},
    "go": {"function_declaration", "method_declaration"},
    "c": {"function_definition"},
    "javascript": {"function_declaration", "method_definition"},
}
FENCE = "`" * 3


def functions(source: str, language: str) -> list[str]:
    """Functions of 12-60 lines, each with the comment block right above it (an independent walk
    with the Python tree-sitter binding)."""
    data = source.encode("utf-8")
    out, stack = [], [code_reference.parser(language).parse(data).root_node]
    while stack:
        node = stack.pop()
        if node.type not in UNITS[language]:
            stack.extend(node.children)
            continue
        start, above = node.start_byte - node.start_point[1], node.prev_named_sibling
        while above is not None and "comment" in above.type and node.start_point[0] - above.end_point[0] <= 1:
            start, node_row = above.start_byte - above.start_point[1], above.start_point[0]
            above = above.prev_named_sibling if node_row > 0 else None
        text = data[start : node.end_byte].decode("utf-8", "replace") + "\n"
        if 12 <= text.count("\n") <= 60 and text.isascii():
            out.append(text)
    return out


@cache
def world() -> tuple[OutputFilter, list[tuple[str, str, str]]]:
    """An index of real files in five languages, and (language, file, function) of functions that
    only one protected file holds."""
    documents, chosen = [], []
    for language in LANGUAGES:
        files = code_corpus.sample(language, count=40, seed=17)
        documents += [{"id": path, "text": text, "language": language} for path, text in files]
        for path, text in files:
            chosen += [
                (language, path, f)
                for f in functions(text, language)[:3]
                if sum(f in other for _, other in files) == 1
            ]
    root = Path(__import__("tempfile").mkdtemp()) / "index"
    return OutputFilter(ProtectedIndex.build(documents, root)), chosen


def shapes(function: str, language: str) -> dict[str, str]:
    helper = "def helper(values):\n    return [v * 2 for v in values]\n"
    return {
        "bare": function,
        "after a line": "Here you go:\n" + function,
        "around prose": f"Sure, this is the function you asked for:\n\n{function}\nIt returns the result.\n",
        "fenced": f"Sure:\n\n{FENCE}{language}\n{function}{FENCE}\n",
        "untagged": f"Sure:\n\n{FENCE}\n{function}{FENCE}\n",
        "embedded": (
            f"A helper:\n\n{FENCE}python\n{helper}{FENCE}\n\nThen:\n\n{FENCE}\n{function}{FENCE}\n\nDone."
        ),
    }


def matched(output_filter: OutputFilter, text: str, language: str | None = None) -> set[str]:
    return {m.doc_id for m in output_filter.check(text, language=language).matches}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_splitting_never_decides_recall(data: st.DataObject) -> None:
    output_filter, chosen = world()
    if not chosen:
        pytest.skip("no real functions on this machine")
    language, _, function = data.draw(st.sampled_from(chosen))
    found = {name: matched(output_filter, text) for name, text in shapes(function, language).items()}
    assert len(set(map(frozenset, found.values()))) == 1, found
    # and a hint of the right language finds at least as much, in every shape
    for name, text in shapes(function, language).items():
        assert found[name] <= matched(output_filter, text, language), name


def test_bare_functions_are_found_as_often_as_fenced_ones() -> None:
    """Not a benchmark (that is `filter-real`): the paragraph splitter found bare functions far less
    often than fenced ones (0.6 against 0.99); functions below the threshold or boilerplate are
    missed either way."""
    output_filter, chosen = world()
    bare = sum(path in matched(output_filter, f) for _, path, f in chosen)
    fenced = sum(
        path in matched(output_filter, shapes(f, language)["fenced"]) for language, path, f in chosen
    )
    assert chosen and bare >= fenced - 0.01 * len(chosen), (bare, fenced, len(chosen))


def test_hints_are_checked_and_named_in_errors() -> None:
    output_filter, _ = world()
    with pytest.raises(ValueError, match="'cobol'"):
        output_filter.check("x = 1", language="cobol")
    with pytest.raises(ValueError, match="2 texts but 1 language hints"):
        output_filter.check_batch(["a", "b"], language=["python"])
    verdicts = output_filter.check_batch([h.RENAMED, h.RENAMED], language=["py", "text"])
    assert [v.flagged for v in verdicts] == [False, False], "the harness function is not protected here"


# The surfaces, on the serving harness's index: a renamed protected function, bare. "text" says the
# output is prose, so the same copy is then not found: that proves the hint arrived.
BARE = h.RENAMED


@pytest.fixture(scope="module")
def harness_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return h.build_index(tmp_path_factory.mktemp("hints") / "index")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nearcopy", *args], capture_output=True, text=True, timeout=120
    )


def test_check_and_filter_take_the_hint(harness_index: Path, tmp_path: Path) -> None:
    answer = tmp_path / "answer.txt"
    answer.write_text(BARE)
    for language, status in (("auto", 1), ("python", 1), ("py", 1), ("text", 0)):
        result = cli("check", "--index", str(harness_index), "--language", language, str(answer))
        assert result.returncode == status, (language, result.stdout, result.stderr)
    bad = cli("check", "--index", str(harness_index), "--language", "cobol", str(answer))
    last = bad.stderr.strip().splitlines()[-1]  # argparse's usage, then the error
    assert bad.returncode == 2 and "--language" in last and "'cobol'" in last
    records = tmp_path / "outputs.jsonl"
    rows = [{"text": BARE, "lang": "python"}, {"text": BARE, "lang": "text"}, {"text": BARE}]
    records.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "filtered.jsonl"
    result = cli(
        "filter", "--index", str(harness_index), str(records), "-o", str(out), "--language-field", "lang"
    )
    assert result.returncode == 1, result.stderr
    flagged = [json.loads(line)["nearcopy"]["flagged"] for line in out.read_text().splitlines()]
    assert flagged == [True, False, True]
    records.write_text(json.dumps({"text": BARE, "lang": "klingon"}) + "\n")
    failed = cli(
        "filter", "--index", str(harness_index), str(records), "-o", str(out), "--language-field", "lang"
    )
    assert failed.returncode == 2 and "'lang'" in failed.stderr and "'klingon'" in failed.stderr


def test_the_sidecar_takes_the_hint(harness_index: Path, tmp_path: Path) -> None:
    service = h.start_service(tmp_path, harness_index)

    def check(body: dict[str, object]) -> httpx.Response:
        return httpx.post(service.url + "/v1/check", json=body, timeout=30)

    try:
        assert check({"text": BARE, "language": "python"}).json()["flagged"]
        assert not check({"text": BARE, "language": "text"}).json()["flagged"]
        batch = check({"texts": [BARE, BARE], "language": ["python", "text"]}).json()["results"]
        assert [r["flagged"] for r in batch] == [True, False]
        shown = httpx.post(service.url + "/v1/filter", json={"text": BARE, "language": "text"}, timeout=30)
        assert shown.json()["text"] == BARE
        bad = check({"text": BARE, "language": "cobol"})
        assert bad.status_code == 400 and "'cobol'" in bad.json()["error"]["message"]
        uneven = check({"texts": [BARE], "language": ["python", "go"]})
        assert uneven.status_code == 400
    finally:
        service.stop()


def test_the_proxy_takes_the_hint_from_its_settings_and_the_request(
    harness_index: Path, tmp_path: Path
) -> None:
    upstream = h.start_upstream(tmp_path)
    service = h.start_service(
        tmp_path, harness_index, "--upstream", upstream.url, "--completions-language", "text"
    )
    try:

        def complete(headers: dict[str, str], path: str = "/v1/completions") -> httpx.Response:
            body = {"model": "scripted", "stream": True, "script": {"answer": BARE, "chunking": "small"}}
            return httpx.post(service.url + path, json=body, headers=headers, timeout=60)

        def text_of(response: httpx.Response, field: str = "text") -> str:
            return h.received_text(h.chunks(h.sse_frames(response.content)), 0, field)

        # --completions-language text: the completion is prose, the copied code passes (as told) ...
        assert text_of(complete({})) == BARE
        # ... unless the request says it is Python, or asks for detection; chat is not affected.
        assert "[redacted" in text_of(complete({"x-nearcopy-language": "python"}))
        assert "[redacted" in text_of(complete({"x-nearcopy-language": "auto"}))
        assert "[redacted" in text_of(complete({}, "/v1/chat/completions"), "content")
        bad = complete({"x-nearcopy-language": "cobol"})
        assert bad.status_code == 400 and "x-nearcopy-language" in bad.json()["error"]["message"]
    finally:
        service.stop()
        upstream.stop()
