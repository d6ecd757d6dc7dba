"""`engine="ray"` on a real local Ray cluster started here: the same output and annotations as the
local engine, for real text (paragraphs of the standard library's docstrings) with planted
near-duplicates, in every mode (plain removal, annotation, exact verification, keep policies,
reference corpus), and through the CLI."""

from __future__ import annotations

import importlib
import inspect
import json
import random
import socket
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import ray
from nearcopy.cli import main
from nearcopy.neardup import Params, dedup, ray_engine

MODULES = (
    "argparse", "collections", "email.message", "json", "pathlib", "subprocess", "unittest", "logging",
    "textwrap", "asyncio", "http.client", "decimal", "datetime", "tarfile", "zipfile", "shutil",
    "random", "statistics", "functools", "csv", "sqlite3", "configparser", "threading",
)  # fmt: skip


def _paragraphs() -> list[str]:
    """Distinct paragraphs of 25 words or more from the docstrings of some standard modules, their
    members and their classes' members (several hundred)."""
    found: dict[str, None] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecated members warn when their docstring is read
        for name in MODULES:
            module = importlib.import_module(name)
            objects = [module, *(obj for _, obj in inspect.getmembers(module))]
            objects += [m for cls in objects if inspect.isclass(cls) for _, m in inspect.getmembers(cls)]
            for obj in objects:
                for para in (inspect.getdoc(obj) or "").split("\n\n"):
                    words = para.split()
                    if len(words) >= 25 and not para.lstrip().startswith((">>>", "-", "*")):
                        found[" ".join(words)] = None
    return sorted(found)


def _corpus(seed: int, n: int) -> list[dict[str, Any]]:
    """``n`` documents: real paragraphs, and copies of earlier documents with a word replaced, a
    sentence appended or nothing changed (exact copies); a ``quality`` field for the keep policy."""
    rng = random.Random(seed)
    originals = _paragraphs()
    rng.shuffle(originals)
    texts: list[str] = []
    for i in range(n):
        if i >= 20 and rng.random() < 0.35:
            words = rng.choice(texts).split()
            edit = rng.random()
            if edit < 0.5:
                words[rng.randrange(len(words))] = "changed"
            elif edit < 0.8:
                words += ["and", "so", "on", "as", "before"]
            texts.append(" ".join(words))
        else:
            texts.append(originals.pop())
    return [{"id": f"d{i}", "text": t, "quality": rng.random()} for i, t in enumerate(texts)]


def _write(path: Path, docs: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(d) + "\n" for d in docs))
    return path


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        yield
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("ray-corpus")
    docs = _corpus(seed=7, n=400)
    reference = [{"id": f"r{i}", "text": d["text"] + " see also"} for i, d in enumerate(docs[:400:25])]
    return _write(root / "in.jsonl", docs), _write(root / "reference.jsonl", reference)


SETTINGS: dict[str, dict[str, Any]] = {
    "remove": {},
    "annotate": {"annotate": True},
    "exact-longest-2": {
        "params": Params(verify="exact"),
        "keep": "longest",
        "max_copies": 2,
        "annotate": True,
    },
    "field-reference": {"keep": "quality", "reference": True, "annotate": True},
    # The reference signed once (by each engine, into byte-identical indexes), then used as such.
    "saved-reference": {"keep": "quality", "reference_index": True, "annotate": True},
}


@pytest.mark.parametrize("name", SETTINGS)
def test_ray_engine_output_equals_local(
    ray_cluster: None, corpus: tuple[Path, Path], tmp_path: Path, name: str
) -> None:
    source, reference = corpus
    kwargs = dict(SETTINGS[name])
    if kwargs.pop("reference", False):
        kwargs["reference"] = reference
    if kwargs.pop("reference_index", False):
        dedup(reference, save_reference=tmp_path / "ray.ncref", engine="ray")
        dedup(reference, save_reference=tmp_path / "local.ncref")
        for part in (tmp_path / "local.ncref").iterdir():
            assert (tmp_path / "ray.ncref" / part.name).read_bytes() == part.read_bytes()
        kwargs["reference"] = tmp_path / "local.ncref"
    local = dedup(source, tmp_path / "local.jsonl", **kwargs)
    distributed = dedup(source, tmp_path / "ray.jsonl", engine="ray", **kwargs)
    out_local, out_ray = (tmp_path / "local.jsonl").read_bytes(), (tmp_path / "ray.jsonl").read_bytes()
    assert out_ray == out_local
    assert local.removed > 40 and (not name.endswith("-reference") or local.reference_matches >= 10)
    rows = [json.loads(line) for line in out_ray.decode().splitlines()]
    if kwargs.get("annotate"):
        assert len(rows) == 400 and sum(r["duplicate_of"] is not None for r in rows) == local.removed
    ours, theirs = distributed.to_dict(), local.to_dict()
    for report in (ours, theirs):
        report.pop("timings"), report.pop("outputs")
        report["parameters"].pop("engine")
    assert ours == theirs
    assert distributed.parameters["engine"] == "ray"


def test_cli_engine_ray(ray_cluster: None, corpus: tuple[Path, Path], tmp_path: Path) -> None:
    source, _ = corpus
    local, distributed = tmp_path / "local.jsonl", tmp_path / "ray.jsonl"
    assert main(["dedup", str(source), "-o", str(local), "--annotate", "--quiet"]) == 0
    argv = ["dedup", str(source), "-o", str(distributed), "--annotate", "--quiet", "--engine", "ray"]
    assert main(argv) == 0
    assert distributed.read_bytes() == local.read_bytes()


def test_missing_ray_names_the_extra(monkeypatch: pytest.MonkeyPatch, corpus: tuple[Path, Path]) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # makes `import ray` raise ImportError
    with pytest.raises(ImportError, match=r"pip install 'nearcopy\[ray\]'"):
        dedup(corpus[0], engine="ray")
    assert issubclass(ray_engine.RayNotInstalledError, ImportError)


def test_an_unreachable_ray_address_fails_fast(corpus: tuple[Path, Path], tmp_path: Path) -> None:
    with socket.socket() as free:  # a port nobody listens on: bound, never listening
        free.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{free.getsockname()[1]}"
        command = [sys.executable, "-m", "nearcopy", "dedup", str(corpus[0]), "-o", str(tmp_path / "o.jsonl")]
        result = subprocess.run(
            [*command, "--engine", "ray", "--ray-address", address],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and f"cannot reach the Ray cluster at {address}" in result.stderr
    assert not (tmp_path / "o.jsonl").exists()
