"""Hypothesis-driven fuzzing of the Python API and the CLI's input parsers: arbitrary text (lone
surrogates, NUL, fences, marks) and arbitrary option values give a correct result or a typed error,
never another exception, a traceback from the CLI, or spans outside the input."""

from __future__ import annotations

import json
from pathlib import Path

import nearcopy
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nearcopy.cli import main
from nearcopy.cli_filter import policy_actions
from nearcopy.filter import ACTIONS
from nearcopy.inputs import InputError, jsonl_objects
from nearcopy.neardup.formats import line_blocks
from nearcopy.neardup.reading import Fields, read_batches

PROSE = (
    "a quiet river runs past the old mill where children used to swim every summer afternoon long ago "
    "before the factory upstream closed and the water turned clear again so that fish came back"
)
ODD = [
    "\ud800",
    "\udfff",
    "\x00",
    "```",
    "~~~",
    "\n",
    "\u0301",
    "\u0e39",
    "ไ",
    "東",
    "ﬁ",
    "\r\n",
    "    ",
    "{",
    "(",
]
texts = st.lists(st.one_of(st.characters(), st.sampled_from(ODD)), max_size=200).map("".join)
answers = st.lists(
    st.one_of(texts, st.sampled_from([PROSE, "def f(a):\n    return a\n", "```python\n"])), max_size=6
).map("".join)


def spans_ok(raw: bytes, starts: object, ends: object) -> bool:
    pairs = list(zip(list(starts), list(ends)))  # type: ignore[call-overload]
    return all(0 <= s <= e <= len(raw) for s, e in pairs)


@given(texts)
def test_normalize_any_text(text: str) -> None:
    raw = text.encode("utf-8", "surrogatepass")
    tokens = nearcopy.normalize(text)
    assert spans_ok(raw, tokens.starts, tokens.ends)
    assert list(tokens.starts) == sorted(tokens.starts)
    assert all(t and " " not in t for t in tokens.texts)
    assert nearcopy.normalize(text).texts == tokens.texts
    assert nearcopy.minhash([text]).shape == (1, 128)


@settings(max_examples=60)
@given(texts, st.sampled_from(nearcopy.languages()))
def test_code_tokens_any_source(source: str, language: str) -> None:
    raw = source.encode("utf-8", "surrogatepass")
    tokens = nearcopy.code_tokens(source, language)
    assert spans_ok(raw, tokens.starts, tokens.ends)
    assert all(tokens.texts), "every token has a symbol (an ERROR leaf once had none)"


@settings(max_examples=60)
@given(answers)
def test_split_answer_any_text(answer: str) -> None:
    raw = answer.encode("utf-8", "surrogatepass")
    segments = nearcopy.split_answer(answer)
    previous = 0
    for segment in segments:
        assert previous <= segment.start <= segment.end <= len(raw)
        previous = segment.end
        assert segment.kind in ("prose", "code")


@pytest.fixture(scope="module")
def protected(tmp_path_factory: pytest.TempPathFactory) -> nearcopy.OutputFilter:
    index = nearcopy.ProtectedIndex.build(
        [{"id": "river", "text": PROSE, "license": "GPL-3.0"}], tmp_path_factory.mktemp("i") / "index"
    )
    return nearcopy.OutputFilter(index, policy=nearcopy.Policy(by_license={"GPL-3.0": "redact"}))


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(answers, st.integers(1, 50))
def test_filter_any_output(protected: nearcopy.OutputFilter, answer: str, chunk: int) -> None:
    raw = answer.encode("utf-8", "surrogatepass")
    verdict = protected.check(answer)
    assert verdict.flagged == bool(verdict.matches)
    assert all(0 <= m.start < m.end <= len(raw) for m in verdict.matches)
    shown = protected.apply(answer)
    assert isinstance(shown, str)
    assert (shown == answer) or verdict.flagged
    stream = protected.stream()
    streamed = (
        "".join(stream.feed(answer[i : i + chunk]) for i in range(0, len(answer), chunk)) + stream.close()
    )
    if not verdict.flagged and not stream.verdict.flagged:
        assert streamed == answer


# --- CLI input parsers ---------------------------------------------------------------------------


@given(
    st.lists(
        st.one_of(
            st.text(max_size=20), st.builds("{}={}".format, st.text(max_size=8), st.sampled_from(ACTIONS))
        )
    )
)
def test_policy_strings(items: list[str]) -> None:
    try:
        parsed = policy_actions(items, "--license-policy")
    except ValueError as err:
        assert "NAME=ACTION" in str(err)
        return
    last = {name: action for name, _, action in (item.rpartition("=") for item in items)}
    assert parsed == last and all(last) and set(last.values()) <= set(ACTIONS)


numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(2**70), 2**70).map(str),
    st.sampled_from(["nan", "inf", "-0", "1e309", "0x10", "", " 0.5", "½", "0.5\x00"]),
    st.text(max_size=6),
)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("corpus") / "docs.jsonl"
    path.write_text("".join(json.dumps({"text": f"{PROSE} {i % 3}"}) + "\n" for i in range(6)))
    return path


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    option=st.sampled_from(
        ["--threshold", "--num-perm", "--bands", "--rows", "--seed", "--ngram", "--max-copies"]
    ),
    value=numbers,
)
def test_dedup_options(corpus: Path, capsys: pytest.CaptureFixture[str], option: str, value: str) -> None:
    argv = ["dedup", str(corpus), "--quiet", option, value]
    if option == "--bands":
        argv += ["--rows", "4"]
    capsys.readouterr()  # what earlier examples printed
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse: the value is not a number at all
        assert exit_.code == 2
        return
    err = capsys.readouterr().err
    if code != 0:
        assert code == 2 and err.startswith("nearcopy: error: ") and err.count("\n") == 1, err


@settings(max_examples=40)
@given(st.lists(st.binary(max_size=80), max_size=8))
def test_document_loaders_any_bytes(tmp_path_factory: pytest.TempPathFactory, lines: list[bytes]) -> None:
    path = tmp_path_factory.mktemp("bytes") / "in.jsonl"
    path.write_bytes(b"\n".join(lines))
    try:
        records = list(jsonl_objects(path, "text"))
        assert all(isinstance(r["text"], str) for _, r in records)
    except InputError as err:
        assert str(path) in str(err)
    assert b"".join(line_blocks(path, "in", 7)) == path.read_bytes()
    try:
        batches = list(read_batches(path, "in", Fields(), 1 << 20, lambda _: None))
        assert all(isinstance(t, str) for b in batches for t in b.texts)
    except InputError as err:
        assert err.args[0].startswith("in:")
