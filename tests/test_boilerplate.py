"""Boilerplate by evidence: a function copied into many protected files is still a copy; an idiom
many files share is not; attribution names every equal source, the first indexed first."""

from __future__ import annotations

import json
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
from nearcopy.benchsuite import code_corpus, mutations
from nearcopy.filter import OutputFilter
from nearcopy.index import ProtectedIndex

FENCE = "`" * 3
COPIES = 30  # more files than max_doc_frequency (20)


@cache
def functions() -> list[str]:
    sources = [text for _, text in code_corpus.sample("python", count=60, seed=23)]
    return [f for f in mutations.functions(sources, min_lines=14) if len(f) > 600][:3]


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A code base in which `popular` is pasted into 30 files, `own` is in one, and a short idiom is
    in all 31."""
    popular, own, _ = functions()
    idiom = "if __name__ == '__main__':\n    main()\n"
    docs = [
        {"id": f"repo{i}/util.py", "text": f"{popular}\n{idiom}", "language": "python"} for i in range(COPIES)
    ]
    docs.append({"id": "app/own.py", "text": f"{own}\n{idiom}", "language": "python"})
    path = tmp_path_factory.mktemp("boilerplate") / "index"
    ProtectedIndex.build(docs, path)
    return path


def test_a_popular_function_is_still_a_copy_and_names_its_sources(index: Path) -> None:
    popular, own, unrelated = functions()
    output_filter = OutputFilter(ProtectedIndex.open(index))
    renamed = mutations.mutate(popular, ["rename"], seed=3)
    verdict = output_filter.check(f"Here:\n\n{FENCE}python\n{renamed}{FENCE}\n")
    assert verdict.flagged
    sources = [m.doc_id for m in verdict.matches]
    assert set(sources) == {f"repo{i}/util.py" for i in range(COPIES)}, "every equal source is reported"
    assert sources[0] == "repo0/util.py", "among equal matches, the document indexed first comes first"
    assert output_filter.check(own).flagged and not output_filter.check(unrelated).flagged
    # Ignoring common fingerprints (what nearcopy did before) loses the popular function.
    assert not OutputFilter(ProtectedIndex.open(index), popular_doc_frequency=None).check(renamed).flagged


def test_an_idiom_in_every_file_is_not_a_copy(index: Path) -> None:
    output_filter = OutputFilter(ProtectedIndex.open(index))
    boilerplate = "if __name__ == '__main__':\n    main()\n" * 3
    assert not output_filter.check(boilerplate).flagged


def test_the_cli_takes_the_boilerplate_settings(index: Path, tmp_path: Path) -> None:
    popular = functions()[0]
    answer = tmp_path / "answer.py"
    answer.write_text(popular)

    def check(*flags: str) -> subprocess.CompletedProcess[str]:
        command = [
            sys.executable,
            "-m",
            "nearcopy",
            "check",
            "--index",
            str(index),
            *flags,
            str(answer),
            "--json",
        ]
        return subprocess.run(command, capture_output=True, text=True, timeout=120)

    assert check().returncode == 1 and len(json.loads(check().stdout)["matches"]) == COPIES
    assert check("--popular-doc-frequency", "off").returncode == 0
    assert check("--max-doc-frequency", "40").returncode == 1
    bad = check("--popular-doc-frequency", "lots")
    assert bad.returncode == 2 and "--popular-doc-frequency" in bad.stderr.strip().splitlines()[-1]
