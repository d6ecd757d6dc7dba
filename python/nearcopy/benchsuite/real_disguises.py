"""Disguises of real functions in any of the five languages, made with no help from nearcopy.

* ``rename_locals``: every local name (parameters, variables, loop and exception names, the
  function's own name) renamed consistently to a plausible other name; library calls, member names
  and types are left alone, as a person renaming a copy does;
* ``reformat``: spacing between tokens, indentation width, blank lines, and for C and Java the
  brace style (``{`` on a line of its own); Python goes through ``mutations.reformat``;
* ``change_literals``: single-line string and number literals replaced;
* ``edit_statement``: one simple statement deleted, or a logging statement inserted after it;
* ``partial``: a contiguous 40-60% of the function's lines, dedented (``partial_lines``: as indented
  in the function; ``from_mid_line``: those from inside their first line on).

Names and statements come from the Python ``tree-sitter`` binding, spacing from its leaves. A
disguise that would add a syntax error the original does not have is refused (None).
"""

from __future__ import annotations

import random
import textwrap
from collections.abc import Callable, Iterator
from typing import Any

from . import code_reference, mutations

# Parents under which an identifier is a name being bound, per language; "field:NAME" means only
# the parent's child in field NAME, a bare type means any identifier child.
BINDINGS: dict[str, dict[str, str]] = {
    "python": {
        "parameters": "",
        "lambda_parameters": "",
        "list_splat_pattern": "",
        "typed_parameter": "",
        "dictionary_splat_pattern": "",
        "pattern_list": "",
        "tuple_pattern": "",
        "as_pattern_target": "",
        "default_parameter": "field:name",
        "typed_default_parameter": "field:name",
        "assignment": "field:left",
        "augmented_assignment": "field:left",
        "for_statement": "field:left",
        "for_in_clause": "field:left",
        "named_expression": "field:name",
        "function_definition": "field:name",
    },
    "go": {
        "parameter_declaration": "field:name",
        "variadic_parameter_declaration": "field:name",
        "var_spec": "field:name",
        "const_spec": "field:name",
        "function_declaration": "field:name",
        "expression_list": "left-of:short_var_declaration,range_clause",
    },
    "java": {
        "formal_parameter": "field:name",
        "catch_formal_parameter": "field:name",
        "variable_declarator": "field:name",
        "enhanced_for_statement": "field:name",
        "method_declaration": "field:name",
        "resource": "field:name",
        "inferred_parameters": "",
        "lambda_expression": "field:parameters",
    },
    "c": {
        "init_declarator": "field:declarator",
        "pointer_declarator": "field:declarator",
        "array_declarator": "field:declarator",
        "parameter_declaration": "field:declarator",
        "declaration": "field:declarator",
        "function_declarator": "field:declarator",
    },
    "javascript": {
        "formal_parameters": "",
        "array_pattern": "",
        "rest_pattern": "",
        "variable_declarator": "field:name",
        "function_declaration": "field:name",
        "generator_function_declaration": "field:name",
        "function_expression": "field:name",
        "assignment_pattern": "field:left",
        "catch_clause": "field:parameter",
        "arrow_function": "field:parameter",
        "for_in_statement": "field:left",
    },
}
# Identifier uses that name something else than a local: members, keyword arguments, callees of a
# qualified call.
NOT_LOCAL = {
    "python": {"attribute": "field:attribute", "keyword_argument": "field:name"},
    "java": {"field_access": "field:field", "method_invocation": "qualified"},
}
SPARED = {b"self", b"cls", b"this", b"_"}
FRESH = (
    "value",
    "item",
    "data",
    "result",
    "buf",
    "node",
    "count",
    "idx",
    "tmp",
    "src",
    "dst",
    "key",
    "entry",
    "elem",
    "acc",
    "cur",
    "res",
    "out",
    "arg",
    "obj",
    "ptr",
    "pos",
    "flag",
    "label",
    "text",
    "seq",
    "ctx",
    "state",
    "part",
    "total",
)
STATEMENT_BLOCKS = {
    "python": {"block"},
    "java": {"block"},
    "c": {"compound_statement"},
    "go": {"block", "statement_list"},
    "javascript": {"statement_block"},
}
SIMPLE_STATEMENTS = {"expression_statement", "assignment_statement", "inc_statement", "dec_statement"}
INSERTED = {
    "python": 'print("checkpoint", {n})',
    "go": 'fmt.Println("checkpoint", {n})',
    "c": 'fprintf(stderr, "checkpoint %d\\n", {n});',
    "java": 'System.out.println("checkpoint " + {n});',
    "javascript": 'console.log("checkpoint", {n});',
}
Edit = tuple[int, int, str]


def _nodes(root: Any) -> Iterator[Any]:
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(node.children))


def _tree(source: str, language: str) -> Any:
    return code_reference.parser(language).parse(source.encode("utf-8")).root_node


def parse_errors(source: str, language: str) -> int:
    return sum(n.type == "ERROR" or n.is_missing for n in _nodes(_tree(source, language)))


def leaves(source: str, language: str) -> int:
    """Code tokens by an independent count: the tree-sitter leaves nearcopy's rule would keep."""
    return len(code_reference.token_nodes(source.encode("utf-8"), language))


def _in_field(node: Any, parent: Any, rule: str) -> bool:
    if not rule:
        return True
    if rule.startswith("field:"):
        child = parent.child_by_field_name(rule[6:])
        return child is not None and child.id == node.id
    if rule.startswith("left-of:"):
        owner = parent.parent
        left = owner.child_by_field_name("left") if owner is not None else None
        return (
            owner is not None
            and owner.type in rule[8:].split(",")
            and left is not None
            and left.id == parent.id
        )
    return rule == "qualified" and parent.child_by_field_name("object") is not None


def _apply(source: str, edits: list[Edit]) -> str:
    data = source.encode("utf-8")
    for start, end, replacement in sorted(edits, reverse=True):
        data = data[:start] + replacement.encode("utf-8") + data[end:]
    return data.decode("utf-8")


def rename_locals(source: str, language: str, rng: random.Random) -> str:
    root = _tree(source, language)
    identifiers = [n for n in _nodes(root) if n.type == "identifier"]
    taken = {n.text for n in identifiers}
    bound: dict[bytes, str] = {}
    for node in identifiers:
        rule = BINDINGS[language].get(node.parent.type) if node.parent is not None else None
        binding = rule is not None and _in_field(node, node.parent, rule)
        if binding and node.text not in SPARED and node.text not in bound:
            stem = rng.choice(FRESH)
            fresh = next(f"{stem}{i}" for i in range(1, 10**6) if f"{stem}{i}".encode() not in taken)
            taken.add(fresh.encode())
            bound[node.text] = fresh.capitalize() if node.text[:1].isupper() else fresh
    edits = []
    for node in identifiers:
        parent, skip = node.parent, NOT_LOCAL.get(language, {})
        rule = skip.get(parent.type, "") if parent is not None else ""
        # a member or keyword name; in Java, the method name of a qualified call (obj.name(...))
        qualified_callee = rule == "qualified" and parent.child_by_field_name("name").id == node.id
        if rule and _in_field(node, parent, rule) and (rule != "qualified" or qualified_callee):
            continue
        if node.text in bound:
            edits.append((node.start_byte, node.end_byte, bound[node.text]))
    return _apply(source, edits)


def _string_lines(source: str, language: str) -> set[int]:
    """Rows that continue a multi-line string or comment: their leading white space is content."""
    rows: set[int] = set()
    for node in _nodes(_tree(source, language)):
        if (node.type in code_reference.STRING_KINDS or "comment" in node.type) and node.end_point[
            0
        ] > node.start_point[0]:
            rows.update(range(node.start_point[0] + 1, node.end_point[0] + 1))
    return rows


def _reindent(source: str, language: str) -> str:
    """Tab levels become two spaces each; four-space levels become two, two-space levels four.
    Sources that mix tabs and spaces (GNU style) have their tabs read as eight columns first."""
    keep = _string_lines(source, language)
    lines = source.splitlines(keepends=True)
    leading = [line[: len(line) - len(line.lstrip(" \t"))] for line in lines if line.strip()]
    if any(" " in lead for lead in leading) and any("\t" in lead for lead in leading):
        lines = [line if row in keep else line.expandtabs(8) for row, line in enumerate(lines)]
    widths = [len(line) - len(line.lstrip(" ")) for line in lines if line.strip() and line[0] != "\t"]
    unit = 4 if sum(w % 4 == 0 for w in widths) >= 0.8 * len(widths) else 2
    out = []
    for row, line in enumerate(lines):
        if row in keep or not line.strip():
            out.append(line)
            continue
        tabs = len(line) - len(line.lstrip("\t"))
        rest = line[tabs:]
        spaces = len(rest) - len(rest.lstrip(" "))
        level, remainder = (tabs, spaces) if tabs else divmod(spaces, unit)
        out.append(("  " if tabs or unit == 4 else "    ") * level + " " * remainder + rest.lstrip(" "))
    return "".join(out)


def reformat(source: str, language: str, rng: random.Random) -> str:
    if language == "python":
        try:
            return mutations.reformat(source, rng)
        except (SyntaxError, ValueError):  # tokenize refuses it: spacing only
            return mutations.reformat_in(source, language, rng)
    data = source.encode("utf-8")
    tokens = code_reference.token_nodes(data, language)
    allman = language in ("c", "java") and rng.random() < 0.5
    edits: list[Edit] = []
    for i, (previous, node) in enumerate(zip(tokens, tokens[1:])):
        gap = data[previous.end_byte : node.start_byte]
        last_on_line = i + 2 == len(tokens) or tokens[i + 2].start_point[0] > node.end_point[0]
        if previous.end_point[0] == node.start_point[0] and not gap.strip():
            if allman and node.type == "{" and last_on_line and previous.type in (")", "else", "try", "do"):
                line = data[previous.start_byte - previous.start_point[1] : previous.start_byte].decode()
                edits.append(
                    (previous.end_byte, node.start_byte, "\n" + line[: len(line) - len(line.lstrip())])
                )
            elif gap:
                edits.append((previous.end_byte, node.start_byte, " " * rng.randint(1, 3)))
        if node.type in (";", "{") and last_on_line and rng.random() < 0.2:
            newline = data.find(b"\n", node.end_byte)
            if newline >= 0 and not data[node.end_byte : newline].strip():
                edits.append((newline + 1, newline + 1, "\n"))
    return _reindent(_apply(source, edits), language)


def _literal(node: Any, rng: random.Random) -> str | None:
    text = (node.text or b"").decode("utf-8", "replace")
    if "\n" in text or not text:
        return None
    if node.type in code_reference.NUMBER_KINDS and text[0].isdigit() and not text.endswith(("i", "j")):
        return str(rng.randrange(2, 10_000))
    quote = text[0]
    plain = quote in "'\"" and text.endswith(quote) and text[:3] not in ('"""', "'''")
    characters = node.type in ("char_literal", "character_literal", "rune_literal")
    if node.type in code_reference.STRING_KINDS and plain and not characters:
        return f"{quote}text {rng.randrange(10_000)}{quote}"
    return None


def change_literals(source: str, language: str, rng: random.Random) -> str:
    edits = []
    for node in code_reference.token_nodes(source.encode("utf-8"), language):
        fresh = _literal(node, rng) if rng.random() < 0.7 else None
        if fresh is not None:
            edits.append((node.start_byte, node.end_byte, fresh))
    return _apply(source, edits)


def _first_statement(root: Any, language: str) -> Any:
    """The first statement of the function's body, for an insertion when nothing can be edited."""
    for node in _nodes(root):
        if node.type in STATEMENT_BLOCKS[language]:
            statements = [c for c in node.named_children if "comment" not in c.type]
            if statements:
                return statements[0]
    return None


def edit_statement(source: str, language: str, rng: random.Random) -> str | None:
    root = _tree(source, language)
    data = source.encode("utf-8")
    candidates = []
    for node in _nodes(root):
        if node.type in STATEMENT_BLOCKS[language]:
            statements = [c for c in node.named_children if "comment" not in c.type]
            if len(statements) >= 2:
                candidates += [c for c in statements if c.type in SIMPLE_STATEMENTS and _alone(c, data)]
    statement = INSERTED[language].format(n=rng.randrange(100))
    if not candidates:
        first = _first_statement(root, language)
        if first is None or not _alone(first, data, start_only=True):
            return None
        line_start = first.start_byte - first.start_point[1]
        indent = data[line_start : first.start_byte].decode()
        return _apply(source, [(line_start, line_start, f"{indent}{statement}\n")])
    victim = rng.choice(candidates)
    line_start = victim.start_byte - victim.start_point[1]
    newline = data.find(b"\n", victim.end_byte)
    line_end = len(data) if newline < 0 else newline + 1
    if rng.random() < 0.5:
        return _apply(source, [(line_start, line_end, "")])
    indent = data[line_start : victim.start_byte].decode()
    return _apply(source, [(line_end, line_end, f"{indent}{statement}\n")])


def _alone(node: Any, data: bytes, start_only: bool = False) -> bool:
    """Whether the statement stands alone on its line (so a line can be deleted or added)."""
    line_start = node.start_byte - node.start_point[1]
    if data[line_start : node.start_byte].strip():
        return False
    if start_only:
        return True
    newline = data.find(b"\n", node.end_byte)
    end = len(data) if newline < 0 else newline
    return node.start_point[0] == node.end_point[0] and not data[node.end_byte : end].strip(b" \t\r;")


def partial_lines(source: str, rng: random.Random) -> str:
    """A contiguous 40-60% of the lines, indented as they are in the function: what a completion
    that goes on inside a function body gives."""
    lines = source.splitlines(keepends=True)
    length = max(1, round(len(lines) * rng.uniform(0.4, 0.6)))
    start = rng.randrange(len(lines) - length + 1)
    return "".join(lines[start : start + length])


def from_mid_line(lines: str, rng: random.Random) -> str:
    """``lines`` from a point inside the first line's code (after its indentation, before its
    last character), as a completion of a prompt that ended mid-line begins."""
    first = lines.split("\n", 1)[0]
    indent = len(first) - len(first.lstrip())
    if len(first) - indent < 2:
        return lines
    return lines[rng.randrange(indent + 1, len(first)) :]


def partial(source: str, rng: random.Random) -> str:
    """A contiguous 40-60% of the lines, dedented, as one pastes part of a function."""
    return textwrap.dedent(partial_lines(source, rng))


DISGUISES: dict[str, Callable[[str, str, random.Random], str | None]] = {
    "rename": rename_locals,
    "reformat": reformat,
    "literals": change_literals,
    "edit": edit_statement,
}


def disguise(source: str, language: str, kinds: list[str], seed: int) -> str | None:
    """The named disguises applied in order, or None when one cannot be applied (nothing to edit)
    or would add a syntax error the original does not have."""
    rng = random.Random(seed)
    errors = parse_errors(source, language)
    for kind in kinds:
        changed = DISGUISES[kind](source, language, rng)
        if changed is None or parse_errors(changed, language) > errors:
            return None
        source = changed
    return source
