"""The LSH index against datasketch's ``MinHashLSH`` (in memory) and rensa's ``RMinHashLSH``, side
by side in one run: insert throughput, query latency (p50/p99, each query alone on one thread),
recall and precision against exact Jaccard, memory and disk bytes per document, open time.

Documents are real text of this machine (``bench_dedup_scale.corpus_texts``: windows of 50-300 words,
a fifth of them copies, half of those edited). Queries are not in the index: half are copies of
indexed documents with 2-30% of their words changed, half fresh windows (which overlap indexed ones
by chance). Every method gets the same shingles (nearcopy's word 5-grams); datasketch and
"nearcopy, datasketch's bands" the same affine32 signatures, nearcopy's default its ``fast`` ones,
rensa its own. Truth: every pair any method proposes, and every candidate of a 32 x 2-band index
(a pair at Jaccard 0.5 is missed with probability 1e-4), checked by exact Jaccard of the shingle
sets. ``raw`` are the candidates a method returns, ``verified`` those whose signature estimate
reaches the threshold (nearcopy verifies by default; the others' users filter by hand). Each
nearcopy index is also queried for its raw candidates (``verify=False``, rows ``..., raw``): no
stored signature read, the work rensa's and datasketch's queries do. Equal bands are not equal
recall (``lsh_layouts``), so nearcopy is also built and timed at the band layouts that reach rensa's
recall on the same true pairs (rows ``nearcopy at rensa's recall, B x R``).

    python -m nearcopy.benchsuite.bench_lsh [--docs 100000 1000000] [--queries 1000] [--out PATH]
    python -m nearcopy.benchsuite.bench_lsh --nearcopy-only --docs 10000000   # scale, nearcopy alone
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from nearcopy import _core, minhash, shingles
from nearcopy.lsh_index import LSHIndex

from . import benchutil, lsh_layouts
from .bench_dedup_scale import corpus_texts
from .lsh_containment import measure as containment
from .lsh_peers import anon_mb
from .lsh_report import EQUAL_RECALL, RAW, SHUFFLED, report

CHUNK = 50_000  # documents signed (and shingled) at a time
METHODS = ("nearcopy", "nearcopy-datasketch-bands", "datasketch", "rensa", "nearcopy-rensa-bands")


def query_texts(docs: list[str], count: int, seed: int) -> list[str]:
    """Half edited copies of indexed documents (2-30% of words changed), half fresh windows."""
    rng = random.Random(seed)
    vocab = sorted({w for t in docs[:200] for w in t.split()})
    fresh = iter(corpus_texts(count, seed + 1))
    out = []
    for i in range(count):
        if i % 2:
            out.append(next(fresh))
            continue
        rate = rng.choice([0.02, 0.05, 0.1, 0.2, 0.3])
        out.append(
            " ".join(rng.choice(vocab) if rng.random() < rate else w for w in rng.choice(docs).split())
        )
    return out


def _write_texts(path: Path, texts: list[str]) -> None:
    path.write_text("".join(json.dumps(t) + "\n" for t in texts), encoding="utf-8")


def read_texts(data: Path, which: str) -> Iterator[list[str]]:
    with open(data / f"{which}.jsonl", encoding="utf-8") as handle:
        chunk: list[str] = []
        for line in handle:
            chunk.append(json.loads(line))
            if len(chunk) == CHUNK:
                yield chunk
                chunk = []
        if chunk:
            yield chunk


def read_shingles(data: Path, which: str) -> Iterator[list[list[str]]]:
    """Each document's shingles, a chunk at a time (rensa's input)."""
    for chunk in read_texts(data, which):
        yield [shingles(t) for t in chunk]


def prepare(data: Path, docs: int, queries: int, seed: int, source_mb: int) -> dict[str, Any]:
    """Writes the documents and queries as JSON lines and their fast and affine32 signatures as .npy."""
    texts = list(corpus_texts(docs, seed, source_mb))
    asked = query_texts(texts, queries, seed)
    _write_texts(data / "docs.jsonl", texts)
    _write_texts(data / "queries.jsonl", asked)
    for scheme in ("fast", "affine32"):
        out = np.lib.format.open_memmap(
            data / f"{scheme}.npy",
            mode="w+",
            shape=(docs, 128),
            dtype=np.uint32 if scheme == "affine32" else np.uint64,
        )
        for start in range(0, docs, CHUNK):
            out[start : start + CHUNK] = minhash(texts[start : start + CHUNK], scheme=scheme)
        out.flush()
        np.save(data / f"q_{scheme}.npy", minhash(asked, scheme=scheme))
    return {"docs": docs, "queries": queries, "text_mb": sum(len(t) for t in texts) / 1e6}


def run_worker(
    method: str,
    data: Path,
    threshold: float,
    *,
    store: str = "8bit",
    batch: int = 0,
    layout: tuple[int, int] = (0, 0),
    key_order: str = "rows",
) -> dict[str, Any]:
    """One worker process (``lsh_peers``); ``layout``: nearcopy's bands and rows (0: its own);
    ``key_order``: nearcopy's keys the row numbers, or the same ids shuffled."""
    out = data / f"result-{method}-{store}-{batch}-{layout[0]}x{layout[1]}-{key_order}-{threshold}.json"
    command = [
        sys.executable,
        "-m",
        "nearcopy.benchsuite.lsh_peers",
        method,
        str(data),
        str(threshold),
        str(out),
        "--store",
        store,
        "--batch",
        str(batch),
        "--bands",
        str(layout[0]),
        "--rows",
        str(layout[1]),
        "--key-order",
        key_order,
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{method} failed ({done.returncode}): {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(out.read_text())
    out.unlink()
    return result


def exact_truth(data: Path, pooled: list[set[int]]) -> list[dict[int, float]]:
    """Exact Jaccard of every pooled (query, document) pair, on the shingle sets."""
    wanted = sorted(set().union(*pooled))
    position = {d: i for i, d in enumerate(wanted)}
    texts: list[str] = [t for chunk in read_texts(data, "queries") for t in chunk]
    n_queries, needed, offset = len(texts), set(wanted), 0
    for chunk in read_texts(data, "docs"):
        texts += [t for i, t in enumerate(chunk, start=offset) if i in needed]
        offset += len(chunk)
    values, bounds = _core.dedup_shingle_sets(
        texts, [None] * len(texts), 5, "word", True, True, 10, "placeholder", "abstract"
    )
    pairs = np.array(
        [(q, n_queries + position[d]) for q, docs in enumerate(pooled) for d in sorted(docs)], dtype=np.uint64
    ).reshape(-1, 2)
    similarity = _core.dedup_exact_jaccard(values, bounds, pairs) if len(pairs) else np.empty(0)
    truth: list[dict[int, float]] = [{} for _ in pooled]
    for (q, i), s in zip(pairs.tolist(), similarity.tolist()):
        truth[q][wanted[i - n_queries]] = s
    return truth


def pool_candidates(data: Path) -> list[set[int]]:
    """The candidates of a 32 x 2-band index (threshold 0.3): about every pair above 0.45."""
    sigs = np.load(data / "fast.npy", mmap_mode="r")
    index = LSHIndex.create(data / "pool-index", threshold=0.3, key_type="int")
    for start in range(0, len(sigs), 1 << 20):
        part = np.ascontiguousarray(sigs[start : start + (1 << 20)])
        index.insert(np.arange(start, start + len(part)), part, check_duplicates=False)
    found = index.query(np.load(data / "q_fast.npy"), verify=False)
    return [set(n.keys.tolist()) for n in found]


def score(found: list[list[int]], truth: list[dict[int, float]], threshold: float) -> dict[str, float]:
    right = returned = relevant = 0
    for keys, exact in zip(found, truth):
        true = {d for d, s in exact.items() if s >= threshold}
        right += len(true & set(keys))
        returned += len(set(keys))
        relevant += len(true)
    return {
        "recall": right / relevant if relevant else 1.0,
        "precision": right / returned if returned else 1.0,
        "true_pairs": relevant,
        "returned": returned,
    }


def summarize(
    name: str, result: dict[str, Any], docs: int, truth: list[dict[int, float]] | None, threshold: float
) -> dict[str, Any]:
    micros = np.array(result["latency_us"])
    row = {
        "method": name,
        "bands": result["bands"],
        "rows": result["rows"],
        "docs": docs,
        "insert_docs_per_s": docs / result["insert_seconds"],
        "query_p50_us": float(np.percentile(micros, 50)),
        "query_p99_us": float(np.percentile(micros, 99)),
        "query_p99_warm_us": (
            float(np.percentile(result["latency_warm_us"], 99)) if "latency_warm_us" in result else None
        ),
        "anon_bytes_per_doc": result["anon_mb"] * 2**20 / docs,
        "disk_bytes_per_doc": result["disk_bytes"] / docs,
        "open_ms": result.get("open_ms"),
        "segments": result.get("segments"),
    }
    row["bytes_per_doc"] = row["anon_bytes_per_doc"] + row["disk_bytes_per_doc"]
    if truth is not None:
        row["raw"] = score(result["raw"], truth, threshold)
        row["verified"] = score(result["verified"], truth, threshold)
    return row


def raw_row(
    name: str, result: dict[str, Any], docs: int, truth: list[dict[int, float]], threshold: float
) -> dict[str, Any]:
    """nearcopy's index queried for its raw candidates (``verify=False``): what rensa and datasketch
    return, without estimates; its own row, so that each compares with the same work."""
    timed = {**result, "latency_us": result["latency_raw_us"]}
    timed["latency_warm_us"] = result["latency_raw_warm_us"]
    row = summarize(f"{name}{RAW}", timed, docs, truth, threshold)
    del row["verified"]
    return row


def run_size(data: Path, docs: int, args: argparse.Namespace) -> dict[str, Any]:
    corpus = prepare(data, docs, args.queries, args.seed, args.source_mb)
    out: dict[str, Any] = {"corpus": corpus, "thresholds": []}
    pool = pool_candidates(data)
    for threshold in args.thresholds:
        runs = {m: run_worker(m, data, threshold) for m in METHODS}
        if args.variants and docs == args.docs[0]:  # the store, and inserts in batches (several segments)
            for store in ("full", "16bit"):
                runs[f"nearcopy, {store} store"] = run_worker("nearcopy", data, threshold, store=store)
            runs["nearcopy, 10,000 per insert"] = run_worker("nearcopy", data, threshold, batch=10_000)
        pooled = pool
        for r in runs.values():
            pooled = [p | set(raw) for p, raw in zip(pooled, r["raw"])]
        truth = exact_truth(data, pooled)
        # Equal bands are not equal recall (``lsh_layouts``): also nearcopy at the layouts that reach
        # rensa's recall on these pairs, each timed like the others. Their candidates outside the
        # pool are below Jaccard 0.45, so they count against precision as they should.
        at_recall = score(runs["rensa"]["raw"], truth, threshold)["recall"]
        equal = lsh_layouts.equal_slots(
            np.load(data / "fast.npy", mmap_mode="r"), np.load(data / "q_fast.npy"), truth, threshold
        )
        predicted = {}
        for layout in lsh_layouts.layouts_at_recall(equal, at_recall):
            name = f"{EQUAL_RECALL} {layout['bands']} x {layout['rows']}"
            bands_rows = (layout["bands"], layout["rows"])
            runs[name] = run_worker("nearcopy", data, threshold, layout=bands_rows)
            predicted[name] = layout["predicted_recall"]
            # The keys here are row numbers, which nearcopy computes rather than reads; a user's
            # own ids need not be in order, so the same layout with the ids shuffled.
            shuffled = f"{name}, {SHUFFLED}"
            runs[shuffled] = run_worker("nearcopy", data, threshold, layout=bands_rows, key_order="shuffled")
            predicted[shuffled] = layout["predicted_recall"]
        same = sum(
            set(a) == set(b)
            for a, b in zip(runs["nearcopy-datasketch-bands"]["raw"], runs["datasketch"]["raw"])
        )
        rows = []
        for name, r in runs.items():
            rows.append(summarize(name, r, docs, truth, threshold))
            if "latency_raw_us" in r:
                rows.append(raw_row(name, r, docs, truth, threshold))
            if name in predicted:  # the recall the layout was chosen by, to check against the run's
                rows[-1]["predicted_recall"] = predicted[name]
        out["thresholds"].append(
            {"threshold": threshold, "rows": rows, "candidates_identical_to_datasketch": same / len(truth)}
        )
    return out


def nearcopy_alone(data: Path, docs: int, args: argparse.Namespace) -> dict[str, Any]:
    """nearcopy at a scale the peers cannot hold in memory: signed and inserted a million at a time."""
    threshold = args.thresholds[0]
    index = LSHIndex.create(data / "index", threshold=threshold, key_type="int")
    sample: list[str] = []
    seconds, chunk, start = 0.0, [], 0
    for text in corpus_texts(docs, args.seed, args.source_mb):
        chunk.append(text)
        if len(chunk) == 1 << 20 or start + len(chunk) == docs:
            sigs = minhash(chunk)
            sample += chunk[:: max(1, len(chunk) // 200)]
            begun = time.perf_counter()
            index.insert(np.arange(start, start + len(chunk)), sigs, check_duplicates=False)
            seconds += time.perf_counter() - begun
            start += len(chunk)
            chunk = []
    opens = []
    for _ in range(20):
        begun = time.perf_counter()
        LSHIndex.open(data / "index")
        opens.append(time.perf_counter() - begun)
    before = anon_mb()
    index = LSHIndex.open(data / "index")
    queries = minhash(query_texts(sample, args.queries, args.seed))
    for q in queries[:100]:
        index.query(q)
    micros, returned = [], []
    for q in queries:
        begun_ns = time.perf_counter_ns()
        found = index.query(q)
        micros.append((time.perf_counter_ns() - begun_ns) / 1000)
        returned.append(len(found))
    fresh, raw_micros = LSHIndex.open(data / "index"), []  # raw candidates, on a reader of their own
    for q in queries[:100]:
        fresh.query(q, verify=False)
    for q in queries:
        begun_ns = time.perf_counter_ns()
        fresh.query(q, verify=False)
        raw_micros.append((time.perf_counter_ns() - begun_ns) / 1000)
    info = index.info()
    result = {
        "insert_seconds": seconds,
        "bands": info["bands"],
        "rows": info["rows"],
        "segments": info["segments"],
        "anon_mb": anon_mb() - before,
        "disk_bytes": info["bytes"],
        "open_ms": float(np.median(opens) * 1000),
        "latency_us": micros,
    }
    row = summarize("nearcopy", result, docs, None, threshold)
    raw = summarize(f"nearcopy{RAW}", {**result, "latency_us": raw_micros}, docs, None, threshold)
    # What a query returns decides its time: the slowest are those with the most near-duplicates.
    slowest = np.argsort(micros)[-max(1, len(micros) // 100) :]
    row["results_per_query"] = {
        "p50": float(np.median(returned)),
        "p99": float(np.percentile(returned, 99)),
        "slowest_1pct_median": float(np.median(np.array(returned)[slowest])),
    }
    return {
        "corpus": {"docs": docs, "queries": args.queries},
        "thresholds": [{"threshold": threshold, "rows": [row, raw]}],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--docs", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--thresholds", type=float, nargs="+", default=[0.5, 0.8])
    parser.add_argument(
        "--variants", action="store_true", help="also the 16-bit and full stores, batched inserts"
    )
    parser.add_argument("--nearcopy-only", action="store_true", help="nearcopy alone (for 10M documents)")
    parser.add_argument("--containment-docs", type=int, default=600, help="long documents (0: skip)")
    parser.add_argument("--containment-passages", type=int, default=150)
    parser.add_argument(
        "--containment-only", action="store_true", help="only the containment table (no --docs sizes)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--source-mb", type=int, default=64, help="real text the documents are cut from")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    import datasketch
    import rensa

    sizes = []
    started = time.perf_counter()
    for docs in [] if args.containment_only else args.docs:
        with tempfile.TemporaryDirectory(dir=benchutil.cache_dir(create=True)) as tmp:
            run = nearcopy_alone if args.nearcopy_only else run_size
            sizes.append(run(Path(tmp), docs, args))
    data = {
        "machine": benchutil.machine_info(),
        "versions": {
            "nearcopy": benchutil.package_version("nearcopy"),
            "datasketch": benchutil.package_version("datasketch", datasketch),
            "rensa": benchutil.package_version("rensa", rensa),
        },
        "params": {
            "docs": args.docs,
            "queries": args.queries,
            "thresholds": args.thresholds,
            "num_perm": 128,
            "variants": args.variants,
            "nearcopy_only": args.nearcopy_only,
            "seed": args.seed,
        },
        "seconds": time.perf_counter() - started,
        "sizes": sizes,
    }
    if args.containment_docs and not args.nearcopy_only:
        data["containment"] = containment(
            args.containment_docs, args.containment_passages, args.seed, args.source_mb
        )
    data["seconds"] = time.perf_counter() - started
    benchutil.save_result("lsh", data, report(data), args.out)


if __name__ == "__main__":
    main()
