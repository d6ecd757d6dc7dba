"""Functions and methods cut out of real source files, with what real code carries along.

The Python ``tree-sitter`` binding (the grammar versions nearcopy compiles in), never nearcopy, finds
them: each keeps its leading doc comment (``/** ... */``, ``// Foo does ...``, a comment block above
a C function), its decorators and annotations, its docstring and the comments inside, dedented as a
model would show it. Each file also gives its header (licence comment, package line, imports,
``#include``s) for the cases that show a function under it, its licence comment, and the
TypeScript and Babel helpers it holds.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from . import code_reference
from .real_sources import SourceFile

FUNCTION_KINDS = {
    "python": {"function_definition"},
    "java": {"method_declaration", "constructor_declaration"},
    "go": {"function_declaration", "method_declaration"},
    "c": {"function_definition"},
    "javascript": {"function_declaration", "generator_function_declaration", "method_definition"},
}
JS_FUNCTION_VALUES = {"function_expression", "arrow_function", "generator_function", "function"}
HEADER_KINDS = {
    "python": {"import_statement", "import_from_statement", "future_import_statement"},
    "java": {"package_declaration", "import_declaration"},
    "go": {"package_clause", "import_declaration"},
    "c": {"preproc_include"},
    "javascript": {"import_statement"},
}
MAX_HEADER_LINES = 80
# The helpers TypeScript's and Babel's compilers emit at the top of every module that needs them:
# generated code, found in many unrelated packages, nobody's copy.
GENERATED_HELPERS = {
    "__createBinding",
    "__setModuleDefault",
    "__importStar",
    "__importDefault",
    "__exportStar",
    "__awaiter",
    "__generator",
    "__extends",
    "__assign",
    "__rest",
    "__decorate",
    "__values",
    "__read",
    "__spreadArray",
    "__classPrivateFieldGet",
    "__classPrivateFieldSet",
    "_interopRequireDefault",
    "_interopRequireWildcard",
    "_getRequireWildcardCache",
    "_setPrototypeOf",
    "_inheritsLoose",
    "_defineProperties",
    "_createClass",
    "_classCallCheck",
    "_defineProperty",
    "_typeof",
    "_extends",
    "_unsupportedIterableToArray",
    "_arrayLikeToArray",
    "_nonIterableSpread",
    "_iterableToArray",
    "_arrayWithoutHoles",
    "_toConsumableArray",
    "_objectSpread",
    "_asyncToGenerator",
    "_inherits",
}


@dataclass(frozen=True)
class Function:
    language: str
    path: str  # of the file it comes from
    project: str
    name: str
    text: str  # dedented, leading comments, decorators and annotations included
    original: str  # the same lines as they stand in the file
    header: str  # the file's licence comment, package line and imports above it ("" if none)
    leaves: int  # tree-sitter leaves (code tokens, comments not counted)
    lines: int


def _function_value(node: Any) -> bool:
    return node is not None and node.type in JS_FUNCTION_VALUES


def _unit(node: Any, language: str) -> Any:
    """The function node ``node`` stands for (itself, or what it decorates, declares, assigns or
    exports), or None if it is no function."""
    kind = node.type
    if kind in FUNCTION_KINDS[language]:
        return node
    if language == "python" and kind == "decorated_definition":
        inner = node.child_by_field_name("definition")
        return inner if inner is not None and inner.type == "function_definition" else None
    if language != "javascript":
        return None
    if kind == "export_statement":
        inner = node.child_by_field_name("declaration")
        return _unit(inner, language) if inner is not None else None
    if kind in ("lexical_declaration", "variable_declaration"):
        declarators = [c for c in node.named_children if c.type == "variable_declarator"]
        if len(declarators) == 1 and _function_value(declarators[0].child_by_field_name("value")):
            return declarators[0]
    if kind == "expression_statement" and node.named_child_count == 1:
        assignment = node.named_children[0]
        if assignment.type == "assignment_expression" and _function_value(
            assignment.child_by_field_name("right")
        ):
            return assignment
    return None


def _name(node: Any, language: str) -> str:
    if node.type == "assignment_expression":  # exports.foo = function ...
        left = node.child_by_field_name("left")
        node = left.child_by_field_name("property") if left.type == "member_expression" else left
        return (node.text or b"").decode() if node is not None else ""
    if language == "c":
        declarator = node.child_by_field_name("declarator")
        while declarator is not None and declarator.type not in ("identifier", "field_identifier"):
            declarator = declarator.child_by_field_name("declarator")
        return (declarator.text or b"").decode() if declarator is not None else ""
    name = node.child_by_field_name("name")
    return (name.text or b"").decode() if name is not None else ""


def _units(root: Any, language: str) -> Iterator[tuple[Any, Any]]:
    """(outermost node, function node) of every function not nested in another, in source order."""
    stack = [root]
    while stack:
        node = stack.pop()
        inner = _unit(node, language)
        if inner is not None:
            yield node, inner
        else:
            stack.extend(reversed(node.children))


def _line_start(data: bytes, at: int) -> int:
    return data.rfind(b"\n", 0, at) + 1


def _leading(node: Any, data: bytes) -> Any:
    """The first of the comments directly above ``node`` (doc comments), or ``node`` itself."""
    first, previous = node, node.prev_sibling
    while (
        previous is not None
        and "comment" in previous.type
        and previous.end_point[0] >= first.start_point[0] - 1
        and not data[_line_start(data, previous.start_byte) : previous.start_byte].strip()
        and b"copyright" not in (previous.text or b"").lower()
    ):
        first, previous = previous, previous.prev_sibling
    return first


def _dedent(text: str) -> str:
    """Removes the first line's indentation from every line that has it, as an editor does when a
    method is copied out of its class (lines of a string that start further left keep theirs)."""
    lines = text.splitlines(keepends=True)
    indent = lines[0][: len(lines[0]) - len(lines[0].lstrip(" \t"))] if lines else ""
    return "".join(line[len(indent) :] if line.startswith(indent) else line for line in lines)


def _header_statement(node: Any, language: str) -> bool:
    """Module docstrings, 'use strict' and require() lines: what sits among a file's imports."""
    if node.type == "expression_statement" and node.named_child_count == 1:
        return bool(node.named_children[0].type == "string")
    if language == "javascript" and node.type in ("lexical_declaration", "variable_declaration"):
        values = [
            c.child_by_field_name("value") for c in node.named_children if c.type == "variable_declarator"
        ]
        return bool(values) and all(
            v is not None
            and v.type == "call_expression"
            and (v.child_by_field_name("function").text == b"require")
            for v in values
        )
    return False


def file_header(root: Any, data: bytes, language: str) -> int:
    """Where the file's header (licence comment, package line, imports, includes) ends, in bytes."""
    end = 0
    for child in root.children:
        if (
            "comment" in child.type
            or child.type in HEADER_KINDS[language]
            or _header_statement(child, language)
        ):
            end = child.end_byte
        else:
            break
    return end if data[:end].count(b"\n") <= MAX_HEADER_LINES else 0


def licence(file: SourceFile) -> tuple[str, str] | None:
    """The licence comment at the top of the file, as (family, text), if it has one."""
    data = file.text.encode("utf-8")
    root = code_reference.parser(file.language).parse(data).root_node
    block: list[Any] = []
    for child in root.children:
        if "comment" not in child.type or (block and child.start_point[0] > block[-1].end_point[0] + 1):
            break
        block.append(child)
    if not block:
        return None
    text = data[_line_start(data, block[0].start_byte) : block[-1].end_byte].decode("utf-8", "replace")
    lowered = " ".join(re.sub(r"^\s*(?://+|/\*+|\*+/?|#+)", " ", text.lower(), flags=re.M).split())
    if "copyright" not in lowered and "licen" not in lowered:
        return None
    families = (
        ("apache", "apache license"),
        ("mit", "permission is hereby granted, free of charge"),
        ("bsd", "redistribution and use in source and binary forms"),
        ("bsd", "bsd-style license"),
        ("lgpl", "gnu lesser general public"),
        ("gpl", "gnu general public license"),
    )
    family = next((name for name, words in families if words in lowered), "other")
    return family, text + "\n"


def functions(file: SourceFile, count: bool = True) -> list[Function]:
    """The functions and methods of ``file`` (not those nested in another), generated helpers left
    out, each with its doc comments and the file's header when it stands below that header.
    ``count=False`` leaves ``leaves`` at 0 (counting is most of the cost): see ``counted``."""
    data = file.text.encode("utf-8")
    root = code_reference.parser(file.language).parse(data).root_node
    header_end = file_header(root, data, file.language)
    header = data[:header_end].decode("utf-8", "replace").rstrip() + "\n" if header_end else ""
    out = []
    for outer, inner in _units(root, file.language):
        name = _name(inner, file.language)
        if not name or name in GENERATED_HELPERS or _head_broken(inner):
            continue
        first = _leading(outer, data)
        start = _line_start(data, first.start_byte)
        if data[start : first.start_byte].strip():
            continue  # something else stands before it on its first line
        original = data[start : outer.end_byte].decode("utf-8", "replace")
        text = _dedent(original).rstrip() + "\n"
        leaves = len(code_reference.token_nodes(text.encode("utf-8"), file.language)) if count else 0
        above = header if header and start >= header_end else ""
        out.append(
            Function(
                file.language, file.path, file.project, name, text, original, above, leaves, text.count("\n")
            )
        )
    return out


def _head_broken(node: Any) -> bool:
    """Whether the function's head (all but its body) failed to parse: in C, macros such as
    ``weak_alias (a, b)`` above a function are read as its head, and the name is wrong."""
    body = node.child_by_field_name("body")
    return any(c.type == "ERROR" or c.has_error for c in node.children if body is None or c.id != body.id)


def counted(function: Function) -> Function:
    leaves = len(code_reference.token_nodes(function.text.encode("utf-8"), function.language))
    return dataclasses.replace(function, leaves=leaves)


def generated_helpers(file: SourceFile) -> list[tuple[str, str]]:
    """The TypeScript and Babel helpers at the top level of a JavaScript file: (name, text)."""
    if file.language != "javascript" or ("__" not in file.text and "function _" not in file.text):
        return []
    data = file.text.encode("utf-8")
    root = code_reference.parser("javascript").parse(data).root_node
    found = []
    for child in root.children:
        names = [
            d.child_by_field_name("name") for d in child.named_children if d.type == "variable_declarator"
        ] + [child.child_by_field_name("name")] * (child.type == "function_declaration")
        for name in names:
            if name is not None and (name.text or b"").decode() in GENERATED_HELPERS:
                found.append(((name.text or b"").decode(), data[child.start_byte : child.end_byte].decode()))
    return found
