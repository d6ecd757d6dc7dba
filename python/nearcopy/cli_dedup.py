"""The `nearcopy dedup` verb: remove near-duplicate documents from JSONL or Parquet files.

Exit status: 0 done, 2 bad usage or input (one line on stderr names the file and line), 130 on
Ctrl-C (no output is left half-written).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from nearcopy.cli_options import add_abstraction_options, check_output, minhash_params
from nearcopy.code import languages
from nearcopy.minhash import SCHEMES
from nearcopy.neardup import KEEP_POLICIES, DedupReport, Params, dedup
from nearcopy.neardup.pipeline import ENGINES
from nearcopy.neardup.ray_engine import RayNotInstalledError, RayUnreachableError
from nearcopy.neardup.stages import DEFAULT_MAX_GROUP

DESCRIPTION = """\
Remove near-duplicate documents from JSONL (plain, .gz, .zst) or Parquet files, directories or
globs. Documents are MinHashed, candidate pairs found by LSH are verified against the full
signature (or the exact shingle sets) and clustered; each cluster keeps --max-copies documents
chosen by --keep. The output has the input's format and every field of the kept documents
unchanged. A summary goes to stderr; --report writes the full report as JSON (and a PNG
histogram when matplotlib is installed)."""


def cmd_dedup(args: argparse.Namespace) -> int:
    if args.output is not None:
        check_output("-o", args.output, directory=False)
    params = minhash_params(args, verify=args.verify, max_group=args.max_group)
    try:
        report = _run(args, params)
    except (RayNotInstalledError, RayUnreachableError) as err:
        print(f"nearcopy: error: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report.to_dict()))
    if not args.quiet:
        print(report.summary(), file=sys.stderr)
    return 0


def _run(args: argparse.Namespace, params: Params) -> DedupReport:
    return dedup(
        args.inputs,
        args.output,
        params=params,
        keep=args.keep,
        max_copies=args.max_copies,
        reference=args.reference,
        annotate=args.annotate,
        code=args.code,
        text_field=args.text_field,
        id_field=args.id_field,
        language_field=args.language_field or None,
        report=args.report,
        memory_limit=args.memory_limit,
        partitions=args.partitions,
        num_threads=args.threads,
        work_dir=args.work_dir,
        progress=args.progress or sys.stderr.isatty(),
        engine=args.engine,
        ray_address=args.ray_address,
        skip_bad=args.skip_bad,
        save_reference=args.save_reference,
    )


def add_verbs(verbs: Any) -> None:
    p = verbs.add_parser(
        "dedup", help="remove near-duplicate documents from JSONL or Parquet", description=DESCRIPTION
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="JSONL or Parquet file, directory or glob")
    p.add_argument("-o", "--output", help="output file (one input file) or directory; omit for a report only")
    p.add_argument("--text-field", default="text", help="field holding the text (default text)")
    p.add_argument("--id-field", default="id", help="field holding the id (default id)")
    p.add_argument(
        "--language-field",
        default="language",
        help="field naming a document's code language (default language; '' to ignore)",
    )
    p.add_argument(
        "--skip-bad",
        action="store_true",
        help="leave out unreadable lines (invalid JSON, no text) instead of stopping; the report counts them",
    )
    sim = p.add_argument_group("similarity")
    sim.add_argument(
        "--threshold", type=float, default=0.8, help="Jaccard similarity of duplicates (default 0.8)"
    )
    sim.add_argument("--num-perm", type=int, default=128, help="signature length (default 128)")
    sim.add_argument("--bands", type=int, help="LSH bands (default: from the threshold, weighted to recall)")
    sim.add_argument("--rows", type=int, help="LSH rows per band (with --bands)")
    sim.add_argument("--scheme", choices=SCHEMES, default="fast", help="MinHash scheme (default fast)")
    sim.add_argument("--seed", type=int, default=1, help="MinHash seed (default 1)")
    sim.add_argument("--ngram", type=int, default=5, help="prose shingle size (default 5)")
    sim.add_argument(
        "--unit", choices=("word", "char"), default="word", help="prose shingle unit (default word)"
    )
    sim.add_argument("--no-nfkc", action="store_true", help="skip Unicode NFKC normalization")
    sim.add_argument("--no-casefold", action="store_true", help="keep letter case")
    sim.add_argument(
        "--verify",
        choices=("signature", "exact"),
        default="signature",
        help="check candidates by signature agreement or exact shingle Jaccard",
    )
    sim.add_argument(
        "--max-group",
        type=int,
        default=DEFAULT_MAX_GROUP,
        help=f"band groups above this size are linked star-and-chain (default {DEFAULT_MAX_GROUP})",
    )
    code = p.add_argument_group("code")
    code.add_argument(
        "--code",
        nargs="?",
        const="auto",
        metavar="LANG",
        help="documents are source code: in LANG, or as their language field says (else "
        f"detected); languages: {', '.join(languages())}",
    )
    code.add_argument("--code-ngram", type=int, default=10, help="code shingle size in tokens (default 10)")
    add_abstraction_options(code)
    keep = p.add_argument_group("what is kept")
    keep.add_argument(
        "--keep",
        default="first",
        metavar="POLICY",
        help=f"{'|'.join(KEEP_POLICIES)}|FIELD: which copies stay; FIELD names a number, "
        "higher kept (default first)",
    )
    keep.add_argument("--max-copies", type=int, default=1, help="copies kept per cluster (default 1)")
    keep.add_argument(
        "--reference",
        action="append",
        metavar="DATASET_OR_INDEX",
        help="drop documents that near-duplicate this corpus: files (same fields) or a reference "
        "index saved with --save-reference (repeatable)",
    )
    keep.add_argument(
        "--save-reference",
        metavar="DIR",
        help="also save the input documents, signed, as a reference index for later --reference",
    )
    keep.add_argument(
        "--annotate",
        "--annotate-only",
        action="store_true",
        help="write every document with cluster_id, cluster_size, duplicate_of; drop none",
    )
    run = p.add_argument_group("run")
    run.add_argument("--report", metavar="FILE.json", help="write the full report as JSON")
    run.add_argument("--json", action="store_true", help="print the report as JSON on stdout")
    run.add_argument("--quiet", action="store_true", help="no summary on stderr")
    run.add_argument("--progress", action="store_true", help="progress on stderr even when not a terminal")
    run.add_argument("--memory-limit", default="1G", help="memory for the run, e.g. 512M, 8G (default 1G)")
    run.add_argument("--partitions", type=int, default=64, help="band-key spill files (default 64)")
    run.add_argument("--work-dir", help="directory for spill files (default: the system temp directory)")
    run.add_argument("--threads", type=int, default=None, help="worker threads (default: all cores)")
    run.add_argument(
        "--engine",
        choices=ENGINES,
        default="local",
        help="local: this machine's threads; ray: signatures and band keys as Ray Data map tasks "
        "(pip install 'nearcopy[ray]'); the same output either way (default local)",
    )
    run.add_argument(
        "--ray-address",
        metavar="ADDRESS",
        help="Ray cluster to join, e.g. auto or ray://host:10001 (default: start a local one, 2 CPUs)",
    )
    p.set_defaults(run=cmd_dedup)
