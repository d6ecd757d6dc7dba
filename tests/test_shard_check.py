"""The two phases a router runs over shard servers (`nearcopy.shard_check`), in one process: each
shard opened alone, its document counts summed, its matches taken under the sums and merged, give
exactly the verdict of `OutputFilter` over the whole sharded index, matches in the same order, for
random corpora of prose and code, 1 to 5 shards, several thresholds, with and without an allowlist;
and a shard opens where only it and the sharded index's manifest are.
(The same over HTTP between real processes: tests/test_serve_router.py.)"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nearcopy.filter import OutputFilter, Verdict
from nearcopy.index import ProtectedIndex, ShardError
from nearcopy.shard_check import (
    ShardChecker,
    contents_of,
    merged_verdict,
    open_shard,
    other_shards,
    thresholds_of,
    union_contents,
)
from test_sharded_index import FENCE, WORDS, code_line, corpora


@st.composite
def shared_passages(draw: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """Documents of which a random number hold one passage (prose, or a function), so that its
    document frequency over all shards and in each falls on either side of the thresholds; outputs
    that quote it, alone or inside other text."""
    code = draw(st.booleans())
    if code:
        passage = "def shared(a, b):\n    " + "\n    ".join(
            code_line(draw) for _ in range(draw(st.integers(6, 12)))
        )
    else:
        passage = " ".join(draw(st.lists(st.sampled_from(WORDS), min_size=12, max_size=40)))
    holders = draw(st.integers(1, 14))
    docs: list[dict[str, Any]] = []
    for i in range(draw(st.integers(holders, 18))):
        own = " ".join(draw(st.lists(st.sampled_from(WORDS), min_size=5, max_size=60)))
        text = f"{own}\n\n{passage}\n" if i < holders else own
        docs.append({"id": f"doc-{i}", "text": text, "license": draw(st.sampled_from(["A", "B"])),
                     **({"language": "python"} if code and i < holders else {})})  # fmt: skip
    noise = " ".join(draw(st.lists(st.sampled_from(WORDS), max_size=20)))
    quoted = f"Here:\n\n{FENCE}python\n{passage}\n{FENCE}\n{noise}" if code else f"{noise} {passage}"
    return docs, [quoted, passage, f"{docs[-1]['text']} {noise}"]


def routed(path: Path, count: int, reference: OutputFilter, texts: list[str]) -> list[Verdict]:
    """What a router over ``count`` shard servers answers, with ``reference``'s thresholds."""
    checkers = [ShardChecker(open_shard(path, s)) for s in range(count)]
    thresholds = thresholds_of(reference)
    contents = union_contents([contents_of(c.index) for c in checkers])
    hints: list[str | None] = [None] * len(texts)
    counted = [c.frequencies(texts, hints, thresholds, contents) for c in checkers]
    offsets = [sum(int(c.index.info()["segments"]) for c in checkers[:s]) for s in range(count)]
    verdicts = []
    for t, text in enumerate(texts):
        others, allowed = other_shards([r[t][0] for r in counted], [r[t][1] for r in counted], thresholds[0])
        found = [c.matches([text], [None], thresholds, contents, [others[s]], [allowed])[0]
                 for s, c in enumerate(checkers)]  # fmt: skip
        tokens = found[0][1]
        verdicts.append(merged_verdict(text, [rows for rows, _ in found], offsets, tokens, reference.policy))
    return verdicts


@settings(max_examples=60, deadline=None)
@given(
    corpus=st.one_of(corpora(), shared_passages()),
    shards=st.integers(1, 5),
    max_doc_frequency=st.sampled_from([1, 2, 3, 5, 20]),
    popular=st.sampled_from([None, 3]),
    allowlisted=st.booleans(),
)
def test_the_routed_verdicts_are_one_index_s_matches_in_its_order(
    corpus: tuple[list[dict[str, Any]], list[str]], shards: int, max_doc_frequency: int,
    popular: int | None, allowlisted: bool,
) -> None:  # fmt: skip
    docs, outputs = corpus
    allowlist = (
        [{"id": "allowed", "text": docs[0]["text"][: len(docs[0]["text"]) // 2]}] if allowlisted else []
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sharded"
        index = ProtectedIndex.build(docs, path, num_threads=1, shards=shards, allowlist=allowlist)
        reference = OutputFilter(
            index, min_tokens=8, min_code_tokens=25, max_doc_frequency=max_doc_frequency,
            popular_doc_frequency=popular,
        )  # fmt: skip
        expected = [reference.check(text) for text in outputs]
        assert routed(path, shards, reference, outputs) == expected


def test_a_shard_opens_on_a_machine_holding_only_it_and_the_manifest(tmp_path: Path) -> None:
    docs = [{"id": f"d{i}", "text": " ".join(WORDS[i : i + 30])} for i in range(10)]
    ProtectedIndex.build(docs, tmp_path / "all", shards=3)
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(tmp_path / "all" / "manifest.json", alone)
    shutil.copytree(tmp_path / "all" / "shard-00002", alone / "shard-00002")
    here, there = open_shard(alone, 2), open_shard(tmp_path / "all", 2)
    assert (here.number, here.count, len(here)) == (2, 3, len(there))
    reference = OutputFilter(ProtectedIndex.open(tmp_path / "all"))
    texts = [" ".join(WORDS[3:40])]
    hints: list[str | None] = [None]
    contents = contents_of(there)
    phases = [
        ShardChecker(i).frequencies(texts, hints, thresholds_of(reference), contents) for i in (here, there)
    ]
    assert phases[0] == phases[1] and phases[0][0][0], "the same counts, and some"
    with pytest.raises(ShardError, match="shard 1 of 3"):
        open_shard(alone, 1)  # not on this machine
    with pytest.raises(ShardError, match="--shard 3: the index has shards 0 to 2"):
        open_shard(alone, 3)
