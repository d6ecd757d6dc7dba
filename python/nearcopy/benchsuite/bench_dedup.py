"""Near-duplicate quality and speed: nearcopy dedup against datasketch MinHashLSH, same run, same data.

A labelled set is built from real text on this machine (docs, man pages, stdlib source; see
`corpus.py`): windows of 150-400 words are the originals (kept only if datasketch's LSH at 0.3
finds no other original like them, so the negatives are clean), and about half of them get one
to three copies: exact, reformatted (case, punctuation, spacing), words edited at 2/5/10/20%,
cut to 80-90%, concatenated with a fifth of another original. The truth is the exact Jaccard of
the shingle sets: copies of one original whose Jaccard reaches the threshold belong together
(connected components). Scored on the "same cluster" relation over all pairs of documents:
precision, recall, F1, and per kind of copy the share found with its original.

nearcopy runs end to end (`nearcopy.dedup` on a JSONL file, written back annotated);
datasketch runs as text-dedup uses it (MinHash of the same shingles, MinHashLSH insert and query at
the same bands and rows, union-find over the unverified candidates). Each runs in its own process,
so peak memory (max RSS) is its own.

    python -m nearcopy.benchsuite.bench_dedup [--bases 3000] [--threshold 0.8] [--quick] [--out PATH]
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, cast

import numpy as np

from nearcopy import TextOptions, shingles
from nearcopy.lsh import optimal_bands
from nearcopy.minhash import Scheme
from nearcopy.neardup.stages import Verify

from . import benchutil, corpus

KINDS = ("exact", "reformat", "edit 2%", "edit 5%", "edit 10%", "edit 20%", "cut", "concatenate")
NUM_PERM = 128


def _windows(texts: list[str], count: int, rng: random.Random) -> list[str]:
    """Up to two disjoint windows of 150-400 words from each document long enough."""
    out: list[str] = []
    for text in texts:
        words = text.split()
        while len(words) >= 150 and len(out) < count:
            size = rng.randint(150, min(400, len(words)))
            out.append(" ".join(words[:size]))
            words = words[size + 100 :]  # a gap, then possibly a second window
            if len(words) < 400:
                break
    return out


def _clean(bases: list[str], opts: TextOptions) -> list[str]:
    """Originals no two of which are candidates of datasketch's LSH at 0.3."""
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=0.3, num_perm=64)
    kept = []
    for i, text in enumerate(bases):
        m = MinHash(num_perm=64)
        m.update_batch([s.encode() for s in shingles(text, opts)])
        if not lsh.query(m):
            lsh.insert(i, m)
            kept.append(text)
    return kept


def _copy(kind: str, text: str, other: str, vocab: list[str], rng: random.Random) -> str:
    words = text.split()
    if kind == "exact":
        return text
    if kind == "reformat":
        return "\n".join(
            " ".join(
                (w.upper() if rng.random() < 0.3 else w) + ("," if rng.random() < 0.1 else "") for w in line
            )
            for line in (words[i : i + 12] for i in range(0, len(words), 12))
        )
    if kind.startswith("edit"):
        rate = int(kind.split()[1].rstrip("%")) / 100
        out: list[str] = []
        for w in words:
            if rng.random() >= rate:
                out.append(w)
            elif (op := rng.randrange(3)) == 1:
                out += [rng.choice(vocab), w]
            elif op == 2:
                out.append(rng.choice(vocab))
        return " ".join(out)
    if kind == "cut":
        size = int(len(words) * rng.uniform(0.8, 0.9))
        start = rng.randrange(len(words) - size + 1)
        return " ".join(words[start : start + size])
    extra = other.split()
    return " ".join(words + extra[: len(words) // 5])


def build_set(bases_wanted: int, mb: int, seed: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    rng = random.Random(seed)
    docs, manifest = corpus.load_docs(mb, seed)
    opts = TextOptions()
    bases = _clean(_windows([d["text"] for d in docs], int(bases_wanted * 1.3), rng), opts)[:bases_wanted]
    vocab = sorted({w for b in bases[:200] for w in b.split()})
    items: list[dict[str, Any]] = []
    for family, base in enumerate(bases):
        items.append({"id": f"o{family}", "text": base, "family": family, "kind": "original"})
        if rng.random() < 0.5:
            for n, kind in enumerate(rng.sample(KINDS, rng.randint(1, 3))):
                other = bases[rng.randrange(len(bases))]
                items.append(
                    {
                        "id": f"o{family}-{n}",
                        "text": _copy(kind, base, other, vocab, rng),
                        "family": family,
                        "kind": kind,
                    }
                )
    rng.shuffle(items)
    return items, {
        "source_mb": mb,
        "source_docs": manifest.get("doc_count"),
        "docs_per_source": manifest.get("docs_per_source"),
    }


def truth(items: list[dict[str, Any]], threshold: float) -> tuple[np.ndarray, dict[int, float]]:
    """Components of same-family pairs with exact Jaccard >= threshold; and each copy's Jaccard with
    its original."""
    sets = [set(shingles(it["text"])) for it in items]
    label = np.arange(len(items))
    families: dict[int, list[int]] = {}
    for i, it in enumerate(items):
        families.setdefault(it["family"], []).append(i)
    to_original: dict[int, float] = {}
    for members in families.values():
        original = next(m for m in members if items[m]["kind"] == "original")
        for a in members:
            for b in members:
                if a < b:
                    j = len(sets[a] & sets[b]) / max(1, len(sets[a] | sets[b]))
                    if a == original or b == original:
                        to_original[b if a == original else a] = j
                    if j >= threshold:
                        low, high = sorted((label[a], label[b]))
                        label[label == high] = low
    return label, to_original


def pair_scores(predicted: np.ndarray, expected: np.ndarray) -> dict[str, float]:
    """Precision, recall, F1 of the relation "in the same cluster" over all pairs of documents."""

    def pairs(counts: Any) -> int:
        return sum(c * (c - 1) // 2 for c in counts)

    both = pairs(Counter(zip(predicted.tolist(), expected.tolist())).values())
    found, true = pairs(Counter(predicted.tolist()).values()), pairs(Counter(expected.tolist()).values())
    p, r = (both / found if found else 1.0), (both / true if true else 1.0)
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0, "pairs": found}


def peak_mb() -> float:
    """This process's peak resident memory. Not ru_maxrss: Linux carries that over from the parent
    across exec, so every worker would report the parent's peak."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(method: str, data: Path, labels_out: Path, threshold: float) -> None:
    """One method ("nearcopy SCHEME BxR [exact]" or "datasketch affine32 BxR") on the JSONL file; prints its
    time and peak memory as JSON."""
    import nearcopy.neardup as nd

    baseline = peak_mb()
    library, scheme, shape, *verify = method.split(" ")
    bands, rows = (int(x) for x in shape.split("x"))
    started = time.perf_counter()
    if library == "nearcopy":
        check = cast(Verify, verify[0] if verify else "signature")
        params = nd.Params(threshold, NUM_PERM, bands, rows, cast(Scheme, scheme), verify=check)
        out = labels_out.with_suffix(".jsonl")
        nd.dedup(data, out, params=params, annotate=True, memory_limit="256M")
        seconds = time.perf_counter() - started
        peak = peak_mb()  # before the labels are read back, which is the benchmark's work
        labels = [json.loads(line)["cluster_id"] for line in out.read_text().splitlines()]
    else:
        from datasketch import MinHash, MinHashLSH

        texts = [json.loads(line)["text"] for line in data.read_text().splitlines()]
        lsh = MinHashLSH(num_perm=NUM_PERM, params=(bands, rows))
        parent = list(range(len(texts)))

        def find(x: int) -> int:
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for i, text in enumerate(texts):
            m = MinHash(num_perm=NUM_PERM, seed=1, scheme="affine32")
            m.update_batch([s.encode() for s in shingles(text)])
            for j in lsh.query(m):
                a, b = find(i), find(int(j))
                parent[max(a, b)] = min(a, b)
            lsh.insert(i, m)
        labels = [find(i) for i in range(len(texts))]
        seconds = time.perf_counter() - started
        peak = peak_mb()
    np.save(labels_out, np.array(labels))
    print(json.dumps({"seconds": seconds, "peak_mb": peak, "baseline_mb": baseline}))


def nd_params(threshold: float) -> tuple[int, int]:
    from nearcopy.neardup import Params

    params = Params(threshold=threshold, num_perm=NUM_PERM)
    return params.band_count, params.row_count


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bases", type=int, default=3000, help="originals (default 3000)")
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--mb", type=int, default=64, help="real text to draw originals from (default 64)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="200 originals from 4 MB (smoke test)")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--worker", nargs=3, metavar=("METHOD", "DATA", "LABELS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker[0], Path(args.worker[1]), Path(args.worker[2]), args.threshold)
        return
    if args.quick:
        args.bases, args.mb = 200, 4
    items, source = build_set(args.bases, args.mb, args.seed)
    expected, to_original = truth(items, args.threshold)
    # nearcopy's default bands (false negatives weighted 0.9: candidates are verified) and datasketch's
    # (0.5/0.5), each for both libraries, so every comparison is at the same settings.
    ours = "x".join(map(str, nd_params(args.threshold)))
    theirs = "x".join(map(str, optimal_bands(args.threshold, NUM_PERM)))
    methods = (
        f"nearcopy fast {ours}",
        f"nearcopy affine32 {ours}",
        f"nearcopy affine32 {ours} exact",
        f"datasketch affine32 {ours}",
        f"nearcopy affine32 {theirs}",
        f"datasketch affine32 {theirs}",
    )
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "set.jsonl"
        data.write_text("".join(json.dumps({"id": it["id"], "text": it["text"]}) + "\n" for it in items))
        nbytes = sum(len(it["text"].encode()) for it in items)
        for method in methods:
            labels_path = Path(tmp) / f"{method.replace(' ', '-')}.npy"
            command = [
                sys.executable,
                "-m",
                "nearcopy.benchsuite.bench_dedup",
                "--threshold",
                str(args.threshold),
                "--worker",
                method,
                str(data),
                str(labels_path),
            ]
            run = subprocess.run(command, capture_output=True, text=True, check=True)
            measured = json.loads(run.stdout.strip().splitlines()[-1])
            predicted = np.load(labels_path)
            by_kind = {}
            for kind in KINDS:
                copies = [
                    i for i, it in enumerate(items) if it["kind"] == kind and to_original[i] >= args.threshold
                ]
                originals = {it["family"]: i for i, it in enumerate(items) if it["kind"] == "original"}
                found = sum(predicted[i] == predicted[originals[items[i]["family"]]] for i in copies)
                by_kind[kind] = {"copies": len(copies), "found": int(found)}
            families_per_cluster = Counter(
                p for p, _ in {(p, it["family"]) for p, it in zip(predicted.tolist(), items)}
            )
            results[method] = {
                **pair_scores(predicted, expected),
                **measured,
                "docs_per_s": len(items) / measured["seconds"],
                "mb_per_s": nbytes / 1e6 / measured["seconds"],
                "largest_cluster": max(Counter(predicted.tolist()).values()),
                "false_merges": sum(1 for c in families_per_cluster.values() if c > 1),
                "by_kind": by_kind,
            }
    kinds_found = {k: [to_original[i] for i, it in enumerate(items) if it["kind"] == k] for k in KINDS}
    data_out = {
        "machine": benchutil.machine_info(),
        "versions": {
            "nearcopy": benchutil.package_version("nearcopy"),
            "datasketch": benchutil.package_version("datasketch"),
        },
        "params": {"threshold": args.threshold, "num_perm": NUM_PERM, "ngram": 5},
        "set": {
            "documents": len(items),
            "originals": sum(it["kind"] == "original" for it in items),
            "bytes": nbytes,
            "true_duplicate_pairs": pair_scores(expected, expected)["pairs"],
            **source,
        },
        "mean_jaccard_by_kind": {k: float(np.mean(v)) if v else None for k, v in kinds_found.items()},
        "results": results,
    }
    benchutil.save_result("dedup-quality", data_out, render(data_out), args.out)


def render(d: dict[str, Any]) -> str:
    s, p = d["set"], d["params"]
    lines = [
        f"# Dedup quality and speed ({s['documents']} documents: {s['originals']} originals of real text "
        f"and their copies, {s['bytes'] / 1e6:.1f} MB; {s['true_duplicate_pairs']} true duplicate pairs)",
        "",
        f"Threshold {p['threshold']}, {p['num_perm']} permutations (bands x rows in the method name), "
        f"word {p['ngram']}-grams; {d['machine']['cpu_affinity']} cores. "
        "Pairs: documents in the same cluster.",
        "",
    ]
    rows = []
    for method, r in d["results"].items():
        rows.append(
            [
                method,
                f"{r['precision']:.3f}",
                f"{r['recall']:.3f}",
                f"{r['f1']:.3f}",
                r["false_merges"],
                r["largest_cluster"],
                f"{r['seconds']:.2f}",
                f"{r['docs_per_s']:,.0f}",
                f"{r['mb_per_s']:.2f}",
                f"{r['peak_mb']:.0f}",
            ]
        )
    lines.append(
        benchutil.md_table(
            [
                "method",
                "precision",
                "recall",
                "F1",
                "false merges",
                "largest cluster",
                "seconds",
                "docs/s",
                "MB/s",
                "peak MB",
            ],
            rows,
        )
    )
    lines += [
        "",
        "## Copies found with their original (copies whose exact Jaccard reaches the threshold)",
        "",
    ]
    methods = list(d["results"])
    kind_rows = []
    for kind in KINDS:
        first = d["results"][methods[0]]["by_kind"][kind]
        mean = d["mean_jaccard_by_kind"][kind]
        cells = [kind, f"{mean:.2f}" if mean is not None else "n/a", first["copies"]]
        for m in methods:
            k = d["results"][m]["by_kind"][kind]
            cells.append(f"{k['found'] / k['copies']:.3f}" if k["copies"] else "n/a")
        kind_rows.append(cells)
    lines.append(benchutil.md_table(["copy", "mean Jaccard", "copies >= threshold", *methods], kind_rows))
    lines += [
        "",
        "False merges: predicted clusters holding documents of more than one original. Peak MB is the "
        "process's peak resident memory (VmHWM) when the method is done, Python and the libraries "
        "included (about 40 MB after importing them).",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
