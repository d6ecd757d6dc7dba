"""A seeded mutation harness for Python functions: the cosmetic edits a model (or a person hiding a
copy) makes, applied to real code.

* ``rename_identifiers``: every name consistently renamed (optionally sparing member names);
* ``reformat``: spacing inside lines, indentation width and blank lines changed;
* ``change_comments``: every comment removed, new ones added at line ends;
* ``change_literals``: numbers and plain strings replaced;
* ``edit_statement``: one simple statement deleted, or a new one inserted.

Identifiers come from the Python ``tree-sitter`` binding, everything else from the standard
``tokenize`` module, so the harness shares no code with what it tests. Each result is checked to still
compile.
"""

from __future__ import annotations

import ast
import io
import random
import re
import token
import tokenize

from . import code_reference

Edit = tuple[int, int, str]  # byte start, byte end, replacement


def _apply(source: str, edits: list[Edit]) -> str:
    data = source.encode("utf-8")
    for start, end, replacement in sorted(edits, reverse=True):
        data = data[:start] + replacement.encode("utf-8") + data[end:]
    return data.decode("utf-8")


def _line_offsets(source: str) -> list[int]:
    """Byte offset of the start of every line (1-based rows, as tokenize counts them)."""
    offsets = [0, 0]
    for line in source.encode("utf-8").splitlines(keepends=True):
        offsets.append(offsets[-1] + len(line))
    return offsets


def _byte(source_lines: list[str], offsets: list[int], row: int, col: int) -> int:
    """Byte offset of tokenize's (row, character column)."""
    line = source_lines[row - 1] if row - 1 < len(source_lines) else ""
    return offsets[row] + len(line[:col].encode("utf-8"))


def _tokens(source: str) -> list[tokenize.TokenInfo]:
    return list(tokenize.generate_tokens(io.StringIO(source).readline))


def rename_identifiers(source: str, rng: random.Random, members: bool = True) -> str:
    """Renames every identifier consistently (member names too unless ``members`` is False)."""
    nodes = code_reference.identifier_nodes(source.encode("utf-8"), "python")
    names: dict[bytes, str] = {}
    edits = []
    for node in nodes:
        parent = node.parent
        is_member = (
            parent is not None
            and parent.type == "attribute"
            and parent.child_by_field_name("attribute") == node
        )
        if is_member and not members:
            continue
        fresh = names.setdefault(node.text, f"v{len(names)}_{rng.randrange(10**6)}")
        edits.append((node.start_byte, node.end_byte, fresh))
    return _apply(source, edits)


def reformat(source: str, rng: random.Random) -> str:
    """Changes spacing between tokens on a line, the indentation width, and adds blank lines."""
    lines = source.splitlines(keepends=True)
    offsets = _line_offsets(source)
    edits: list[Edit] = []
    previous = None
    for tok in _tokens(source):
        same_line = previous is not None and previous.end[0] == tok.start[0] == tok.end[0]
        layout = (token.INDENT, token.DEDENT, token.NEWLINE, token.NL, token.COMMENT, token.ENDMARKER)
        if same_line and previous is not None and tok.type not in layout and previous.type not in layout:
            gap = tok.start[1] - previous.end[1]
            spaces = " " * (rng.randint(1, 3) if gap > 0 else rng.choice([0, 0, 1]))
            start = _byte(lines, offsets, *previous.end)
            edits.append((start, _byte(lines, offsets, *tok.start), spaces))
        if tok.type == token.NEWLINE and rng.random() < 0.2:
            edits.append((_byte(lines, offsets, *tok.end), _byte(lines, offsets, *tok.end), "\n"))
        previous = tok
    spaced = _apply(source, edits)
    # Halve the indentation (4 -> 2 spaces per level): consistent, so still valid Python.
    halved = []
    for line in spaced.splitlines(keepends=True):
        indent = len(line) - len(line.lstrip(" "))
        halved.append(" " * (indent // 2) + line[indent:])
    return "".join(halved)


def change_comments(source: str, rng: random.Random) -> str:
    """Removes every comment and adds new ones at the end of some logical lines."""
    lines = source.splitlines(keepends=True)
    offsets = _line_offsets(source)
    edits: list[Edit] = []
    for tok in _tokens(source):
        if tok.type == token.COMMENT:
            edits.append((_byte(lines, offsets, *tok.start), _byte(lines, offsets, *tok.end), ""))
        elif tok.type == token.NEWLINE and tok.start != tok.end and rng.random() < 0.3:
            at = _byte(lines, offsets, *tok.start)
            edits.append((at, at, f"  # note {rng.randrange(1000)}"))
    return _apply(source, edits)


def change_literals(source: str, rng: random.Random) -> str:
    """Replaces numbers and plain (unprefixed, single-line) strings."""
    lines = source.splitlines(keepends=True)
    offsets = _line_offsets(source)
    edits: list[Edit] = []
    for tok in _tokens(source):
        start, end = _byte(lines, offsets, *tok.start), _byte(lines, offsets, *tok.end)
        if tok.type == token.NUMBER and rng.random() < 0.7:
            edits.append((start, end, str(rng.randrange(10**4))))
        elif (
            tok.type == token.STRING
            and tok.string[0] in "'\""
            and "\n" not in tok.string
            and rng.random() < 0.7
        ):
            edits.append((start, end, repr(f"text {rng.randrange(10**4)}")))
    return _apply(source, edits)


def edit_statement(source: str, rng: random.Random) -> str:
    """Deletes one single-line simple statement from a block of several, or inserts one after it."""
    tree = code_reference.parser("python").parse(source.encode("utf-8"))
    candidates = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        statements = [c for c in node.named_children if c.type != "comment"] if node.type == "block" else []
        if len(statements) >= 2:
            for child in statements:
                if child.type == "expression_statement" and child.start_point[0] == child.end_point[0]:
                    candidates.append(child)
        stack.extend(node.children)
    if not candidates:
        return source
    victim = rng.choice(candidates)
    line_start = victim.start_byte - victim.start_point[1]
    data = source.encode("utf-8")
    newline = data.find(b"\n", victim.end_byte)
    line_end = len(data) if newline < 0 else newline + 1  # past a trailing comment and the newline
    if rng.random() < 0.5:
        return _apply(source, [(line_start, line_end, "")])
    indent = " " * victim.start_point[1]
    return _apply(source, [(line_end, line_end, f"{indent}extra_{rng.randrange(100)} = None\n")])


MUTATIONS = {
    "rename": rename_identifiers,
    "reformat": reformat,
    "comments": change_comments,
    "literals": change_literals,
    "edit": edit_statement,
}


def mutate(source: str, kinds: list[str], seed: int) -> str:
    """Applies the named mutations in order; the result still compiles."""
    rng = random.Random(seed)
    for kind in kinds:
        source = MUTATIONS[kind](source, rng)
    ast.parse(source)
    return source


# Lines as `ast` splits them (only at \r\n, \r and \n, unlike str.splitlines), ends kept.
AST_LINES = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def source_segment(lines: list[str], node: ast.stmt) -> str | None:
    """`ast.get_source_segment` on lines split once: that function splits the whole module again
    on every call, which made collecting the functions of a large module quadratic."""
    if node.end_lineno is None or node.end_col_offset is None:
        return None
    first, last = node.lineno - 1, node.end_lineno - 1
    if first == last:
        return lines[first].encode()[node.col_offset : node.end_col_offset].decode()
    head = lines[first].encode()[node.col_offset :].decode()
    tail = lines[last].encode()[: node.end_col_offset].decode()
    return "".join([head, *lines[first + 1 : last], tail])


def functions(sources: list[str], min_lines: int = 6, max_lines: int = 80) -> list[str]:
    """Top-level functions of the given modules that compile on their own."""
    found = []
    for module in sources:
        try:
            tree = ast.parse(module)
        except SyntaxError:
            continue
        lines = AST_LINES.findall(module)
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef) or node.end_lineno is None or node.decorator_list:
                continue
            if min_lines <= node.end_lineno - node.lineno + 1 <= max_lines:
                segment = source_segment(lines, node)
                if segment and segment.isascii():
                    found.append(segment + "\n")
    return found


def rename_identifiers_in(source: str, language: str, rng: random.Random) -> str:
    """Any language: renames every identifier consistently, keeping the case of its first letter
    (in Ruby and Go, capitalization changes what a name is)."""
    names: dict[bytes, str] = {}
    edits: list[Edit] = []
    for node in code_reference.identifier_nodes(source.encode("utf-8"), language):
        text = node.text or b""
        sigil = text[:1] if text[:1] in (b"$", b"@") else b""  # PHP and Ruby variables keep theirs
        sigil += b"@" if text[:2] == b"@@" else b""
        stem = text[len(sigil) :]
        if not stem:
            continue
        fresh = names.setdefault(
            text, f"{'V' if stem[:1].isupper() else 'v'}{len(names)}_{rng.randrange(10**6)}"
        )
        edits.append((node.start_byte, node.end_byte, sigil.decode() + fresh))
    return _apply(source, edits)


def reformat_in(source: str, language: str, rng: random.Random) -> str:
    """Any language: changes the spacing between tokens that are on one line and already spaced."""
    nodes = code_reference.token_nodes(source.encode("utf-8"), language)
    edits: list[Edit] = []
    for previous, node in zip(nodes, nodes[1:]):
        same_line = previous.end_point[0] == node.start_point[0]
        if same_line and node.start_byte > previous.end_byte:
            gap = source.encode("utf-8")[previous.end_byte : node.start_byte]
            if gap.strip() == b"":  # only white space between them, no comment
                edits.append((previous.end_byte, node.start_byte, " " * rng.randint(1, 3)))
    return _apply(source, edits)
