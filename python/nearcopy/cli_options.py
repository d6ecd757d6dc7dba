"""Command-line options that several verbs share, defined once so their choices and help agree."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from nearcopy.answer import language_hint
from nearcopy.keys import KEY_ENV, KEY_FILE_ENV, KeyFileError, find_secret
from nearcopy.neardup.stages import Params
from nearcopy.options import TextOptions


def language_option(value: str) -> str | None:
    """An argparse type for a language hint: ``auto``, ``text`` or a language (canonical form)."""
    try:
        return language_hint(value)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def add_language_option(parser: argparse.ArgumentParser, what: str) -> None:
    """``--language``: what the caller knows about the outputs' code (see ``OutputFilter.check``)."""
    parser.add_argument(
        "--language",
        type=language_option,
        default=None,
        metavar="LANG",
        help=f"the language of {what}'s code, which skips detection and takes an output without "
        "fences as code (it is checked as prose too); 'text' for prose only; default auto",
    )


def add_abstraction_options(group: argparse._ArgumentGroup) -> None:
    """``--identifiers`` and ``--literals``: how code normalization abstracts names and literals."""
    group.add_argument(
        "--identifiers",
        choices=("placeholder", "consistent", "members", "keep"),
        default="placeholder",
        help="how identifiers are abstracted (default placeholder)",
    )
    group.add_argument(
        "--literals",
        choices=("abstract", "keep"),
        default="abstract",
        help="whether string and number literals are abstracted (default abstract)",
    )


def add_key_option(parser: argparse.ArgumentParser) -> None:
    """``--key-file``: the secret that keys an index's fingerprints (see :mod:`nearcopy.keys`)."""
    parser.add_argument(
        "--key-file",
        default=None,
        metavar="PATH",
        help=f"file holding the index's secret key (hex or raw bytes, at least 16 bytes; default: "
        f"${KEY_ENV} as hex, else the file ${KEY_FILE_ENV} names; none: an unkeyed index)",
    )


def secret(args: argparse.Namespace) -> bytes | None:
    """The key secret the command line or the environment gives, or None."""
    key_file = getattr(args, "key_file", None)
    try:
        return find_secret(key_file)
    except KeyFileError as err:  # name the flag, when the path came from it
        raise KeyFileError(f"--key-file {err}" if key_file else str(err)) from None


def check_output(option: str, path: str | os.PathLike[str], *, directory: bool) -> None:
    """A ``ValueError`` naming the option when ``path`` cannot be written: it, or a directory it
    would be in, is a file (``mkdir`` would say only "File exists" or "Not a directory")."""
    target = Path(path)
    if directory and target.exists() and not target.is_dir():
        raise ValueError(f"{option} {path}: exists and is not a directory")
    for ancestor in target.parents:
        if ancestor.exists():
            if not ancestor.is_dir():
                raise ValueError(f"{option} {path}: {ancestor} is a file, not a directory")
            return


def check_range(option: str, value: int | None, low: int, high: int | None = None) -> None:
    """A ``ValueError`` naming the option and the value when ``value`` (None: not given) is out of
    range, so the one line on stderr says which flag to fix (not the Python argument it becomes)."""
    if value is None or (low <= value and (high is None or value <= high)):
        return
    wanted = f"between {low} and {high}" if high is not None else f"at least {low}"
    raise ValueError(f"{option} must be {wanted}, got {value}")


def minhash_params(args: argparse.Namespace, **extra: Any) -> Params:
    """The MinHash-LSH settings that ``dedup`` and ``lsh`` share (``add_abstraction_options`` and
    the text, threshold and scheme flags), from the command line; ``extra``: the verb's own."""
    text = TextOptions(ngram=args.ngram, unit=args.unit, nfkc=not args.no_nfkc, casefold=not args.no_casefold)
    return Params(
        threshold=args.threshold, num_perm=args.num_perm, bands=args.bands, rows=args.rows,
        scheme=args.scheme, seed=args.seed, text=text, code_ngram=args.code_ngram,
        identifiers=args.identifiers, literals=args.literals, **extra,
    )  # fmt: skip
