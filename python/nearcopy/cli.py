"""The `nearcopy` command line.

Exit codes: 0 success; 2 bad usage or bad input (one line on stderr says what and where).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from nearcopy import __version__
from nearcopy.demo import find_near_duplicates, mean_estimation_error, print_report
from nearcopy.inputs import InputError, read_records
from nearcopy.minhash import SCHEMES, minhash
from nearcopy.options import TextOptions

EXIT_OK = 0
EXIT_USAGE = 2


def _add_text_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("shingling")
    group.add_argument("--ngram", type=int, default=5, help="shingle size in units (default 5)")
    group.add_argument("--unit", choices=("word", "char"), default="word", help="shingle unit (default word)")
    group.add_argument("--no-nfkc", action="store_true", help="skip Unicode NFKC normalization")
    group.add_argument("--no-casefold", action="store_true", help="keep letter case")


def _add_minhash_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("MinHash")
    group.add_argument(
        "--scheme",
        choices=SCHEMES,
        default="fast",
        help="fast (native) or a datasketch-compatible scheme (default fast)",
    )
    group.add_argument("--num-perm", type=int, default=128, help="signature length (default 128)")
    group.add_argument("--seed", type=int, default=1, help="seed of the hash functions (default 1)")
    group.add_argument("--threads", type=int, default=None, help="worker threads (default: all cores)")


def _text_options(args: argparse.Namespace) -> TextOptions:
    return TextOptions(ngram=args.ngram, unit=args.unit, nfkc=not args.no_nfkc, casefold=not args.no_casefold)


def _write_atomically(path: Path, write: object) -> None:
    """Writes through a temporary file in the same directory and renames it into place, so an
    interrupted run never leaves a half-written output (or destroys the previous one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)  # type: ignore[operator]
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def cmd_minhash(args: argparse.Namespace) -> int:
    records = list(read_records(args.inputs, args.text_field, args.id_field))
    started = time.perf_counter()
    signatures = minhash(
        [r.text for r in records],
        num_perm=args.num_perm,
        scheme=args.scheme,
        seed=args.seed,
        options=_text_options(args),
        num_threads=args.threads,
    )
    elapsed = time.perf_counter() - started
    ids = np.array([r.id for r in records], dtype=str)
    options = _text_options(args)
    meta = {
        "scheme": args.scheme,
        "num_perm": args.num_perm,
        "seed": args.seed,
        "options": {
            "ngram": options.ngram,
            "unit": options.unit,
            "nfkc": options.nfkc,
            "casefold": options.casefold,
        },
    }
    out = Path(args.output)
    _write_atomically(
        out, lambda handle: np.savez(handle, signatures=signatures, ids=ids, meta=np.array(json.dumps(meta)))
    )
    summary = {"documents": len(records), "output": str(out), "seconds": round(elapsed, 4), **meta}
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"{len(records)} signatures ({args.scheme}, {args.num_perm} slots) in {elapsed:.2f} s -> {out}")
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    roots = [Path(p) for p in args.corpus] if args.corpus else None
    for root in roots or []:
        if not root.is_dir():
            raise InputError(f"corpus directory not found: {root}")
    report = find_near_duplicates(
        roots,
        threshold=args.threshold,
        num_perm=args.num_perm,
        scheme=args.scheme,
        options=_text_options(args),
        limit=args.limit,
    )
    print_report(report, args.show, args.json)
    if not args.json and report.pairs:
        print(f"\nmean |estimated - exact| Jaccard over these pairs: {mean_estimation_error(report):.3f}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nearcopy",
        description="Near-copy detection: fingerprints, "
        "MinHash (datasketch-compatible) and near-duplicate search.",
    )
    parser.add_argument("--version", action="version", version=f"nearcopy {__version__}")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    sketch = verbs.add_parser(
        "minhash",
        help="MinHash signatures of documents, saved as .npz",
        description="Compute MinHash signatures of documents: JSONL files (one "
        "document per line), text files (one per file) or directories of them. "
        "Writes an .npz with arrays 'signatures', 'ids' and 'meta' (JSON).",
    )
    sketch.add_argument("inputs", nargs="+", metavar="INPUT", help="JSONL file, text file or directory")
    sketch.add_argument("-o", "--output", required=True, help="output .npz path")
    sketch.add_argument("--text-field", default="text", help="JSONL field holding the text (default text)")
    sketch.add_argument("--id-field", default="id", help="JSONL field holding the id (default id)")
    sketch.add_argument("--json", action="store_true", help="print a JSON summary")
    _add_minhash_options(sketch)
    _add_text_options(sketch)
    sketch.set_defaults(run=cmd_minhash)

    demo = verbs.add_parser(
        "demo",
        help="find near-duplicates in a corpus this machine has",
        description="Fingerprint the Python standard library and the licence and "
        "copyright texts under /usr/share (or --corpus DIR), find near-duplicate "
        "pairs with MinHash-LSH, verify each with exact Jaccard, and print them.",
    )
    demo.add_argument("--corpus", action="append", metavar="DIR", help="corpus directory (repeatable)")
    demo.add_argument("--threshold", type=float, default=0.8, help="Jaccard threshold (default 0.8)")
    demo.add_argument("--limit", type=int, default=None, help="read at most this many documents")
    demo.add_argument("--show", type=int, default=15, help="pairs to print (default 15)")
    demo.add_argument("--json", action="store_true", help="print the full report as JSON")
    _add_minhash_options(demo)
    _add_text_options(demo)
    demo.set_defaults(run=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except (InputError, ValueError, TypeError) as err:
        print(f"nearcopy: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("nearcopy: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
