"""A keyed index does not reveal its corpus: the membership attack, key checks, `index info`.

The attack: someone holding every file of the index guesses sentences (half of them from the
protected corpus) and tries to tell which are in it. Without the key, the best they can do is
fingerprint each guess themselves (unkeyed, or under a key of their own) and look the fingerprints
up in the segment's key table; with the key, the same lookup tells members from strangers.
"""

from __future__ import annotations

import json
import random
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from nearcopy import _core
from nearcopy.filter import OutputFilter
from nearcopy.index import Document, IndexKeyError, ProtectedIndex
from nearcopy.keys import KeyFileError, find_secret, fingerprint_key

SECRET = bytes(range(32))
WORDS = [
    "amber",
    "basalt",
    "cedar",
    "delta",
    "ember",
    "fjord",
    "granite",
    "harbor",
    "island",
    "juniper",
    "kelp",
    "lagoon",
    "meadow",
    "nectar",
    "orchard",
    "pebble",
    "quartz",
    "river",
    "saffron",
    "timber",
    "umber",
    "valley",
    "willow",
    "xenon",
    "yarrow",
    "zephyr",
    "anchor",
    "beacon",
    "canyon",
    "dune",
    "estuary",
    "falcon",
    "glacier",
    "heron",
    "iris",
    "jasper",
    "kestrel",
    "lantern",
    "marsh",
    "nimbus",
]


def sentence(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(40)) + "."


@pytest.fixture(scope="module")
def corpus() -> tuple[list[str], list[str]]:
    """40 protected sentences and 40 that are not in the corpus."""
    rng = random.Random(8)
    return [sentence(rng) for _ in range(40)], [sentence(rng) for _ in range(40)]


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory, corpus: tuple[list[str], list[str]]) -> Path:
    members, _ = corpus
    path = tmp_path_factory.mktemp("keyed") / "index"
    docs = [Document(f"doc{i}", text, {"license": "secret"}) for i, text in enumerate(members)]
    ProtectedIndex.build(docs, path, key=SECRET)
    return path


def stored_keys(index: Path) -> set[int]:
    """The 32-bit fingerprint keys of an index's segments, read from the files (segment header:
    entries at byte 40, directory bits at 64, keys after the 80-byte header and the directory)."""
    keys: set[int] = set()
    for segment in index.glob("seg-*.ncs"):
        data = segment.read_bytes()
        (entries,) = struct.unpack_from("<Q", data, 40)
        (bits,) = struct.unpack_from("<I", data, 64)
        start = 80 + 4 * ((1 << bits) + 1)
        keys.update(struct.unpack_from(f"<{entries}I", data, start))
    return keys


def guess_keys(guess: str, tmp: Path, secret: bytes | None) -> set[int]:
    """What the attacker computes for a guess: its fingerprints under ``secret`` (None: unkeyed),
    through the same code the index uses."""
    path = tmp / f"guess-{abs(hash((guess, secret)))}"
    ProtectedIndex.build([Document("guess", guess)], path, key=secret)
    return stored_keys(path)


def membership_accuracy(
    index: Path, corpus: tuple[list[str], list[str]], tmp: Path, secret: bytes | None
) -> float:
    """Accuracy of "a guess is in the corpus when most of its fingerprints are in the index"."""
    table = stored_keys(index)
    members, strangers = corpus
    right = 0
    for guess, is_member in [*((m, True) for m in members), *((s, False) for s in strangers)]:
        keys = guess_keys(guess, tmp, secret)
        said_member = len(keys & table) > len(keys) / 2
        right += said_member == is_member
    return right / (len(members) + len(strangers))


def test_membership_attack_fails_without_the_key_and_works_with_it(
    keyed: Path, corpus: tuple[list[str], list[str]], tmp_path: Path
) -> None:
    # Without the key: unkeyed fingerprints, or those of a guessed key, find nothing: chance level.
    assert membership_accuracy(keyed, corpus, tmp_path, None) == 0.5
    assert membership_accuracy(keyed, corpus, tmp_path, b"guessed-key-0000") == 0.5
    # With it, every guess is told apart.
    assert membership_accuracy(keyed, corpus, tmp_path, SECRET) == 1.0


def test_keyed_index_needs_its_key_and_finds_copies_with_it(
    keyed: Path, corpus: tuple[list[str], list[str]]
) -> None:
    members, strangers = corpus
    with pytest.raises(IndexKeyError, match="keyed; give the key"):
        ProtectedIndex.open(keyed)
    with pytest.raises(IndexKeyError, match="wrong key"):
        ProtectedIndex.open(keyed, key=b"another secret of 16+ bytes")
    # The Rust reader refuses too, should someone bypass the manifest's check.
    segment = str(next(keyed.glob("seg-*.ncs")))
    with pytest.raises(ValueError, match="different key"):
        _core.IndexReader([segment], [], 4, 6, 20, 10, None)
    with pytest.raises(ValueError, match="different key"):
        _core.IndexReader([segment], [], 4, 6, 20, 10, fingerprint_key(b"another secret of 16+ bytes"))
    output_filter = OutputFilter(ProtectedIndex.open(keyed, key=SECRET))
    assert all(output_filter.check(f"Here it is: {m} Hope it helps.").flagged for m in members[:5])
    assert not any(output_filter.check(s).flagged for s in strangers[:5])


def test_keyed_and_unkeyed_indexes_are_told_apart(tmp_path: Path) -> None:
    ProtectedIndex.build([Document("a", "plain text " * 20)], tmp_path / "plain")
    with pytest.raises(IndexKeyError, match="not keyed"):
        ProtectedIndex.open(tmp_path / "plain", key=SECRET)
    with pytest.raises(KeyFileError, match="at least 16"):
        ProtectedIndex.build([], tmp_path / "short", key=b"short")


def test_old_index_versions_are_refused_with_a_clear_message(keyed: Path, tmp_path: Path) -> None:
    old = tmp_path / "old"
    old.mkdir()
    manifest = json.loads((keyed / "manifest.json").read_text())
    (old / "manifest.json").write_text(json.dumps({**manifest, "version": 3}))
    with pytest.raises(OSError, match=r"index version 3.*rebuild"):
        ProtectedIndex.open(old, key=SECRET)


def test_keys_come_from_a_file_or_the_environment(tmp_path: Path) -> None:
    hex_file = tmp_path / "hex.key"
    hex_file.write_text(SECRET.hex() + "\n")
    raw_file = tmp_path / "raw.key"
    raw_file.write_bytes(b"\x00\xff" * 16)
    assert find_secret(str(hex_file), {}) == SECRET
    assert find_secret(str(raw_file), {}) == b"\x00\xff" * 16
    assert find_secret(None, {"NEARCOPY_KEY": SECRET.hex()}) == SECRET
    assert find_secret(None, {"NEARCOPY_KEY_FILE": str(hex_file)}) == SECRET
    assert find_secret(None, {}) is None
    for bad in ({"NEARCOPY_KEY": "not hex"}, {"NEARCOPY_KEY": "abcd"}):
        with pytest.raises(KeyFileError):
            find_secret(None, bad)
    with pytest.raises(KeyFileError, match="cannot read"):
        find_secret(str(tmp_path / "missing"), {})


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-m", "nearcopy", *args], capture_output=True, text=True, timeout=120,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


def test_cli_keygen_build_check_and_info_show_no_content(
    tmp_path: Path, corpus: tuple[list[str], list[str]]
) -> None:
    members, _ = corpus
    key = tmp_path / "index.key"
    assert run_cli("index", "keygen", str(key)).returncode == 0
    assert key.stat().st_mode & 0o077 == 0, "the key file is private"
    assert run_cli("index", "keygen", str(key)).returncode == 2, "an existing key is not overwritten"
    source = tmp_path / "corpus.jsonl"
    source.write_text("".join(json.dumps({"id": f"d{i}", "text": m}) + "\n" for i, m in enumerate(members)))
    index = tmp_path / "index"
    built = run_cli("index", "build", str(source), "-o", str(index), "--key-file", str(key))
    assert built.returncode == 0, built.stderr
    answer = tmp_path / "answer.txt"
    answer.write_text(f"Sure. {members[3]}")
    missing = run_cli("check", str(answer), "--index", str(index))
    assert missing.returncode == 2 and "keyed; give the key" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
    flagged = run_cli("check", str(answer), "--index", str(index), env={"NEARCOPY_KEY_FILE": str(key)})
    assert flagged.returncode == 1, flagged.stderr
    for args in (["--json"], ["--key-file", str(key)], ["--key-file", str(key), "--verify"]):
        info = run_cli("index", "info", str(index), *args)
        assert info.returncode == 0, info.stderr
        assert "keyed" in info.stdout
        assert_no_corpus_text(info.stdout, members)
    for stored in index.iterdir():
        if stored.suffix in (".json", ".jsonl"):
            assert_no_corpus_text(stored.read_text(), members)


def assert_no_corpus_text(shown: str, texts: list[str]) -> None:
    """No run of three words of any text appears in ``shown`` (the corpus words are not English,
    so even one three-word run would be a leak)."""
    for text in texts:
        words = text.rstrip(".").split()
        for i in range(len(words) - 2):
            assert " ".join(words[i : i + 3]) not in shown, f"corpus text shown: {words[i : i + 3]}"
