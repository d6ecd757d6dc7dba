//! Code normalization with tree-sitter: a copied function with every name changed still matches.
//!
//! Source is parsed with the language's grammar and its syntax tree walked (iteratively: deep nesting
//! cannot overflow the stack). Comments and layout disappear (layout is never a node); keywords,
//! operators and punctuation stay as they are; identifiers and literals are abstracted:
//!
//! * identifiers per [`IdentifierMode`]: kept, all one placeholder `$id` (as Dolos does), numbered
//!   by first occurrence `$1 $2 …` (consistent renaming), or `$id` except member names (`obj.name`),
//!   which stay as `.name` since renaming a library's API is not a cosmetic change;
//! * string-like literals become `$str`, numbers `$num` (or stay, with [`LiteralMode::Keep`]).
//!
//! Syntax errors (truncated model output) do not stop anything: tree-sitter wraps what it cannot
//! parse in ERROR nodes, whose leaves are still tokens. Every token keeps the byte span it came from.

mod answer;
mod batch;
mod classify;
mod dense_tables;
mod detect;
mod generated;
mod languages;
mod lexid;
mod lines;
#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod memcmp;
mod python_start;
mod tree_allocator;

pub use answer::{
    language_of_tag, split_answer, split_answer_with, Hint, ParsedSegment, Segment, SplitOptions,
};
pub use batch::{code_token_batch, symbol_id, CodeTokenBatch};
pub use detect::{detect, error_share, tree_error_share, MAX_ERROR_SHARE};
pub use generated::generated_spans;
pub use languages::Language;
pub use lexid::LanguageSet;
pub use tree_allocator::route_tree_sitter_to_mimalloc;
pub use tree_sitter::Parser;

use crate::error::Result;
use crate::invalid;
use crate::text::MAX_NGRAM;
use classify::{kind_table, Category};
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentifierMode {
    Keep,
    Placeholder,
    Consistent,
    Members,
}

impl IdentifierMode {
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "keep" => Ok(IdentifierMode::Keep),
            "placeholder" => Ok(IdentifierMode::Placeholder),
            "consistent" => Ok(IdentifierMode::Consistent),
            "members" => Ok(IdentifierMode::Members),
            other => Err(invalid!(
                "identifiers must be 'keep', 'placeholder', 'consistent' or 'members', got {other:?}"
            )),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiteralMode {
    Keep,
    Abstract,
}

impl LiteralMode {
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "keep" => Ok(LiteralMode::Keep),
            "abstract" => Ok(LiteralMode::Abstract),
            other => Err(invalid!("literals must be 'keep' or 'abstract', got {other:?}")),
        }
    }
}

/// Every option of the code pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeOptions {
    pub language: Language,
    pub ngram: usize,
    pub identifiers: IdentifierMode,
    pub literals: LiteralMode,
}

impl CodeOptions {
    pub fn new(language: Language) -> Self {
        CodeOptions {
            language,
            ngram: 10,
            identifiers: IdentifierMode::Placeholder,
            literals: LiteralMode::Abstract,
        }
    }

    pub fn validate(&self) -> Result<()> {
        if self.ngram == 0 || self.ngram > MAX_NGRAM {
            return Err(invalid!("ngram must be between 1 and {MAX_NGRAM}, got {}", self.ngram));
        }
        Ok(())
    }
}

/// What a normalized token stands for (stored as `u8` in the Python arrays).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum TokenKind {
    /// Keyword, operator, punctuation, or another fixed leaf (`True`, `int`).
    Symbol = 0,
    Identifier = 1,
    Member = 2,
    String = 3,
    Number = 4,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeToken {
    pub kind: TokenKind,
    /// Where the normalized symbol is in [`CodeNormalizer::normalized`].
    pub norm_start: usize,
    pub norm_end: usize,
    /// The byte span in the source.
    pub start: usize,
    pub end: usize,
}

/// Leaves longer than this (or holding white space) are written as their kind, not their text.
const MAX_LEAF_TEXT: usize = 32;

/// A reusable code normalizer: a parser and buffers kept between documents.
pub struct CodeNormalizer {
    parser: tree_sitter::Parser,
    language: Option<Language>,
    buf: String,
    tokens: Vec<CodeToken>,
    numbering: HashMap<String, usize>,
    /// Kind ids of the ancestors of the node being visited.
    ancestors: Vec<u16>,
}

impl Default for CodeNormalizer {
    fn default() -> Self {
        CodeNormalizer {
            parser: tree_sitter::Parser::new(),
            language: None,
            buf: String::new(),
            tokens: Vec::new(),
            numbering: HashMap::new(),
            ancestors: Vec::new(),
        }
    }
}

impl CodeNormalizer {
    pub fn new() -> Self {
        Self::default()
    }

    /// The normalized symbols of the last source, joined by one space.
    pub fn normalized(&self) -> &str {
        &self.buf
    }

    /// The tokens of the last source.
    pub fn tokens(&self) -> &[CodeToken] {
        &self.tokens
    }

    /// Normalizes `source`; the tokens' symbols are slices of [`Self::normalized`].
    pub fn normalize(&mut self, source: &str, opts: &CodeOptions) -> Result<&[CodeToken]> {
        self.buf.clear();
        self.tokens.clear();
        self.numbering.clear();
        self.ancestors.clear();
        if self.language != Some(opts.language) {
            self.parser
                .set_language(&opts.language.grammar())
                .map_err(|e| invalid!("cannot load the {} grammar: {e}", opts.language.name()))?;
            self.language = Some(opts.language);
        }
        let start = python_start::cut_start(source, opts.language);
        let tree = python_start::parse_from(&mut self.parser, source, start)
            .ok_or_else(|| invalid!("the {} parser gave up on this input", opts.language.name()))?;
        self.walk_cut_line(source, opts, start);
        self.walk(&tree, source, opts);
        Ok(&self.tokens)
    }

    /// The tokens of the lines a Python parse leaves out (`start`, from [`python_start`]: the tail
    /// of a statement cut off), from a parse of those lines alone: they count as any line's do (a
    /// partial copy of 50 tokens that lost them fell under the code threshold).
    fn walk_cut_line(&mut self, source: &str, opts: &CodeOptions, start: Option<usize>) {
        let Some(end) = start else { return };
        if self.language != Some(opts.language) {
            if self.parser.set_language(&opts.language.grammar()).is_err() {
                return;
            }
            self.language = Some(opts.language);
        }
        if let Some(line) = self.parser.parse(&source[..end], None) {
            self.walk(&line, source, opts);
        }
    }

    /// Like [`Self::normalize`], from a tree already parsed from exactly `source` as
    /// `opts.language` (the answer splitter's, which it parsed to tell code from prose).
    pub fn normalize_parsed(
        &mut self,
        tree: &tree_sitter::Tree,
        source: &str,
        opts: &CodeOptions,
    ) -> &[CodeToken] {
        self.buf.clear();
        self.tokens.clear();
        self.numbering.clear();
        self.ancestors.clear();
        self.walk_cut_line(source, opts, python_start::cut_start(source, opts.language));
        self.walk(tree, source, opts);
        &self.tokens
    }

    /// Calls `emit` with the bytes of every shingle (`ngram` consecutive symbols joined by a space;
    /// one shingle of all symbols when there are fewer).
    pub fn shingles(&mut self, source: &str, opts: &CodeOptions, mut emit: impl FnMut(&[u8])) -> Result<()> {
        self.normalize(source, opts)?;
        let (tokens, buf, n) = (&self.tokens, self.buf.as_bytes(), opts.ngram);
        if tokens.len() >= n {
            for window in tokens.windows(n) {
                emit(&buf[window[0].norm_start..window[n - 1].norm_end]);
            }
        } else if !tokens.is_empty() {
            emit(buf);
        }
        Ok(())
    }

    fn walk(&mut self, tree: &tree_sitter::Tree, source: &str, opts: &CodeOptions) {
        let table = kind_table(opts.language);
        let mut cursor = tree.walk();
        loop {
            let node = cursor.node();
            let kind_id = node.kind_id();
            let category = table.category(kind_id);
            let mut descended = false;
            match category {
                Category::Comment => {}
                Category::StringLiteral | Category::NumberLiteral => {
                    let span = Span::of(&node);
                    self.push_literal(span, category, source, opts, table.name(kind_id));
                }
                Category::Identifier | Category::Member => {
                    let span = Span::of(&node);
                    if !span.is_invented(&node) {
                        let member = category == Category::Member
                            || self.ancestors.last().is_some_and(|&parent| {
                                // Ask the cursor for the field name only under a parent that has members.
                                table.has_member_field(parent)
                                    && table.is_member_position(parent, cursor.field_name())
                            });
                        self.push_identifier(span, member, source, opts);
                    }
                }
                Category::Structure => {
                    // Trying to descend is how a leaf is told apart: cheaper than counting children.
                    descended = cursor.goto_first_child();
                    if descended {
                        self.ancestors.push(kind_id);
                    } else {
                        let span = Span::of(&node);
                        // Zero-width leaves are tokens the parser invented to recover from an error.
                        if span.start < span.end {
                            let named = table.is_named(kind_id).unwrap_or_else(|| node.is_named());
                            self.push_leaf(span, named, table.name(kind_id), source);
                        }
                    }
                }
            }
            if descended {
                continue;
            }
            loop {
                if cursor.goto_next_sibling() {
                    break;
                }
                if !cursor.goto_parent() {
                    return;
                }
                self.ancestors.pop();
            }
        }
    }

    /// Appends a token whose normalized symbol is `prefix` followed by `symbol`.
    fn push(&mut self, kind: TokenKind, prefix: &str, symbol: &str, span: Span) {
        if !self.buf.is_empty() {
            self.buf.push(' ');
        }
        let norm_start = self.buf.len();
        self.buf.push_str(prefix);
        self.buf.push_str(symbol);
        self.tokens.push(CodeToken {
            kind,
            norm_start,
            norm_end: self.buf.len(),
            start: span.start,
            end: span.end,
        });
    }

    fn push_literal(
        &mut self,
        span: Span,
        category: Category,
        source: &str,
        opts: &CodeOptions,
        name: &'static str,
    ) {
        let kind = if category == Category::NumberLiteral { TokenKind::Number } else { TokenKind::String };
        let symbol = match opts.literals {
            LiteralMode::Abstract if kind == TokenKind::Number => "$num",
            LiteralMode::Abstract => "$str",
            LiteralMode::Keep => leaf_text(span, source).unwrap_or(name),
        };
        self.push(kind, "", symbol, span)
    }

    fn push_identifier(&mut self, span: Span, member: bool, source: &str, opts: &CodeOptions) {
        let kind = if member { TokenKind::Member } else { TokenKind::Identifier };
        let name = source.get(span.start..span.end).unwrap_or("");
        match opts.identifiers {
            IdentifierMode::Keep => self.push(kind, "", name, span),
            IdentifierMode::Members if member => self.push(kind, ".", name, span),
            IdentifierMode::Placeholder | IdentifierMode::Members => self.push(kind, "", "$id", span),
            IdentifierMode::Consistent => {
                let number = match self.numbering.get(name) {
                    Some(&number) => number,
                    None => {
                        let next = self.numbering.len() + 1;
                        self.numbering.insert(name.to_owned(), next);
                        next
                    }
                };
                self.push(kind, "$", &number.to_string(), span)
            }
        }
    }

    fn push_leaf(&mut self, span: Span, named: bool, name: &'static str, source: &str) {
        let symbol = if named { leaf_text(span, source).unwrap_or(name) } else { name };
        self.push(TokenKind::Symbol, "", symbol, span)
    }
}

/// A node's byte span, read once from the tree (each read is a call into the C runtime).
#[derive(Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
}

impl Span {
    fn of(node: &tree_sitter::Node<'_>) -> Self {
        Span { start: node.start_byte(), end: node.end_byte() }
    }

    /// Zero-width tokens are the ones the parser invented to recover from an error (MISSING).
    fn is_invented(self, node: &tree_sitter::Node<'_>) -> bool {
        self.start == self.end && node.is_missing()
    }
}

/// A leaf's source text, if it is short and has no white space (else the caller uses its kind).
fn leaf_text(span: Span, source: &str) -> Option<&str> {
    let text = source.get(span.start..span.end)?;
    (text.len() <= MAX_LEAF_TEXT && !text.bytes().any(|b| b.is_ascii_whitespace())).then_some(text)
}

#[cfg(test)]
mod tests;
