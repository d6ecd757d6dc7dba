"""The ``nearcopy lsh build|add|query|remove|info|merge`` verbs: a persistent MinHash-LSH index of
documents from JSONL or Parquet, keyed by their ids.

Exit status: 0 done, 2 bad usage or input (one line on stderr says what and where).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any, Callable

from nearcopy._files import write_atomically
from nearcopy.cli_options import add_abstraction_options, check_output, minhash_params
from nearcopy.inputs import InputError
from nearcopy.lsh_containment import refuse_unless_containment
from nearcopy.lsh_corpus import create_for_documents, insert_documents, signed_documents, signing_of
from nearcopy.lsh_index import LSHIndex
from nearcopy.lsh_shards import LSHShards, build_with_ray
from nearcopy.lsh_store import STORES
from nearcopy.minhash import SCHEMES
from nearcopy.neardup.reading import BadLines
from nearcopy.neardup.report import plural

DESCRIPTION = """\
A persistent MinHash-LSH index of documents: build it from JSONL (plain, .gz, .zst) or Parquet files,
directories or globs (ids from --id-field), add and remove documents, and query it with other
documents: each query prints its id and the keys of the similar documents with their estimated
Jaccard similarity (or, with --containment on an index built with --containment, the documents that
contain most of it, with their estimated containment), as one JSON line. The index is a directory
of memory-mapped segments that any number of processes read while one writes."""


def _summary(index: LSHIndex, seconds: float, as_json: bool, **extra: Any) -> None:
    info = {**index.info(), "seconds": round(seconds, 3), **extra}
    info.pop("signing", None)
    if as_json:
        print(json.dumps(info))
        return
    pending = f" (and {info['removed']} removed, until a merge)" if info["removed"] else ""
    if info.get("skipped"):
        print(
            f"skipped {plural(info['skipped'], 'bad line')}, the first: {info['skipped_first']}",
            file=sys.stderr,
        )
    print(
        f"{info['path']}: {plural(info['documents'], 'document')}{pending}, "
        f"{plural(info['segments'], 'segment')}, "
        f"{info['bytes'] / 1e6:.2f} MB ({info['bytes_per_document']:.0f} bytes per document), "
        f"{info['bands']} bands x {info['rows']} rows, generation "
        f"{info['generation']}, in {seconds:.1f} s"
    )


def _read_options(args: argparse.Namespace, bad: BadLines | None = None) -> dict[str, Any]:
    return {
        "text_field": args.text_field,
        "id_field": args.id_field,
        "language_field": args.language_field or None,
        "skip_bad": bad if bad is not None else args.skip_bad,
        "num_threads": args.threads,
    }


def _skipped(bad: BadLines | None) -> dict[str, Any]:
    """What ``--skip-bad`` left out, for the summary: how many lines, and the first problem."""
    if bad is None or not bad.count:
        return {}
    return {"skipped": bad.count, "skipped_first": bad.examples[0] if bad.examples else None}


def cmd_build(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    check_output("-o", args.output, directory=True)
    if Path(args.output, "manifest.json").exists():
        raise InputError(f"{args.output}: already holds an index; use `nearcopy lsh add`")
    if args.containment and (args.bands is not None or args.rows is not None):
        raise InputError("--containment indexes have one band per slot: leave out --bands and --rows")
    params = minhash_params(args)
    root = Path(args.output)
    existed = root.exists()
    bad = BadLines() if args.skip_bad and args.engine != "ray" else None  # Ray tasks count their own
    try:
        if args.engine == "ray":
            options = {k: v for k, v in _read_options(args).items() if k != "num_threads"}
            index = build_with_ray(
                args.inputs, root, params, store=args.store, ray_address=args.ray_address,
                allow_duplicate_ids=args.allow_duplicate_ids, containment=args.containment, **options,
            )  # fmt: skip
        else:
            index = create_for_documents(root, params, store=args.store, containment=args.containment)
            docs = signed_documents(
                args.inputs, params, with_sizes=args.containment, **_read_options(args, bad)
            )
            insert_documents(
                index, docs, check_duplicates=not args.allow_duplicate_ids, num_threads=args.threads
            )
    except BaseException:
        # A failed build leaves no index behind (as `index build` does), not an empty or partial one.
        for pattern in ("manifest.json", "write.lock", "lsh-*.ncl", "del-*.ncd", ".*.tmp"):
            for part in root.glob(pattern):
                part.unlink()
        if not existed:
            root.rmdir()
        raise
    _summary(index, time.perf_counter() - started, args.json, **_skipped(bad))
    return 0


def cmd_add(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    index = LSHIndex.open(args.index)
    bad = BadLines() if args.skip_bad else None
    docs = signed_documents(
        args.inputs, signing_of(index), with_sizes=index.containment, **_read_options(args, bad)
    )
    added = insert_documents(
        index, docs, check_duplicates=not args.allow_duplicate_ids, num_threads=args.threads
    )
    _summary(index, time.perf_counter() - started, args.json, added=added, **_skipped(bad))
    return 0


def cmd_query(args: argparse.Namespace) -> int:
    index: Any = LSHIndex.open(args.index)
    signing = signing_of(index)
    if args.shard:
        index = LSHShards([args.index, *args.shard])
    if args.top_k is not None and args.top_k < 1:
        raise InputError(f"--top-k must be at least 1, got {args.top_k}")
    within = args.containment is not None
    if within:
        if args.threshold is not None:
            raise InputError("--containment gives the threshold: leave out --threshold")
        if not 0.0 <= args.containment <= 1.0 or not 0.0 <= args.boundary_recall <= 1.0:
            raise InputError("--containment and --boundary-recall must be between 0 and 1")
        for path in [args.index, *args.shard]:
            refuse_unless_containment(path, "set_sizes" in LSHIndex.describe(path)["columns"])
    docs = signed_documents(args.inputs, signing, with_sizes=within, **_read_options(args))
    field = "containment" if within else "similarity"

    def write(emit: Callable[[str], Any]) -> None:
        for batch in docs:
            if within:
                found = index.query_containment(
                    batch.sigs, batch.sizes, threshold=args.containment, top_k=args.top_k,
                    verify=not args.no_verify, boundary_recall=args.boundary_recall,
                    num_threads=args.threads,
                )  # fmt: skip
            else:
                found = index.query(
                    batch.sigs,
                    threshold=args.threshold,
                    top_k=args.top_k,
                    verify=not args.no_verify,
                    num_threads=args.threads,
                )
            for query_id, neighbors in zip(batch.ids, found):
                # Raw candidates (--no-verify) have no estimate: null (NaN is no JSON).
                matches = [
                    {"key": key, field: None if math.isnan(value) else round(value, 6)}
                    for key, value in neighbors
                ]
                emit(json.dumps({"id": query_id, "matches": matches}) + "\n")

    if args.output is not None:
        check_output("-o", args.output, directory=False)
    if args.output is None:
        write(sys.stdout.write)
    else:  # written beside the target and renamed into place: never a partial result file
        write_atomically(Path(args.output), lambda handle: write(lambda line: handle.write(line.encode())))
    return 0


def _keys(args: argparse.Namespace, index: LSHIndex) -> list[Any]:
    keys: list[str] = list(args.keys)
    if args.keys_file:
        try:
            keys += [
                line.rstrip("\n") for line in Path(args.keys_file).read_text(encoding="utf-8").splitlines()
            ]
        except OSError as err:
            raise InputError(f"{args.keys_file}: cannot read: {err.strerror or err}") from None
    if index.params["key_type"] == "int":
        try:
            return [int(k) for k in keys]
        except ValueError:
            raise InputError("this index has int keys; every key must be an integer") from None
    return keys


def cmd_remove(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    index = LSHIndex.open(args.index)
    removed = index.remove(_keys(args, index), missing=args.missing)
    _summary(index, time.perf_counter() - started, args.json, removed_now=removed)
    return 0


def cmd_merge(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    index = LSHIndex.open(args.index)
    index.merge()
    _summary(index, time.perf_counter() - started, args.json)
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    if args.verify:
        index = LSHIndex.open(args.index)
        index.verify()
        info = index.info()
    else:
        info = LSHIndex.describe(args.index)
    print(json.dumps(info) if args.json else "\n".join(f"{k}: {v}" for k, v in info.items()))
    return 0


def _add_reading(p: argparse.ArgumentParser) -> None:
    p.add_argument("--text-field", default="text", help="field holding the text (default text)")
    p.add_argument(
        "--id-field", default="id", help="field holding the id, the key (default id; else file:line)"
    )
    p.add_argument(
        "--language-field",
        default="language",
        help="field naming a document's code language (default language; '' to ignore)",
    )
    p.add_argument("--skip-bad", action="store_true", help="leave out unreadable lines instead of stopping")
    p.add_argument("--threads", type=int, default=None, help="worker threads (default: all cores)")


def add_verbs(verbs: Any) -> None:
    lsh = verbs.add_parser(
        "lsh", help="a persistent MinHash-LSH index: build, add, query, remove", description=DESCRIPTION
    )
    actions = lsh.add_subparsers(dest="action", required=True, metavar="ACTION")
    build = actions.add_parser(
        "build",
        help="sign documents into a new index",
        description="Sign the documents of INPUT into a new index at -o DIR, keyed by their ids.",
    )
    build.add_argument("inputs", nargs="+", metavar="INPUT", help="JSONL or Parquet file, directory or glob")
    build.add_argument("-o", "--output", required=True, metavar="DIR", help="the new index directory")
    sim = build.add_argument_group("similarity")
    sim.add_argument(
        "--threshold",
        type=float,
        default=0.8,
        help="Jaccard similarity queries look for by default (default 0.8)",
    )
    sim.add_argument("--bands", type=int, help="LSH bands (default: from the threshold, as dedup chooses)")
    sim.add_argument("--rows", type=int, help="LSH rows per band (with --bands)")
    sim.add_argument(
        "--store",
        choices=list(STORES),
        default="8bit",
        help="what is kept of each signature to verify candidates: 8 or 16 bits per slot, "
        "or the full slots (then dedup --reference can use the index) (default 8bit)",
    )
    sim.add_argument(
        "--containment",
        action="store_true",
        help="also answer containment queries (query --containment): one band per slot and each "
        "document's set size; --threshold is then the default containment",
    )
    sim.add_argument("--num-perm", type=int, default=128, help="signature length (default 128)")
    sim.add_argument("--scheme", choices=SCHEMES, default="fast", help="MinHash scheme (default fast)")
    sim.add_argument("--seed", type=int, default=1, help="MinHash seed (default 1)")
    sim.add_argument("--ngram", type=int, default=5, help="prose shingle size (default 5)")
    sim.add_argument("--unit", choices=("word", "char"), default="word", help="shingle unit (default word)")
    sim.add_argument("--no-nfkc", action="store_true", help="skip Unicode NFKC normalization")
    sim.add_argument("--no-casefold", action="store_true", help="keep letter case")
    sim.add_argument("--code-ngram", type=int, default=10, help="code shingle size in tokens (default 10)")
    add_abstraction_options(sim)
    run = build.add_argument_group("run")
    run.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="ray: each input file signed and written as segments by a Ray task "
        "(pip install 'nearcopy[ray]'; workers must see the index directory)",
    )
    run.add_argument(
        "--ray-address", metavar="ADDRESS", help="Ray cluster to join (default: start a local one, 2 CPUs)"
    )
    add = actions.add_parser(
        "add",
        help="sign documents into an existing index",
        description="Sign the documents of INPUT as the index was built, and add them.",
    )
    add.add_argument("index", metavar="DIR")
    add.add_argument("inputs", nargs="+", metavar="INPUT")
    for sub in (build, add):
        _add_reading(sub)
        sub.add_argument(
            "--allow-duplicate-ids",
            action="store_true",
            help="let one id name several documents (default: a repeated id is an error)",
        )
        sub.add_argument("--json", action="store_true", help="print the summary as JSON")
    query = actions.add_parser(
        "query",
        help="the indexed documents similar to each input document",
        description="Sign each document of INPUT as the index was built and print "
        'one JSON line per document: {"id", "matches": [{"key", "similarity"}]}, '
        "the most similar first.",
    )
    query.add_argument("index", metavar="DIR")
    query.add_argument("inputs", nargs="+", metavar="INPUT")
    query.add_argument("-o", "--output", metavar="FILE.jsonl", help="write the results here (default stdout)")
    query.add_argument(
        "--threshold", type=float, default=None, help="least similarity (default: the index's)"
    )
    query.add_argument("--top-k", type=int, default=None, help="at most this many matches per document")
    query.add_argument(
        "--containment",
        type=float,
        default=None,
        metavar="T",
        help="the indexed documents holding at least T of each input's shingles, estimated "
        "(an index built with --containment)",
    )
    query.add_argument(
        "--boundary-recall",
        type=float,
        default=0.5,
        help="with --containment: the share of documents holding exactly T that are kept (default 0.5)",
    )
    query.add_argument(
        "--shard", action="append", default=[], metavar="DIR", help="another index queried with DIR as one"
    )
    query.add_argument(
        "--no-verify",
        action="store_true",
        help="every LSH candidate, unverified and unestimated (similarity null; as datasketch's "
        "MinHashLSH.query); with --top-k, estimated to rank them",
    )
    _add_reading(query)
    remove = actions.add_parser(
        "remove",
        help="remove documents by key",
        description="Remove the documents of the given keys (tombstones until the next merge).",
    )
    remove.add_argument("index", metavar="DIR")
    remove.add_argument("keys", nargs="*", metavar="KEY")
    remove.add_argument("--keys-file", metavar="FILE", help="more keys, one per line")
    remove.add_argument(
        "--missing",
        choices=("error", "ignore"),
        default="error",
        help="a key the index does not hold: an error (nothing removed) or skipped",
    )
    remove.add_argument("--json", action="store_true", help="print the summary as JSON")
    merge = actions.add_parser(
        "merge",
        help="merge every segment into one, removed documents left out",
        description="Merge every segment of the index into one (faster queries), "
        "leaving removed documents out; readers keep working.",
    )
    merge.add_argument("index", metavar="DIR")
    merge.add_argument("--json", action="store_true", help="print the summary as JSON")
    info = actions.add_parser(
        "info",
        help="sizes and parameters of an index",
        description="Print an index's sizes and parameters; --verify reads it through.",
    )
    info.add_argument("index", metavar="DIR")
    info.add_argument("--verify", action="store_true", help="check every segment (reads it all)")
    info.add_argument("--json", action="store_true")
    for sub, run in (
        (build, cmd_build),
        (add, cmd_add),
        (query, cmd_query),
        (remove, cmd_remove),
        (merge, cmd_merge),
        (info, cmd_info),
    ):
        sub.set_defaults(run=run)
