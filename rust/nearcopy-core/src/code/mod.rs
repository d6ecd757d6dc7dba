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

mod batch;
mod classify;
mod languages;

pub use batch::{code_token_batch, symbol_id, CodeTokenBatch};
pub use languages::Language;

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
    numbering: HashMap<Vec<u8>, usize>,
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
        let tree = self
            .parser
            .parse(source, None)
            .ok_or_else(|| invalid!("the {} parser gave up on this input", opts.language.name()))?;
        self.walk(&tree, source.as_bytes(), opts);
        Ok(&self.tokens)
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

    fn walk(&mut self, tree: &tree_sitter::Tree, source: &[u8], opts: &CodeOptions) {
        let table = kind_table(opts.language);
        let mut cursor = tree.walk();
        loop {
            let node = cursor.node();
            let category = table.category(node.kind_id());
            let mut descend = false;
            match category {
                Category::Comment => {}
                Category::StringLiteral | Category::NumberLiteral => {
                    self.push_literal(&node, category, source, opts)
                }
                Category::Identifier | Category::Member => {
                    let member = category == Category::Member
                        || self
                            .ancestors
                            .last()
                            .is_some_and(|&parent| table.is_member_position(parent, cursor.field_name()));
                    self.push_identifier(&node, member, source, opts);
                }
                Category::Structure => {
                    if node.child_count() == 0 {
                        self.push_leaf(&node, source);
                    } else {
                        descend = true;
                    }
                }
            }
            if descend && cursor.goto_first_child() {
                self.ancestors.push(node.kind_id());
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

    fn push(&mut self, kind: TokenKind, symbol: &[u8], node: &tree_sitter::Node<'_>) {
        if !self.buf.is_empty() {
            self.buf.push(' ');
        }
        let norm_start = self.buf.len();
        self.buf.push_str(&String::from_utf8_lossy(symbol));
        self.tokens.push(CodeToken {
            kind,
            norm_start,
            norm_end: self.buf.len(),
            start: node.start_byte(),
            end: node.end_byte(),
        });
    }

    fn push_literal(
        &mut self,
        node: &tree_sitter::Node<'_>,
        category: Category,
        source: &[u8],
        opts: &CodeOptions,
    ) {
        let kind = if category == Category::NumberLiteral { TokenKind::Number } else { TokenKind::String };
        match opts.literals {
            LiteralMode::Abstract => {
                self.push(kind, if kind == TokenKind::Number { b"$num" } else { b"$str" }, node)
            }
            LiteralMode::Keep => {
                let text = leaf_text(node, source).unwrap_or(node.kind().as_bytes());
                self.push(kind, text, node)
            }
        }
    }

    fn push_identifier(
        &mut self,
        node: &tree_sitter::Node<'_>,
        member: bool,
        source: &[u8],
        opts: &CodeOptions,
    ) {
        if node.is_missing() {
            return;
        }
        let kind = if member { TokenKind::Member } else { TokenKind::Identifier };
        let name = &source[node.start_byte()..node.end_byte()];
        match opts.identifiers {
            IdentifierMode::Keep => self.push(kind, name, node),
            IdentifierMode::Placeholder => self.push(kind, b"$id", node),
            IdentifierMode::Members if member => {
                let symbol = [b".", name].concat();
                self.push(kind, &symbol, node)
            }
            IdentifierMode::Members => self.push(kind, b"$id", node),
            IdentifierMode::Consistent => {
                let next = self.numbering.len() + 1;
                let number = *self.numbering.entry(name.to_vec()).or_insert(next);
                let symbol = format!("${number}");
                self.push(kind, symbol.as_bytes(), node)
            }
        }
    }

    fn push_leaf(&mut self, node: &tree_sitter::Node<'_>, source: &[u8]) {
        if node.is_missing() || node.start_byte() == node.end_byte() {
            return; // zero-width tokens the parser invented to recover from an error
        }
        let symbol = if node.is_named() {
            leaf_text(node, source).unwrap_or(node.kind().as_bytes())
        } else {
            node.kind().as_bytes()
        };
        self.push(TokenKind::Symbol, symbol, node)
    }
}

/// A leaf's source text, if it is short and has no white space (else the caller uses its kind).
fn leaf_text<'s>(node: &tree_sitter::Node<'_>, source: &'s [u8]) -> Option<&'s [u8]> {
    let text = source.get(node.start_byte()..node.end_byte())?;
    (text.len() <= MAX_LEAF_TEXT && !text.iter().any(u8::is_ascii_whitespace)).then_some(text)
}

#[cfg(test)]
mod tests;
