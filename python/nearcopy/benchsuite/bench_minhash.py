"""MinHash benchmark: nearcopy vs datasketch vs rensa, same documents, same run.

    python -m nearcopy.benchsuite.bench_minhash [--mb 16] [--peer-mb MB] [--repeat 3]
                                    [--num-perm 128] [--pairs 300] [--quick] [--out PATH]

Prints markdown tables and writes JSON + markdown to benches/results/.
Targets are reported as pass/short next to the measurement, never asserted.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import datasketch
import numpy as np
import rensa
from rensa import RMinHash

# accuracy, benchutil and corpus are siblings of this file: running it as
from . import accuracy, corpus
from . import benchutil as bu
from . import minhash_report as report
from .accuracy import ALL_SCHEMES, COMPAT_SCHEMES, ds_minhash

WORD_RE = re.compile(r"\w+")
WARMUP_DOCS = 20

Row = dict[str, Any]
Docs = list[Any]  # list[str], list[list[str]] or list[list[bytes]]
DocsFn = Callable[[Docs], Any]


def py_shingles(text: str, n: int = 5) -> list[str]:
    """What a typical datasketch/rensa user writes: lowercase \\w+ words, 5-grams."""
    words = WORD_RE.findall(text.lower())
    if len(words) < n:
        return [" ".join(words)] if words else []
    return [" ".join(words[i : i + n]) for i in range(len(words) - n + 1)]


def prefix_by_bytes(texts: list[str], mb: float) -> int:
    """Docs in the longest corpus prefix of at most mb MB (at least one doc).

    The corpus order is a seeded mix of sources, so a prefix is a fair sample.
    """
    total, limit = 0, mb * 1e6
    for i, t in enumerate(texts):
        total += len(t.encode("utf-8"))
        if total > limit:
            return max(1, i)
    return len(texts)


def run_rows(specs: list[Row], repeat: int, min_seconds: float = 0.5) -> list[Row]:
    """Time each spec's fn on its docs; rate by the spec's byte/shingle counts."""
    rows = []
    for spec in specs:
        docs, fn = spec["docs"], spec["fn"]
        print(
            f"  timing {spec['method']} ({spec['threads']} thr, {len(docs)} docs)...",
            file=sys.stderr,
            flush=True,
        )
        timing = bu.time_it(
            functools.partial(fn, docs),
            repeat,
            warmup=functools.partial(fn, docs[:WARMUP_DOCS]),
            min_total_s=min_seconds,
        )
        rows.append(
            {k: v for k, v in spec.items() if k not in ("docs", "fn")}
            | bu.throughput(timing, docs=len(docs), nbytes=spec["bytes"], shingles=spec["shingles"])
        )
    return rows


def nearcopy_specs(
    nearcopy: Any, docs: Docs, nbytes: int, shingles: int, num_perm: int, threads: list[int]
) -> list[Row]:
    specs: list[Row] = []
    for scheme in ALL_SCHEMES:
        for t in threads:

            def fn(d: Docs, s: str = scheme, t: int = t) -> Any:
                return nearcopy.minhash(d, num_perm=num_perm, scheme=s, seed=1, num_threads=t)

            specs.append(
                {
                    "method": f"nearcopy {scheme}",
                    "library": "nearcopy",
                    "scheme": scheme,
                    "threads": t,
                    "subset": "full",
                    "docs": docs,
                    "bytes": nbytes,
                    "shingles": shingles,
                    "fn": fn,
                }
            )
    return specs


def peer_specs(
    docs: Docs, nbytes: int, shingles: int, ds: Callable[[str], DocsFn] | None, rensa_fns: dict[str, DocsFn]
) -> list[Row]:
    """datasketch rows (one per scheme, if ds is given) and rensa rows."""
    common: Row = {"threads": 1, "subset": "peer", "docs": docs, "bytes": nbytes, "shingles": shingles}
    specs: list[Row] = []
    if ds is not None:
        specs += [
            {"method": f"datasketch {s}", "library": "datasketch", "scheme": s, "fn": ds(s), **common}
            for s in COMPAT_SCHEMES
        ]
    specs += [
        {"method": name, "library": "rensa", "scheme": "rensa", "fn": fn, **common}
        for name, fn in rensa_fns.items()
    ]
    return specs


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=int, default=16, help="corpus size (MB)")
    ap.add_argument(
        "--peer-mb",
        type=float,
        default=None,
        help="run datasketch/rensa on a prefix of this size only (default: the whole corpus, so every "
        "method sees the same documents)",
    )
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--min-seconds",
        type=float,
        default=0.5,
        help="keep repeating a fast method until this much timed work (default 0.5; 0: --repeat runs only)",
    )
    ap.add_argument("--num-perm", type=int, default=128)
    ap.add_argument("--pairs", type=int, default=300, help="pairs for estimation error")
    ap.add_argument("--seed", type=int, default=0, help="corpus and pair seed")
    ap.add_argument("--quick", action="store_true", help="smoke test: 2 MB, 1 repeat")
    ap.add_argument("--out", type=Path, default=None, help="JSON path (.md written beside)")
    args = ap.parse_args(argv)
    if args.quick:
        args.mb, args.repeat, args.pairs = 2, 1, min(args.pairs, 100)
    peer_mb = args.peer_mb if args.peer_mb is not None else args.mb
    k, nthreads = args.num_perm, os.cpu_count() or 1
    threads = [1, nthreads] if nthreads > 1 else [1]

    import nearcopy  # late: the corpus part must work even before it is built

    t0 = time.perf_counter()
    docs, manifest = corpus.load_docs(args.mb, args.seed)
    texts = [d["text"] for d in docs]
    print(
        f"corpus: {len(texts)} docs, {manifest['total_bytes'] / 1e6:.1f} MB "
        f"({time.perf_counter() - t0:.1f}s); shingling...",
        file=sys.stderr,
    )
    lists = [nearcopy.shingles(t) for t in texts]
    text_bytes = [len(t.encode("utf-8")) for t in texts]
    sh_bytes = [sum(len(s.encode("utf-8")) for s in doc) for doc in lists]
    # Peers on the whole corpus when asked for at least its size (prefix_by_bytes
    # would drop the last doc, which overshoots the MB target a little).
    npeer = len(texts) if peer_mb >= args.mb else prefix_by_bytes(texts, peer_mb)
    ptexts, plists = texts[:npeer], lists[:npeer]
    pencoded = [[s.encode("utf-8") for s in doc] for doc in plists]
    py_count = sum(len(py_shingles(t)) for t in ptexts)
    n_sh, np_sh = sum(map(len, lists)), sum(map(len, plists))

    def ds_from_text(scheme: str) -> DocsFn:
        return lambda d: [ds_minhash([s.encode() for s in py_shingles(t)], scheme, k).hashvalues for t in d]

    def ds_from_bytes(scheme: str) -> DocsFn:
        return lambda d: [ds_minhash(doc, scheme, k).hashvalues for doc in d]

    def rensa_each(d: Docs, tokenize: bool) -> list[Any]:
        out: list[Any] = []
        for doc in d:
            m = RMinHash(num_perm=k, seed=1)
            m.update(py_shingles(doc) if tokenize else doc)
            out.append(m.digest())
        return out

    print("end to end...", file=sys.stderr)
    e2e = run_rows(
        nearcopy_specs(nearcopy, texts, sum(text_bytes), n_sh, k, threads)
        + peer_specs(
            ptexts, sum(text_bytes[:npeer]), py_count, ds_from_text, {"rensa": lambda d: rensa_each(d, True)}
        ),
        args.repeat,
        args.min_seconds,
    )
    print("pre-shingled...", file=sys.stderr)
    pre = run_rows(
        nearcopy_specs(nearcopy, lists, sum(sh_bytes), n_sh, k, threads)
        + peer_specs(pencoded, sum(sh_bytes[:npeer]), np_sh, ds_from_bytes, {})
        # rensa takes str tokens: it gets the str lists, not the encoded ones.
        + peer_specs(
            plists,
            sum(sh_bytes[:npeer]),
            np_sh,
            None,
            {
                "rensa": lambda d: rensa_each(d, False),
                # rensa's own bulk API: the fairer peer for a batch library like nearcopy.
                "rensa batch matrix": lambda d: RMinHash.digest_matrix_from_token_sets(d, k, 1),
            },
        ),
        args.repeat,
        args.min_seconds,
    )

    print("estimation error and bit compatibility...", file=sys.stderr)
    pairs = corpus.make_pairs(texts, args.pairs, args.seed)
    ratios = report.compute_ratios(e2e, pre, nthreads)
    res: dict[str, Any] = {
        "benchmark": "minhash",
        "date": time.strftime("%Y-%m-%d %H:%M:%S%z"),
        "machine": bu.machine_info(),
        "versions": {
            "python": sys.version.split()[0],
            "numpy": np.__version__,
            "datasketch": bu.package_version("datasketch", datasketch),
            "rensa": bu.package_version("rensa", rensa),
            "nearcopy": bu.package_version("nearcopy", nearcopy),
        },
        "params": {
            "mb": args.mb,
            "peer_mb": peer_mb,
            "repeat": args.repeat,
            "min_seconds": args.min_seconds,
            "num_perm": k,
            "pairs": args.pairs,
            "seed": args.seed,
            "quick": args.quick,
            "threads_all": nthreads,
            "warmup_docs": WARMUP_DOCS,
        },
        "corpus": {
            "docs": len(texts),
            "bytes": sum(text_bytes),
            "shingles": n_sh,
            "shingle_bytes": sum(sh_bytes),
            "sha256": manifest["sha256"],
            "sources": manifest.get("docs_per_source"),
            "peer_docs": npeer,
            "peer_bytes": sum(text_bytes[:npeer]),
            "peer_py_shingles": py_count,
        },
        "end_to_end": e2e,
        "pre_shingled": pre,
        "ratios": ratios,
        "accuracy": accuracy.estimation_error(pairs, nearcopy, k),
        "bit_compat": accuracy.bit_compat(texts[:50], lists[:50], nearcopy, k),
        "targets": report.compute_targets(e2e, ratios, nthreads),
        "notes": [
            (
                "peers (datasketch, rensa) run on a corpus prefix of peer_bytes; ratios "
                "divide MB/s, so they compare throughput, not times on identical docs"
            ),
            (
                "end to end shingle counts: nearcopy.shingles for nearcopy rows, the "
                "Python tokenizer for peer rows"
            ),
        ],
    }
    text = report.render(res)
    print(text)
    # Smoke runs go to the git-ignored cache: they must neither clobber nor sit
    # beside real results in benches/results/.
    out_dir = bu.cache_dir() / "bench-results" if args.quick else bu.results_dir()
    out = args.out or out_dir / f"minhash-{time.strftime('%Y%m%d')}-{bu.cpu_slug()}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2) + "\n")
    out.with_suffix(".md").write_text(text)
    print(f"wrote {out} and {out.with_suffix('.md').name}", file=sys.stderr)


if __name__ == "__main__":
    main()
