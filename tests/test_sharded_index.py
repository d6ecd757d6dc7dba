"""A sharded protected index (several index directories checked as one) gives the verdicts one index
over the same documents gives: the same flags, matched documents, spans and scores, for random
corpora of prose and code and 1 to 5 shards; document frequency (the boilerplate rule) is counted
over every shard, not per shard. Shards that disagree (parameters, key), are missing, listed twice
or damaged are refused with an error naming the shard; a sharded build or add killed half-way
publishes nothing and its leftovers are removed by the next writer. Real files on disk throughout.
(The CLI verbs and `nearcopy serve` over a sharded index: tests/test_sharded_cli.py.)"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nearcopy.filter import OutputFilter, Verdict
from nearcopy.index import Document, IndexError_, IndexKeyError, ProtectedIndex, ShardError
from nearcopy.index_shards import shard_of

WORDS = [f"w{i}" for i in range(40)]  # few words: random texts share short runs, as real prose does
NAMES = ["a", "b", "items", "total", "node", "key"]
FENCE = "`" * 3


def code_line(draw: Any) -> str:
    name, other, third = (draw(st.sampled_from(NAMES)) for _ in range(3))
    line: str = draw(st.sampled_from([
        f"{name} = {other}({third}, {draw(st.integers(0, 9))})",
        f"if {name} > {other}:\n        {third} += 1",
        f"for {name} in {other}:\n        {third}.append({name})",
        f"return {name}[{other}] * {third}",
    ]))  # fmt: skip
    return line


@st.composite
def corpora(draw: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """Protected documents (prose, and Python functions) that share passages with each other, and
    outputs: cuts of them, spliced with other words, in and out of code fences."""
    passage = st.lists(st.sampled_from(WORDS), min_size=8, max_size=40)
    passages = draw(st.lists(passage, min_size=1, max_size=3))
    docs: list[dict[str, Any]] = []
    for i in range(draw(st.integers(1, 12))):
        if draw(st.integers(0, 3)) == 0:
            body = "\n    ".join(code_line(draw) for _ in range(draw(st.integers(4, 14))))
            text = f"def f{i}(a, b):\n    {body}\n"
            docs.append({"id": f"src/f{i}.py", "text": text, "language": "python"})
            continue
        words = draw(st.lists(st.sampled_from(WORDS), max_size=120))
        for passage in draw(st.lists(st.sampled_from(passages), max_size=3)):
            at = draw(st.integers(0, len(words)))
            words[at:at] = passage
        docs.append({"id": f"doc-{i}", "text": " ".join(words), "license": draw(st.sampled_from(["A", "B"]))})
    outputs = []
    for _ in range(draw(st.integers(1, 4))):
        text = docs[draw(st.integers(0, len(docs) - 1))]["text"]
        start = draw(st.integers(0, len(text)))
        cut = text[start : start + draw(st.integers(0, 700))]
        noise = " ".join(draw(st.lists(st.sampled_from(WORDS), max_size=20)))
        fenced = f"Here:\n\n{FENCE}python\n{cut}{FENCE}\n{noise}"
        outputs.append(fenced if "def " in text else f"{noise} {cut}")
    return docs, outputs


def summary(verdict: Verdict) -> tuple[Any, ...]:
    """A verdict, with its matches in a fixed order: among equally long matches, a sharded index
    lists them shard by shard (see docs/filter.md, "Sharded indexes")."""
    matches = sorted(
        (m.doc_id, m.start, m.end, m.tokens, m.coverage, m.kind, m.language, json.dumps(m.metadata))
        for m in verdict.matches
    )
    return verdict.flagged, verdict.action, verdict.score, matches


@settings(max_examples=60)
@given(
    corpus=corpora(),
    shards=st.integers(1, 5),
    max_doc_frequency=st.sampled_from([1, 2, 3, 20]),
    popular=st.sampled_from([None, 3]),
)
def test_a_sharded_index_gives_the_verdicts_of_one_index(
    corpus: tuple[list[dict[str, Any]], list[str]], shards: int, max_doc_frequency: int, popular: int | None
) -> None:
    docs, outputs = corpus
    with tempfile.TemporaryDirectory() as tmp:
        one = ProtectedIndex.build(docs, Path(tmp) / "one", num_threads=1)
        sharded = ProtectedIndex.build(docs, Path(tmp) / "sharded", num_threads=1, shards=shards)
        # A sharded index numbers the documents shard by shard: one index over them in another order
        # must give the same verdicts too (it did not, until chains were stitched in a total order).
        reordered = ProtectedIndex.build(docs[::-1], Path(tmp) / "reordered", num_threads=1)
        assert len(sharded.shards) == shards and len(sharded) == len(docs)
        assert sorted(d["id"] for d in sharded) == sorted(d["id"] for d in docs)
        filters = [
            OutputFilter(
                index,
                min_tokens=8,
                min_code_tokens=25,
                max_doc_frequency=max_doc_frequency,
                popular_doc_frequency=popular,
            )
            for index in (one, sharded, reordered)
        ]
        for output in outputs:
            expected = summary(filters[0].check(output))
            assert summary(filters[1].check(output)) == expected == summary(filters[2].check(output)), output
        batch = [[summary(v) for v in f.check_batch(outputs, num_threads=2)] for f in filters[:2]]
        assert batch[1] == batch[0]


FOOTER = (
    "Sent from the front desk of the harbour office, where the tide tables for the coming week are "
    "pinned beside the door and the kettle is always on for anyone who walks in out of the rain."
)


def test_document_frequency_is_counted_over_every_shard(tmp_path: Path) -> None:
    plain = [Document(str(i), f"{FOOTER} Note {i}: {' '.join(WORDS[i : i + 5])}.") for i in range(30)]
    one = ProtectedIndex.build(plain, tmp_path / "one")
    sharded = ProtectedIndex.build(plain, tmp_path / "sharded", shards=4)
    per_shard = [shard["documents"] for shard in sharded.info()["shards"]]
    assert sum(per_shard) == 30 and all(0 < n < 20 for n in per_shard), per_shard
    for index in (one, sharded):
        assert not OutputFilter(index, max_doc_frequency=20).check(FOOTER).flagged, "30 documents > 20"
        assert OutputFilter(index, max_doc_frequency=40).check(FOOTER).flagged
    # What a per-shard count would say: each shard alone holds fewer than 20, and flags the footer.
    alone = ProtectedIndex.open(sharded.shards[0])
    assert OutputFilter(alone, max_doc_frequency=20).check(FOOTER).flagged
    # Assembled from the same shards, or given a fifth shard holding none of it: the same counts.
    assembled = ProtectedIndex.assemble(tmp_path / "assembled", sharded.shards)
    assert not OutputFilter(assembled, max_doc_frequency=20).check(FOOTER).flagged
    grown = sharded.add([Document("other", "Nothing in common with the rest of them at all, really.")])
    assert len(grown.shards) == 5 and not OutputFilter(grown, max_doc_frequency=20).check(FOOTER).flagged


def test_documents_go_to_the_shard_a_stable_hash_of_their_id_names(tmp_path: Path) -> None:
    docs = [{"id": f"doc-{i}", "text": f"{FOOTER} {i}"} for i in range(40)]
    sharded = ProtectedIndex.build(docs, tmp_path / "sharded", shards=3)
    for n, shard in enumerate(sharded.shards):
        for row in ProtectedIndex.open(shard):
            digest = hashlib.blake2b(row["id"].encode(), digest_size=8).digest()
            assert int.from_bytes(digest, "little") % 3 == n == shard_of(row["id"], 3)
    verdict = OutputFilter(sharded, max_doc_frequency=100).check(f"{FOOTER} 17")
    assert "doc-17" in {m.doc_id for m in verdict.matches}, "attribution across shards"


def built(path: Path, **options: Any) -> Path:
    ProtectedIndex.build([{"id": path.name, "text": f"{FOOTER} {path.name}"}], path, **options)
    return path


def test_shards_that_disagree_are_refused_naming_the_shard(tmp_path: Path) -> None:
    key, other_key = b"k" * 32, b"o" * 32
    first = built(tmp_path / "first")
    cases = [
        (built(tmp_path / "k5", k=5), "k=5"),
        (built(tmp_path / "code", code_w=12), "code_w=12"),
        (built(tmp_path / "keyed", key=key), "is keyed"),
    ]
    for shard, problem in cases:
        with pytest.raises(ShardError, match=rf"shard 1 of 2 \(\.\./{shard.name}\): .*{problem}"):
            ProtectedIndex.assemble(tmp_path / "out", [first, shard])
        assert not (tmp_path / "out").exists(), "a refused assemble leaves nothing"
    keyed = ProtectedIndex.assemble(tmp_path / "keyed-out", [tmp_path / "keyed"], key=key)
    with pytest.raises(ShardError, match="another key"):
        ProtectedIndex.assemble(keyed.path, [tmp_path / "keyed", built(tmp_path / "k2", key=other_key)])
    with pytest.raises(IndexKeyError):
        ProtectedIndex.open(keyed.path)
    with pytest.raises(ShardError, match="the same directory as"):
        ProtectedIndex.assemble(tmp_path / "twice", [first, tmp_path / "first" / ".." / "first"])
    with pytest.raises(ShardError, match="a sharded index, where one index directory was expected"):
        ProtectedIndex.assemble(tmp_path / "nested", [first, keyed.path])
    with pytest.raises(IndexError_, match="holds an index, not a sharded index"):
        ProtectedIndex.assemble(first, [tmp_path / "k5"])
    # A shard rebuilt with other parameters after the sharded index was published.
    sharded = ProtectedIndex.assemble(tmp_path / "later", [first, built(tmp_path / "second")])
    shutil.rmtree(tmp_path / "second")
    built(tmp_path / "second", w=8)
    with pytest.raises(ShardError, match=r"shard 1 of 2 \(\.\./second\): was built with w=8"):
        ProtectedIndex.open(sharded.path)


def flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 3 : len(data) // 3 + 4] = b"\xff\xff\xff\xff"
    path.write_bytes(bytes(data))


def test_a_missing_or_damaged_shard_is_refused_never_skipped(tmp_path: Path) -> None:
    docs = [{"id": f"doc-{i}", "text": f"{FOOTER} {' '.join(WORDS[i:])}"} for i in range(12)]
    original = ProtectedIndex.build(docs, tmp_path / "original", shards=3).path
    cases = {"missing": "no manifest.json", "manifest": "checksum|damaged", "top": "checksum|damaged"}
    for case, message in cases.items():
        damaged = tmp_path / case
        shutil.copytree(original, damaged)
        if case == "missing":
            shutil.rmtree(damaged / "shard-00001")
        elif case == "manifest":
            flip(damaged / "shard-00001" / "manifest.json")
        else:
            flip(damaged / "manifest.json")
        error = ShardError if case != "top" else IndexError_
        with pytest.raises(error, match=message) as raised:
            ProtectedIndex.open(damaged)
        if case != "top":
            assert "shard 1 of 3 (shard-00001)" in str(raised.value)
        with pytest.raises(error):
            ProtectedIndex.describe(damaged)
    # A damaged segment is found by the first check that reads it, and by verify() (an OSError from
    # the native reader, naming the file, as for an index of one directory).
    damaged = tmp_path / "segment"
    shutil.copytree(original, damaged)
    (segment,) = (damaged / "shard-00002").glob("seg-*.ncs")
    flip(segment)
    index = ProtectedIndex.open(damaged)
    with pytest.raises(OSError, match=str(segment)):
        index.verify()
    with pytest.raises(OSError, match="checksum"):
        OutputFilter(index, max_doc_frequency=100).check(" ".join(d["text"] for d in docs))


WORKER = textwrap.dedent(
    """
    import os, signal, sys
    from nearcopy.index import ProtectedIndex

    def documents():
        for i in range(400):
            if i == 300:  # some batches written, nothing published: die as a killed process does
                os.kill(os.getpid(), signal.SIGKILL)
            yield {"id": f"late-{i}", "text": f"document {i} " * 50}

    if sys.argv[1] == "build":
        ProtectedIndex.build(documents(), sys.argv[2], shards=3, batch_bytes=4096)
    else:
        ProtectedIndex.open(sys.argv[2]).add(documents(), batch_bytes=4096)
    """
)


def killed(*args: str) -> None:
    done = subprocess.run([sys.executable, "-c", WORKER, *args], capture_output=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr


def test_a_killed_sharded_build_or_add_publishes_nothing_and_is_cleaned_up(tmp_path: Path) -> None:
    path = tmp_path / "index"
    killed("build", str(path))
    assert not (path / "manifest.json").exists() and list(path.glob("shard-*/seg-*.ncs"))
    with pytest.raises(IndexError_, match=r"no manifest\.json"):
        ProtectedIndex.open(path)
    index = ProtectedIndex.build([{"id": "kept", "text": FOOTER}], path, shards=2)
    names = sorted(p.name for p in path.iterdir())
    assert names == ["manifest.json", "shard-00000", "shard-00001", "write.lock"], names
    killed("add", str(path))
    reopened = ProtectedIndex.open(path)
    assert reopened.info()["generation"] == index.info()["generation"] and len(reopened) == 1
    assert (path / "shard-00002").exists(), "the killed add's shard is still there, unpublished"
    grown = reopened.add([{"id": "late", "text": "a late document " * 10}])
    assert [p.name for p in grown.shards] == ["shard-00000", "shard-00001", "shard-00002"]
    assert len(grown) == 2 and {row["id"] for row in grown} == {"kept", "late"}

    def failing() -> Any:
        yield {"id": "one", "text": FOOTER}
        raise RuntimeError("the source went away")

    with pytest.raises(RuntimeError):
        ProtectedIndex.build(failing(), tmp_path / "failed", shards=3)
    assert not (tmp_path / "failed").exists(), "a failed build leaves nothing"


def test_a_shard_a_late_writer_still_fills_is_removed_and_its_name_freed(tmp_path: Path) -> None:
    """A killed Ray build's tasks may still write into its unpublished shard while the next writer
    cleans up: the name must be free afterwards (or the next build's own shard is refused as
    existing), and nothing of the removed directory may stay behind."""
    root = tmp_path / "index"
    root.mkdir()
    (root / ".unpublished-shards").write_text(json.dumps(["shard-00000"]))
    shard = root / "shard-00000"
    shard.mkdir()
    for i in range(2000):
        (shard / f"seg-{i:05d}.ncs").write_bytes(b"x" * 64)
    stop = threading.Event()

    def late_task() -> None:  # writes by path, as a task's segment writer does
        n = 0
        while not stop.is_set():
            n += 1
            with contextlib.suppress(FileNotFoundError):  # once the shard is renamed away
                (shard / f"late-{n}.tmp").write_bytes(b"y")

    writer = threading.Thread(target=late_task)
    writer.start()
    try:
        ProtectedIndex.build([{"id": "kept", "text": FOOTER}], root, shards=1)
    finally:
        stop.set()
        writer.join()
    leftovers = sorted(p.name for p in root.iterdir() if p.name.startswith("."))
    assert leftovers == [], leftovers
    assert [row["id"] for row in ProtectedIndex.open(root)] == ["kept"]
