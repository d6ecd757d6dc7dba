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
//! (`CodeNormalizer::walk_cut_line`): one that closes more brackets than it opens, or one that ends
//! a header (`:`, the next line deeper) without starting with the keyword a header starts with.

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

/// Where a Python parse of `source` should start: after its first line when that line is the
/// tail of one cut off (see the module's comment), else None (all of it).
pub fn python_start(source: &str) -> Option<usize> {
    let bytes = source.as_bytes();
    let first_end = memchr::memchr(b'\n', bytes)? + 1;
    let first = &bytes[..first_end];
    // A docstring's first line (`"""Summary:` and its paragraph below) opens what the rest is in.
    if first.windows(3).any(|w| w == b"\"\"\"" || w == b"\'\'\'") {
        return None;
    }
    // Brackets outside the line's strings (a string cut open is read as closed at the line's end).
    let (mut opened, mut closed, mut quote) = (0usize, 0usize, None);
    let mut escaped = false;
    for &b in first {
        match (quote, b) {
            (Some(_), b'\\') if !escaped => {
                escaped = true;
                continue;
            }
            (Some(q), _) if b == q && !escaped => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(b),
            (None, b'#') => break,
            (None, b'(' | b'[' | b'{') => opened += 1,
            (None, b')' | b']' | b'}') => closed += 1,
            (None, _) => {}
        }
        escaped = false;
    }
    let next = bytes[first_end..].split(|&b| b == b'\n').find(|l| !l.trim_ascii().is_empty())?;
    let trimmed = first.trim_ascii();
    let word = trimmed.split(|b| !(b.is_ascii_alphanumeric() || *b == b'_')).next().unwrap_or_default();
    // A header's tail: only a line of code alone (no string, no comment) is taken for one.
    let plain = !trimmed.iter().any(|b| matches!(b, b'"' | b'\'' | b'#'));
    let header_tail =
        plain && trimmed.ends_with(b":") && indent(next) > indent(first) && !BLOCK_KEYWORDS.contains(&word);
    (closed > opened || header_tail).then_some(first_end)
}

/// `source` parsed as `language` by `parser` (its language already set), a Python parse from
/// [`python_start`]. The parser reads the whole of its next input again.
pub fn parse_code(parser: &mut Parser, source: &str, language: Language) -> Option<Tree> {
    let start = if language == Language::Python { python_start(source) } else { None };
    let Some(start) = start else { return parser.parse(source, None) };
    let last_line = source.rfind('\n').map_or(0, |at| at + 1);
    let range = Range {
        start_byte: start,
        end_byte: source.len(),
        start_point: Point::new(1, 0),
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
