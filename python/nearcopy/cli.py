"""The `nearcopy` command line.

Exit codes: 0 success; 2 bad usage or bad input (one line on stderr says what and where).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from nearcopy import __version__, _core
from nearcopy._files import write_atomically
from nearcopy.answer import split_answer
from nearcopy.cli_bench import add_verbs as add_bench_verbs
from nearcopy.cli_dedup import add_verbs as add_dedup_verbs
from nearcopy.cli_filter import add_verbs as add_filter_verbs
from nearcopy.cli_index import add_verbs as add_index_verbs
from nearcopy.cli_lsh import add_verbs as add_lsh_verbs
from nearcopy.cli_options import add_abstraction_options
from nearcopy.cli_serve import add_verbs as add_serve_verbs
from nearcopy.code import CodeOptions, TokenKind, code_tokens, language_for_extension, languages
from nearcopy.demo import find_near_duplicates, mean_estimation_error, print_report
from nearcopy.demo_filter import run_demo
from nearcopy.inputs import MAX_DOCUMENT_BYTES, InputError, read_records
from nearcopy.minhash import SCHEMES, minhash
from nearcopy.options import TextOptions

# Above this share of bytes in syntax errors under its best grammar, a file is not taken for code.
MAX_DETECTION_ERRORS = 0.15

EXIT_OK = 0
EXIT_USAGE = 2


def _add_text_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("shingling")
    group.add_argument(
        "--ngram", type=int, default=None, help="shingle size in units (default 5; 10 for code)"
    )
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


def _add_code_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("code (tree-sitter normalization)")
    group.add_argument(
        "--language", help=f"treat inputs as source code in this language ({', '.join(languages())})"
    )
    add_abstraction_options(group)


def _text_options(args: argparse.Namespace) -> TextOptions | CodeOptions:
    if getattr(args, "language", None):
        ngram = args.ngram if args.ngram is not None else 10
        return CodeOptions(args.language, ngram=ngram, identifiers=args.identifiers, literals=args.literals)
    ngram = args.ngram if args.ngram is not None else 5
    return TextOptions(ngram=ngram, unit=args.unit, nfkc=not args.no_nfkc, casefold=not args.no_casefold)


def _read_input(name: str) -> str:
    """One source file or answer (``-``: standard input), at most MAX_DOCUMENT_BYTES: one byte more is
    read and refused, so a device or an endless pipe cannot fill memory first."""
    if name == "-":
        data = sys.stdin.buffer.read(MAX_DOCUMENT_BYTES + 1)
    else:
        try:
            with open(name, "rb") as handle:
                data = handle.read(MAX_DOCUMENT_BYTES + 1)
        except OSError as err:
            raise InputError(f"{name}: cannot read: {err.strerror or err}") from None
    if len(data) > MAX_DOCUMENT_BYTES:
        raise InputError(f"{name}: larger than {MAX_DOCUMENT_BYTES} bytes")
    return data.decode("utf-8", errors="replace")


def cmd_minhash(args: argparse.Namespace) -> int:
    records = list(read_records(args.inputs, args.text_field, args.id_field))
    options = _text_options(args)
    started = time.perf_counter()
    signatures = minhash(
        [r.text for r in records],
        num_perm=args.num_perm,
        scheme=args.scheme,
        seed=args.seed,
        options=options,
        num_threads=args.threads,
    )
    elapsed = time.perf_counter() - started
    ids = np.array([r.id for r in records], dtype=str)
    meta = {
        "scheme": args.scheme,
        "num_perm": args.num_perm,
        "seed": args.seed,
        "options": {"kind": type(options).__name__, **dataclasses.asdict(options)},
    }
    out = Path(args.output)
    write_atomically(
        out, lambda handle: np.savez(handle, signatures=signatures, ids=ids, meta=np.array(json.dumps(meta)))
    )
    summary = {"documents": len(records), "output": str(out), "seconds": round(elapsed, 4), **meta}
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"{len(records)} signatures ({args.scheme}, {args.num_perm} slots) in {elapsed:.2f} s -> {out}")
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    if not args.near_duplicates:
        return run_demo()
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


def cmd_code_tokens(args: argparse.Namespace) -> int:
    source = _read_input(args.input)
    language = args.language or (
        language_for_extension(Path(args.input).suffix) if args.input != "-" else None
    )
    if language is None:
        detected, errors = _core.detect_language(source)
        if detected is None or errors > MAX_DETECTION_ERRORS:
            raise InputError(
                f"{args.input}: does not look like code in a supported language; pass --language"
            )
        language = detected
    tokens = code_tokens(source, CodeOptions(language, identifiers=args.identifiers, literals=args.literals))
    raw = source.encode("utf-8", "surrogatepass")
    if args.json:
        for text, kind, start, end in zip(
            tokens.texts, tokens.kinds.tolist(), tokens.starts.tolist(), tokens.ends.tolist()
        ):
            print(
                json.dumps(
                    {
                        "symbol": text,
                        "kind": TokenKind(kind).name.lower(),
                        "start": start,
                        "end": end,
                        "source": raw[start:end].decode("utf-8", "replace"),
                    }
                )
            )
    else:
        print(f"# {len(tokens)} tokens of {language} code")
        print(" ".join(tokens.texts))
    return EXIT_OK


def cmd_split_answer(args: argparse.Namespace) -> int:
    for segment in split_answer(_read_input(args.input)):
        if args.json:
            print(json.dumps(dataclasses.asdict(segment)))
        else:
            label = "prose"
            if segment.kind == "code":
                unfenced = "" if segment.fenced else ", unfenced"
                label = f"code ({segment.language or segment.info or 'unknown'}{unfenced})"
            print(f"--- {label}, bytes {segment.start}-{segment.end}")
            print(segment.text.rstrip("\n"))
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
    _add_code_options(sketch)
    sketch.set_defaults(run=cmd_minhash)

    tokens = verbs.add_parser(
        "code-tokens",
        help="the normalized token stream of a source file",
        description="Normalize source code with tree-sitter (comments and layout "
        "dropped, identifiers and literals abstracted) and print the token stream, "
        "or one JSON object per token with its byte span.",
    )
    tokens.add_argument("input", metavar="FILE", help="source file, or - for standard input")
    tokens.add_argument("--json", action="store_true", help="one JSON object per token")
    _add_code_options(tokens)
    tokens.set_defaults(run=cmd_code_tokens)

    answer = verbs.add_parser(
        "split-answer",
        help="split a model answer into prose and code",
        description="Split a model answer into prose and code segments: fenced "
        "blocks, tagged or not, and unfenced code; print each with its language.",
    )
    answer.add_argument("input", metavar="FILE", help="answer text file, or - for standard input")
    answer.add_argument("--json", action="store_true", help="one JSON object per segment")
    answer.set_defaults(run=cmd_split_answer)

    add_index_verbs(verbs)
    add_filter_verbs(verbs)
    add_dedup_verbs(verbs)
    add_lsh_verbs(verbs)
    add_serve_verbs(verbs)
    add_bench_verbs(verbs)

    demo = verbs.add_parser(
        "demo",
        help="protect this machine's Python standard library, then check model answers",
        description="Build a protected index of this Python's standard library and the licence texts "
        "the machine has, check realistic model answers against it (a copied function with every name "
        "changed, a reworded licence paragraph, an original answer) and print the verdicts and the "
        "filtered outputs. With --near-duplicates: fingerprint the standard library and the licence and "
        "copyright texts under /usr/share (or --corpus DIR), find near-duplicate pairs with MinHash-LSH, "
        "verify each with exact Jaccard, and print them.",
    )
    demo.add_argument(
        "--near-duplicates",
        action="store_true",
        help="find near-duplicate documents with MinHash-LSH instead",
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


def _message(err: Exception) -> str:
    """One line for the user: an OSError as "PATH: reason", without Python's "[Errno N]"."""
    if isinstance(err, OSError) and err.strerror:
        return f"{err.filename}: {err.strerror}" if err.filename else err.strerror
    return str(err)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except BrokenPipeError:
        # The reader went away (`nearcopy ... | head`): not an error. Point stdout at /dev/null so the
        # interpreter's final flush does not fail on the closed pipe again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except (InputError, ValueError, TypeError, OSError) as err:
        print(f"nearcopy: error: {_message(err)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("nearcopy: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
