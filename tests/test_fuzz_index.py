"""Hypothesis-driven fuzzing of the index reader: a damaged index directory (any file truncated or
with bytes changed, any manifest value replaced) is refused with an OSError that says so, or, if
what was changed does not matter, works; never another exception. A manifest value replaced is
refused by the manifest's checksum; replaced and resealed with a matching checksum (a hostile
manifest), it must still be refused by the shape checks or work."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import nearcopy
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nearcopy.index_store import manifest_checksum

PROSE = (
    "the committee met on tuesday to discuss the budget for the coming year and after a long debate "
    "about roads schools and the library it agreed on new rules for spending that will apply to every "
    "department from the first of april onwards unless the council decides otherwise before then"
)
odd_values = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**65), 2**65), st.floats(), st.text(max_size=12),
    st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.sampled_from(["../../etc/passwd", "/dev/zero", "seg-000001-00000.ncs", "manifest.json", "."]),
)  # fmt: skip


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pristine") / "index"
    docs = [{"id": f"d{i}", "text": f"{PROSE} {i}", "license": "MIT"} for i in range(5)]
    nearcopy.ProtectedIndex.build(docs, root, allowlist=[{"id": "a", "text": "a short allowed header"}])
    return root


def use(root: Path) -> None:
    """Everything a reader does with an index."""
    index = nearcopy.ProtectedIndex.open(root)
    index.info()
    list(index)
    index.verify()
    verdict = nearcopy.OutputFilter(index).check(PROSE + " and more")
    assert all(isinstance(m.doc_id, str) for m in verdict.matches)


def set_path(manifest: dict[str, Any], path: list[str | int], value: Any) -> None:
    node: Any = manifest
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


MANIFEST_PATHS: list[list[str | int]] = [
    ["format"], ["version"], ["generation"], ["params"], ["params", "k"], ["params", "w"],
    ["params", "code_k"], ["keyed"], ["segments"], ["segments", 0], ["segments", 0, "file"],
    ["segments", 0, "docs"], ["segments", 0, "documents"], ["segments", 0, "first_doc"],
    ["segments", 0, "fingerprints"], ["segments", 0, "docs_sha256"], ["allowlist"], ["checksum"],
]  # fmt: skip


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_damaged_index(pristine: Path, tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    root = tmp_path_factory.mktemp("damaged") / "index"
    shutil.copytree(pristine, root)
    files = sorted(p for p in root.iterdir() if p.is_file())
    target = data.draw(st.sampled_from(files), label="file")
    how = data.draw(st.sampled_from(["truncate", "flip", "manifest"]), label="how")
    if how == "manifest":
        manifest = json.loads((root / "manifest.json").read_text())
        path = data.draw(st.sampled_from(MANIFEST_PATHS), label="field")
        set_path(manifest, path, data.draw(odd_values, label="value"))
        if data.draw(st.booleans(), label="resealed"):
            manifest["checksum"] = manifest_checksum(manifest)
        (root / "manifest.json").write_text(json.dumps(manifest))
    else:
        raw = bytearray(target.read_bytes())
        at = data.draw(st.integers(0, max(len(raw) - 1, 0)), label="at")
        if how == "truncate":
            del raw[at:]
        elif raw:
            raw[at] ^= data.draw(st.integers(1, 255), label="xor")
        target.write_bytes(bytes(raw))
    try:
        use(root)
    except OSError as err:
        assert str(err)
