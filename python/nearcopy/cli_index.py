"""The `nearcopy index build|add|merge|info|assemble|keygen` and `nearcopy check` verbs.

`check` exits 0 when the output is clean, 1 when it is flagged, 2 on bad usage or input.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any

from nearcopy.cli_filter import add_filter_options, output_filter, verdict_summary
from nearcopy.cli_options import add_key_option, add_language_option, check_output, check_range, secret
from nearcopy.file_metadata import FileMetadata, held_documents_with_metadata
from nearcopy.filter import MAX_OUTPUT_CHARS
from nearcopy.index import DEFAULT_CODE_K, DEFAULT_CODE_W, DEFAULT_K, DEFAULT_W, ProtectedIndex
from nearcopy.index_shards import MAX_SHARDS
from nearcopy.input_blocks import InputFiles, no_documents_error
from nearcopy.inputs import InputError, LoadReport, read_documents
from nearcopy.keys import new_secret
from nearcopy.neardup.ray_engine import RayNotInstalledError
from nearcopy.neardup.report import plural
from nearcopy.protected_documents import AUTO, HeldDocument

EXIT_CLEAN = 0
EXIT_FLAGGED = 1


def _file_metadata(args: argparse.Namespace) -> FileMetadata:
    defaults: dict[str, Any] = {"license": args.license, "url": args.url, "source": args.source,
                                "spdx": not args.no_spdx}  # fmt: skip
    if args.detect_language:
        defaults["extra"] = {"language": AUTO}
    return FileMetadata.from_file(args.metadata, **defaults) if args.metadata else FileMetadata(**defaults)


def _stream(args: argparse.Namespace, report: LoadReport) -> Iterator[dict[str, Any] | HeldDocument]:
    """The sources' documents, one at a time (the index fingerprints them in bounded batches, so a
    large corpus is never held whole; JSONL texts stay in Rust, nearcopy.held_jsonl), with a
    progress line on a terminal. No document at all is an error unless ``--allow-empty``: an empty
    index lets every output through."""
    documents = held_documents_with_metadata(
        args.sources, _file_metadata(args), text_field=args.text_field, id_field=args.id_field,
        report=report, allow_unmatched=args.allow_empty, num_threads=args.threads,
    )  # fmt: skip
    first = next(documents, None)
    if first is None:
        if not args.allow_empty:
            raise no_documents_error(args.sources)
        return
    count, terminal = 0, sys.stderr.isatty()
    for document in itertools.chain([first], documents):
        yield document
        count += 1
        if terminal and count % 1000 == 0:
            print(f"\rread {count} documents", end="", file=sys.stderr, flush=True)
    if terminal and count >= 1000:
        print(file=sys.stderr)


def _summary(index: ProtectedIndex, report: LoadReport, seconds: float, as_json: bool) -> None:
    info = {**index.info(), "seconds": round(seconds, 3), "skipped_binary": report.skipped_binary,
            "skipped_large": report.skipped_large}  # fmt: skip
    if as_json:
        print(json.dumps(info))
        return
    shards = f" in {plural(len(info['shards']), 'shard')}" if "shards" in info else ""
    print(f"{info['path']}: {plural(info['documents'], 'document')}{shards}, "
          f"{plural(info['tokens'], 'token')}, {plural(info['fingerprints'], 'fingerprint')}, "
          f"{info['bytes'] / 1e6:.2f} MB ({info['bytes_per_token']:.2f} bytes per token), "
          f"generation {info['generation']}, built in {seconds:.1f} s"
          + (f"; skipped {report.skipped_binary} binary and {report.skipped_large} oversized files"
             if report.skipped_binary or report.skipped_large else ""))  # fmt: skip


def _allowlist(args: argparse.Namespace) -> list[dict[str, Any]]:
    return (
        list(read_documents(args.allowlist, args.text_field, args.id_field, LoadReport()))
        if args.allowlist
        else []
    )


def cmd_build(args: argparse.Namespace) -> int:
    for option, high in (("--k", 256), ("--w", 1024), ("--code-k", 256), ("--code-w", 1024)):
        check_range(option, getattr(args, option[2:].replace("-", "_")), 1, high)
    check_range("--threads", args.threads, 1, 1024)
    if args.shards is not None:
        check_range("--shards", args.shards, 1, MAX_SHARDS)
    started = time.perf_counter()
    report = LoadReport()
    allowlist = _allowlist(args)
    if os.path.exists(args.output) and not os.path.isdir(args.output):
        raise InputError(f"-o {args.output}: exists and is not a directory (an index is a directory)")
    check_output("-o", args.output, directory=True)
    try:
        index = _build(args, report, allowlist)
    except RayNotInstalledError as err:
        print(f"nearcopy: error: {err}", file=sys.stderr)
        return 2
    _summary(index, report, time.perf_counter() - started, args.json)
    return EXIT_CLEAN


def _build(args: argparse.Namespace, report: LoadReport, allowlist: list[dict[str, Any]]) -> ProtectedIndex:
    # On Ray, the files are named to the build, whose tasks read them (the driver parses none).
    documents: Iterable[dict[str, Any] | HeldDocument] = (
        InputFiles(args.sources, _file_metadata(args), args.text_field, args.id_field,
                   allow_unmatched=args.allow_empty, allow_empty=args.allow_empty, report=report)
        if args.engine == "ray" else _stream(args, report)
    )  # fmt: skip
    return ProtectedIndex.build(
        documents,
        args.output,
        k=args.k,
        w=args.w,
        code_k=args.code_k,
        code_w=args.code_w,
        key=secret(args),
        allowlist=allowlist,
        num_threads=args.threads,
        allowlist_generated=not args.keep_generated,
        shards=args.shards,
        engine=args.engine,
        ray_address=args.ray_address,
    )


def cmd_assemble(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    if os.path.exists(args.output) and not os.path.isdir(args.output):
        raise InputError(f"{args.output}: exists and is not a directory (a sharded index is a directory)")
    index = ProtectedIndex.assemble(args.output, args.shards, key=secret(args))
    _summary(index, LoadReport(), time.perf_counter() - started, args.json)
    return EXIT_CLEAN


def cmd_add(args: argparse.Namespace) -> int:
    check_range("--threads", args.threads, 1, 1024)
    started = time.perf_counter()
    report = LoadReport()
    allowlist = _allowlist(args)
    index = ProtectedIndex.open(args.index, key=secret(args)).add(
        _stream(args, report), allowlist=allowlist, num_threads=args.threads,
        allowlist_generated=not args.keep_generated,
    )  # fmt: skip
    _summary(index, report, time.perf_counter() - started, args.json)
    return EXIT_CLEAN


def cmd_merge(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    index = ProtectedIndex.open(args.index, key=secret(args)).merge()
    _summary(index, LoadReport(), time.perf_counter() - started, args.json)
    return EXIT_CLEAN


def cmd_info(args: argparse.Namespace) -> int:
    key = secret(args)
    if key is None and not args.verify:
        # Sizes and parameters come from the manifest: no key needed to describe a keyed index.
        info = ProtectedIndex.describe(args.index)
    else:
        index = ProtectedIndex.open(args.index, key=key)
        if args.verify:
            index.verify()  # raises, naming the damaged file, on the first mismatch
        info = index.info()
        if args.verify:
            info["verified"] = True
    text = "\n".join(f"{k}: {v}" for k, v in info.items() if k not in ("verified", "shards"))
    for n, shard in enumerate(info.get("shards", ())):
        text += (f"\nshard {n}: {shard['path']}: {shard['documents']} documents, {shard['segments']} "
                 f"segment(s), {shard['fingerprints']} fingerprints, {shard['bytes']} bytes, "
                 f"generation {shard['generation']}")  # fmt: skip
    if info.get("verified"):
        text += (f"\nverified: every block of {info['segments']} segment(s) and "
                 f"{info['allowlist_segments']} allowlist segment(s), every document table and the "
                 "manifest match their checksums; the segments are in order")  # fmt: skip
    print(json.dumps(info) if args.json else text)
    return EXIT_CLEAN


def cmd_keygen(args: argparse.Namespace) -> int:
    try:
        fd = os.open(args.file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise InputError(f"{args.file}: exists; refusing to overwrite a key") from None
    with os.fdopen(fd, "w") as handle:
        handle.write(new_secret() + "\n")
    return EXIT_CLEAN


def cmd_check(args: argparse.Namespace) -> int:
    # One character past the filter's limit is enough for it to refuse the text (a device or an
    # endless pipe as input must not fill memory first).
    text = sys.stdin.read(MAX_OUTPUT_CHARS + 1) if args.input == "-" else _read(args.input)
    checker = output_filter(args)
    verdict = checker.check(text, language=args.language)
    shown = checker.render(text, verdict) if args.apply else None
    if args.json:
        # The shape of `filter` records and of /v1/check (`id` names the document), plus each
        # match's text: the checked output's own span, which the caller already has.
        summary = verdict_summary(verdict)
        for row, match in zip(summary["matches"], verdict.matches):
            row["text"] = match.text
        print(json.dumps(summary if shown is None else {**summary, "shown": shown}))
    elif shown is not None:
        sys.stdout.write(shown)
    elif not verdict.flagged:
        print("clean: no protected content found")
    else:
        print(
            f"flagged ({verdict.action}): {plural(len(verdict.matches), 'passage')}, "
            f"{verdict.score:.0%} of the output"
        )
        for m in verdict.matches:
            source = m.metadata.get("url") or m.doc_id
            print(f"  bytes {m.start}-{m.end}: {m.tokens} tokens of {m.kind} from {source} "
                  f"({m.metadata.get('license', 'no licence given')})")  # fmt: skip
    return EXIT_FLAGGED if verdict.flagged else EXIT_CLEAN


def _read(name: str) -> str:
    try:
        with open(name, encoding="utf-8", errors="replace") as handle:
            return handle.read(MAX_OUTPUT_CHARS + 1)
    except OSError as err:
        raise InputError(f"{name}: cannot read: {err.strerror or err}") from None


def _add_metadata_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "metadata of files (JSONL and Parquet records keep their own fields; these fill in what they lack)"
    )
    group.add_argument("--license", metavar="LICENSE", help="licence of every document, e.g. GPL-3.0-only")
    group.add_argument(
        "--url", metavar="URL", help="URL of every document; {path} is the file's path under the directory "
        "given, e.g. https://example.org/repo/blob/main/{path}",
    )  # fmt: skip
    group.add_argument(
        "--source", metavar="NAME", help="source of every document (what --source-policy names)"
    )
    group.add_argument(
        "--metadata", metavar="FILE.json", help='per-file fields by pattern, e.g. {"vendor/*": {"license": '
        '"GPL-3.0-only", "url": "..."}}; later patterns win, and win over an SPDX header and the flags above',
    )  # fmt: skip
    group.add_argument(
        "--detect-language", action="store_true",
        help="read a document with no language field and no known file extension as code when it is "
        "code (detected as answers are; about 3.5 MB/s), not as prose",
    )  # fmt: skip
    group.add_argument(
        "--no-spdx", action="store_true",
        help="ignore SPDX-License-Identifier headers (by default a file's header gives its licence)",
    )  # fmt: skip


def add_verbs(verbs: Any) -> None:
    index = verbs.add_parser(
        "index",
        help="build, extend or describe a protected index",
        description="Build a protected index from files, directories, globs, JSONL or Parquet, add "
        "documents to it, or describe it.",
    )
    actions = index.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, run, help_text in (("build", cmd_build, "fingerprint sources into a new index"),
                                 ("add", cmd_add, "add sources to an index as a new segment "
                                  "(to a sharded index: as a new shard)")):  # fmt: skip
        sub = actions.add_parser(name, help=help_text, description=help_text)
        if name == "add":
            sub.add_argument("index", metavar="INDEX", help="the index directory")
        sub.add_argument("sources", nargs="*", metavar="SRC", help="file, directory, glob, JSONL or Parquet")
        sub.add_argument(
            "--allowlist",
            action="append",
            default=[],
            metavar="SRC",
            help="passages never to report, e.g. licence headers and idioms (repeatable)",
        )
        sub.add_argument(
            "--keep-generated", action="store_true",
            help="report transpiler helpers (TypeScript's __importStar, Babel's _interopRequireDefault, ...) "
            "like any code; by default they go to the allowlist",
        )  # fmt: skip
        if name == "build":
            sub.add_argument("-o", "--output", required=True, metavar="INDEX", help="the new index directory")
            sub.add_argument(
                "--k", type=int, default=DEFAULT_K, help=f"prose tokens per k-gram (default {DEFAULT_K})"
            )
            sub.add_argument(
                "--w", type=int, default=DEFAULT_W, help=f"winnowing window (default {DEFAULT_W})"
            )
            sub.add_argument(
                "--code-k", type=int, default=DEFAULT_CODE_K, help=f"k for code (default {DEFAULT_CODE_K})"
            )
            sub.add_argument(
                "--code-w", type=int, default=DEFAULT_CODE_W, help=f"w for code (default {DEFAULT_CODE_W})"
            )
            sub.add_argument(
                "--shards", type=int, default=None, metavar="N",
                help="build a sharded index: N index directories checked as one, each document in the "
                "shard a hash of its id names (default: one index directory)",
            )  # fmt: skip
            sub.add_argument(
                "--engine", choices=("local", "ray"), default="local",
                help="ray: the sources read, and each batch fingerprinted and written, by Ray tasks; the "
                "same files as a local build (pip install 'nearcopy[ray]'; workers must see the sources "
                "and the index directory; default local)",
            )  # fmt: skip
            sub.add_argument(
                "--ray-address", metavar="ADDRESS",
                help="Ray cluster to join, e.g. auto (default: start a local one, 2 CPUs)",
            )  # fmt: skip
        sub.add_argument("--text-field", default="text", help="JSONL field holding the text (default text)")
        sub.add_argument("--id-field", default="id", help="JSONL field holding the id (default id)")
        _add_metadata_options(sub)
        sub.add_argument(
            "--allow-empty", action="store_true",
            help="accept sources with no document (and globs matching no file): an empty index flags nothing",
        )  # fmt: skip
        sub.add_argument("--threads", type=int, default=None, help="worker threads (default: all cores)")
        sub.add_argument("--json", action="store_true", help="print the summary as JSON")
        add_key_option(sub)
        sub.set_defaults(run=run)
    merge = actions.add_parser(
        "merge",
        help="merge an index's segments into one (faster checks)",
        description="Merge every segment of an index into one, published as a new generation; "
        "readers of the old generation keep working. build merges by itself, add after 8 segments. "
        "A sharded index has each shard's segments merged; its shards stay shards.",
    )
    merge.add_argument("index", metavar="INDEX")
    merge.add_argument("--json", action="store_true", help="print the summary as JSON")
    add_key_option(merge)
    merge.set_defaults(run=cmd_merge)
    info = actions.add_parser(
        "info",
        help="sizes and parameters of an index (no content)",
        description="Print an index's sizes and parameters (a sharded index's totals, then each "
        "shard's); --verify reads it through.",
    )
    info.add_argument("index", metavar="INDEX")
    info.add_argument("--verify", action="store_true", help="check every segment's checksum (reads it all)")
    info.add_argument("--json", action="store_true")
    add_key_option(info)
    info.set_defaults(run=cmd_info)
    assemble = actions.add_parser(
        "assemble",
        help="make a sharded index of index directories built apart",
        description="Publish OUT as a sharded index over the index directories SHARD... (named in "
        "OUT's manifest relative to OUT), checked as one: document frequencies are counted over every "
        "shard. The shards must share --k, --w, --code-k, --code-w and key. An OUT that already holds "
        "a sharded index gets this shard list as its next generation (nearcopy serve reloads).",
    )
    assemble.add_argument("output", metavar="OUT", help="the sharded index directory")
    assemble.add_argument("shards", nargs="+", metavar="SHARD", help="an index directory")
    assemble.add_argument("--json", action="store_true", help="print the summary as JSON")
    add_key_option(assemble)
    assemble.set_defaults(run=cmd_assemble)
    keygen = actions.add_parser(
        "keygen",
        help="write a new secret key for --key-file",
        description="Write a new random 256-bit key, as hex, to FILE (created readable by its owner "
        "only; refused if it exists). Keep it apart from the index: whoever has both can test guesses.",
    )
    keygen.add_argument("file", metavar="FILE")
    keygen.set_defaults(run=cmd_keygen)

    check = verbs.add_parser("check", help="does an output reproduce protected content? (exit 1 if so)",
                             description="Check a model output against a protected index. Exit status: 0 "
                             "clean, 1 flagged, 2 error.")  # fmt: skip
    check.add_argument("input", nargs="?", default="-", metavar="FILE", help="the output (default: stdin)")
    add_filter_options(check)
    add_language_option(check, "the output")
    check.add_argument("--json", action="store_true", help="print the verdict as JSON")
    check.add_argument(
        "--apply", action="store_true",
        help="print the output as it may be shown under the policy (with --json: in a 'shown' field)",
    )  # fmt: skip
    check.set_defaults(run=cmd_check)
