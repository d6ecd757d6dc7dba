"""Reproducible real-text benchmark corpus built from what a Debian machine ships.

Why real text: MinHash throughput depends on token lengths, shingle counts per
document and document-size spread; synthetic random words get all three wrong.
Debian installs plenty of real prose, code and markup (docs, man pages, the
Python stdlib, licenses), so the corpus needs no network download.

The corpus is not bit-identical across machines (installed packages differ);
the manifest records what went in so results can be compared honestly.

CLI:  python -m nearcopy.benchsuite.corpus --mb 64 --seed 0 [--install-packages]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path
from typing import Any

from . import benchutil

# Bump when selection/decoding logic changes, so stale caches are rebuilt.
FORMAT_VERSION = 2
MIN_DOC_BYTES = 200
MAX_DOC_BYTES = 1 << 20  # 1 MB cap: one giant changelog must not dominate

# Extensions that are never text; skipping them early avoids reading them.
BINARY_EXTS = {
    ".png",
    ".gif",
    ".jpg",
    ".jpeg",
    ".ico",
    ".svgz",
    ".pdf",
    ".zip",
    ".bz2",
    ".xz",
    ".zst",
    ".woff",
    ".woff2",
    ".ttf",
    ".otf",
    ".so",
    ".pyc",
    ".mo",
    ".gmo",
    ".db",
    ".bin",
    ".jar",
    ".whl",
    ".egg",
    ".tgz",
    ".lz",
    ".7z",
}


def _sources() -> list[tuple[str, Path, str]]:
    """(label, root, kind) for every source root that exists on this machine.

    The label, not the absolute root, becomes the doc id prefix, so ids and
    manifests carry no machine-specific paths (the stdlib lives in different
    places under pyenv, venvs and Debian's python).
    """
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    candidates = [
        ("doc", Path("/usr/share/doc"), "any"),
        ("man", Path("/usr/share/man"), "any"),
        ("licenses", Path("/usr/share/common-licenses"), "any"),
        ("stdlib", stdlib, "py"),
        ("perlpod", Path("/usr/share/perl"), "pod"),
    ]
    # /usr/share/doc/python3.11/html (python3.11-doc) is already under "doc".
    return [(label, root, kind) for label, root, kind in candidates if root.is_dir()]


def _wanted(path: Path, kind: str) -> bool:
    if kind == "py":
        # site-packages depends on what happens to be installed: not stdlib.
        return path.suffix == ".py" and "site-packages" not in path.parts
    if kind == "pod":
        return path.suffix == ".pod" and path.parent.name == "pod"
    return path.suffix.lower() not in BINARY_EXTS


def list_candidates() -> list[tuple[str, Path]]:
    """All candidate files as (doc id, path), sorted by id, symlink-deduplicated."""
    found: list[tuple[str, Path]] = []
    for label, root, kind in _sources():
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for fname in filenames:
                path = Path(dirpath) / fname
                if _wanted(path, kind) and path.is_file():
                    found.append((f"{label}/{path.relative_to(root).as_posix()}", path))
    found.sort()
    # The same file is often reachable through symlinks (doc dirs shared between
    # packages); keep the first id in sorted order so the choice is stable.
    seen: set[str] = set()
    unique = []
    for doc_id, path in found:
        real = os.path.realpath(path)
        if real not in seen:
            seen.add(real)
            unique.append((doc_id, path))
    return unique


def read_text(path: Path) -> str | None:
    """Decoded text of a (possibly gzipped) file, or None if it looks binary."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as fh:
                raw = fh.read(MAX_DOC_BYTES)
        else:
            with open(path, "rb") as fh:
                raw = fh.read(MAX_DOC_BYTES)
    except (OSError, EOFError, gzip.BadGzipFile):
        return None
    if b"\x00" in raw[:8192]:
        return None  # NUL bytes: compiled or binary data
    text = raw.decode("utf-8", errors="replace")
    # Latin-1 docs get a few replacement chars (fine); mostly-garbage is binary.
    if text.count("\ufffd") > len(text) // 20:
        return None
    return text


def _manifest_for(mb: int, seed: int) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "seed": seed,
        "mb": mb,
        "target_bytes": mb * 1_000_000,
        "min_doc_bytes": MIN_DOC_BYTES,
        "max_doc_bytes": MAX_DOC_BYTES,
        "source_roots": [
            {"label": label, "root": "<python stdlib>" if label == "stdlib" else str(root)}
            for label, root, _ in _sources()
        ],
        "python": sys.version.split()[0],  # the stdlib source changes with it
    }


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def build_corpus(mb: int, seed: int) -> list[dict[str, Any]]:
    """Pick documents at random (seeded) until the target size is reached.

    Sources are interleaved by bytes (the next document comes from whichever
    source has contributed least so far) because file counts are very skewed:
    a machine with google-cloud-sdk has ~17k near-identical gcloud man pages
    that would otherwise be 3/4 of the corpus. The seeded order is kept rather
    than re-sorted, so any prefix of the corpus is itself a mixed random
    sample; bench_minhash relies on that when it runs slow peers on a prefix.
    """
    rng = random.Random(seed)
    queues: dict[str, list[tuple[str, Path]]] = {}
    for doc_id, path in list_candidates():  # sorted, so queues are too
        queues.setdefault(doc_id.split("/", 1)[0], []).append((doc_id, path))
    for label in sorted(queues):
        rng.shuffle(queues[label])
        queues[label].reverse()  # pop() from the end == take in shuffled order
    taken = dict.fromkeys(queues, 0)
    target = mb * 1_000_000
    docs: list[dict[str, Any]] = []
    total = 0
    while total < target and queues:
        label = min(queues, key=lambda k: (taken[k], k))
        doc_id, path = queues[label].pop()
        if not queues[label]:
            del queues[label]
        text = read_text(path)
        if text is None:
            continue
        size = len(text.encode("utf-8"))
        if size < MIN_DOC_BYTES:
            continue
        docs.append({"id": doc_id, "text": text})
        taken[label] += size
        total += size
    if total < target:
        print(
            f"corpus: warning: only {total / 1e6:.1f} MB of text available "
            f"(asked {mb} MB); try --install-packages",
            file=sys.stderr,
        )
    return docs


def _paths(mb: int, seed: int) -> tuple[Path, Path]:
    name = f"corpus-{mb}mb-seed{seed}"
    cache = benchutil.cache_dir() / "bench-corpus"
    return cache / f"{name}.jsonl", cache / f"{name}.manifest.json"


def load_docs(mb: int = 64, seed: int = 0) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Documents ({"id", "text"}) and manifest, from cache when it matches."""
    jsonl, manifest_path = _paths(mb, seed)
    wanted = _manifest_for(mb, seed)
    if jsonl.exists() and manifest_path.exists():
        cached = json.loads(manifest_path.read_text())
        same_request = all(cached.get(k) == v for k, v in wanted.items())
        if same_request and cached.get("sha256") == sha256_of(jsonl):
            with open(jsonl, encoding="utf-8") as fh:
                return [json.loads(line) for line in fh], cached
    docs = build_corpus(mb, seed)
    (benchutil.cache_dir() / "bench-corpus").mkdir(parents=True, exist_ok=True)
    tmp = jsonl.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(doc, ensure_ascii=False) + "\n" for doc in docs)
    tmp.replace(jsonl)  # atomic: a killed build never leaves a half cache
    manifest = dict(wanted)
    manifest.update(
        total_bytes=sum(len(d["text"].encode("utf-8")) for d in docs),
        doc_count=len(docs),
        docs_per_source={
            label: sum(d["id"].startswith(label + "/") for d in docs) for label, _, _ in _sources()
        },
        sha256=sha256_of(jsonl),
        created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    )
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    return docs, manifest


def load_corpus(mb: int = 64, seed: int = 0) -> list[str]:
    """The corpus texts, in deterministic (seeded random) order."""
    return [d["text"] for d in load_docs(mb, seed)[0]]


def make_pairs(
    texts: list[str], n_pairs: int, seed: int = 0, *, ngram: int = 5, max_words: int = 400
) -> list[tuple[str, str]]:
    """Near-duplicate pairs (a, b) spanning exact Jaccard roughly 0.1-0.95.

    a is a window of up to max_words words of a random document (windows keep
    slow peers fast and mix many documents); b is a with words deleted,
    inserted or replaced at a per-word rate p. One edit destroys about `ngram`
    shingles, so the fraction f of a's shingles that survive is ~(1-p)^ngram
    and J ~ f / (2 - f). We draw a target J uniformly and invert that. The
    true Jaccard is measured by the caller on the actual shingle sets; this
    only aims the distribution.
    """
    rng = random.Random(seed)
    usable = [t for t in texts if len(t.split(maxsplit=60)) > 60]
    if not usable:
        raise ValueError("no document has enough words to make pairs")
    pairs: list[tuple[str, str]] = []
    for _ in range(n_pairs):
        words = rng.choice(usable).split()
        start = rng.randrange(max(1, len(words) - max_words + 1))
        a_words = words[start : start + max_words]
        target_j = rng.uniform(0.1, 0.95)
        p = 1.0 - (2 * target_j / (1 + target_j)) ** (1.0 / ngram)
        vocab = sorted(set(words))  # sorted: set order is not deterministic
        b_words: list[str] = []
        for w in a_words:
            if rng.random() >= p:
                b_words.append(w)
                continue
            op = rng.randrange(3)
            if op == 1:  # insert a word before w
                b_words += [rng.choice(vocab), w]
            elif op == 2:  # replace w
                b_words.append(rng.choice(vocab))
            # op == 0: delete w
        pairs.append((" ".join(a_words), " ".join(b_words)))
    return pairs


def ensure_doc_packages() -> None:
    """Install extra Debian doc packages (more, larger text) when root + apt.

    Only called on explicit request: it changes the machine. Failure is a
    warning, not an error; the corpus simply uses whatever is installed.
    """
    pkgs = ["python3.11-doc", "manpages", "perl-doc"]
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("apt-get") is None:
        print("corpus: warning: --install-packages needs root and apt-get; skipped", file=sys.stderr)
        return
    cmd = ["apt-get", "install", "-y", "--no-install-recommends", *pkgs]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if subprocess.run(cmd, env=env, check=False).returncode == 0:
        return
    # A fresh container usually has empty package lists: refresh once, retry.
    subprocess.run(["apt-get", "update"], env=env, check=False)
    if subprocess.run(cmd, env=env, check=False).returncode != 0:
        print(f"corpus: warning: could not install {' '.join(pkgs)}; continuing", file=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=int, default=64, help="target corpus size in MB")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--install-packages",
        action="store_true",
        help="apt-get install python3.11-doc manpages perl-doc first",
    )
    args = ap.parse_args(argv)
    if args.install_packages:
        ensure_doc_packages()
    t0 = time.perf_counter()
    _, manifest = load_docs(args.mb, args.seed)
    sources = ", ".join(f"{k}={v}" for k, v in manifest.get("docs_per_source", {}).items())
    print(
        f"corpus {args.mb}MB seed={args.seed}: {manifest['doc_count']} docs, "
        f"{manifest['total_bytes'] / 1e6:.1f} MB ({sources}), "
        f"sha256 {manifest['sha256'][:12]}, {time.perf_counter() - t0:.1f}s, "
        f"{_paths(args.mb, args.seed)[0]}"
    )


if __name__ == "__main__":
    main()
