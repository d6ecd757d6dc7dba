//! Splitting a model answer into prose and code.
//!
//! Fenced blocks (``` or ~~~, tagged or not, indented as in lists, unclosed when the answer was cut
//! off) are code; the fence tag names the language when nearcopy knows it, else the language is
//! detected from the content. Outside fences, a paragraph that looks like code (code-like line
//! endings and keywords, few sentence-like lines) and parses with few errors is code as well.
//! Segments are in order and cover the whole text except the fence lines themselves, in byte offsets
//! of the original.

use super::detect::{detect, detect_with_hints, MAX_ERROR_SHARE};

use super::languages::Language;
use tree_sitter::Parser;

/// Unfenced paragraphs are parsed only as the language with the most tell-tale constructs in them
/// (one parse, not one per grammar: it keeps a check of code-like prose within ~1 ms at p99).
const UNFENCED_CANDIDATES: usize = 1;
/// Untagged fenced blocks with tell-tale constructs are parsed as their best-hinted few languages.
const FENCED_CANDIDATES: usize = 3;
/// Languages are told apart on at most this much of a block or paragraph (cut at a line end): the
/// first lines decide as well as the whole, and a parse of text that is not code can cost
/// milliseconds per kilobyte (tree-sitter's error recovery), so the cost of a check stays bounded.
const DETECT_PREFIX_BYTES: usize = 1024;

/// The first lines of `text`, up to about DETECT_PREFIX_BYTES.
fn detection_prefix(text: &str) -> &str {
    if text.len() <= DETECT_PREFIX_BYTES {
        return text;
    }
    let mut cut = DETECT_PREFIX_BYTES;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    match text[..cut].rfind('\n') {
        Some(line_end) if line_end > 0 => &text[..line_end + 1],
        _ => &text[..cut],
    }
}

/// The language of an untagged fenced block: its best-hinted languages when it shows tell-tale
/// constructs, every grammar when it only looks like code, and none (it is checked as prose) when
/// it does neither — a fence around a quotation, a log or a table — or when even the best language
/// leaves much of it in parse errors (which also spares parsing all of it: error recovery on text
/// that is not code is the slowest thing a check can meet).
fn untagged_block_language(parser: &mut Parser, body: &str) -> Option<Language> {
    let prefix = detection_prefix(body);
    let found = match detect_with_hints(parser, prefix, FENCED_CANDIDATES) {
        Some(found) => Some(found),
        None if looks_like_code(prefix) => detect(parser, prefix),
        None => None,
    };
    found.filter(|&(_, errors)| errors <= MAX_ERROR_SHARE).map(|(language, _)| language)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub code: bool,
    /// Byte span in the answer. For a fenced block: its content, between the fence lines.
    pub start: usize,
    pub end: usize,
    pub language: Option<Language>,
    pub fenced: bool,
    /// The fence's info string (e.g. `python title="x.py"`), empty if none.
    pub info: String,
}

struct Line<'a> {
    start: usize,
    end: usize, // including the newline
    text: &'a str,
}

fn lines(text: &str) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    let mut start = 0;
    for piece in text.split_inclusive('\n') {
        out.push(Line { start, end: start + piece.len(), text: piece });
        start += piece.len();
    }
    out
}

/// `(fence char, run length, info string)` if the line opens or closes a fence.
fn fence(line: &str) -> Option<(char, usize, &str)> {
    let trimmed = line.trim_start();
    let first = trimmed.chars().next()?;
    if first != '`' && first != '~' {
        return None;
    }
    let run = trimmed.chars().take_while(|&c| c == first).count();
    if run < 3 {
        return None;
    }
    let info = trimmed[run..].trim();
    if first == '`' && info.contains('`') {
        return None; // inline code spanning a line, not a fence
    }
    Some((first, run, info))
}

/// The language a fence tag names (`python`, `py`, `{.rust}`, `c++ title="x"`), if nearcopy knows it.
pub fn language_of_tag(info: &str) -> Option<Language> {
    let tag = info.split_whitespace().next()?.trim_matches(|c| c == '{' || c == '}' || c == '.');
    let tag = tag.split([',', ':']).next().unwrap_or(tag);
    Language::parse(tag).ok()
}

/// Whether an unfenced paragraph looks enough like code to be worth parsing.
fn looks_like_code(paragraph: &str) -> bool {
    const STARTS: &[&str] = &[
        "def ",
        "class ",
        "import ",
        "from ",
        "return ",
        "if (",
        "for (",
        "while (",
        "#include",
        "function ",
        "const ",
        "let ",
        "var ",
        "public ",
        "private ",
        "func ",
        "fn ",
        "package ",
        "using ",
        "#!",
        "@",
        "}",
        "print(",
        "int ",
        "void ",
        "static ",
        "elif ",
        "else:",
        "try:",
        "except",
    ];
    const BLOCK_KEYWORDS: &[&str] =
        &["def ", "class ", "if ", "for ", "while ", "with ", "else", "elif ", "try", "except"];
    let lines: Vec<&str> = paragraph.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    // One line is too little to tell code from a sentence ending in a colon or parenthesis.
    if lines.len() < 2 {
        return false;
    }
    let code_like = lines
        .iter()
        .filter(|l| {
            STARTS.iter().any(|s| l.starts_with(s))
                || l.ends_with([';', '{', '}', ')', ','])
                || (l.ends_with(':') && BLOCK_KEYWORDS.iter().any(|k| l.starts_with(k)))
                || (l.contains(" = ") && !l.contains(". "))
        })
        .count();
    let sentence_like = lines
        .iter()
        .filter(|l| l.split_whitespace().count() >= 6 && l.ends_with(['.', '!', '?']) && !l.ends_with("..."))
        .count();
    code_like * 2 >= lines.len() && sentence_like * 4 <= lines.len()
}

/// Splits an answer into prose and code segments.
pub fn split_answer(text: &str, parser: &mut Parser) -> Vec<Segment> {
    let lines = lines(text);
    let mut segments: Vec<Segment> = Vec::new();
    let mut prose_start = 0;
    let mut i = 0;
    while i < lines.len() {
        let Some((ch, run, info)) = fence(lines[i].text) else {
            i += 1;
            continue;
        };
        let content_start = lines[i].end;
        let closing = (i + 1..lines.len()).find(
            |&j| matches!(fence(lines[j].text), Some((c, r, rest)) if c == ch && r >= run && rest.is_empty()),
        );
        let content_end = closing.map_or(text.len(), |j| lines[j].start);
        push_prose(text, prose_start, lines[i].start, parser, &mut segments);
        let body = &text[content_start..content_end];
        let language = language_of_tag(info).or_else(|| {
            if info.is_empty() {
                untagged_block_language(parser, body)
            } else {
                None // a tag nearcopy does not parse (bash, json, sql, ...)
            }
        });
        segments.push(Segment {
            code: true,
            start: content_start,
            end: content_end,
            language,
            fenced: true,
            info: info.to_string(),
        });
        prose_start = closing.map_or(text.len(), |j| lines[j].end);
        i = closing.map_or(lines.len(), |j| j + 1);
    }
    push_prose(text, prose_start, text.len(), parser, &mut segments);
    segments
}

/// Adds `text[start..end]` as prose, except paragraphs that look like code and parse as code.
fn push_prose(text: &str, start: usize, end: usize, parser: &mut Parser, segments: &mut Vec<Segment>) {
    let mut pending = start;
    let mut paragraph_start = start;
    let mut offset = start;
    let region = &text[start..end];
    for piece in region.split_inclusive('\n').chain(std::iter::once("")) {
        let blank = piece.trim().is_empty();
        if blank || piece.is_empty() {
            if offset > paragraph_start {
                let paragraph = &text[paragraph_start..offset];
                if looks_like_code(paragraph) {
                    if let Some((language, errors)) =
                        detect_with_hints(parser, detection_prefix(paragraph), UNFENCED_CANDIDATES)
                    {
                        if errors <= MAX_ERROR_SHARE {
                            add(segments, Segment::prose(pending, paragraph_start));
                            segments.push(Segment {
                                code: true,
                                start: paragraph_start,
                                end: offset,
                                language: Some(language),
                                fenced: false,
                                info: String::new(),
                            });
                            pending = offset;
                        }
                    }
                }
            }
            paragraph_start = offset + piece.len();
        }
        offset += piece.len();
    }
    add(segments, Segment::prose(pending, end));
}

impl Segment {
    fn prose(start: usize, end: usize) -> Self {
        Segment { code: false, start, end, language: None, fenced: false, info: String::new() }
    }
}

/// Appends a prose segment, merging it into a preceding prose one; empty prose is dropped.
fn add(segments: &mut Vec<Segment>, segment: Segment) {
    if segment.start >= segment.end {
        return;
    }
    match segments.last_mut() {
        Some(last) if !last.code && !segment.code && last.end == segment.start => last.end = segment.end,
        _ => segments.push(segment),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str) -> Vec<(bool, String, Option<Language>, bool)> {
        split_answer(text, &mut Parser::new())
            .into_iter()
            .map(|s| (s.code, text[s.start..s.end].to_string(), s.language, s.fenced))
            .collect()
    }

    #[test]
    fn fenced_blocks_with_and_without_tags() {
        let answer =
            "Here is how:\n\n```py\nx = 1\n```\n\nAnd in C:\n~~~\nint main(void) { return 0; }\n~~~\nDone.";
        let got = split(answer);
        assert_eq!(got.len(), 5, "{got:?}");
        assert_eq!(got[1], (true, "x = 1\n".to_string(), Some(Language::Python), true));
        assert!(got[3].0);
        assert_eq!(got[3].2, Some(Language::C));
        assert_eq!(got[4].1, "Done.");
        let covered: usize = split_answer(answer, &mut Parser::new()).iter().map(|s| s.end - s.start).sum();
        let fence_lines = ["```py\n", "```\n", "~~~\n", "~~~\n"].iter().map(|f| f.len()).sum::<usize>();
        assert_eq!(covered, answer.len() - fence_lines, "segments cover all but the fence lines");
    }

    #[test]
    fn indented_and_unclosed_fences() {
        let answer = "1. First:\n   ```rust\n   fn f() {}\n   ```\n2. Then:\n```python\ndef f(\n    return";
        let got = split(answer);
        assert_eq!(got[1], (true, "   fn f() {}\n".to_string(), Some(Language::Rust), true));
        assert_eq!(got.last().unwrap().1, "def f(\n    return");
        assert_eq!(got.last().unwrap().2, Some(Language::Python));
    }

    #[test]
    fn unknown_tags_stay_code_without_language() {
        let got = split("```bash\nls -la\n```\n");
        assert_eq!(got[0], (true, "ls -la\n".to_string(), None, true));
        assert_eq!(language_of_tag("{.python}"), Some(Language::Python));
        assert_eq!(language_of_tag("c++ title=\"a.cpp\""), Some(Language::Cpp));
    }

    #[test]
    fn unfenced_code_in_prose() {
        let answer = "You can write it like this.\n\ndef add(a, b):\n    total = a + b\n    return total\n\nThat returns the sum of both numbers, as you would expect.";
        let got = split(answer);
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(got[1].0 && got[1].1.starts_with("def add") && got[1].2 == Some(Language::Python));
        assert!(!got[1].3);
    }

    #[test]
    fn untagged_fences_around_text_that_is_not_code_have_no_language() {
        // A quotation, and roff markup: fenced, so code segments, but checked as prose (no language).
        let quote =
            "```\nIt was the best of times, it was the worst of times, it was the age of wisdom.\n```\n";
        assert_eq!(split(quote)[0].2, None);
        let roff = format!(
            "~~~\n{}~~~\n",
            ".\\\" http://bugs.example.org/507673\n.TH GROFF 1 \"2009\"\n.SH NAME\n".repeat(40)
        );
        assert_eq!(split(&roff)[0].2, None);
        assert!(
            detection_prefix(&roff).len() <= DETECT_PREFIX_BYTES && detection_prefix(&roff).ends_with('\n')
        );
    }

    #[test]
    fn prose_stays_prose() {
        let answer =
            "The function returns a value. It is called twice, once for each input.\n\nIn short: yes.";
        assert!(split(answer).iter().all(|s| !s.0));
        assert!(split_answer("", &mut Parser::new()).is_empty());
    }
}
