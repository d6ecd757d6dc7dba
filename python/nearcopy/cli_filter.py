"""The `nearcopy filter` verb: model outputs in a JSONL file, checked in parallel batches, written
back filtered under the policy, each record annotated with its verdict.

Every field of a record is kept; the text field is replaced by what may be shown, and a ``nearcopy``
field says whether the output was flagged, what was done and which sources it copies. The output is
written to a temporary file and renamed into place at the end, so an interrupted run leaves no
half-written file. Exit status: 0 when nothing was flagged, 1 when something was, 2 on error.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, BinaryIO

from nearcopy._files import write_atomically
from nearcopy.answer import language_hint
from nearcopy.cli_options import add_key_option, add_language_option, check_range, secret
from nearcopy.filter import (
    ACTIONS,
    DEFAULT_MAX_DOC_FREQUENCY,
    DEFAULT_MIN_CODE_TOKENS,
    DEFAULT_MIN_TOKENS,
    DEFAULT_POPULAR_DOC_FREQUENCY,
    DEFAULT_POPULAR_FACTOR,
    Action,
    OutputFilter,
    Policy,
    Verdict,
)
from nearcopy.index import IndexError_, ProtectedIndex
from nearcopy.inputs import jsonl_objects
from nearcopy.neardup.report import plural

EXIT_CLEAN = 0
EXIT_FLAGGED = 1


def add_filter_options(parser: argparse.ArgumentParser, *, index_required: bool = True) -> None:
    """Thresholds and policy, shared by `check`, `filter` and `serve`."""
    parser.add_argument("--index", required=index_required, help="the index directory")
    add_key_option(parser)
    parser.add_argument(
        "--min-tokens",
        type=int,
        default=DEFAULT_MIN_TOKENS,
        help=f"shortest copied prose that counts, in words (default {DEFAULT_MIN_TOKENS})",
    )
    parser.add_argument(
        "--min-code-tokens",
        type=int,
        default=DEFAULT_MIN_CODE_TOKENS,
        help=f"shortest copied code that counts, in tokens (default {DEFAULT_MIN_CODE_TOKENS})",
    )
    parser.add_argument(
        "--max-doc-frequency",
        type=int,
        default=DEFAULT_MAX_DOC_FREQUENCY,
        help="passages in more protected documents than this are boilerplate "
        f"(default {DEFAULT_MAX_DOC_FREQUENCY})",
    )
    parser.add_argument(
        "--popular-doc-frequency",
        type=popular_doc_frequency,
        default=DEFAULT_POPULAR_DOC_FREQUENCY,
        metavar="N|off",
        help="fingerprints in more documents than --max-doc-frequency still count, up to this many "
        "documents, towards a long passage (a popular function copied into many files); 'off' ignores "
        f"them (default {DEFAULT_POPULAR_DOC_FREQUENCY})",
    )
    parser.add_argument(
        "--popular-factor",
        type=float,
        default=DEFAULT_POPULAR_FACTOR,
        help="a passage made only of such fingerprints counts from this many times the threshold "
        f"(default {DEFAULT_POPULAR_FACTOR})",
    )
    parser.add_argument(
        "--policy", choices=ACTIONS, default="redact", help="action on a flag (default redact)"
    )
    parser.add_argument(
        "--license-policy",
        action="append",
        default=[],
        metavar="LICENSE=ACTION",
        help="action for matches of documents with this licence (repeatable)",
    )
    parser.add_argument(
        "--source-policy",
        action="append",
        default=[],
        metavar="SOURCE=ACTION",
        help="action for matches of this source (a document's 'source' field, else its id; repeatable)",
    )
    parser.add_argument(
        "--template", default=Policy.template, help="what 'replace' shows; may name {source} and {license}"
    )


def popular_doc_frequency(value: str) -> int | None:
    """--popular-doc-frequency: a count, or 'off'."""
    if value == "off":
        return None
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"wants a number of documents or 'off', got {value!r}") from None


def policy_actions(items: list[str], option: str) -> dict[str, Action]:
    """``NAME=ACTION`` items of a repeatable option, checked."""
    out: dict[str, Action] = {}
    for item in items:
        name, sep, action = item.rpartition("=")
        if not sep or not name or action not in ACTIONS:
            raise ValueError(f"{option} wants NAME=ACTION with ACTION one of {ACTIONS}, got {item!r}")
        out[name] = action  # narrowed by the check above
    return out


def output_filter(args: argparse.Namespace) -> OutputFilter:
    for option in ("--min-tokens", "--min-code-tokens", "--max-doc-frequency"):
        check_range(option, getattr(args, option[2:].replace("-", "_")), 1)
    policy = Policy(
        default=args.policy, by_license=policy_actions(args.license_policy, "--license-policy"),
        by_source=policy_actions(args.source_policy, "--source-policy"), template=args.template,
    )  # fmt: skip
    if args.popular_doc_frequency is not None:
        check_range("--popular-doc-frequency", args.popular_doc_frequency, 1)
    if not 1 <= args.popular_factor <= 1000:
        raise ValueError(f"--popular-factor must be between 1 and 1000, got {args.popular_factor}")
    return OutputFilter(
        open_index(args.index, secret(args), "--index"),
        min_tokens=args.min_tokens,
        min_code_tokens=args.min_code_tokens,
        max_doc_frequency=args.max_doc_frequency,
        popular_doc_frequency=args.popular_doc_frequency,
        popular_factor=args.popular_factor,
        policy=policy,
    )


def open_index(path: str, key: bytes | None, option: str | None = None) -> ProtectedIndex:
    """The index at ``path``; an error names the option that gave it (``--index PATH: ...``)."""
    try:
        return ProtectedIndex.open(path, key=key)
    except IndexError_ as err:
        if option is None:
            raise
        raise type(err)(f"{option} {err}") from None


def verdict_summary(verdict: Verdict) -> dict[str, Any]:
    """What a record carries about its verdict: sources and spans, never protected text."""
    return {
        "flagged": verdict.flagged,
        "action": verdict.action,
        "score": round(verdict.score, 4),
        "matches": [
            {
                "id": m.doc_id,
                "license": m.metadata.get("license"),
                "url": m.metadata.get("url"),
                "start": m.start,
                "end": m.end,
                "tokens": m.tokens,
                "kind": m.kind,
            }
            for m in verdict.matches
        ],
    }


def _batches(records: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for record in records:
        batch.append(record)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def record_language(record: dict[str, Any], args: argparse.Namespace) -> str | None:
    """The language hint of a record: its ``--language-field`` when it has one, else ``--language``."""
    field = args.language_field
    if field is None or record.get(field) in (None, ""):
        return args.language  # type: ignore[no-any-return]
    value = record[field]
    if not isinstance(value, str):
        raise ValueError(f"field {field!r} must hold a language name, got {value!r}")
    try:
        return language_hint(value)
    except ValueError as err:
        raise ValueError(f"field {field!r}: {err}") from None


def cmd_filter(args: argparse.Namespace) -> int:
    check_range("--batch", args.batch, 1)
    check_range("--threads", args.threads, 1, 1024)
    started = time.perf_counter()
    checker = output_filter(args)
    actions: Counter[str] = Counter()
    count = 0
    skipped: list[str] = []
    on_bad = skipped.append if args.skip_bad else None

    def write(out: IO[str]) -> None:
        nonlocal count
        records = (record for _, record in jsonl_objects(Path(args.input), args.text_field, on_bad))
        for batch in _batches(records, args.batch):
            texts = [r[args.text_field] for r in batch]
            hints = [record_language(r, args) for r in batch]
            for record, text, verdict in zip(
                batch, texts, checker.check_batch(texts, num_threads=args.threads, language=hints)
            ):
                record[args.text_field] = checker.render(text, verdict)
                record[args.verdict_field] = verdict_summary(verdict)
                actions[verdict.action] += 1
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += len(batch)
            if sys.stderr.isatty():
                print(f"\rfiltered {count} outputs", end="", file=sys.stderr, flush=True)

    if args.output == "-":
        write(sys.stdout)
    else:
        target = Path(args.output)

        def write_binary(handle: BinaryIO) -> None:
            raw: BinaryIO = gzip.GzipFile(fileobj=handle, mode="wb") if target.suffix == ".gz" else handle  # type: ignore[assignment]
            text = io.TextIOWrapper(raw, encoding="utf-8", errors="surrogateescape", newline="\n")
            write(text)
            text.flush()
            text.detach()
            if raw is not handle:
                raw.close()

        write_atomically(target, write_binary)
    flagged = count - actions["allow"]
    by_action = ", ".join(f"{n} {a}" for a, n in sorted(actions.items())) or "none"
    seconds = time.perf_counter() - started
    carriage = "\r" if sys.stderr.isatty() else ""
    print(f"{carriage}{plural(count, 'output')}, {flagged} flagged ({by_action}) in {seconds:.1f} s"
          + (f"; {plural(len(skipped), 'unreadable line')} skipped (first: {skipped[0]})" if skipped else ""),
          file=sys.stderr)  # fmt: skip
    return EXIT_FLAGGED if flagged else EXIT_CLEAN


def add_verbs(verbs: Any) -> None:
    sub = verbs.add_parser(
        "filter",
        help="filter a JSONL file of model outputs (batch, parallel)",
        description="Check every output of a JSONL file against a protected index and write the file "
        "back with each output as it may be shown and its verdict. Exit status: 0 nothing flagged, "
        "1 something flagged, 2 error.",
    )
    sub.add_argument("input", metavar="IN.jsonl", help="model outputs, one JSON object per line (.gz too)")
    sub.add_argument(
        "-o", "--output", required=True, metavar="OUT.jsonl", help="where to write (- for stdout)"
    )
    add_filter_options(sub)
    sub.add_argument("--text-field", default="text", help="the field holding the output (default text)")
    add_language_option(sub, "every output")
    sub.add_argument(
        "--language-field",
        default=None,
        metavar="FIELD",
        help="a record field holding its output's language hint (auto, text, or a language), which "
        "overrides --language for that record",
    )
    sub.add_argument(
        "--verdict-field", default="nearcopy", help="the field the verdict goes in (default nearcopy)"
    )
    sub.add_argument(
        "--skip-bad", action="store_true",
        help="leave out lines that are not a JSON object with the text field (counted on stderr) "
        "instead of failing",
    )  # fmt: skip
    sub.add_argument("--batch", type=int, default=256, help="outputs checked together (default 256)")
    sub.add_argument("--threads", type=int, default=None, help="worker threads (default: all cores)")
    sub.set_defaults(run=cmd_filter)
