"""Batch filtering (`OutputFilter.check_batch`, `nearcopy filter`), the allowlist, and the per-content
thresholds, on real stdlib code and real licence text of this machine."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest
from nearcopy.benchsuite import code_corpus, mutations
from nearcopy.filter import OutputFilter, Policy
from nearcopy.index import Document, ProtectedIndex

LICENSE_HEADER = (
    '# Licensed under the Apache License, Version 2.0 (the "License"); you may not use this file except\n'
    "# in compliance with the License. You may obtain a copy of the License at\n"
    "#     http://www.apache.org/licenses/LICENSE-2.0\n"
    "# Unless required by applicable law or agreed to in writing, software distributed under the License\n"
    '# is distributed on an "AS IS" BASIS, WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express\n'
    "# or implied. See the License for the specific language governing permissions and limitations.\n"
)
PROSE_HEADER = " ".join(line.lstrip("# ") for line in LICENSE_HEADER.splitlines())
FOOTER = (
    "This message and any attachments are confidential and intended solely for the person to whom it "
    "is addressed. If you received it by mistake, please tell the sender at once and delete it from "
    "your system; reading it, forwarding it or acting on what it says is not allowed to anyone else."
)


def functions() -> list[tuple[str, str]]:
    """(module name, one function of it) for real stdlib modules with a function of 15+ lines."""
    found = []
    for path, source in code_corpus.sample("python", count=40, seed=5):
        fns = mutations.functions([source], min_lines=15)
        if fns:
            found.append((path.rsplit("/", 1)[-1], fns[0]))
    return found


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> ProtectedIndex:
    docs = [
        Document(name, f"{PROSE_HEADER}\n\n{fn}", {"license": "Apache-2.0" if i % 2 else "GPL-3.0"})
        for i, (name, fn) in enumerate(functions())
    ]
    index = ProtectedIndex.build(
        docs[:3],
        tmp_path_factory.mktemp("batch") / "index",
        allowlist=[{"id": "apache-header", "text": PROSE_HEADER}],
    )
    for start in range(3, len(docs), 3):
        index = index.add(docs[start : start + 3])  # one segment each
    return index


def answers() -> list[str]:
    out = [
        f"Here you go:\n\n```python\n{mutations.mutate(fn, ['rename'], i)}```\n"
        for i, (_, fn) in enumerate(functions()[:6])
    ]
    out += ["An original answer about binary search, which halves the interval each step.", ""]
    return out


def test_check_batch_equals_check_whatever_the_thread_count(index: ProtectedIndex) -> None:
    output_filter = OutputFilter(index)
    single = [output_filter.check(a) for a in answers()]
    assert [v.flagged for v in single] == [True] * 6 + [False, False]
    for threads in (1, 2, 4):
        assert output_filter.check_batch(answers(), num_threads=threads) == single
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        output_filter.check_batch(["fine", b"bytes"])  # type: ignore[list-item]


def test_a_warmed_index_screens_its_allowlists_by_their_bits_and_finds_what_it_found(
    index: ProtectedIndex,
) -> None:
    fresh = ProtectedIndex.open(index.path)
    texts = [*answers(), f"As the header says: {PROSE_HEADER}", f"{PROSE_HEADER}\n\n{functions()[1][1]}"]
    for max_doc_frequency in (20, 1000):
        before = [OutputFilter(fresh, max_doc_frequency=max_doc_frequency).check(t) for t in texts]
        assert not before[-2].flagged, "the allowlisted header is never reported"
        assert fresh._reader.presence_bytes() == 0 or max_doc_frequency == 1000
        fresh.warm()
        assert fresh._reader.presence_bytes() > 0, "warm() made the allowlists' presence bits"
        after = [OutputFilter(fresh, max_doc_frequency=max_doc_frequency).check(t) for t in texts]
        assert after == before


def test_segments_were_cut_and_boilerplate_counts_across_them(index: ProtectedIndex) -> None:
    assert index.info()["segments"] > 3
    # The header is in every document (and allowlisted): never reported, in prose or code comments.
    output_filter = OutputFilter(index, max_doc_frequency=1000)
    assert not output_filter.check(f"As the header says: {PROSE_HEADER}").flagged
    # Boilerplate that is not a licence notice (notices are allowlisted at build, whatever their count).
    plain = [Document(str(i), f"{FOOTER} and document {i}") for i in range(30)]
    unlisted = ProtectedIndex.build(plain[:6], index.path.parent / "plain")
    for start in range(6, 30, 6):
        unlisted = unlisted.add(plain[start : start + 6])
    assert unlisted.info()["segments"] > 3, "boilerplate spread thinly over many segments"
    assert not OutputFilter(unlisted, max_doc_frequency=20).check(FOOTER).flagged
    assert OutputFilter(unlisted, max_doc_frequency=40).check(FOOTER).flagged


def test_code_and_prose_have_their_own_thresholds(index: ProtectedIndex) -> None:
    answer = answers()[0]
    # The threshold is compared with the tokens matched plus the w - 1 winnowing leaves unseen.
    reach = OutputFilter(index).check(answer).matches[0].tokens + index.info()["code_w"] - 1
    assert OutputFilter(index, min_code_tokens=reach).check(answer).flagged
    assert not OutputFilter(index, min_code_tokens=reach + 1).check(answer).flagged
    assert OutputFilter(index, min_tokens=10_000).check(answer).flagged, "the prose threshold is not used"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nearcopy", *args], capture_output=True, text=True, timeout=300
    )


def test_filter_verb_rewrites_jsonl_with_verdicts(index: ProtectedIndex, tmp_path: Path) -> None:
    source = tmp_path / "outputs.jsonl.gz"
    with gzip.open(source, "wt", encoding="utf-8") as handle:
        for i, answer in enumerate(answers()):
            handle.write(json.dumps({"request": i, "completion": answer, "model": "m1"}) + "\n")
    out = tmp_path / "filtered.jsonl.gz"
    result = run(
        "filter",
        "--index",
        str(index.path),
        str(source),
        "-o",
        str(out),
        "--text-field",
        "completion",
        "--license-policy",
        "GPL-3.0=suppress",
        "--source-policy",
        f"{functions()[0][0]}=annotate",
        "--batch",
        "3",
    )
    assert result.returncode == 1, result.stderr
    assert "8 outputs, 6 flagged" in result.stderr
    with gzip.open(out, "rt", encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle]
    assert [r["request"] for r in records] == list(range(8)) and all(r["model"] == "m1" for r in records)
    policy = Policy(by_license={"GPL-3.0": "suppress"}, by_source={functions()[0][0]: "annotate"})
    expected = [OutputFilter(index, policy=policy).apply(a) for a in answers()]
    assert [r["completion"] for r in records] == expected
    assert {r["nearcopy"]["action"] for r in records[:6]} == {"annotate", "redact", "suppress"}
    assert records[0]["nearcopy"]["action"] == "annotate", "the source's action beats its licence's"
    assert records[6]["completion"] == answers()[6] and records[6]["nearcopy"]["flagged"] is False
    assert all("text" not in m for r in records for m in r["nearcopy"]["matches"]), "no protected text"


def test_filter_verb_bad_input_exits_2_and_leaves_the_old_output(
    index: ProtectedIndex, tmp_path: Path
) -> None:
    source = tmp_path / "bad.jsonl"
    source.write_text(json.dumps({"text": "fine"}) + "\n{not json\n")
    out = tmp_path / "out.jsonl"
    out.write_text("previous run\n")
    result = run("filter", "--index", str(index.path), str(source), "-o", str(out))
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "bad.jsonl:2: invalid JSON" in result.stderr
    assert out.read_text() == "previous run\n" and sorted(p.name for p in tmp_path.iterdir()) == [
        "bad.jsonl",
        "out.jsonl",
    ]
