"""Hostile and odd input: each gets a clear error or a correct result, never a hang, a crash or
memory beyond a stated limit (docs/guarantees.md)."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import nearcopy
import pytest
from nearcopy import inputs
from nearcopy.cli import main
from nearcopy.filter import MAX_OUTPUT_CHARS
from nearcopy.inputs import MAX_LINE_BYTES, InputError, LoadReport, read_documents, read_records
from nearcopy.neardup import formats

PROSE = (
    "the committee met on tuesday to discuss the budget for the coming year and after a long debate "
    "about roads schools and the library it agreed on new rules for spending that will apply to every "
    "department from the first of april onwards unless the council decides otherwise before then"
)


@pytest.fixture(scope="module")
def output_filter(tmp_path_factory: pytest.TempPathFactory) -> nearcopy.OutputFilter:
    root = tmp_path_factory.mktemp("index")
    index = nearcopy.ProtectedIndex.build([{"id": "p", "text": PROSE}], root / "index")
    return nearcopy.OutputFilter(index)


def peak_rss_mb(code: str) -> float:
    """Runs ``code`` in a fresh interpreter; its peak resident memory in MB (it prints it last).
    VmHWM, not ru_maxrss: the latter carries over the peak of the forking parent (this test run)."""
    script = code + (
        "\nimport re\nstatus = open('/proc/self/status').read()\n"
        "print(int(re.search(r'VmHWM:\\s+(\\d+)', status).group(1)) / 1024)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return float(done.stdout.split()[-1])


# --- text: invalid UTF-8, NUL bytes, lone surrogates ---------------------------------------------


def test_lone_surrogates_and_nul_through_the_api(output_filter: nearcopy.OutputFilter) -> None:
    text = "abc \ud800 def\x00ghi \udfff" + PROSE + "\ud83d"
    raw = text.encode("utf-8", "surrogatepass")
    tokens = nearcopy.normalize(text)
    assert tokens.texts[:3] == ["abc", "def", "ghi"]
    assert all(0 <= s < e <= len(raw) for s, e in zip(tokens.starts, tokens.ends))
    assert nearcopy.minhash([text]).shape == (1, 128)
    assert nearcopy.code_tokens("x = '\ud800'\x00\n", "python").texts[:2] == ["$id", "="]
    assert [s.kind for s in nearcopy.split_answer(text)] == ["prose"]
    verdict = output_filter.check(text)
    assert verdict.flagged and verdict.matches[0].doc_id == "p"
    assert "\ud800" in output_filter.apply("\ud800 an original answer")


def test_invalid_utf8_in_files(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "bad.txt").write_bytes(b"caf\xe9 au lait \xff\xfe " + PROSE.encode())
    (tmp_path / "docs" / "nul.bin").write_bytes(b"\x00\x01binary")
    report = LoadReport()
    docs = list(read_documents([str(tmp_path / "docs")], report=report))
    assert [Path(d["id"]).name for d in docs] == ["bad.txt"] and "\ufffd" in docs[0]["text"]
    assert report.skipped_binary == 1
    # JSONL: a line with invalid UTF-8 is refused by name (or skipped with skip_bad), whether it is in
    # the text or in a field nobody reads (the Rust fast path used to accept the latter).
    jsonl = tmp_path / "bad.jsonl"
    good = json.dumps({"text": PROSE}).encode()
    jsonl.write_bytes(good + b"\n" + b'{"text": "x", "other": "\xff"}\n' + good + b"\n")
    with pytest.raises(InputError, match=r"bad\.jsonl:2: invalid JSON \(not UTF-8\)"):
        nearcopy.dedup(jsonl)
    report_ = nearcopy.dedup(jsonl, skip_bad=True)
    assert (report_.documents, report_.skipped_lines, report_.removed) == (2, 1, 1)


# --- long lines, big outputs, compression bombs --------------------------------------------------


def test_a_100mb_jsonl_line_is_refused_with_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "long.jsonl"
    with open(path, "wb") as out:
        out.write(json.dumps({"text": PROSE}).encode() + b"\n" + b'{"text": "')
        chunk = b"word " * (1 << 20)
        for _ in range(20):  # 100 MiB
            out.write(chunk)
        out.write(b'"}\n')
    started = time.monotonic()
    with pytest.raises(InputError, match=rf"long\.jsonl:2: line longer than {MAX_LINE_BYTES} bytes"):
        nearcopy.dedup(path)
    with pytest.raises(InputError, match=r"long\.jsonl:2: line longer"):
        list(read_documents([str(path)]))
    assert time.monotonic() - started < 30
    code = (
        "from nearcopy.neardup import formats\nfrom pathlib import Path\n"
        f"try:\n    list(formats.line_blocks(Path({str(path)!r}), 'x', 8 << 20))\n"
        "except Exception as e:\n    print(e)"
    )
    assert peak_rss_mb(code) < 80 + 3 * MAX_LINE_BYTES / 2**20


def dedup_refusal_peak_mb(path: Path) -> float:
    """Peak RSS of a child process running ``nearcopy.dedup(path)``, which must refuse the input."""
    code = (
        "import nearcopy\nfrom nearcopy.inputs import InputError\n"
        f"try:\n    nearcopy.dedup({str(path)!r})\nexcept InputError as e:\n    print('refused', e)\n"
        "else:\n    raise SystemExit('not refused')"
    )
    return peak_rss_mb(code)


def test_gzip_bomb_without_newline_is_bounded(tmp_path: Path) -> None:
    path = tmp_path / "bomb.jsonl.gz"
    zeros = b"0" * (1 << 20)
    with gzip.open(path, "wb", compresslevel=1) as out:
        for _ in range(256):  # 256 MiB decompressed, a few hundred KB on disk
            out.write(zeros)
    assert path.stat().st_size < 2 << 20
    assert dedup_refusal_peak_mb(path) < 80 + 3 * MAX_LINE_BYTES / 2**20
    with pytest.raises(InputError, match="line longer than"):
        list(read_records([str(path)]))


def test_gzip_bomb_of_short_lines_streams(tmp_path: Path) -> None:
    path = tmp_path / "lines.jsonl.gz"
    line = b'{"text": "a"}\n' * (1 << 16)
    with gzip.open(path, "wb", compresslevel=1) as out:
        for _ in range(256):  # 229 MiB of one-word documents
            out.write(line)
    code = (
        "from nearcopy.neardup import formats\nfrom pathlib import Path\n"
        f"print(sum(len(b) for b in formats.line_blocks(Path({str(path)!r}), 'x', 4 << 20)))"
    )
    assert peak_rss_mb(code) < 120, "decompression must stream a block at a time"


def test_zstd_bomb_is_bounded(tmp_path: Path) -> None:
    zstandard = pytest.importorskip("zstandard")
    path = tmp_path / "bomb.jsonl.zst"
    with open(path, "wb") as raw, zstandard.ZstdCompressor(level=1).stream_writer(raw) as out:
        zeros = b"0" * (1 << 20)
        for _ in range(256):  # 256 MiB without a newline, a few KB on disk
            out.write(zeros)
    assert path.stat().st_size < 1 << 20
    assert dedup_refusal_peak_mb(path) < 80 + 3 * MAX_LINE_BYTES / 2**20


def test_output_longer_than_the_limit_is_refused(output_filter: nearcopy.OutputFilter) -> None:
    with pytest.raises(nearcopy.OutputTooLarge, match="at most"):
        output_filter.check("a" * (MAX_OUTPUT_CHARS + 1))
    with pytest.raises(ValueError, match=r"texts\[1\]"):
        output_filter.check_batch(["ok", "b " * (MAX_OUTPUT_CHARS // 2 + 1)])
    assert not output_filter.check("a " * (1 << 20)).flagged  # 2 MiB: checked


def test_pathological_model_output_is_checked_quickly(output_filter: nearcopy.OutputFilter) -> None:
    fence = "`" * 3
    cases = [
        "a" * 2_000_000,  # one endless word
        (fence + "\n") * 20_000,  # fences opening and closing forever
        fence + "python\n" + "(" * 200_000,  # deep nesting in an unclosed block
        "    " * 50_000 + "x",  # indentation only
        ("def f(:\n" + " " * 40 + "+" * 40 + "\n") * 5_000,  # broken code, unfenced
        ("~~~" + "`" * 5 + "\n") * 10_000,
        "*" * 100_000 + "[" * 100_000 + "\\" * 100_000,  # what would make a backtracking regex slow
        ("word " * 30 + "\n\n") * 5_000 + PROSE,
    ]
    for text in cases:
        started = time.monotonic()
        verdict = output_filter.check(text)
        assert time.monotonic() - started < 10, text[:40]
        assert verdict.flagged == (PROSE in text)


def test_deeply_nested_code() -> None:
    for language, source in [
        ("python", "x = " + "[" * 100_000 + "]" * 100_000),
        ("c", "int f() { " + "{" * 50_000 + "}" * 50_000 + " }"),
        ("javascript", "f(" * 50_000 + ")" * 50_000),
        ("rust", "fn f() { " + "(" * 100_000),  # never closed
    ]:
        tokens = nearcopy.code_tokens(source, language)
        assert len(tokens.texts) > 50_000
    answer = "```\n" + "{" * 100_000 + "\n```\n"
    assert nearcopy.split_answer(answer)[0].end <= len(answer)


# --- many tiny documents -------------------------------------------------------------------------


def test_a_million_tiny_documents(tmp_path: Path) -> None:
    path = tmp_path / "tiny.jsonl"
    path.write_bytes(b"".join(b'{"text": "d%d"}\n' % (i % 1000) for i in range(1_000_000)))
    started = time.monotonic()
    report = nearcopy.dedup(path, tmp_path / "out.jsonl")
    assert (report.documents, report.kept) == (1_000_000, 1000)
    assert len((tmp_path / "out.jsonl").read_bytes().splitlines()) == 1000
    index = nearcopy.ProtectedIndex.build(
        ({"id": str(i), "text": f"t{i}"} for i in range(1_000_000)), tmp_path / "i"
    )
    assert index.info()["documents"] == 1_000_000
    assert time.monotonic() - started < 240


# --- directories: links, loops, special files ----------------------------------------------------


def test_directory_walks_take_regular_files_only(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("secret outside the tree " + PROSE)
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "a.txt").write_text(PROSE)
    (tree / "sub" / "a.jsonl").write_text(json.dumps({"text": PROSE}) + "\n")
    (tree / "sub" / "loop").symlink_to("..")  # a loop
    (tree / "sub" / "loop2").symlink_to("../..")  # a second one: glob's ** goes exponential
    (tree / "out.txt").symlink_to(outside)  # out of the tree
    (tree / "out.jsonl").symlink_to(tmp_path / "elsewhere.jsonl")  # dangling
    os.mkfifo(tree / "fifo.txt")  # reading it would block forever
    os.mkfifo(tree / "fifo.jsonl")
    ids = [Path(d["id"]).name for d in read_documents([str(tree)])]
    assert sorted(ids) == ["a.jsonl:1", "a.txt"]
    assert [Path(r.id).name for r in read_records([str(tree)])] == ["a.jsonl:1", "a.txt"]
    assert [p.name for p, _ in formats.expand([str(tree)])] == ["a.jsonl"]
    started = time.monotonic()
    matches = formats.expand([str(tree / "**" / "*.jsonl")])
    assert [p for p, _ in matches] == [tree / "sub" / "a.jsonl"]
    assert [Path(d["id"]).name for d in read_documents([str(tree / "**" / "*.txt")])] == ["a.txt"]
    assert time.monotonic() - started < 5
    # Named explicitly, a link is followed.
    assert next(d["text"] for d in read_documents([str(tree / "out.txt")])).startswith("secret")


def test_non_utf8_file_names(tmp_path: Path) -> None:
    name = os.fsdecode(b"caf\xe9.txt")  # not UTF-8: a surrogate escape in Python
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / name).write_text(PROSE)
    index = nearcopy.ProtectedIndex.build(read_documents([str(tmp_path / "docs")]), tmp_path / "index")
    verdict = nearcopy.OutputFilter(nearcopy.ProtectedIndex.open(tmp_path / "index")).check(PROSE)
    assert verdict.flagged and verdict.matches[0].doc_id.endswith(name)
    assert next(iter(index))["path"].endswith(name)


def test_a_device_named_as_input_is_bounded() -> None:
    report = LoadReport()
    assert list(read_documents(["/dev/zero"], report=report)) == []
    assert report.skipped_large == 1
    with pytest.raises(InputError, match="larger than"):
        list(read_records(["/dev/zero"]))


@pytest.mark.parametrize("verb", ["code-tokens", "split-answer"])
def test_single_input_verbs_refuse_a_device_in_one_line(verb: str) -> None:
    # `nearcopy code-tokens /dev/zero` and an endless stdin: read one byte past the document limit.
    options = ["--language", "python"] if verb == "code-tokens" else []
    for source, stdin in (("/dev/zero", os.devnull), ("-", "/dev/zero")):
        command = [sys.executable, "-m", "nearcopy", verb, source, *options]
        with open(stdin, "rb") as feed:
            result = subprocess.run(command, stdin=feed, capture_output=True, text=True, timeout=120)
        assert result.returncode == 2, result.stderr
        assert result.stderr.count("\n") == 1 and "larger than" in result.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "locked.txt").write_text("x")
    (tmp_path / "locked.txt").chmod(0)
    with pytest.raises(InputError, match=r"locked\.txt: cannot read"):
        list(read_documents([str(tmp_path)]))


def test_unreadable_file_error_without_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "locked.txt").write_text("x")
    real_open = open

    def refusing(file: object, *args: object, **kwargs: object) -> object:
        if str(file).endswith("locked.txt"):
            raise PermissionError(13, "Permission denied")
        return real_open(file, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr("builtins.open", refusing)
    with pytest.raises(InputError, match=r"locked\.txt: cannot read: Permission denied"):
        list(inputs.read_documents([str(tmp_path)]))


def test_cli_reports_hostile_input_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bomb = tmp_path / "bomb.jsonl.gz"
    with gzip.open(bomb, "wb", compresslevel=1) as out:
        for _ in range(70):
            out.write(b"x" * (1 << 20))
    assert main(["dedup", str(bomb), "--output", str(tmp_path / "o.jsonl.gz")]) != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "line longer than" in err
    assert not (tmp_path / "o.jsonl.gz").exists()


def test_check_of_an_endless_input_is_bounded(tmp_path: Path) -> None:
    nearcopy.ProtectedIndex.build([{"id": "p", "text": PROSE}], tmp_path / "index")
    code = (
        "import sys\nfrom nearcopy.cli import main\n"
        f"code = main(['check', '--index', {str(tmp_path / 'index')!r}, '/dev/zero'])\n"
        "assert code == 2, code"
    )
    assert peak_rss_mb(code) < 400  # reads 16 Mi characters and stops


def test_streaming_one_endless_line_is_linear(output_filter: nearcopy.OutputFilter) -> None:
    # The stream's window opens at a line start; an answer without newlines made every delta check
    # the whole answer so far (8,000 words took 5 s, 32,000 would take 80 s).
    filler = " ".join(f"w{i}" for i in range(12_000))
    answer = f"{filler} {PROSE} {filler}"
    stream = output_filter.stream()
    started = time.monotonic()
    shown = "".join(stream.feed(answer[i : i + 6]) for i in range(0, len(answer), 6)) + stream.close()
    assert time.monotonic() - started < 20
    assert stream.verdict.flagged and stream.last_window_chars < 20_000
    assert "the committee met on tuesday to discuss the budget" not in shown
    assert shown.startswith(filler[:1000])
