//! What each kind of syntax node becomes in the normalized stream.
//!
//! Decided once per grammar from the node-kind names (tree-sitter grammars share a vocabulary:
//! `identifier`, `field_identifier`, `string_literal`, `line_comment`, ...) and cached as a table
//! indexed by kind id, so the tree walk does one lookup per node instead of string comparisons.

use super::languages::Language;
use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// Dropped with everything under it: comments, and layout tokens (the `\n` that ends a C
    /// preprocessor line or a Go statement).
    Comment,
    /// One token for the whole node (its children, e.g. string fragments, are not visited).
    StringLiteral,
    NumberLiteral,
    /// A name: renamed per the identifier mode.
    Identifier,
    /// A name that is always a member/attribute/property name (`obj.name`).
    Member,
    /// Anything else: keywords and operators (anonymous nodes), other leaves, inner nodes.
    Structure,
}

const IDENTIFIER_KINDS: &[&str] = &[
    "identifier",
    "type_identifier",
    "namespace_identifier",
    "package_identifier",
    "statement_identifier",
    "shorthand_property_identifier",
    "shorthand_property_identifier_pattern",
    "label_name",
    "constant",
    "instance_variable",
    "class_variable",
    "global_variable",
    "name",
    "metavariable",
    "simple_identifier",
];

const MEMBER_KINDS: &[&str] =
    &["field_identifier", "property_identifier", "private_property_identifier", "shorthand_field_identifier"];

const STRING_KINDS: &[&str] = &[
    "string",
    "string_literal",
    "raw_string_literal",
    "char_literal",
    "character_literal",
    "character",
    "interpreted_string_literal",
    "rune_literal",
    "template_string",
    "encapsed_string",
    "heredoc",
    "nowdoc",
    "verbatim_string_literal",
    "interpolated_string_expression",
    "text_block",
    "regex",
    "simple_symbol",
    "delimited_symbol",
    "system_lib_string",
    "jsx_text",
    "preproc_arg",
    "heredoc_body",
];

const NUMBER_KINDS: &[&str] = &[
    "integer",
    "float",
    "number",
    "number_literal",
    "int_literal",
    "float_literal",
    "imaginary_literal",
    "integer_literal",
    "real_literal",
    "decimal_integer_literal",
    "hex_integer_literal",
    "octal_integer_literal",
    "binary_integer_literal",
    "decimal_floating_point_literal",
    "hex_floating_point_literal",
    "rational",
    "complex",
];

/// (parent kind, field name) pairs whose identifier is a member name: `x.attr`, `obj.method()`.
const MEMBER_POSITIONS: &[(&str, &str)] = &[
    ("attribute", "attribute"),
    ("field_access", "field"),
    ("method_invocation", "name"),
    ("member_access_expression", "name"),
    ("member_call_expression", "name"),
    ("nullsafe_member_access_expression", "name"),
    ("nullsafe_member_call_expression", "name"),
    ("scoped_call_expression", "name"),
    ("call", "method"),
    ("member_expression", "property"),
    ("selector_expression", "field"),
    ("field_expression", "field"),
];

fn categorize(kind: &str, named: bool) -> Category {
    if !named {
        return if kind.trim().is_empty() { Category::Comment } else { Category::Structure };
    }
    if kind.contains("comment") {
        Category::Comment
    } else if IDENTIFIER_KINDS.contains(&kind) {
        Category::Identifier
    } else if MEMBER_KINDS.contains(&kind) {
        Category::Member
    } else if STRING_KINDS.contains(&kind) {
        Category::StringLiteral
    } else if NUMBER_KINDS.contains(&kind) {
        Category::NumberLiteral
    } else {
        Category::Structure
    }
}

/// Per-grammar tables: the category of every kind id, and which parent kinds/fields mark members.
pub struct KindTable {
    names: Vec<&'static str>,
    named: Vec<bool>,
    categories: Vec<Category>,
    member_parents: Vec<Option<&'static str>>,
}

impl KindTable {
    fn build(grammar: &tree_sitter::Language) -> Self {
        let count = grammar.node_kind_count();
        let mut names = Vec::with_capacity(count);
        let mut named = Vec::with_capacity(count);
        let mut categories = Vec::with_capacity(count);
        let mut member_parents = Vec::with_capacity(count);
        for id in 0..count as u16 {
            let kind = grammar.node_kind_for_id(id).unwrap_or("");
            names.push(kind);
            named.push(grammar.node_kind_is_named(id));
            categories.push(categorize(kind, grammar.node_kind_is_named(id)));
            member_parents.push(MEMBER_POSITIONS.iter().find(|(parent, _)| *parent == kind).map(|(_, f)| *f));
        }
        KindTable { names, named, categories, member_parents }
    }

    /// The kind's name (for anonymous nodes, its text: `def`, `(`, `+=`). The one id outside the
    /// table is tree-sitter's ERROR (u16::MAX): a childless ERROR node whose text cannot stand for
    /// itself (e.g. an unterminated Java char literal running over a space) is written as `ERROR`,
    /// not as an empty symbol, which would put an empty word into the shingles.
    #[inline]
    pub fn name(&self, kind_id: u16) -> &'static str {
        self.names.get(kind_id as usize).copied().unwrap_or("ERROR")
    }

    /// Whether the kind is a named node (None for ids outside the grammar's table, e.g. ERROR).
    #[inline]
    pub fn is_named(&self, kind_id: u16) -> Option<bool> {
        self.named.get(kind_id as usize).copied()
    }

    #[inline]
    pub fn category(&self, kind_id: u16) -> Category {
        self.categories.get(kind_id as usize).copied().unwrap_or(Category::Structure)
    }

    /// Whether nodes of kind `parent_id` have a field that holds member names.
    #[inline]
    pub fn has_member_field(&self, parent_id: u16) -> bool {
        matches!(self.member_parents.get(parent_id as usize), Some(Some(_)))
    }

    /// Whether a child in field `field` of a node of kind `parent_id` is a member name.
    #[inline]
    pub fn is_member_position(&self, parent_id: u16, field: Option<&str>) -> bool {
        match (self.member_parents.get(parent_id as usize).copied().flatten(), field) {
            (Some(wanted), Some(field)) => wanted == field,
            _ => false,
        }
    }
}

/// The table of `language`, built on first use.
pub fn kind_table(language: Language) -> &'static KindTable {
    static TABLES: [OnceLock<KindTable>; 12] = [const { OnceLock::new() }; 12];
    TABLES[language.index()].get_or_init(|| KindTable::build(&language.grammar()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_vocabulary_is_categorized() {
        assert_eq!(categorize("line_comment", true), Category::Comment);
        assert_eq!(categorize("identifier", true), Category::Identifier);
        assert_eq!(categorize("property_identifier", true), Category::Member);
        assert_eq!(categorize("string_literal", true), Category::StringLiteral);
        assert_eq!(categorize("decimal_integer_literal", true), Category::NumberLiteral);
        assert_eq!(categorize("identifier", false), Category::Structure, "anonymous nodes are keywords");
        assert_eq!(categorize("\n", false), Category::Comment, "layout is dropped");
        assert_eq!(categorize("if_statement", true), Category::Structure);
    }

    #[test]
    fn every_language_has_identifiers_strings_and_comments() {
        for language in Language::ALL {
            let table = kind_table(language);
            for wanted in
                [Category::Identifier, Category::StringLiteral, Category::Comment, Category::NumberLiteral]
            {
                assert!(table.categories.contains(&wanted), "{} has no {wanted:?} kind", language.name());
            }
        }
    }
}
