"""Scale-out: an LSH index built as Ray tasks on a real local Ray cluster gives the keys and query
results of a local build, and a set of shard directories answers as the index of all of them. Tasks
write into a directory of their build's own: a failed build leaves nothing, and a task of a dead
build that runs on writes nothing the index holds."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import ray
from nearcopy import DuplicateKeyError, LSHIndex, minhash
from nearcopy.cli import main
from nearcopy.lsh_shards import LSHShards, _sign_file, build_with_ray
from nearcopy.neardup import Params


def _files(root: Path, n_files: int, per_file: int) -> tuple[list[Path], list[str]]:
    """JSONL files of documents in families of near-copies spread across files."""
    rng = np.random.default_rng(5)
    words = [f"w{i}" for i in range(3000)]
    texts: list[str] = []
    for i in range(n_files * per_file):
        if i % 5 == 4:
            copy = texts[int(rng.integers(0, len(texts)))].split()
            copy[int(rng.integers(0, len(copy)))] = "changed"
            texts.append(" ".join(copy))
        else:
            texts.append(" ".join(rng.choice(words, size=70)))
    paths = []
    for f in range(n_files):
        part = texts[f * per_file : (f + 1) * per_file]
        path = root / f"part-{f}.jsonl"
        path.write_text(
            "".join(json.dumps({"id": f"f{f}-{i}", "text": t}) + "\n" for i, t in enumerate(part))
        )
        paths.append(path)
    return paths, texts


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        yield
    finally:
        ray.shutdown()


def _results(index: LSHIndex | LSHShards, sigs: np.ndarray) -> list[list[tuple[str, float]]]:
    return [sorted(n) for n in index.query(sigs, threshold=0.6)]


def test_a_ray_build_equals_a_local_build(ray_cluster: None, tmp_path: Path) -> None:
    files, texts = _files(tmp_path, 4, 150)
    params = Params(threshold=0.7)
    distributed = build_with_ray(files, tmp_path / "ray.lsh", params)
    assert (
        main(["lsh", "build", *map(str, files), "-o", str(tmp_path / "local.lsh"), "--threshold", "0.7"]) == 0
    )
    local = LSHIndex.open(tmp_path / "local.lsh")
    assert distributed.info()["segments"] == 4, "one segment per task"
    assert len(distributed) == len(local) == 600 and distributed.generation == 1
    sigs = minhash(texts)
    assert _results(distributed, sigs) == _results(local, sigs)
    assert distributed.signing == local.signing
    distributed.verify()
    assert list((tmp_path / "ray.lsh").glob(".ray-build-*")) == []
    # Ids repeated across files are refused, and no index is published.
    (tmp_path / "again.jsonl").write_text(files[0].read_text())
    with pytest.raises(DuplicateKeyError, match="already in the index: 'f0-0'"):
        build_with_ray([files[0], tmp_path / "again.jsonl"], tmp_path / "twice.lsh", params)
    assert len(LSHIndex.open(tmp_path / "twice.lsh")) == 0
    assert main(["lsh", "build", str(files[1]), "-o", str(tmp_path / "cli.lsh"), "--engine", "ray"]) == 0
    assert len(LSHIndex.open(tmp_path / "cli.lsh")) == 150


def test_a_failed_build_leaves_nothing_and_a_late_task_writes_nowhere(
    ray_cluster: None, tmp_path: Path
) -> None:
    files, texts = _files(tmp_path, 3, 50)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "b0", "text": "one fine line of text"}\n{"id": "b1", "text": \n')
    root = tmp_path / "failed.lsh"
    with pytest.raises(ValueError, match=r"bad\.jsonl:2"):
        build_with_ray([*files, bad], root, Params(threshold=0.7))
    assert sorted(p.name for p in root.iterdir()) == ["manifest.json", "write.lock"]
    assert len(LSHIndex.open(root)) == 0
    # A killed driver's tasks write on into the build's directory; the next writer removes it, and a
    # task still running then finds no directory to write in.
    dead = root / ".ray-build-0123456789abcdef"
    dead.mkdir()
    (dead / "lsh-000001-00000-00.ncl").write_bytes(b"x" * 64)
    index = LSHIndex.open(root)
    index.insert([f"n{i}" for i in range(50)], minhash(texts[:50]))
    assert not dead.exists() and len(index) == 50
    before = {p.name: p.read_bytes() for p in root.iterdir()}
    manifest = json.loads((root / "manifest.json").read_text())
    reading = {"text_field": "text", "id_field": "id", "language_field": "language", "skip_bad": False,
               "allow_duplicate_ids": False}  # fmt: skip
    with pytest.raises(OSError, match="No such file or directory"):
        _sign_file(str(files[1]), str(dead), "lsh-000002-00000", Params(threshold=0.7), manifest, reading)
    assert {p.name: p.read_bytes() for p in root.iterdir()} == before
    assert _results(LSHIndex.open(root), minhash(texts[:50])) == _results(index, minhash(texts[:50]))


def test_a_ray_built_containment_index_answers_as_a_local_one(ray_cluster: None, tmp_path: Path) -> None:
    files, texts = _files(tmp_path, 3, 60)
    # Passages: the first 25 words of some documents, each contained in its document.
    queries = tmp_path / "passages.jsonl"
    queries.write_text(
        "".join(
            json.dumps({"id": f"q{i}", "text": " ".join(t.split()[:25])}) + "\n"
            for i, t in enumerate(texts[::9])
        )
    )
    answers = {}
    for engine in ("ray", "local"):
        index = tmp_path / f"{engine}.lsh"
        build = ["lsh", "build", *map(str, files), "-o", str(index), "--containment", "--engine", engine]
        assert main(build) == 0
        out = tmp_path / f"{engine}.json"
        assert main(["lsh", "query", str(index), str(queries), "--containment", "0.5", "-o", str(out)]) == 0
        answers[engine] = out.read_text().splitlines()
        assert LSHIndex.open(index).containment
    assert answers["ray"] == answers["local"]
    found = [json.loads(line) for line in answers["ray"]]
    assert len(found) == len(texts[::9]) and all(f["matches"] for f in found), (
        "each passage is in its document"
    )


def test_shards_answer_as_one_index(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files, texts = _files(tmp_path, 3, 120)
    paths = []
    for n, file in enumerate(files):
        paths.append(tmp_path / f"shard{n}")
        assert main(["lsh", "build", str(file), "-o", str(paths[-1]), "--threshold", "0.7"]) == 0
    assert main(["lsh", "build", *map(str, files), "-o", str(tmp_path / "all"), "--threshold", "0.7"]) == 0
    capsys.readouterr()
    shards, whole = LSHShards(paths), LSHIndex.open(tmp_path / "all")
    sigs = minhash(texts)
    assert len(shards) == len(whole) == 360
    assert _results(shards, sigs) == _results(whole, sigs)
    assert [sorted(shards.query(s, threshold=0.6)) for s in sigs[:20]] == _results(whole, sigs[:20])
    top = shards.query(sigs, top_k=1, threshold=0.0)
    assert all(len(n) == 1 and n.similarity[0] == 1.0 for n in top)
    assert shards.contains(["f2-5", "f0-0", "nowhere"]).tolist() == [True, True, False]
    queries = tmp_path / "queries.jsonl"
    queries.write_text(files[2].read_text().splitlines()[0] + "\n")
    shard_args = [a for p in paths[1:] for a in ("--shard", str(p))]
    assert main(["lsh", "query", str(paths[0]), str(queries), *shard_args]) == 0
    assert json.loads(capsys.readouterr().out)["matches"][0] == {"key": "f2-0", "similarity": 1.0}
    other = LSHIndex.create(tmp_path / "other", num_perm=64)
    with pytest.raises(ValueError, match="another num_perm"):
        LSHShards([paths[0], other.path])
