//! Where is the code in unfenced text? A lexical pass over lines, no parsing.
//!
//! Every line is scored on its own (code-like endings, operators, calls, keywords at the start
//! against word count, sentence punctuation, list markers), with a little state carried between
//! lines: inside a block comment or a triple-quoted string, and the bracket depth of the code so far.
//! Comments, docstrings, decorators and blank lines are *neutral*: they belong to the code around
//! them. A code region then runs from its first code line (taking the comments and docstrings just
//! above it, such as a licence header or a doc comment) to its last, and ends only at a prose line
//! that stands outside the code: not deeper indented than the code, not inside a bracket, string or
//! comment. So a whole function with docstrings, doc comments and blank lines is one region, while
//! "Here you go:" before it or a sentence after it is not part of it.

/// What a line looks like on its own (and with the state of the lines before it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    Blank,
    /// Comments, docstrings, markdown headings, lines neither side claims: they join the code
    /// around them, and are prose when no code is around.
    Neutral,
    Code,
    Prose,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScannedLine {
    /// Byte span of the line in the text, newline included.
    pub start: usize,
    pub end: usize,
    pub kind: LineKind,
    /// Leading spaces (a tab counts four).
    pub indent: usize,
    /// The line starts inside an open bracket, block comment or multi-line string.
    pub inside: bool,
    /// A line that can only be prose (a long sentence): ends a region even inside a bracket (left
    /// open by code cut off before it).
    pub strong_prose: bool,
    /// The line is part of a block comment or multi-line string that the text never closes (from
    /// the line that opens it on).
    pub unclosed: bool,
}

/// Stretches of lines that hold code, as byte spans, with how many code and prose lines they hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    pub start: usize,
    pub end: usize,
    pub code_lines: usize,
    pub prose_lines: usize,
}

#[derive(Default)]
struct State {
    /// The closing delimiter of an open multi-line string or block comment.
    open: Option<&'static str>,
    depth: usize,
}

mod score;
use score::{indent_of, is_list_item, is_markup, score, PREPROCESSOR};

/// Updates the bracket depth and the open string or comment from a line of code (strings closed on
/// the line and line comments skipped).
fn track(line: &str, state: &mut State) {
    // Bytes, not chars: every delimiter is ASCII, and a byte index may land inside a character.
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if let Some(close) = state.open {
            match find(&bytes[i..], close.as_bytes()) {
                Some(at) => {
                    i += at + close.len();
                    state.open = None;
                    continue;
                }
                None => return,
            }
        }
        let rest = &bytes[i..];
        if rest.starts_with(br#"""""#) || rest.starts_with(b"'''") {
            state.open = Some(if rest[0] == b'"' { r#"""""# } else { "'''" });
            i += 3;
            continue;
        }
        if rest.starts_with(b"/*") {
            state.open = Some("*/");
            i += 2;
            continue;
        }
        if rest.starts_with(b"//") || (rest[0] == b'#' && !rest.starts_with(b"#{")) {
            return; // a line comment (or a preprocessor line: no brackets worth counting)
        }
        match rest[0] {
            quote @ (b'"' | b'\'' | b'`') => {
                // A string closed on this line is skipped; an unclosed one ends the scan (an
                // apostrophe, a char literal cut off) rather than opening state across lines, but
                // for a backtick: on a line of code that is a Go raw string or a JavaScript template
                // literal, whose lines (often prose: a doc, a query) belong to the code around them.
                match rest[1..].iter().position(|&b| b == quote) {
                    Some(at) => i += at + 2,
                    None if quote == b'`' => {
                        state.open = Some("`");
                        return;
                    }
                    None => return,
                }
                continue;
            }
            b'(' | b'[' | b'{' => state.depth += 1,
            b')' | b']' | b'}' => state.depth = state.depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Classifies every line of `text[start..end]`.
///
/// The stretch may begin inside a docstring or a block comment: a streamed answer is checked in
/// windows, and a completion continues a prompt that opened one. Then the first delimiter is a
/// closing one, and everything before it is comment or string: a `*/` before any `/*` says so at
/// once; a triple quote left open at the end says so when reading from inside the string finds more
/// code than reading from outside.
///
/// When the stretch begins inside a comment or string, also returns the index of the first line
/// after the one that closes it (the lines before are that comment's or string's tail), else 0.
pub fn scan_noting_start(text: &str, start: usize, end: usize) -> (Vec<ScannedLine>, usize) {
    let stretch = &text[start..end];
    let comment_first =
        stretch.find("*/").is_some_and(|close| stretch.find("/*").is_none_or(|open| close < open));
    let (lines, open) = scan_from(text, start, end, if comment_first { Some("*/") } else { None });
    let after = |lines: &[ScannedLine], close: &str| {
        let at = start + stretch.find(close).map_or(stretch.len(), |at| at + close.len() - 1);
        lines.iter().position(|l| l.end > at).map_or(lines.len(), |i| i + 1)
    };
    if comment_first {
        let from = after(&lines, "*/");
        return (lines, from);
    }
    let Some(quote) = open.filter(|q| q.starts_with(['"', '\''])) else { return (lines, 0) };
    if stretch.matches(quote).count() % 2 == 0 {
        return (lines, 0);
    }
    // Read both ways, the one that finds more code wins: a docstring cut off at the end has its
    // function's code before it; one the stretch began inside has the function's code after it
    // (and its own doctests and signatures before it, which read like code too).
    let first = stretch.find(quote).map_or(end, |at| start + at);
    let doctest = |l: &ScannedLine| {
        let line = text[l.start..l.end].trim_start();
        line.starts_with(">>>") || line.starts_with("...")
    };
    let code = |lines: &[ScannedLine], before: bool| {
        let counted =
            |l: &&ScannedLine| l.kind == LineKind::Code && (l.start < first) == before && !doctest(l);
        lines.iter().filter(counted).count()
    };
    let inside = scan_from(text, start, end, Some(quote)).0;
    if code(&inside, false) <= code(&lines, true) {
        return (lines, 0);
    }
    let from = after(&inside, quote);
    (inside, from)
}

/// [`scan_noting_start`] from a given open string or comment; also returns what is open at the end.
fn scan_from(
    text: &str,
    start: usize,
    end: usize,
    open: Option<&'static str>,
) -> (Vec<ScannedLine>, Option<&'static str>) {
    let mut state = State { open, depth: 0 };
    let mut out = Vec::new();
    let mut offset = start;
    // The line that opened the comment or string open now, if a line of the stretch opened it.
    let mut opened_at = None;
    for piece in text[start..end].split_inclusive('\n') {
        let line = piece.trim_end_matches(['\n', '\r']);
        let trimmed = line.trim();
        let was_open = state.open.is_some();
        let inside = was_open || state.depth > 0;
        let indent = indent_of(line);
        let (kind, strong_prose) = if trimmed.is_empty() {
            (LineKind::Blank, false)
        } else if state.open.is_some() {
            track(line, &mut state);
            (LineKind::Neutral, false)
        } else {
            classify(trimmed, line, &mut state)
        };
        match state.open {
            None => opened_at = None,
            Some(_) if !was_open => opened_at = Some(out.len()),
            Some(_) => {}
        }
        out.push(ScannedLine {
            start: offset,
            end: offset + piece.len(),
            kind,
            indent,
            inside,
            strong_prose,
            unclosed: false,
        });
        offset += piece.len();
    }
    // A comment or string cut off by the end of the text: no parse can close it, and error recovery
    // over it was the slowest part of some checks (a C header cut inside its doc comment: 2 ms).
    if let Some(first) = opened_at {
        out[first..].iter_mut().for_each(|l| l.unclosed = true);
    }
    (out, state.open)
}

fn classify(trimmed: &str, line: &str, state: &mut State) -> (LineKind, bool) {
    if PREPROCESSOR.iter().any(|p| trimmed.starts_with(p)) {
        return (LineKind::Code, false);
    }
    if is_markup(trimmed) {
        // Symbols make markup read as code; none of the grammars reads it, and parsing it is slow.
        // Roff, TeX and rules also end a region left open (a man page's passage after code cut
        // inside a function: 1.7 KB parsed as C, all of it in errors, cost 3 ms); a tag does not,
        // as JSX writes tags inside its parentheses.
        return (LineKind::Prose, !trimmed.starts_with('<'));
    }
    let comment = trimmed.starts_with("//")
        || trimmed.starts_with("/*")
        || trimmed.starts_with("*/")
        || trimmed == "*"
        || trimmed.starts_with("* ") && state.depth == 0 && !is_list_item(trimmed)
        || trimmed.starts_with('#')
        || trimmed.starts_with("<!--");
    let docstring = ["\"\"\"", "'''", "r\"\"\"", "r'''", "b\"\"\"", "f\"\"\"", "u\"\"\""]
        .iter()
        .any(|q| trimmed.starts_with(q));
    if comment || docstring {
        if trimmed.starts_with("/*") || docstring {
            track(line, state);
        }
        return (LineKind::Neutral, false);
    }
    let (code, prose) = score(trimmed);
    let kind = if code >= 3 && code > prose {
        LineKind::Code
    } else if prose >= 3 && prose > code {
        LineKind::Prose
    } else {
        LineKind::Neutral
    };
    if kind != LineKind::Prose {
        track(line, state);
    }
    (kind, kind == LineKind::Prose && prose >= 6 && code <= 1)
}

/// The candidate code regions among scanned lines, in order.
///
/// Lines before `from` are the tail of a comment or string the text began inside: no region
/// reaches back into them. With `sentences_only` (the caller says the text is code), only a line
/// that can only be prose ends a region.
pub fn regions(lines: &[ScannedLine], from: usize, sentences_only: bool) -> Vec<Region> {
    let mut out = Vec::new();
    let mut floor = from; // lines before this belong to an earlier region, or to no region
    let mut i = from;
    while i < lines.len() {
        if lines[i].kind != LineKind::Code {
            i += 1;
            continue;
        }
        // Comments, docstrings and attributes right above the first code line are part of it.
        let mut first = i;
        let mut j = i;
        while j > floor && matches!(lines[j - 1].kind, LineKind::Neutral | LineKind::Blank) {
            j -= 1;
            if lines[j].kind == LineKind::Neutral {
                first = j;
            }
        }
        let mut base = lines[i].indent;
        let (mut last, mut code_lines, mut prose_lines) = (i, 1, 0);
        let mut k = i + 1;
        while k < lines.len() {
            let line = &lines[k];
            match line.kind {
                LineKind::Code => {
                    base = base.min(line.indent);
                    code_lines += 1;
                    last = k;
                }
                // The tail of a comment or string never closed stays out: it holds no code.
                LineKind::Neutral if line.unclosed => {}
                LineKind::Neutral => last = k,
                LineKind::Blank => {}
                LineKind::Prose => {
                    // A sentence ends the region wherever it stands: indented deeper than code
                    // cut mid-line (`sort -abst)`), a changelog's entries were held in it.
                    let held = !line.strong_prose && (line.inside || sentences_only || line.indent > base);
                    if !held {
                        break;
                    }
                    prose_lines += 1;
                    last = k;
                }
            }
            k += 1;
        }
        out.push(Region { start: lines[first].start, end: lines[last].end, code_lines, prose_lines });
        floor = last + 1;
        i = last + 1;
    }
    out
}

/// The code lines among `lines` within `start..end`, joined, up to about `limit` bytes: the text to
/// rank languages on (a comment's words and markup, such as Javadoc's `<code>`, would mislead it).
/// Trailing comments are left out too (`'!'  # 0x21 -> EXCLAMATION MARK` is Python, whatever `->`
/// in its comment says).
pub fn code_text(text: &str, lines: &[ScannedLine], start: usize, end: usize, limit: usize) -> String {
    let mut out = String::new();
    for line in lines.iter().filter(|l| l.kind == LineKind::Code && l.start >= start && l.end <= end) {
        if out.len() >= limit {
            break;
        }
        out.push_str(without_trailing_comment(&text[line.start..line.end]));
        out.push('\n');
    }
    out
}

/// Whether every non-blank line of `block` is a comment: `//`, `#` (not a preprocessor line), `<!--`,
/// or within a `/* ... */` block. Such a block (a licence header, a doc comment shown alone) holds no
/// code tokens in its own language (comments are dropped), and a grammar that does not read it as a
/// comment spends milliseconds in error recovery on its sentences (a 1.2 KB licence header read as
/// Python: 1.5 ms, 93% of it in errors): it is read as prose, without a parse.
pub fn only_comments(block: &str) -> bool {
    let mut in_block = false;
    let mut any = false;
    for line in block.lines().map(str::trim).filter(|l| !l.is_empty()) {
        any = true;
        let rest = if in_block {
            line
        } else if let Some(rest) = line.strip_prefix("/*") {
            rest
        } else {
            let hash_comment = line.starts_with('#') && !PREPROCESSOR.iter().any(|p| line.starts_with(p));
            let html_comment = line.starts_with("<!--") && line.ends_with("-->");
            if line.starts_with("//") || hash_comment || html_comment {
                continue;
            }
            return false;
        };
        // Within a block comment: it goes on, or closes with nothing after it (code after `*/` is code).
        match rest.find("*/") {
            None => in_block = true,
            Some(at) if rest[at + 2..].trim().is_empty() => in_block = false,
            Some(_) => return false,
        }
    }
    any
}

/// A line of code up to a `#` or `//` comment that follows code (outside quotes; a `#` must
/// follow white space, as `a[#]` or `#include` are not comments).
fn without_trailing_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    let mut quote = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(_) if b == b'\\' => i += 1,
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if matches!(b, b'"' | b'\'' | b'`') => quote = Some(b),
            None if b == b'#' && i > 0 && bytes[i - 1].is_ascii_whitespace() => return &line[..i],
            None if b == b'/' && bytes.get(i + 1) == Some(&b'/') && i > 0 && bytes[i - 1] != b':' => {
                return &line[..i]; // (not the `//` of a URL, `http://`)
            }
            None => {}
        }
        i += 1;
    }
    line.trim_end_matches(['\n', '\r'])
}

#[cfg(test)]
mod tests;
