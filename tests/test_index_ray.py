"""`engine="ray"` builds a protected index on a real local Ray cluster started here: the same files,
byte for byte, as this machine's build of the same documents (plain and sharded; prose, code and
transpiler helpers; an allowlist; a key), through the Python API and the CLI, and for random corpora,
shard counts and batch sizes, and an index that opens and checks as the local one does. What makes
it possible, also checked here: a shard of a local sharded build is the index of its own documents
alone, whatever the other shards hold. A task that fails fails the build with the local build's error and
publishes nothing; a driver killed half-way leaves unpublished shards that the next writer removes,
and a task of it that runs on writes nothing the next build's index holds.
Without Ray the error names the extra to install; an unreachable cluster fails at once."""

from __future__ import annotations

import inspect
import json
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nearcopy.cli import main
from nearcopy.filter import OutputFilter
from nearcopy.index import ProtectedIndex
from nearcopy.index_ray import _segment_task
from nearcopy.index_shards import shard_of
from nearcopy.protected_documents import as_document

SECRET = b"a test secret of 32 bytes, fixed"
# Real prose and real code: the standard library's docstrings and sources.
MODULES = ("argparse", "json", "pathlib", "textwrap", "shutil", "csv", "configparser", "statistics")
HELPER = (
    "var __importStar = (this && this.__importStar) || function (mod) {\n"
    "    if (mod && mod.__esModule) return mod;\n    var result = {};\n"
    '    if (mod != null) for (var k in mod) if (k !== "default" && '
    "Object.prototype.hasOwnProperty.call(mod, k)) __createBinding(result, mod, k);\n"
    "    __setModuleDefault(result, mod);\n    return result;\n};\n"
)
FOOTER = (
    "Sent from the front desk of the harbour office, where the tide tables for the coming week are "
    "pinned beside the door and the kettle is always on for anyone who walks in out of the rain."
)


def _corpus() -> list[dict[str, Any]]:
    """Docstring paragraphs (prose), function sources (Python), compiled JavaScript with a
    transpiler helper, and a footer many documents share (a boilerplate passage)."""
    docs: list[dict[str, Any]] = []
    for name in MODULES:
        module = __import__(name)
        for member, obj in inspect.getmembers(module, inspect.isfunction):
            if obj.__module__ != name:
                continue
            doc = inspect.getdoc(obj) or ""
            if len(doc.split()) >= 20:
                docs.append({"id": f"{name}.{member}", "text": doc, "license": "PSF-2.0"})
            docs.append({"id": f"lib/{name}/{member}.py", "text": inspect.getsource(obj)})
    for i in range(12):
        body = f"exports.run{i} = function (items) {{ return items.map(x => x * {i} + offset); }};\n"
        docs.append({"id": f"dist/m{i}.js", "text": HELPER + body})
    for i in range(30):
        docs.append({"id": f"note-{i}", "text": f"{FOOTER} Note {i} about the moorings and the ferry."})
    return docs


ALLOWLIST = [{"id": "licence", "text": "Permission is hereby granted, free of charge, to any person " * 3}]


def _files(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` and its bytes, but the writer lock (it holds the last writer's pid)."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "write.lock"
    }


def _same_files(a: Path, b: Path) -> None:
    left, right = _files(a), _files(b)
    assert sorted(left) == sorted(right)
    assert [name for name in left if left[name] != right[name]] == []


@pytest.mark.parametrize("shards", [None, 3])
def test_a_ray_build_writes_the_files_of_a_local_build(
    ray_cluster: str, tmp_path: Path, shards: int | None
) -> None:
    docs = _corpus()
    # A small batch: every shard writes several segments, merged at the end, as a big corpus does.
    options: dict[str, Any] = {"key": SECRET, "allowlist": ALLOWLIST, "shards": shards, "batch_bytes": 60_000}
    local = ProtectedIndex.build(docs, tmp_path / "local", **options)
    ProtectedIndex.build(docs, tmp_path / "ray", engine="ray", **options)
    _same_files(tmp_path / "local", tmp_path / "ray")
    segments = sorted(p.name for p in (tmp_path / "ray").rglob("seg-*.ncs"))
    assert all(name.startswith("seg-000002-") for name in segments), "batches written, then merged"
    manifests = [json.loads(p.read_text()) for p in (tmp_path / "ray").rglob("*/manifest.json")]
    manifests = manifests or [json.loads((tmp_path / "ray" / "manifest.json").read_text())]
    generated = [a for m in manifests for a in m["allowlist"] if a.get("generated")]
    assert len(generated) == len(manifests), "each shard's transpiler helpers on its allowlist"
    # It opens and checks as the local one: the same verdicts, with the footer that 30 documents
    # across the shards hold counted as boilerplate over all of them.
    reopened = ProtectedIndex.open(tmp_path / "ray", key=SECRET)
    reopened.verify()
    assert reopened.info() == {**local.info(), "path": str(tmp_path / "ray")}
    copied = next(d["text"] for d in docs if d["id"] == "lib/json/dumps.py")
    outputs = [copied, next(d["text"] for d in docs if d["id"] == "json.dumps"), FOOTER, HELPER]
    for index in (local, reopened):
        verdicts = [OutputFilter(index, max_doc_frequency=20).check(text) for text in outputs]
        assert [v.flagged for v in verdicts] == [True, True, False, False]
        assert "lib/json/dumps.py" in {m.doc_id for m in verdicts[0].matches}
        assert OutputFilter(index, max_doc_frequency=40).check(FOOTER).flagged, "30 documents < 40"


WORDS = [f"w{i}" for i in range(30)]
random_documents = st.lists(
    st.builds(
        lambda words, code: {"text": " ".join(words), **({"language": "python"} if code else {})},
        st.lists(st.sampled_from(WORDS), max_size=300),
        st.booleans(),
    ),
    max_size=25,
).map(lambda docs: [{"id": f"d{i}", **d} for i, d in enumerate(docs)])


@settings(max_examples=15)
@given(docs=random_documents, shards=st.integers(1, 5), batch_bytes=st.integers(1, 4000))
def test_a_shard_is_the_index_of_its_own_documents(
    docs: list[dict[str, Any]], shards: int, batch_bytes: int
) -> None:
    """The rule that makes the Ray build's files the local one's: each shard of a local sharded
    build is, file for file, the index of its own documents alone (in their order) built with an
    equal part of the batch, whatever the other shards' documents and how they interleave."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        ProtectedIndex.build(
            docs, root / "sharded", shards=shards, batch_bytes=batch_bytes, allowlist=ALLOWLIST
        )
        for n in range(shards):
            own = [d for d in docs if shard_of(d["id"], shards) == n]
            budget = max(1, batch_bytes // shards)
            ProtectedIndex.build(own, root / f"alone-{n}", batch_bytes=budget, allowlist=ALLOWLIST)
            _same_files(root / "sharded" / f"shard-{n:05d}", root / f"alone-{n}")


@settings(max_examples=6)
@given(docs=random_documents, shards=st.sampled_from([None, 1, 2, 4]), batch_bytes=st.integers(1, 4000))
def test_a_ray_build_of_random_documents_writes_the_local_files(
    ray_cluster: str, docs: list[dict[str, Any]], shards: int | None, batch_bytes: int
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        options: dict[str, Any] = {"shards": shards, "batch_bytes": batch_bytes, "key": SECRET}
        ProtectedIndex.build(docs, root / "local", **options)
        ProtectedIndex.build(docs, root / "ray", engine="ray", **options)
        _same_files(root / "local", root / "ray")


def test_the_cli_builds_the_same_index_on_ray(ray_cluster: str, tmp_path: Path) -> None:
    source = tmp_path / "corpus.jsonl"
    source.write_text("".join(json.dumps(d) + "\n" for d in _corpus()))
    key_file, allow = tmp_path / "key", tmp_path / "allow.jsonl"
    key_file.write_text(SECRET.hex() + "\n")
    allow.write_text("".join(json.dumps(d) + "\n" for d in ALLOWLIST))
    common = [str(source), "--allowlist", str(allow), "--key-file", str(key_file), "--shards", "2", "--json"]
    assert main(["index", "build", *common, "-o", str(tmp_path / "local")]) == 0
    argv = ["index", "build", *common, "-o", str(tmp_path / "ray"), "--engine", "ray"]
    assert main([*argv, "--ray-address", ray_cluster]) == 0
    _same_files(tmp_path / "local", tmp_path / "ray")
    assert main(["index", "info", str(tmp_path / "ray"), "--verify", "--key-file", str(key_file)]) == 0


def test_a_failing_task_publishes_nothing(ray_cluster: str, tmp_path: Path) -> None:
    docs = _corpus()
    bad = [*docs[:150], {"id": "bad", "text": "x = 1\n", "language": "no-such-language"}, *docs[150:]]
    with pytest.raises(ValueError) as local_error:
        ProtectedIndex.build(bad, tmp_path / "local", shards=3, batch_bytes=20_000)
    for shards in (3, None):
        with pytest.raises(ValueError) as ray_error:
            ProtectedIndex.build(bad, tmp_path / "ray", shards=shards, batch_bytes=20_000, engine="ray")
        assert str(ray_error.value) == str(local_error.value), "the local build's error, on one line"
        assert not (tmp_path / "ray").exists(), "no manifest, no shard, no segment left"

    def source_that_fails() -> Iterator[dict[str, Any]]:  # on the driver, with tasks under way
        yield from docs
        raise RuntimeError("the source went away")

    with pytest.raises(RuntimeError, match="the source went away"):
        ProtectedIndex.build(
            source_that_fails(), tmp_path / "ray", shards=3, batch_bytes=20_000, engine="ray"
        )
    assert not (tmp_path / "ray").exists()
    # In a directory that exists already, the directory stays, empty of the build.
    (tmp_path / "kept").mkdir()
    with pytest.raises(ValueError):
        ProtectedIndex.build(bad, tmp_path / "kept", shards=2, batch_bytes=20_000, engine="ray")
    assert [p.name for p in (tmp_path / "kept").iterdir()] == []


KILLED_DRIVER = textwrap.dedent(
    """
    import os, signal, sys
    from nearcopy.index import ProtectedIndex

    def documents():
        for i in range(400):
            if i == 300:  # segments written by tasks, nothing published: die as a killed driver does
                os.kill(os.getpid(), signal.SIGKILL)
            yield {"id": f"late-{i}", "text": f"document {i} " * 50}

    ProtectedIndex.build(documents(), sys.argv[1], shards=3, batch_bytes=4096, engine="ray",
                         ray_address=sys.argv[2])
    """
)


def test_a_killed_driver_publishes_nothing_and_the_next_writer_cleans_up(
    ray_cluster: str, tmp_path: Path
) -> None:
    path = tmp_path / "index"
    # A session of its own: what the cluster does about a dead driver's processes must not reach
    # the test run (a pytest run died here once, without a word, right after this test).
    done = subprocess.run(
        [sys.executable, "-c", KILLED_DRIVER, str(path), ray_cluster], capture_output=True, timeout=120,
        start_new_session=True,
    )  # fmt: skip
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert not (path / "manifest.json").exists() and (path / ".unpublished-shards").exists()
    assert list(path.glob("shard-*/seg-*.ncs")) == [], "tasks write only into the build's own directory"
    dead = sorted(path.glob("shard-*/.ray-build-*"))
    assert dead and all(list(d.glob("seg-*.ncs")) for d in dead), "tasks had written segments"
    ProtectedIndex.build([{"id": "kept", "text": FOOTER}], path, shards=2, engine="ray")
    names = sorted(p.name for p in path.iterdir())
    assert names == ["manifest.json", "shard-00000", "shard-00001", "write.lock"], names
    assert [row["id"] for row in ProtectedIndex.open(path)] == ["kept"]
    # A task of the dead driver that runs on (Ray ends them soon after, not at once) writes into the
    # directory it was given, which is gone: the new shard of the same name gets nothing.
    before = _files(path)
    params = json.loads((path / "shard-00000" / "manifest.json").read_text())["params"]
    with pytest.raises(OSError):
        _segment_task(str(dead[0]), params, None, 7, 0, [as_document({"id": "late", "text": FOOTER})], True)
    assert _files(path) == before and not dead[0].exists()


def test_the_next_writer_removes_a_dead_builds_own_directories(tmp_path: Path) -> None:
    """A plain index's directory after a killed Ray build: its tasks' private directory (with a
    segment in it) and a directory whose removal was cut short. The next build removes both."""
    root = tmp_path / "index"
    (root / ".ray-build-0123456789abcdef").mkdir(parents=True)
    (root / ".ray-build-0123456789abcdef" / "seg-000001-00000.ncs").write_bytes(b"x" * 64)
    (root / ".removed-.ray-build-fedcba9876543210.1.00").mkdir()
    ProtectedIndex.build([{"id": "kept", "text": FOOTER}], root)
    assert sorted(p.name for p in root.iterdir() if p.name.startswith(".")) == []
    assert [row["id"] for row in ProtectedIndex.open(root)] == ["kept"]


def test_missing_ray_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # makes `import ray` raise ImportError
    with pytest.raises(ImportError, match=r"pip install 'nearcopy\[ray\]'"):
        ProtectedIndex.build([{"id": "a", "text": FOOTER}], tmp_path / "index", engine="ray")
    assert not (tmp_path / "index").exists()


def test_an_unreachable_ray_address_fails_fast(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "corpus.jsonl"
    source.write_text(json.dumps({"id": "a", "text": FOOTER}) + "\n")
    with socket.socket() as free:  # a port nobody listens on: bound, never listening
        free.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{free.getsockname()[1]}"
        argv = ["index", "build", str(source), "-o", str(tmp_path / "index"), "--engine", "ray"]
        assert main([*argv, "--ray-address", address]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and f"cannot reach the Ray cluster at {address}" in error
    assert not (tmp_path / "index").exists()
