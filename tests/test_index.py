"""The protected index and the output filter, on real code of this machine."""

from __future__ import annotations

import multiprocessing
import multiprocessing.queues
import os
import random
from pathlib import Path
from typing import Any

import pytest
from nearcopy.benchsuite import code_corpus, mutations
from nearcopy.filter import OutputFilter, Policy
from nearcopy.index import Document, IndexError_, IndexKeyError, ProtectedIndex

PROSE = (
    "It is a truth universally acknowledged, that a single man in possession of a good fortune, must be "
    "in want of a wife. However little known the feelings or views of such a man may be on his first "
    "entering a neighbourhood, this truth is so well fixed in the minds of the surrounding families, "
    "that he is considered the rightful property of some one or other of their daughters."
)


def corpus() -> list[Document]:
    docs = [
        Document(path.rsplit("/", 1)[-1], source, {"path": path, "license": "PSF-2.0", "url": f"file://{i}"})
        for i, (path, source) in enumerate(code_corpus.sample("python", count=40, seed=2))
    ]
    return [*docs, Document("austen", PROSE, {"license": "public-domain"})]


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> ProtectedIndex:
    return ProtectedIndex.build(corpus(), tmp_path_factory.mktemp("idx") / "index")


def protected_function(index: ProtectedIndex) -> tuple[str, str]:
    for doc in corpus()[:-1]:
        functions = mutations.functions([doc.text], min_lines=12)
        if functions:
            return doc.id, functions[0]
    raise AssertionError("no function in the corpus")


def test_build_open_info_and_metadata(index: ProtectedIndex) -> None:
    info = index.info()
    assert info["documents"] == len(index) == 41 and info["segments"] == 1
    assert 0 < info["bytes_per_token"] <= 4, info
    reopened = ProtectedIndex.open(index.path)
    assert list(reopened) == list(index)
    austen = next(m for m in index if m["id"] == "austen")
    assert austen == {"id": "austen", "license": "public-domain", "language": None}
    assert all("text" not in m for m in index), "no protected text is stored"


def test_a_renamed_copy_in_a_chatty_answer_is_caught_and_attributed(index: ProtectedIndex) -> None:
    doc_id, function = protected_function(index)
    disguised = mutations.mutate(function, ["rename", "reformat", "comments"], seed=4)
    answer = f"Sure! Here's one way to do it:\n\n```python\n{disguised}```\n\nLet me know if that helps."
    verdict = OutputFilter(index).check(answer)
    assert verdict.flagged and verdict.action == "redact"
    assert verdict.matches[0].doc_id == doc_id and verdict.matches[0].kind == "code"
    assert verdict.matches[0].metadata["license"] == "PSF-2.0"
    redacted = OutputFilter(index).apply(answer)
    assert "[redacted: file://" in redacted and redacted.startswith("Sure! Here's one way")


def test_prose_copies_are_caught_and_original_text_passes(index: ProtectedIndex) -> None:
    lowered = PROSE.upper().replace(",", " ;")
    verdict = OutputFilter(index).check(f"As the novel opens: {lowered} And so on.")
    assert verdict.flagged and verdict.matches[0].doc_id == "austen"
    clean = OutputFilter(index).check(
        "Binary search halves the interval each step, so it takes logarithmic time."
    )
    assert not clean.flagged and clean.action == "allow" and clean.matches == []


def test_policies(index: ProtectedIndex) -> None:
    text = f"Quote: {PROSE}"
    replace = OutputFilter(index, policy=Policy(default="replace")).apply(text)
    assert replace == "[output withheld: it reproduces austen (public-domain)]"
    assert OutputFilter(index, policy=Policy(default="suppress")).apply(text) == ""
    annotated = OutputFilter(index, policy=Policy(default="allow", by_license={"public-domain": "annotate"}))
    assert annotated.apply(text) == f"{text}\n\n[sources: austen]"
    assert OutputFilter(index, policy=Policy(default="allow")).apply(text) == text
    by_source = Policy(
        default="allow", by_license={"public-domain": "annotate"}, by_source={"austen": "suppress"}
    )
    assert OutputFilter(index, policy=by_source).apply(text) == "", (
        "a source's action comes before its licence's"
    )
    with pytest.raises(ValueError, match="action must be one of"):
        Policy(default="delete")  # type: ignore[arg-type]


def test_boilerplate_in_many_documents_is_not_reported(tmp_path: Path) -> None:
    header = (
        "# Licensed under the Apache License, Version 2.0 (the License); you may not use this file except "
        "in compliance with the License. You may obtain a copy of the License at the usual place.\n"
    )
    docs = [Document(f"d{i}.py", header + f"def f{i}(x):\n    return x * {i} + {i * i}\n") for i in range(30)]
    index = ProtectedIndex.build(docs, tmp_path / "idx")
    assert not OutputFilter(index, max_doc_frequency=10, min_tokens=15).check(header * 2).flagged


def _check_in_child(path: str, answer: str, queue: multiprocessing.queues.Queue[bool]) -> None:
    index = ProtectedIndex.open(path)
    queue.put(all(OutputFilter(index).check(answer).flagged for _ in range(30)))


def test_add_publishes_a_new_generation_while_readers_keep_working(
    index: ProtectedIndex, tmp_path: Path
) -> None:
    target = tmp_path / "growing"
    first = ProtectedIndex.build(corpus()[:20], target)
    _, function = protected_function(first)
    answer = f"```python\n{function}```"
    context = multiprocessing.get_context("spawn")
    queue: multiprocessing.queues.Queue[bool] = context.Queue()
    reader = context.Process(target=_check_in_child, args=(str(target), answer, queue))
    reader.start()
    grown = first.add(corpus()[20:])
    assert queue.get(timeout=120) is True
    reader.join(timeout=60)
    assert grown.info()["generation"] == 2 and len(grown) == 41 and grown.info()["segments"] == 2
    assert OutputFilter(first).check(answer).flagged, "the old handle still reads its segments"
    assert OutputFilter(ProtectedIndex.open(target)).check(f"Quote: {PROSE}").matches[0].doc_id == "austen"


def _open_and_check_until_told(
    path: str, answer: str, stop: Any, queue: multiprocessing.queues.Queue[str]
) -> None:
    """Opens the index afresh and checks, over and over, while another process adds and merges."""
    opened = 0
    try:
        while not stop.is_set() or opened == 0:
            if not OutputFilter(ProtectedIndex.open(path)).check(answer).flagged:
                queue.put("a check missed the copy")
                return
            opened += 1
            if opened == 1:
                queue.put("ready")
        queue.put(f"ok {opened}")
    except Exception as err:  # reported to the test, which fails with it
        queue.put(f"{type(err).__name__}: {err}")


def test_readers_opening_while_a_writer_adds_and_merges_always_see_a_whole_index(tmp_path: Path) -> None:
    target = tmp_path / "busy"
    docs = corpus()
    index = ProtectedIndex.build(docs[:5], target)
    _, function = protected_function(index)
    answer = f"```python\n{function}```"
    context = multiprocessing.get_context("spawn")
    stop, queue = context.Event(), context.Queue()
    readers = [context.Process(target=_open_and_check_until_told, args=(str(target), answer, stop, queue))
               for _ in range(2)]  # fmt: skip
    for reader in readers:
        reader.start()
    assert [queue.get(timeout=120) for _ in readers] == ["ready", "ready"]
    for start in range(5, 41, 4):  # ten adds: the ninth segment triggers a merge
        index = index.add(docs[start : start + 4])
    stop.set()
    reports = [queue.get(timeout=120) for _ in readers]
    for reader in readers:
        reader.join(timeout=60)
    assert all(r.startswith("ok") and int(r.split()[1]) > 2 for r in reports), reports
    assert index.info()["segments"] < 9 and len(ProtectedIndex.open(target)) == len(docs)


def test_damaged_foreign_and_mismatched_indexes_are_refused(tmp_path: Path) -> None:
    target = tmp_path / "idx"
    ProtectedIndex.build(corpus()[:5], target)
    with pytest.raises(FileExistsError):
        ProtectedIndex.build(corpus()[:5], target)
    segment = next(target.glob("seg-*.ncs"))
    good = segment.read_bytes()
    segment.write_bytes(good[: len(good) // 2])
    with pytest.raises(OSError, match="truncated"):
        ProtectedIndex.open(target)
    flipped = bytearray(good)
    flipped[-3] ^= 0x20
    segment.write_bytes(bytes(flipped))
    with pytest.raises(OSError, match="checksum"):
        ProtectedIndex.open(target).verify()
    segment.write_bytes(good)
    with pytest.raises(IndexKeyError, match="not keyed"):
        ProtectedIndex.open(target, key=b"k" * 16)
    (tmp_path / "not-an-index").mkdir()
    with pytest.raises(IndexError_, match="no manifest"):
        ProtectedIndex.open(tmp_path / "not-an-index")
    (tmp_path / "not-an-index" / "manifest.json").write_text('{"format": "something-else"}')
    with pytest.raises(IndexError_, match="not a nearcopy index"):
        ProtectedIndex.open(tmp_path / "not-an-index")


def test_empty_corpus_empty_and_huge_outputs(tmp_path: Path, index: ProtectedIndex) -> None:
    empty = ProtectedIndex.build([], tmp_path / "empty")
    assert len(empty) == 0 and not OutputFilter(empty).check(PROSE).flagged
    assert not OutputFilter(index).check("").flagged
    rng = random.Random(1)
    huge = " ".join(rng.choice(["alpha", "beta", "gamma", "delta", "omega"]) for _ in range(1_800_000))
    assert len(huge) > 10_000_000
    assert not OutputFilter(index).check(huge).flagged
    # The header, a one-bucket directory, the end of no documents' words, one block's checksum.
    assert os.path.getsize(next((tmp_path / "empty").glob("seg-*.ncs"))) == 88 + 8 + 8 + 8


def test_large_builds_are_cut_into_batches_then_merged_and_still_attribute_correctly(tmp_path: Path) -> None:
    docs = corpus()
    batched = ProtectedIndex.build(docs, tmp_path / "batched", batch_bytes=20_000)
    info = batched.info()
    assert (info["segments"], info["generation"], len(batched)) == (1, 2, len(docs)), "batches, then a merge"
    # (allow-*.ncs: the licence notices the stdlib carries, allowlisted at build)
    assert sorted(p.name for p in (tmp_path / "batched").iterdir() if not p.name.startswith("allow-")) == [
        "docs-000002-00000.jsonl", "manifest.json", "seg-000002-00000.ncs", "write.lock"
    ], "the batches' files are gone"  # fmt: skip
    assert [m["id"] for m in batched] == [d.id for d in docs]
    doc_id, function = protected_function(batched)
    answer = f"```python\n{mutations.mutate(function, ['rename'], seed=2)}```"
    verdict = OutputFilter(batched).check(answer)
    assert verdict.flagged and verdict.matches[0].doc_id == doc_id
    assert OutputFilter(batched).check(f"Quote: {PROSE}").matches[0].doc_id == "austen"

    # Segments that add() writes are searched together until there are more than eight, then merged.
    grown = ProtectedIndex.build(docs[:5], tmp_path / "grown")
    for start in range(5, 40, 5):
        grown = grown.add(docs[start : start + 5])
    assert grown.info()["segments"] == 8
    assert OutputFilter(grown).check(answer) == verdict
    grown = grown.add(docs[40:])
    assert grown.info()["segments"] == 1 and [m["id"] for m in grown] == [d.id for d in docs]
    assert OutputFilter(grown).check(answer) == verdict
    assert OutputFilter(ProtectedIndex.open(grown.path)).check(answer) == verdict


def test_documents_from_parquet_jsonl_directories_and_globs(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq
    from nearcopy.inputs import InputError, LoadReport, read_documents

    table = pa.table({"id": ["a", "b"], "content": [PROSE, "another text"], "license": ["PD", None]})
    pq.write_table(table, tmp_path / "docs.parquet")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "m.py").write_text("def f():\n    return 1\n")
    (tmp_path / "src" / "blob.bin").write_bytes(b"\0" * 10)
    report = LoadReport()
    docs = list(read_documents([str(tmp_path / "*.parquet"), str(tmp_path / "src")], "content", "id", report))
    assert (
        [d["id"] for d in docs][:2] == ["a", "b"] and docs[0]["license"] == "PD" and "license" not in docs[1]
    )
    assert docs[2]["path"].endswith("m.py") and report.skipped_binary == 1
    index = ProtectedIndex.build(docs, tmp_path / "index")
    assert OutputFilter(index).check(PROSE).matches[0].doc_id == "a"
    with pytest.raises(InputError, match="no column 'text'"):
        list(read_documents([str(tmp_path / "docs.parquet")]))
