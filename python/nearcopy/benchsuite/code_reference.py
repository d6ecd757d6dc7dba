"""An independent walk of the same syntax trees with the Python ``tree-sitter`` binding.

It restates which nodes become tokens (leaves; whole string/number literals; identifiers; never
comments) and yields their byte spans, so tests can check nearcopy's spans against trees built by a
different binding of the same grammar versions. The grammar wheels are test dependencies.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import Any

import tree_sitter

# The node categories of rust/nearcopy-core/src/code/classify.rs, restated.
IDENTIFIER_KINDS = {
    "identifier", "type_identifier", "namespace_identifier", "package_identifier", "statement_identifier",
    "shorthand_property_identifier", "shorthand_property_identifier_pattern", "label_name", "constant",
    "instance_variable", "class_variable", "global_variable", "name", "metavariable", "simple_identifier",
    "field_identifier", "property_identifier", "private_property_identifier", "shorthand_field_identifier",
}  # fmt: skip
STRING_KINDS = {
    "string", "string_literal", "raw_string_literal", "char_literal", "character_literal", "character",
    "interpreted_string_literal", "rune_literal", "template_string", "encapsed_string", "heredoc", "nowdoc",
    "verbatim_string_literal", "interpolated_string_expression", "text_block", "regex", "simple_symbol",
    "delimited_symbol", "system_lib_string", "jsx_text", "preproc_arg", "heredoc_body",
}  # fmt: skip
NUMBER_KINDS = {
    "integer", "float", "number", "number_literal", "int_literal", "float_literal", "imaginary_literal",
    "integer_literal", "real_literal", "decimal_integer_literal", "hex_integer_literal",
    "octal_integer_literal", "binary_integer_literal", "decimal_floating_point_literal",
    "hex_floating_point_literal", "rational", "complex",
}  # fmt: skip

# nearcopy language name -> (grammar module, function returning the language capsule)
GRAMMARS = {
    "python": ("tree_sitter_python", "language"),
    "javascript": ("tree_sitter_javascript", "language"),
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "tsx": ("tree_sitter_typescript", "language_tsx"),
    "java": ("tree_sitter_java", "language"),
    "c": ("tree_sitter_c", "language"),
    "cpp": ("tree_sitter_cpp", "language"),
    "go": ("tree_sitter_go", "language"),
    "rust": ("tree_sitter_rust", "language"),
    "csharp": ("tree_sitter_c_sharp", "language"),
    "ruby": ("tree_sitter_ruby", "language"),
    "php": ("tree_sitter_php", "language_php"),
}


@cache
def parser(language: str) -> tree_sitter.Parser:
    module, function = GRAMMARS[language]
    capsule = getattr(importlib.import_module(module), function)()
    return tree_sitter.Parser(tree_sitter.Language(capsule))


def token_nodes(source: bytes, language: str) -> list[Any]:
    """The nodes nearcopy turns into tokens, in source order."""
    tree = parser(language).parse(source)
    out = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        kind = node.type
        if (node.is_named and "comment" in kind) or (not node.is_named and not kind.strip()):
            continue  # comments, and layout tokens such as the newline ending a preprocessor line
        atomic = node.is_named and (kind in IDENTIFIER_KINDS or kind in STRING_KINDS or kind in NUMBER_KINDS)
        if atomic or node.child_count == 0:
            if not node.is_missing and (node.start_byte < node.end_byte or kind in IDENTIFIER_KINDS):
                out.append(node)
            continue
        stack.extend(reversed(node.children))
    return out


def token_spans(source: bytes, language: str) -> list[tuple[int, int]]:
    return [(node.start_byte, node.end_byte) for node in token_nodes(source, language)]


def identifier_nodes(source: bytes, language: str) -> list[Any]:
    return [n for n in token_nodes(source, language) if n.is_named and n.type in IDENTIFIER_KINDS]
