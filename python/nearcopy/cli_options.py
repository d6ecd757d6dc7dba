"""Command-line options that several verbs share, defined once so their choices and help agree."""

from __future__ import annotations

import argparse


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
