"""Protected documents that do not say what they are: JSONL records with no ``language`` field and
ids without a file extension. By default they are prose; ``"language": "auto"`` (``index build
--detect-language``) reads each as code when it is code, so that a renamed copy of it is found."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from nearcopy.benchsuite import code_corpus
from nearcopy.filter import OutputFilter
from nearcopy.index import ProtectedIndex
from nearcopy.protected_documents import Document, content_language

LANGUAGES = ("python", "java", "go", "c", "javascript")
PROSE = (
    "The ferry left the harbour at dawn. It carried grain, letters and a few passengers to the "
    "islands, and came back at dusk with fish. For example, the timetable said:\n\n"
    "    departs 06:00, arrives 07:30\n\nbut nobody believed it. " * 8
)


def renamed(code: str) -> str:
    """Every identifier of five letters or more renamed, as a model reproducing the file might."""
    return re.sub(r"\b([A-Za-z_][A-Za-z0-9_]{4,})\b", lambda m: f"x{abs(hash(m[1])) % 10**6}", code)


def test_auto_reads_most_real_source_files_as_their_language() -> None:
    # Measured on 200 files (40 per language): 194 read right. The misses are files the answer
    # splitter cuts into code and prose (a Go file that is one table of numbers, long comment
    # blocks), read as prose, and a Go file read as JavaScript (docs/filter.md lists them).
    found = {
        language: [
            content_language(Document(f"doc{i}", text, {"language": "auto"}))
            for i, (_, text) in enumerate(code_corpus.sample(language, count=12, seed=3))
        ]
        for language in LANGUAGES
    }
    right = sum(f == language for language, got in found.items() for f in got)
    assert right >= 0.85 * 12 * len(LANGUAGES), found
    assert all(f == "python" for f in found["python"]), found["python"]


def test_auto_keeps_prose_prose_and_an_extension_wins() -> None:
    assert content_language(Document("story", PROSE, {"language": "auto"})) is None
    assert content_language(Document("story", PROSE)) is None
    assert content_language(Document("lib/util.go", "package util\n", {"language": "auto"})) == "go"
    assert content_language(Document("x", "int main(void) { return 0; }\n", {"language": "c"})) == "c"


def test_a_renamed_copy_of_an_unlabelled_record_is_found_only_when_detected(tmp_path: Path) -> None:
    (_, source), *_ = code_corpus.sample("python", count=1, seed=5)
    records = tmp_path / "corpus.jsonl"
    records.write_text(json.dumps({"id": "module-without-extension", "text": source}) + "\n")
    answer = tmp_path / "answer.md"
    answer.write_text(renamed(source[:3000]))

    def build_and_check(*flags: str) -> tuple[dict[str, int], int]:
        index = tmp_path / ("auto" if flags else "plain")
        command = [
            sys.executable,
            "-m",
            "nearcopy",
            "index",
            "build",
            str(records),
            "-o",
            str(index),
            "--json",
        ]
        built = subprocess.run([*command, *flags], capture_output=True, text=True, check=True)
        checked = subprocess.run(
            [sys.executable, "-m", "nearcopy", "check", "--index", str(index), str(answer)]
        )
        return json.loads(built.stdout)["contents"], checked.returncode

    plain_contents, plain_status = build_and_check()
    auto_contents, auto_status = build_and_check("--detect-language")
    assert "python" not in plain_contents and plain_status == 0, "read as prose: renamed code slips by"
    assert auto_contents.get("python") == 1 and auto_status == 1, "read as code: the copy is found"
    verdict = OutputFilter(ProtectedIndex.open(tmp_path / "auto")).check(answer.read_text())
    assert verdict.matches[0].kind == "code" and verdict.matches[0].language == "python"
    assert verdict.matches[0].metadata["language"] == "python", "the document table says what was detected"
