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
    // A binary search of the words packed into integers: comparing the word with each of the 120
    // in turn (`contains`) was a call to glibc's `memcmp` per keyword of its length.
    follows && word.len() <= 16 && CODE_START_CODES.binary_search(&pack16(word.as_bytes())).is_ok()
}

/// `bytes` (at most 16) as an integer, the first byte lowest. Distinct for distinct byte strings
/// without NUL bytes, such as words.
const fn pack16(bytes: &[u8]) -> u128 {
    assert!(bytes.len() <= 16);
    let (mut packed, mut i) = (0u128, 0);
    while i < bytes.len() {
        packed |= (bytes[i] as u128) << (8 * i);
        i += 1;
    }
    packed
}

/// `words` packed ([`pack16`]), sorted if `sorted`, at compile time (an insertion sort: const
/// evaluation has no `sort`).
const fn pack_words<const N: usize>(words: &[&str], sorted: bool) -> [u128; N] {
    let mut codes = [0u128; N];
    let mut i = 0;
    while i < N {
        codes[i] = pack16(words[i].as_bytes());
        let mut j = i;
        while sorted && j > 0 && codes[j - 1] > codes[j] {
            (codes[j - 1], codes[j]) = (codes[j], codes[j - 1]);
            j -= 1;
        }
        i += 1;
    }
    codes
}

const CODE_START_CODES: [u128; CODE_STARTS.len()] = pack_words(CODE_STARTS, true);
const FUNCTION_WORD_CODES: [u128; FUNCTION_WORDS.len()] = pack_words(FUNCTION_WORDS, false);

/// Whether `token`, stripped of what is not a letter at either end and lowercased, is one of the
/// [`FUNCTION_WORDS`].
fn is_function_word(token: &str) -> bool {
    let word = token.trim_matches(|c: char| !c.is_alphabetic());
    if !word.is_ascii() {
        // Lowercasing may shorten or turn to ASCII what is not (the Kelvin sign is a `k`).
        return FUNCTION_WORDS.contains(&word.to_lowercase().as_str());
    }
    is_ascii_function_word(word.as_bytes())
}

/// [`is_function_word`] of an ASCII word that starts and ends with a letter: lowercased into an
/// integer, not a new string.
fn is_ascii_function_word(word: &[u8]) -> bool {
    let mut lower = [0u8; 16];
    // No function word is longer than five letters.
    let Some(into) = lower.get_mut(..word.len()).filter(|w| w.len() <= 5) else { return false };
    into.copy_from_slice(word);
    into.make_ascii_lowercase();
    FUNCTION_WORD_CODES.contains(&pack16(into))
}

/// (code points, prose points) of a line outside comments and strings. Every line of unfenced text
/// is scored: what the rules count is found in one pass ([`Signals`]; `reference::score`, in the
/// tests, is the rules written one by one, a substring search per pattern).
pub(super) fn score(trimmed: &str) -> (u32, u32) {
    let mut code = 0u32;
    let mut prose = 0u32;
    if CODE_LINES.contains(&trimmed) {
        return (5, 0);
    }
    let last = trimmed.chars().last().unwrap_or(' ');
    let keyword = starts_with_keyword(trimmed);
    let signals = Signals::of(trimmed);
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
        if signals.tokens <= 4 && !sentence_end {
            code += 1;
        }
    }
    if signals.arithmetic {
        code += 1;
    }
    if trimmed.starts_with('@') && trimmed[1..].starts_with(|c: char| c.is_ascii_alphabetic()) {
        code += 3; // a decorator or annotation
    }
    code += 2 * signals.operators;
    if signals.call {
        code += 2;
    }
    if signals.compound {
        code += 1;
    }
    let symbols = signals.symbol_share();
    if symbols >= 0.2 {
        code += 2;
    } else if symbols >= 0.12 {
        code += 1;
    }

    let words = signals.words;
    if words >= 4 && symbols < 0.08 {
        prose += 3 + u32::from(words >= 8);
    }
    // A long line that is mostly plain words is a paragraph on one line, whatever symbols it also
    // has (`=head2`, `C<...>` in pod, a formula): code puts a few words on a line, not dozens.
    if words >= 20 && 2 * words >= signals.tokens {
        prose += 8;
    }
    // Sentences that end inside the line (`references. See the`): code does not put a full stop, a
    // space and a capital between words outside its strings and comments. A pod paragraph of
    // `C<...>` items had too few plain words for the rule above, and Python's error recovery took
    // 4 ms over its 650 bytes.
    if signals.sentence_breaks >= 2 {
        prose += 8;
    }
    if words >= 3 && matches!(last, '.' | '!' | '?') && !trimmed.ends_with("...") {
        prose += 2;
    }
    let capitalized = trimmed.chars().next().is_some_and(char::is_uppercase);
    if last == ':' && !keyword && capitalized && signals.tokens <= 10 {
        prose += 3; // "Here you go:", "Usage:", "The output:"
    }
    if capitalized && words >= 3 {
        prose += 1;
    }
    if is_list_item(trimmed) || trimmed.starts_with("> ") {
        prose += 3;
    }
    if signals.backticks >= 2 {
        prose += 2; // markdown inline code
    }
    if signals.function_words >= 2 {
        prose += 2;
    }
    (code, prose)
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
    // `\\f`, `\\(` and `\\-` (none can overlap another), counted at each backslash.
    let escapes = memchr::memchr_iter(b'\\', bytes)
        .filter(|&at| matches!(bytes.get(at + 1), Some(b'f' | b'(' | b'-')))
        .count();
    let tex =
        trimmed.starts_with("\\begin{") || trimmed.starts_with("\\end{") || trimmed.starts_with("\\section");
    // A Markdown link outside any string: release notes' `* \\[[`1c87ce6`](https://...)] - fix`
    // lines read as code, 2 KB of them parsed as JavaScript for 3 ms.
    let markdown_link = memchr::memchr_iter(b']', bytes).any(|at| bytes[at..].starts_with(b"](http"))
        && !trimmed.contains(['"', '\'']);
    rule || tag || roff_request || escapes >= 2 || tex || markdown_link
}

mod signals;
use signals::Signals;

#[cfg(test)]
mod reference;
