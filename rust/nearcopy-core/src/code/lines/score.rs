//! How code-like a single line looks: keywords, endings, operators and calls against words and
//! sentence punctuation, and the markers (list items, markup) that make a line prose whatever
//! its symbols. No state: the scanner in `lines` carries that.

/// Words that start a line of code in some language (followed by a space, a bracket or a colon).
#[rustfmt::skip]
pub(super) const CODE_STARTS: &[&str] = &[
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
pub(super) const CODE_LINES: &[&str] = &[
    "}", "};", "},", ")", ");", "),", "]", "];", "],", "})", "});", "end", "else", "else:", "try:",
    "finally:", "pass", "break", "continue", "return", "return;", "break;", "continue;", "do", "{",
    "default:", "end)", "end,", "})();", "*/",
];

/// Preprocessor lines, which start with `#` like a comment but are code.
#[rustfmt::skip]
pub(super) const PREPROCESSOR: &[&str] = &[
    "#include", "#define", "#if", "#ifdef", "#ifndef", "#endif", "#else", "#elif", "#pragma", "#undef",
    "#import", "#error", "#line", "#[", "#![", "#!",
];

/// Short words that make a line read as English prose.
#[rustfmt::skip]
pub(super) const FUNCTION_WORDS: &[&str] = &[
    "the", "a", "an", "and", "of", "to", "is", "are", "that", "this", "you", "it", "with", "in", "for",
    "be", "can", "will", "we", "your", "which", "or", "as", "on", "by", "here", "how", "what", "when",
];

pub(super) fn indent_of(line: &str) -> usize {
    line.chars().take_while(|c| c.is_whitespace()).map(|c| if c == '\t' { 4 } else { 1 }).sum()
}

/// The first word of a trimmed line, if the character after it can follow a keyword.
pub(super) fn starts_with_keyword(trimmed: &str) -> bool {
    let word_end = trimmed.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(trimmed.len());
    let (word, rest) = trimmed.split_at(word_end);
    let follows = rest.chars().next().is_none_or(|c| matches!(c, ' ' | '(' | ':' | '{' | '<' | ';' | '['));
    follows && CODE_STARTS.contains(&word)
}

/// The share of non-space characters that are neither letters nor digits.
pub(super) fn symbol_share(trimmed: &str) -> f64 {
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
pub(super) fn has_call(trimmed: &str) -> bool {
    trimmed.as_bytes().windows(2).any(|w| (w[0].is_ascii_alphanumeric() || w[0] == b'_') && w[1] == b'(')
}

/// An identifier joined from words: `snake_case`, `camelCase`, `a.b`.
pub(super) fn has_compound_name(trimmed: &str) -> bool {
    trimmed.as_bytes().windows(3).any(|w| {
        (w[0].is_ascii_alphanumeric() && (w[1] == b'_' || w[1] == b'.') && w[2].is_ascii_alphabetic())
            || (w[0].is_ascii_lowercase() && w[1].is_ascii_uppercase() && w[2].is_ascii_lowercase())
    })
}

#[rustfmt::skip]
pub(super) const OPERATORS: &[&str] = &[
    " = ", "==", "!=", "+=", "-=", ":=", "=>", "->", "&&", "||", "::", "<<", ">>", "++", "*=", "|=",
];

#[rustfmt::skip]
pub(super) const ARITHMETIC: &[&str] = &[
    " + ", " - ", " * ", " / ", " % ", " < ", " > ", " <= ", " >= ",
];

/// (code points, prose points) of a line outside comments and strings.
pub(super) fn score(trimmed: &str) -> (u32, u32) {
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
    // Sentences that end inside the line (`references. See the`): code does not put a full stop, a
    // space and a capital between words outside its strings and comments. A pod paragraph of
    // `C<...>` items had too few plain words for the rule above, and Python's error recovery took
    // 4 ms over its 650 bytes.
    if sentence_breaks(trimmed) >= 2 {
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

/// Sentence ends inside `line` outside double-quoted strings and before a `//` comment (where code
/// writes sentences too): a lowercase letter or a closing bracket, `.`, `!` or `?`, a space, then a
/// capital letter.
fn sentence_breaks(line: &str) -> usize {
    let bytes = line.as_bytes();
    let (mut breaks, mut quoted) = (0, false);
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'"' if i == 0 || bytes[i - 1] != b'\\' => quoted = !quoted,
            b'/' if !quoted && bytes.get(i + 1) == Some(&b'/') => break,
            b'.' | b'!' | b'?' if !quoted && i > 0 && i + 2 < bytes.len() => {
                let before = bytes[i - 1];
                if (before.is_ascii_lowercase() || before == b')')
                    && bytes[i + 1] == b' '
                    && bytes[i + 2].is_ascii_uppercase()
                {
                    breaks += 1;
                }
            }
            _ => {}
        }
    }
    breaks
}

pub(super) fn is_word_char(c: char) -> bool {
    c.is_alphabetic() || matches!(c, '\'' | '-' | ',' | '.' | '!' | '?' | ';' | ':' | '"')
}

/// `- item`, `* item`, `+ item`, `1. item`, `2) item`.
pub(super) fn is_list_item(trimmed: &str) -> bool {
    let bullet = ["- ", "* ", "+ "].iter().any(|b| trimmed.starts_with(b));
    let digits = trimmed.chars().take_while(char::is_ascii_digit).count();
    let numbered =
        digits > 0 && digits <= 3 && matches!(&trimmed[digits..].get(..2), Some(". ") | Some(") "));
    (bullet || numbered) && trimmed.split_whitespace().count() >= 3
}

/// A line of HTML or XML (a tag from start to end), roff (a request such as `.SH`, a comment
/// `.\"`, font escapes `\fB`), TeX (`\begin{...}`), or a heading's underline or a rule (`=====`,
/// `-----`, `___`), a Markdown link: markup, which no grammar of nearcopy parses. (Underlines end in `=`, which makes
/// a line read as code: release notes with two headings were parsed as JavaScript, 2.4 ms.)
pub(super) fn is_markup(trimmed: &str) -> bool {
    let rule = trimmed.len() >= 3 && ['=', '-', '_'].iter().any(|&c| trimmed.chars().all(|x| x == c));
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
    // A Markdown link outside any string: release notes' `* \\[[`1c87ce6`](https://...)] - fix`
    // lines read as code, 2 KB of them parsed as JavaScript for 3 ms.
    let markdown_link = trimmed.contains("](http") && !trimmed.contains(['"', '\'']);
    rule || tag || roff_request || escapes >= 2 || tex || markdown_link
}
