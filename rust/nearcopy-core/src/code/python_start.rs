//! Where a parse of Python from an answer starts. A completion that goes on inside a function, or
//! part of a function cut out of a file, often begins with the rest of a line cut off before it
//! (`e(), "module")`, `est_local(self):`) and then the body's lines, indented. Python's grammar
//! takes a module that starts indented, or goes back out past its first line, in its stride, but
//! not a bracket closed that was never opened, nor a header's tail: it reads the line as an error
//! and recovers over everything after it. 2 KB of a test method cut so parsed with 99% of its bytes
//! in errors, was read as prose (and as Python from that broken tree), and its parse was the
//! slowest part of the slowest checks.
//!
//! Such a first line is left out of the parse (tree-sitter's included ranges: every node keeps its
//! byte offsets in the text) and parsed on its own, its tokens put before the others'
//! (`CodeNormalizer::walk_cut_line`): lines that close a bracket they never opened (within the
//! first few: the rest of a signature or a call cut off), or a first line that ends a header (`:`,
//! the next line deeper) without starting with the keyword a header starts with.

use super::languages::Language;
use tree_sitter::{Parser, Point, Range, Tree};

/// The indentation of `line`: its leading spaces and tabs.
fn indent(line: &[u8]) -> usize {
    line.iter().take_while(|&&b| b == b' ' || b == b'\t').count()
}

/// The words a line that ends in `:` and opens a block starts with.
const BLOCK_KEYWORDS: &[&[u8]] = &[
    b"def", b"class", b"if", b"elif", b"else", b"for", b"while", b"with", b"try", b"except", b"finally",
    b"async", b"match", b"case", b"lambda",
];

/// How far into a text a bracket closed that it never opened still marks the tail of a statement
/// cut off (the rest of a signature or a call, a line or several).
const MAX_CUT_LINES: usize = 8;

/// Brackets `line` opens minus those it closes, outside its strings and comment (a string cut
/// open is read as closed at the line's end).
fn bracket_balance(line: &[u8]) -> isize {
    let (mut balance, mut quote, mut escaped) = (0isize, None, false);
    for &b in line {
        match (quote, b) {
            (Some(_), b'\\') if !escaped => {
                escaped = true;
                continue;
            }
            (Some(q), _) if b == q && !escaped => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(b),
            (None, b'#') => break,
            (None, b'(' | b'[' | b'{') => balance += 1,
            (None, b')' | b']' | b'}') => balance -= 1,
            (None, _) => {}
        }
        escaped = false;
    }
    balance
}

/// Where a Python parse of `source` should start: after the tail of a statement cut off, when it
/// begins with one (see the module's comment), else None (all of it).
pub fn python_start(source: &str) -> Option<usize> {
    let bytes = source.as_bytes();
    let mut lines = bytes.split_inclusive(|&b| b == b'\n');
    let first = lines.next()?;
    // A docstring (`"""Summary:` and its paragraph below) is what the rest is in; the last line
    // has nothing after it to read.
    let unsure =
        |line: &[u8]| line.windows(3).any(|w| w == b"\"\"\"" || w == b"\'\'\'") || !line.ends_with(b"\n");
    let (mut depth, mut end) = (0isize, 0usize);
    for line in std::iter::once(first).chain(lines.clone()).take(MAX_CUT_LINES) {
        if unsure(line) {
            break;
        }
        end += line.len();
        depth += bracket_balance(line);
        if depth < 0 {
            return Some(end);
        }
    }
    if unsure(first) {
        return None;
    }
    let next = lines.find(|l| !l.trim_ascii().is_empty())?;
    let trimmed = first.trim_ascii();
    let word = trimmed.split(|b| !(b.is_ascii_alphanumeric() || *b == b'_')).next().unwrap_or_default();
    // A header's tail: only a line of code alone (no string, no comment) is taken for one.
    let plain = !trimmed.iter().any(|b| matches!(b, b'"' | b'\'' | b'#'));
    let header_tail =
        plain && trimmed.ends_with(b":") && indent(next) > indent(first) && !BLOCK_KEYWORDS.contains(&word);
    header_tail.then_some(first.len())
}

/// Where a parse of `source` as `language` starts ([`python_start`] for Python, else None).
pub fn cut_start(source: &str, language: Language) -> Option<usize> {
    if language == Language::Python {
        python_start(source)
    } else {
        None
    }
}

/// `source` parsed as `language` by `parser` (its language already set), a Python parse from
/// [`python_start`]. The parser reads the whole of its next input again.
pub fn parse_code(parser: &mut Parser, source: &str, language: Language) -> Option<Tree> {
    parse_from(parser, source, cut_start(source, language))
}

/// `source` parsed by `parser` from byte `start` on ([`cut_start`]; None: all of it).
pub fn parse_from(parser: &mut Parser, source: &str, start: Option<usize>) -> Option<Tree> {
    let Some(start) = start else { return parser.parse(source, None) };
    let last_line = source.rfind('\n').map_or(0, |at| at + 1);
    let range = Range {
        start_byte: start,
        end_byte: source.len(),
        start_point: Point::new(source[..start].matches('\n').count(), 0),
        end_point: Point::new(source.matches('\n').count(), source.len() - last_line),
    };
    if parser.set_included_ranges(&[range]).is_err() {
        return parser.parse(source, None);
    }
    let tree = parser.parse(source, None);
    // No ranges is the whole input again; that cannot fail.
    let _ = parser.set_included_ranges(&[]);
    tree
}

#[cfg(test)]
mod tests;
