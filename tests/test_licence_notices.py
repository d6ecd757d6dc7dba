"""Licence notices go to a protected index's allowlist: the native finder gives exactly what the
plain Python finder it replaced gave (kept here as the reference), on hypothesis texts and on the
real files of this machine, and a notice in a protected file is never reported while the code
written under it is."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from nearcopy import _core
from nearcopy.filter import OutputFilter
from nearcopy.index import ProtectedIndex

MARKERS = (
    "copyright (c)", "copyright ©", "all rights reserved", "licensed under the",
    "spdx-license-identifier", "this program is free software", "this library is free software",
    "this file is free software", "this code is free software", "permission is hereby granted",
    "redistribution and use in source and binary forms", 'provided "as is"', "provided 'as is'",
    "without warranty of any kind", "gnu general public license", "gnu lesser general public license",
    "mozilla public license", "apache license, version",
)  # fmt: skip
MAX_LINES = 40
BLANK_LINE = re.compile(r"\n[ \t]*\n")


def reference_notices(text: str) -> list[str]:
    """The Python finder the build used before: every phrase by ``str.find`` in the lowercased text,
    the block of non-blank lines around it (at most 40), white space collapsed."""
    lowered = text.lower()
    found = []
    for marker in MARKERS:
        at = lowered.find(marker)
        while at >= 0:
            found.append(at)
            at = lowered.find(marker, at + len(marker))
    notices, end = [], 0
    for position in sorted(found):
        if position < end:
            continue
        before = lowered.rfind("\n\n", 0, position)
        start = 0 if before < 0 else before + 2
        after = BLANK_LINE.search(lowered, position)
        end = len(lowered) if after is None else after.start()
        lines = lowered[start:end].splitlines()
        if len(lines) > MAX_LINES:
            at = lowered.count("\n", start, position)
            lines = lines[max(0, at - MAX_LINES // 2) : at + MAX_LINES // 2]
        notices.append(" ".join(" ".join(lines).split()))
    return notices


# Pieces a text is made of: the phrases in several casings, line breaks of every kind Python's
# splitlines knows, white space, letters (the Kelvin sign, which lowercases to an ASCII k, is left
# out: the native finder matches phrases in ASCII letters only, and says so).
PIECES = st.one_of(
    st.sampled_from(MARKERS),
    st.sampled_from(MARKERS).map(str.upper),
    st.sampled_from(MARKERS).map(str.title),
    st.sampled_from(["\n", "\n\n", "\n \t\n", "\r\n", "\r", "\x0c", "\x1c", "\u2028", "\x85"]),
    st.sampled_from([" ", "\t", "\xa0"]),
    st.text(alphabet="abcXYZ é©İΣς(),.'\"*#/-", max_size=12),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(PIECES, max_size=60))
def test_the_native_finder_gives_what_the_python_finder_gave(pieces: list[str]) -> None:
    text = "".join(pieces)
    assert _core.licence_notices([text]) == reference_notices(text)


@settings(max_examples=30, deadline=None)
@given(st.integers(41, 120), st.integers(0, 119))
def test_a_long_block_keeps_the_lines_around_its_phrase(lines: int, at: int) -> None:
    rows = [f"row {i}" for i in range(lines)]
    rows[at % lines] = "Permission is hereby granted, free of charge"
    text = "\n".join(rows)
    assert _core.licence_notices([text]) == reference_notices(text)


def test_real_files_give_the_same_notices() -> None:
    """The standard library's sources and the licence texts of this machine: notices of every shape."""
    stdlib = Path(re.__file__).parents[1]
    paths = sorted(stdlib.rglob("*.py"))[:600] + sorted(Path("/usr/share/common-licenses").glob("*"))
    readable = [p for p in paths if p.is_file() and p.stat().st_size < 500_000]
    texts = [p.read_text("utf-8", errors="replace") for p in readable]
    assert len(texts) > 500
    expected = [notice for text in texts for notice in reference_notices(text)]
    assert sum(1 for _ in expected) > 20, "the corpus holds notices"
    assert _core.licence_notices(texts) == expected


def test_a_protected_notice_is_allowlisted_and_the_text_under_it_still_found(tmp_path: Path) -> None:
    notice = (
        "Copyright (c) 2019 Example Corp. All rights reserved. Licensed under the Apache License, "
        "Version 2.0 (the License); you may not use this file except in compliance with the License. "
        "You may obtain a copy of the License at the usual address of the foundation that wrote it."
    )
    prose = (
        "The harbour master kept a ledger of every ship that sheltered in the bay during the winter "
        "storms, noting the cargo, the crew and the hour each vessel crept past the breakwater lights."
    )
    document = [{"id": "README", "text": f"{notice}\n\n{prose}\n"}]
    default = OutputFilter(ProtectedIndex.build(document, tmp_path / "default"))
    assert not default.check(notice).flagged
    assert default.check(prose).flagged
    # The same build keeping what it finds (--keep-generated) reports the notice: it is the
    # allowlisting, not the text's length, that lets it through.
    kept = OutputFilter(ProtectedIndex.build(document, tmp_path / "kept", allowlist_generated=False))
    assert kept.check(notice).flagged
