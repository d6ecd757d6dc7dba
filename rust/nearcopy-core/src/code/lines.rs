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

/// Words that start a line of code in some language (followed by a space, a bracket or a colon).
#[rustfmt::skip]
const CODE_STARTS: &[&str] = &[
    "def", "class", "import", "from", "return", "if", "elif", "else", "for", "while", "try", "except",
    "finally", "with", "raise", "yield", "assert", "pass", "break", "continue", "lambda", "async", "await",
    "function", "const", "let", "var", "export", "module", "require", "public", "private", "protected",
    "static", "final", "abstract", "void", "int", "char", "long", "short", "unsigned", "signed", "double",
    "float", "bool", "boolean", "struct", "enum", "union", "typedef", "extern", "inline", "switch", "case",
    "default", "do", "goto", "throw", "throws", "catch", "new", "delete", "template", "typename",
    "namespace", "using", "virtual", "override", "func", "package", "go", "defer", "select", "chan",
    "type", "interface", "fn", "impl", "pub", "use", "mod", "match", "loop", "trait", "where", "unsafe",
    "end", "begin", "unless", "until", "elsif", "puts", "require_relative", "echo", "print", "printf",
    "println", "val", "auto", "sizeof", "nonlocal", "global", "del",
];

/// Lines made only of these (after trimming) are code: block ends and bare keywords.
#[rustfmt::skip]
const CODE_LINES: &[&str] = &[
    "}", "};", "},", ")", ");", "),", "]", "];", "],", "})", "});", "end", "else", "else:", "try:",
    "finally:", "pass", "break", "continue", "return", "return;", "break;", "continue;", "do", "{",
    "default:", "end)", "end,", "})();", "*/",
];

/// Preprocessor lines, which start with `#` like a comment but are code.
#[rustfmt::skip]
const PREPROCESSOR: &[&str] = &[
    "#include", "#define", "#if", "#ifdef", "#ifndef", "#endif", "#else", "#elif", "#pragma", "#undef",
    "#import", "#error", "#line", "#[", "#![", "#!",
];

/// Short words that make a line read as English prose.
#[rustfmt::skip]
const FUNCTION_WORDS: &[&str] = &[
    "the", "a", "an", "and", "of", "to", "is", "are", "that", "this", "you", "it", "with", "in", "for",
    "be", "can", "will", "we", "your", "which", "or", "as", "on", "by", "here", "how", "what", "when",
];

fn indent_of(line: &str) -> usize {
    line.chars().take_while(|c| c.is_whitespace()).map(|c| if c == '\t' { 4 } else { 1 }).sum()
}

/// The first word of a trimmed line, if the character after it can follow a keyword.
fn starts_with_keyword(trimmed: &str) -> bool {
    let word_end = trimmed.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(trimmed.len());
    let (word, rest) = trimmed.split_at(word_end);
    let follows = rest.chars().next().is_none_or(|c| matches!(c, ' ' | '(' | ':' | '{' | '<' | ';' | '['));
    follows && CODE_STARTS.contains(&word)
}

/// The share of non-space characters that are neither letters nor digits.
fn symbol_share(trimmed: &str) -> f64 {
    let (mut symbols, mut total) = (0usize, 0usize);
    for c in trimmed.chars().filter(|c| !c.is_whitespace()) {
        total += 1;
        if !c.is_alphanumeric() {
            symbols += 1;
        }
    }
    symbols as f64 / total.max(1) as f64
}

/// `name(`: a call or a definition (prose puts a space before a parenthesis).
fn has_call(trimmed: &str) -> bool {
    trimmed.as_bytes().windows(2).any(|w| (w[0].is_ascii_alphanumeric() || w[0] == b'_') && w[1] == b'(')
}

/// An identifier joined from words: `snake_case`, `camelCase`, `a.b`.
fn has_compound_name(trimmed: &str) -> bool {
    trimmed.as_bytes().windows(3).any(|w| {
        (w[0].is_ascii_alphanumeric() && (w[1] == b'_' || w[1] == b'.') && w[2].is_ascii_alphabetic())
            || (w[0].is_ascii_lowercase() && w[1].is_ascii_uppercase() && w[2].is_ascii_lowercase())
    })
}

#[rustfmt::skip]
const OPERATORS: &[&str] = &[
    " = ", "==", "!=", "+=", "-=", ":=", "=>", "->", "&&", "||", "::", "<<", ">>", "++", "*=", "|=",
];

#[rustfmt::skip]
const ARITHMETIC: &[&str] = &[
    " + ", " - ", " * ", " / ", " % ", " < ", " > ", " <= ", " >= ",
];

/// (code points, prose points) of a line outside comments and strings.
fn score(trimmed: &str) -> (u32, u32) {
    let mut code = 0u32;
    let mut prose = 0u32;
    if CODE_LINES.contains(&trimmed) {
        return (5, 0);
    }
    let last = trimmed.chars().last().unwrap_or(' ');
    let keyword = starts_with_keyword(trimmed);
    match last {
        ';' | '{' | '}' => code += 3,
        '(' | '[' | ',' | '\\' | '=' | '&' | '|' | '+' => code += 2,
        ')' | ']' => code += 1,
        ':' if keyword || trimmed.ends_with("):") => code += 3,
        _ => {}
    }
    if keyword {
        code += 2;
        // `import os`, `return x + 1`, `pass`: a keyword and a few words is a statement.
        let sentence_end = matches!(last, '.' | '!' | '?');
        if trimmed.split_whitespace().count() <= 4 && !sentence_end {
            code += 1;
        }
    }
    if ARITHMETIC.iter().any(|op| trimmed.contains(op)) {
        code += 1;
    }
    if trimmed.starts_with('@') && trimmed[1..].starts_with(|c: char| c.is_ascii_alphabetic()) {
        code += 3; // a decorator or annotation
    }
    code += 2 * OPERATORS.iter().filter(|op| trimmed.contains(*op)).count().min(2) as u32;
    if has_call(trimmed) {
        code += 2;
    }
    if has_compound_name(trimmed) {
        code += 1;
    }
    let symbols = symbol_share(trimmed);
    if symbols >= 0.2 {
        code += 2;
    } else if symbols >= 0.12 {
        code += 1;
    }

    let words: Vec<&str> = trimmed
        .split_whitespace()
        .filter(|w| w.chars().filter(|c| c.is_alphabetic()).count() >= 2 && w.chars().all(is_word_char))
        .collect();
    if words.len() >= 4 && symbols < 0.08 {
        prose += 3 + u32::from(words.len() >= 8);
    }
    // A long line that is mostly plain words is a paragraph on one line, whatever symbols it also
    // has (`=head2`, `C<...>` in pod, a formula): code puts a few words on a line, not dozens.
    let tokens = trimmed.split_whitespace().count();
    if words.len() >= 20 && 2 * words.len() >= tokens {
        prose += 8;
    }
    if words.len() >= 3 && matches!(last, '.' | '!' | '?') && !trimmed.ends_with("...") {
        prose += 2;
    }
    let capitalized = trimmed.chars().next().is_some_and(char::is_uppercase);
    if last == ':' && !keyword && capitalized && trimmed.split_whitespace().count() <= 10 {
        prose += 3; // "Here you go:", "Usage:", "The output:"
    }
    if capitalized && words.len() >= 3 {
        prose += 1;
    }
    if is_list_item(trimmed) || trimmed.starts_with("> ") {
        prose += 3;
    }
    if trimmed.matches('`').count() >= 2 {
        prose += 2; // markdown inline code
    }
    let function_words = trimmed
        .split_whitespace()
        .filter(|w| {
            FUNCTION_WORDS.contains(&w.trim_matches(|c: char| !c.is_alphabetic()).to_lowercase().as_str())
        })
        .count();
    if function_words >= 2 {
        prose += 2;
    }
    (code, prose)
}

fn is_word_char(c: char) -> bool {
    c.is_alphabetic() || matches!(c, '\'' | '-' | ',' | '.' | '!' | '?' | ';' | ':' | '"')
}

/// `- item`, `* item`, `+ item`, `1. item`, `2) item`.
fn is_list_item(trimmed: &str) -> bool {
    let bullet = ["- ", "* ", "+ "].iter().any(|b| trimmed.starts_with(b));
    let digits = trimmed.chars().take_while(char::is_ascii_digit).count();
    let numbered =
        digits > 0 && digits <= 3 && matches!(&trimmed[digits..].get(..2), Some(". ") | Some(") "));
    (bullet || numbered) && trimmed.split_whitespace().count() >= 3
}

/// A line of HTML or XML (a tag from start to end), roff (a request such as `.SH`, a comment
/// `.\"`, font escapes `\fB`) or TeX (`\begin{...}`): markup, which no grammar of nearcopy parses.
fn is_markup(trimmed: &str) -> bool {
    let bytes = trimmed.as_bytes();
    let tag = bytes.len() >= 3
        && bytes[0] == b'<'
        && (bytes[1].is_ascii_alphabetic() || bytes[1] == b'/' || bytes[1] == b'!')
        && bytes[bytes.len() - 1] == b'>';
    let roff_request = bytes.len() >= 2
        && bytes[0] == b'.'
        && (bytes[1].is_ascii_alphabetic() || bytes[1] == b'\\')
        && bytes.iter().skip(1).take_while(|b| !b.is_ascii_whitespace()).count() <= 3;
    let escapes =
        trimmed.matches("\\f").count() + trimmed.matches("\\(").count() + trimmed.matches("\\-").count();
    let tex =
        trimmed.starts_with("\\begin{") || trimmed.starts_with("\\end{") || trimmed.starts_with("\\section");
    tag || roff_request || escapes >= 2 || tex
}

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
                // apostrophe, a char literal cut off) rather than opening state across lines.
                match rest[1..].iter().position(|&b| b == quote) {
                    Some(at) => i += at + 2,
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
    for piece in text[start..end].split_inclusive('\n') {
        let line = piece.trim_end_matches(['\n', '\r']);
        let trimmed = line.trim();
        let inside = state.open.is_some() || state.depth > 0;
        let indent = indent_of(line);
        let (kind, strong_prose) = if trimmed.is_empty() {
            (LineKind::Blank, false)
        } else if state.open.is_some() {
            track(line, &mut state);
            (LineKind::Neutral, false)
        } else {
            classify(trimmed, line, &mut state)
        };
        out.push(ScannedLine {
            start: offset,
            end: offset + piece.len(),
            kind,
            indent,
            inside,
            strong_prose,
        });
        offset += piece.len();
    }
    (out, state.open)
}

fn classify(trimmed: &str, line: &str, state: &mut State) -> (LineKind, bool) {
    if PREPROCESSOR.iter().any(|p| trimmed.starts_with(p)) {
        return (LineKind::Code, false);
    }
    if is_markup(trimmed) {
        // Symbols make markup read as code; none of the grammars reads it, and parsing it is slow.
        return (LineKind::Prose, false);
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
                LineKind::Neutral => last = k,
                LineKind::Blank => {}
                LineKind::Prose => {
                    let held = (!line.strong_prose && (line.inside || sentences_only)) || line.indent > base;
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
