//! The line score's rules written plainly, a substring search per pattern (as they were before
//! `score` was made one pass per rule): the reference `score` must equal on any line.

use super::{is_list_item, CODE_LINES, CODE_STARTS, FUNCTION_WORDS};

#[rustfmt::skip]
const OPERATORS: &[&str] = &[
    " = ", "==", "!=", "+=", "-=", ":=", "=>", "->", "&&", "||", "::", "<<", ">>", "++", "*=", "|=",
];

#[rustfmt::skip]
const ARITHMETIC: &[&str] = &[
    " + ", " - ", " * ", " / ", " % ", " < ", " > ", " <= ", " >= ",
];

fn is_word_char(c: char) -> bool {
    c.is_alphabetic() || matches!(c, '\'' | '-' | ',' | '.' | '!' | '?' | ';' | ':' | '"')
}

/// The first word of a trimmed line, if the character after it can follow a keyword.
fn starts_with_keyword(trimmed: &str) -> bool {
    let word_end = trimmed.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(trimmed.len());
    let (word, rest) = trimmed.split_at(word_end);
    let follows = rest.chars().next().is_none_or(|c| matches!(c, ' ' | '(' | ':' | '{' | '<' | ';' | '['));
    follows && CODE_STARTS.contains(&word)
}

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

/// A line of HTML or XML (a tag from start to end), roff (a request such as `.SH`, a comment
/// `.\"`, font escapes `\fB`), TeX (`\begin{...}`), or a heading's underline or a rule (`=====`,
/// `-----`, `___`), a Markdown link: markup, which no grammar of nearcopy parses. (Underlines end in `=`, which makes
/// a line read as code: release notes with two headings were parsed as JavaScript, 2.4 ms.)
fn is_markup(trimmed: &str) -> bool {
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

/// Lines made of the pieces the rules look for (keywords, operators, block ends, function words in
/// any case, sentence ends, markup) with letters, digits, brackets, non-ASCII letters, whitespace of
/// every kind (and a Kelvin sign, whose lowercase is ASCII), joined with or without spaces.
fn random_line(state: &mut u64) -> String {
    const OTHER: &[&str] = &[
        "x",
        "foo_bar",
        "camelCase",
        "a.b",
        "Hello",
        "THE",
        "And",
        "Here",
        "it's",
        "self",
        "42",
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        ";",
        ":",
        ",",
        ".",
        "!",
        "?",
        "...",
        "\"",
        "'",
        "`",
        "#",
        "@",
        "@Override",
        "-",
        "*",
        "+",
        "/",
        "%",
        "<",
        ">",
        "=",
        "&",
        "|",
        "\\",
        "é",
        "éte",
        "ß",
        "İ",
        "\u{212a}",
        "The\u{212a}",
        "日本",
        "\u{a0}",
        "\t",
        "\u{b}",
        "\u{2028}",
        "1.",
        "2)",
        "- ",
        "* ",
        "> ",
        " = ",
        ". See",
        "):",
        "](http",
        "::",
        "...",
        "_",
        "x(",
        "A",
        "B.",
        "end.",
        "\\f",
        "\\fB",
        "\\(",
        "\\-",
        ".SH",
        "<b>",
        "===",
        "[a](https://x)",
        "\\begin{x}",
        "//",
        "\\\"",
    ];
    let mut next = |n: usize| (crate::hash::splitmix64(state) % n as u64) as usize;
    let pieces = 1 + next(14);
    let mut line = String::new();
    for _ in 0..pieces {
        let piece = match next(6) {
            0 => CODE_STARTS[next(CODE_STARTS.len())].to_string(),
            1 => OPERATORS[next(OPERATORS.len())].to_string(),
            2 => ARITHMETIC[next(ARITHMETIC.len())].to_string(),
            3 => {
                let word = FUNCTION_WORDS[next(FUNCTION_WORDS.len())];
                match next(3) {
                    0 => word.to_uppercase(),
                    1 => word[..1].to_uppercase() + &word[1..],
                    _ => word.to_string(),
                }
            }
            4 => CODE_LINES[next(CODE_LINES.len())].to_string(),
            _ => OTHER[next(OTHER.len())].to_string(),
        };
        line.push_str(&piece);
        line.push_str([" ", " ", " ", "", "\t", "  "][next(6)]);
    }
    line
}

#[test]
fn the_one_pass_score_equals_the_rules_written_plainly() {
    let mut state = 7u64;
    let mut codes = std::collections::BTreeSet::new();
    for _ in 0..200_000 {
        let line = random_line(&mut state);
        let trimmed = line.trim();
        let (fast, plain) = (super::score(trimmed), score(trimmed));
        assert_eq!(fast, plain, "{trimmed:?}");
        assert_eq!(super::is_markup(trimmed), is_markup(trimmed), "{trimmed:?}");
        // Each rule of the one pass on its own, not only as far as the score shows it.
        let signals = super::Signals::of(trimmed);
        let rules = (signals.symbol_share(), signals.call, signals.compound, signals.sentence_breaks);
        let plainly =
            (symbol_share(trimmed), has_call(trimmed), has_compound_name(trimmed), sentence_breaks(trimmed));
        assert_eq!(rules, plainly, "{trimmed:?}");
        let operators = OPERATORS.iter().filter(|op| trimmed.contains(*op)).count().min(2) as u32;
        let arithmetic = ARITHMETIC.iter().any(|op| trimmed.contains(op));
        let counts = (signals.operators, signals.arithmetic, signals.backticks);
        assert_eq!(counts, (operators, arithmetic, trimmed.matches('`').count()), "{trimmed:?}");
        let words = trimmed
            .split_whitespace()
            .filter(|w| w.chars().filter(|c| c.is_alphabetic()).count() >= 2 && w.chars().all(is_word_char))
            .count();
        let function_words = trimmed
            .split_whitespace()
            .filter(|w| {
                FUNCTION_WORDS.contains(&w.trim_matches(|c: char| !c.is_alphabetic()).to_lowercase().as_str())
            })
            .count();
        let tokens = (signals.tokens, signals.words, signals.function_words);
        assert_eq!(tokens, (trimmed.split_whitespace().count(), words, function_words), "{trimmed:?}");
        codes.insert(fast);
    }
    // The lines reach many different scores, on both sides.
    assert!(codes.len() > 100, "{}", codes.len());
    for line in ["return x + 1", "the AND of it", "\u{212a}", "If you want the value:", "}", "a <= b && c"] {
        assert_eq!(super::score(line), score(line), "{line:?}");
    }
}
