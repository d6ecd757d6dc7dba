"""What a new user meets in the first hour of the CLI, as real processes on real files: metadata
for files and directories (flags, a sidecar file, SPDX headers) that ``--license-policy`` acts on;
builds that refuse to protect nothing and leave nothing behind when they fail; ``check --apply``;
one name (``id``) for the matched document in ``check --json`` and ``filter``; errors that name the
flag and its value; ``filter --skip-bad``; and counts that agree with their nouns."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from nearcopy.neardup.report import plural

FUNCTION = (
    "def merge(left, right):\n    result = []\n    while left and right:\n"
    "        if left[0] <= right[0]:\n            result.append(left.pop(0))\n"
    "        else:\n            result.append(right.pop(0))\n"
    "    result.extend(left or right)\n    return result\n"
)
RENAMED = FUNCTION.replace("left", "xs").replace("right", "ys").replace("result", "acc")
ANSWER = f"Here is one:\n\n```python\n{RENAMED}```\n\nIt merges two sorted lists."


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nearcopy", *args], capture_output=True, text=True, timeout=300, cwd=cwd
    )


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nearcopy: error: "), result.stderr
    return lines[0]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A source tree: a GPL file with an SPDX header, a vendored file, a plain one."""
    src = tmp_path / "src"
    (src / "vendor").mkdir(parents=True)
    (src / "merge.py").write_text(f"# SPDX-License-Identifier: GPL-3.0-only\n{FUNCTION}")
    (src / "vendor" / "heap.py").write_text(FUNCTION.replace("merge", "heapmerge"))
    (src / "notes.txt").write_text("Plain notes with no header at all, about nothing in particular.")
    (tmp_path / "answer.md").write_text(ANSWER)
    return tmp_path


def metadata(index: Path) -> dict[str, dict[str, object]]:
    rows = [
        json.loads(line) for p in sorted(index.glob("docs-*.jsonl")) for line in p.read_text().splitlines()
    ]
    return {str(r["id"]).rsplit("src/", 1)[1]: r for r in rows}


def test_files_get_metadata_from_flags_a_sidecar_and_spdx_headers(project: Path) -> None:
    (project / "meta.json").write_text(json.dumps({"vendor/*": {"license": "MIT", "vendor": "heapq"}}))
    built = run("index", "build", "src", "-o", "idx", "--license", "Apache-2.0", "--source", "acme",
                "--url", "https://git.example.org/acme/blob/main/{path}", "--metadata", "meta.json",
                cwd=project)  # fmt: skip
    assert built.returncode == 0, built.stderr
    rows = metadata(project / "idx")
    assert rows["merge.py"]["license"] == "GPL-3.0-only", "the SPDX header beats --license"
    assert rows["vendor/heap.py"]["license"] == "MIT" and rows["vendor/heap.py"]["vendor"] == "heapq"
    assert rows["notes.txt"]["license"] == "Apache-2.0" and rows["notes.txt"]["source"] == "acme"
    assert rows["vendor/heap.py"]["url"] == "https://git.example.org/acme/blob/main/vendor/heap.py"
    # --license-policy now acts on files: the GPL copy is replaced by a notice naming it.
    check = run("check", "--index", "idx", "answer.md", "--license-policy", "GPL-3.0-only=replace",
                "--apply", cwd=project)  # fmt: skip
    assert check.returncode == 1, check.stderr
    notice = "[output withheld: it reproduces https://git.example.org/acme/blob/main/merge.py (GPL-3.0-only)]"
    assert check.stdout == notice
    no_spdx = run("index", "build", "src", "-o", "idx2", "--license", "Apache-2.0", "--no-spdx", cwd=project)
    assert no_spdx.returncode == 0 and metadata(project / "idx2")["merge.py"]["license"] == "Apache-2.0"


def test_jsonl_records_keep_their_fields_and_the_flags_fill_the_gaps(tmp_path: Path) -> None:
    records = [{"id": "a", "text": FUNCTION, "license": "BSD-3-Clause"}, {"id": "b", "text": "other words"}]
    (tmp_path / "docs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    assert run("index", "build", "docs.jsonl", "-o", "idx", "--license", "MIT", cwd=tmp_path).returncode == 0
    table = next((tmp_path / "idx").glob("docs-*")).read_text().splitlines()
    rows = {json.loads(line)["id"]: json.loads(line) for line in table}
    assert rows["a"]["license"] == "BSD-3-Clause" and rows["b"]["license"] == "MIT"


def test_a_bad_sidecar_is_one_line_naming_the_flag(project: Path) -> None:
    (project / "meta.json").write_text('{"*.py": "MIT"}')
    line = one_error_line(run("index", "build", "src", "-o", "idx", "--metadata", "meta.json", cwd=project))
    assert "--metadata meta.json" in line and "pattern -> fields" in line
    assert not (project / "idx").exists()


def test_an_empty_or_mistyped_source_builds_nothing_unless_asked(project: Path) -> None:
    line = one_error_line(run("index", "build", "src/*.pyy", "-o", "idx", cwd=project))
    assert "src/*.pyy: the pattern matches no file" in line
    (project / "empty").mkdir()
    line = one_error_line(run("index", "build", "empty", "-o", "idx", cwd=project))
    assert "no documents to protect in empty" in line and "--allow-empty" in line
    assert sorted(p.name for p in project.iterdir()) == ["answer.md", "empty", "src"], "nothing left behind"
    allowed = run("index", "build", "src/*.pyy", "-o", "idx", "--allow-empty", "--json", cwd=project)
    assert allowed.returncode == 0 and json.loads(allowed.stdout)["documents"] == 0
    assert run("index", "build", "src", "-o", "full", cwd=project).returncode == 0
    line = one_error_line(run("index", "add", "full", "src/*.txtt", cwd=project))
    assert "matches no file" in line


def test_a_failed_build_leaves_no_lock_and_no_directory(project: Path) -> None:
    line = one_error_line(run("index", "build", "src", "missing.jsonl", "-o", "idx", cwd=project))
    assert "missing.jsonl" in line
    assert not (project / "idx").exists(), "no idx/write.lock, no directory that says 'not an index'"
    (project / "kept").mkdir()
    one_error_line(run("index", "build", "missing", "-o", "kept", cwd=project))
    assert (project / "kept").is_dir() and not list((project / "kept").iterdir()), (
        "a directory it did not make"
    )
    # A good build into the same place then works.
    assert run("index", "build", "src", "-o", "idx", cwd=project).returncode == 0


def test_check_apply_prints_what_may_be_shown(project: Path) -> None:
    assert run("index", "build", "src", "-o", "idx", cwd=project).returncode == 0
    redacted = run("check", "--index", "idx", "answer.md", "--apply", cwd=project)
    assert redacted.returncode == 1 and "[redacted: src/" in redacted.stdout
    assert "xs.pop(0)" not in redacted.stdout and redacted.stdout.endswith("It merges two sorted lists.")
    (project / "clean.md").write_text("Nothing copied here.\n")
    clean = run("check", "--index", "idx", "clean.md", "--apply", cwd=project)
    assert clean.returncode == 0 and clean.stdout == "Nothing copied here.\n"
    as_json = json.loads(run("check", "--index", "idx", "answer.md", "--apply", "--json", cwd=project).stdout)
    assert as_json["shown"] == redacted.stdout


def test_check_json_and_filter_name_the_document_alike(project: Path) -> None:
    assert run("index", "build", "src", "-o", "idx", cwd=project).returncode == 0
    check = json.loads(run("check", "--index", "idx", "answer.md", "--json", cwd=project).stdout)
    (project / "outputs.jsonl").write_text(json.dumps({"text": ANSWER}) + "\n")
    assert run("filter", "--index", "idx", "outputs.jsonl", "-o", "out.jsonl", cwd=project).returncode == 1
    filtered = json.loads((project / "out.jsonl").read_text())["nearcopy"]
    assert [m["id"] for m in check["matches"]] == [m["id"] for m in filtered["matches"]]
    assert set(filtered["matches"][0]) <= set(check["matches"][0]), "check adds only the matched text"
    assert "doc_id" not in check["matches"][0]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("check", "--index", "idx", "answer.md", "--min-tokens", "0"), "--min-tokens must be at least 1"),
        (("check", "--index", "idx", "answer.md", "--max-doc-frequency", "-3"), "--max-doc-frequency must"),
        (("check", "--index", "answer.md", "answer.md"), "--index answer.md: not a nearcopy index (a file"),
        (("check", "--index", "nowhere", "answer.md"), "--index nowhere: not a nearcopy index"),
        (("index", "build", "src", "-o", "answer.md"), "-o answer.md: exists and is not a directory"),
        (("index", "build", "src", "-o", "new", "--k", "0"), "--k must be between 1 and 256, got 0"),
        (("index", "build", "src", "-o", "new", "--threads", "0"), "--threads must be between 1 and 1024"),
        (("filter", "--index", "idx", "answer.md", "-o", "o.jsonl", "--batch", "0"), "--batch must be"),
        (("minhash", "src", "-o", "answer.md/s.npz"), "cannot write answer.md/s.npz: answer.md is not a dir"),
        (("index", "build", "src", "-o", "answer.md/idx"), "-o answer.md/idx: answer.md is a file"),
        (("lsh", "build", "src", "-o", "answer.md/idx"), "-o answer.md/idx: answer.md is a file"),
        (("dedup", "src", "-o", "answer.md/d.jsonl"), "-o answer.md/d.jsonl: answer.md is a file, not a"),
        (("filter", "--index", "idx", "src", "-o", "o.jsonl"), "src: a directory; give the JSONL files"),
        (("lsh", "info", "answer.md"), "answer.md: not a nearcopy LSH index (a file"),
        (("serve", "--index", "idx", "--lsh-index", "nowhere"), "--lsh-index nowhere: not a nearcopy LSH"),
        (("check", "--index", "idx", "--key-file", "none.key", "answer.md"), "--key-file none.key: cannot"),
    ],
)  # fmt: skip
def test_errors_name_the_flag_and_its_value(project: Path, args: tuple[str, ...], expected: str) -> None:
    assert run("index", "build", "src", "-o", "idx", cwd=project).returncode == 0
    line = one_error_line(run(*args, cwd=project))
    assert expected in line and "Errno" not in line, line


def test_filter_skip_bad_leaves_bad_lines_out_and_counts_them(project: Path) -> None:
    assert run("index", "build", "src", "-o", "idx", cwd=project).returncode == 0
    lines = [json.dumps({"text": "fine"}), "{not json", json.dumps([1]), json.dumps({"other": 1}),
             json.dumps({"text": ANSWER})]  # fmt: skip
    (project / "in.jsonl").write_text("\n".join(lines) + "\n")
    strict = one_error_line(run("filter", "--index", "idx", "in.jsonl", "-o", "out.jsonl", cwd=project))
    assert "in.jsonl:2: invalid JSON" in strict and not (project / "out.jsonl").exists()
    lenient = run("filter", "--index", "idx", "in.jsonl", "-o", "out.jsonl", "--skip-bad", cwd=project)
    assert lenient.returncode == 1, lenient.stderr
    kept = [json.loads(line) for line in (project / "out.jsonl").read_text().splitlines()]
    assert [r["nearcopy"]["flagged"] for r in kept] == [False, True]
    assert "2 outputs, 1 flagged" in lenient.stderr and "3 unreadable lines skipped" in lenient.stderr


def test_counts_agree_with_their_nouns(tmp_path: Path) -> None:
    assert [plural(n, "cluster") for n in (0, 1, 2, 1000)] == ["0 clusters", "1 cluster", "2 clusters",
                                                               "1,000 clusters"]  # fmt: skip
    story = "the committee met on tuesday to discuss the budget for the coming year and agreed " * 4
    docs = [{"id": "a", "text": story}, {"id": "b", "text": story + " again"}, {"id": "c", "text": "other"}]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    result = run("dedup", "in.jsonl", "-o", "out.jsonl", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "1 cluster of 2 or more" in result.stderr and "1 clusters" not in result.stderr


def test_the_python_api_reads_files_with_the_same_metadata(project: Path) -> None:
    import nearcopy

    (project / "meta.json").write_text(json.dumps({"*.txt": {"license": "CC0-1.0"}}))
    metadata = nearcopy.FileMetadata.from_file(project / "meta.json", url="https://example.org/{path}")
    docs = {Path(d["path"]).name: d for d in nearcopy.read_documents([str(project / "src")], metadata)}
    assert docs["merge.py"]["license"] == "GPL-3.0-only" and docs["notes.txt"]["license"] == "CC0-1.0"
    assert docs["heap.py"]["url"] == "https://example.org/vendor/heap.py" and "license" not in docs["heap.py"]
    index = nearcopy.ProtectedIndex.build(docs.values(), project / "py-index")
    verdict = nearcopy.OutputFilter(index, policy=nearcopy.Policy(by_license={"GPL-3.0-only": "suppress"}))
    assert verdict.check(ANSWER).action == "suppress"
    with pytest.raises(nearcopy.inputs.InputError, match="matches no file"):
        list(nearcopy.read_documents([str(project / "src" / "*.rs")]))
