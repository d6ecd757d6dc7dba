//! Splitting a model answer into prose and code.
//!
//! Fenced blocks (``` or ~~~, tagged or not, indented as in lists, unclosed when the answer was cut
//! off) are code; the fence tag names the language when nearcopy knows it, else the language is
//! detected from the content. Outside fences, a lexical pass over lines ([`super::lines`]) finds the
//! code regions — a whole function with its docstrings, doc comments, decorators and blank lines is
//! one region, the "Here you go:" before it and the sentence after it are not — and each region is
//! parsed once, as the language its lexical evidence ranks first among the languages allowed, to
//! confirm that it is code. That parse is handed on with the segment, so the code normalizer does not
//! parse it again.
//!
//! Where the split may be wrong, a segment lists [`Segment::alternatives`]: other readings to check it
//! under (as prose, or as code in another language). A checker that tries them all loses latency, not
//! recall, when the split guesses wrong. Segments are in order and cover the whole text except the
//! fence lines themselves, in byte offsets of the original.

use super::detect::{parse, tree_error_share, MAX_ERROR_SHARE};
use super::languages::Language;
use super::lexid::rank;
use super::lines::{code_text, only_comments, regions, scan_noting_start, ScannedLine};
use tree_sitter::{Parser, Tree};

mod fences;
mod options;
pub use fences::language_of_tag;
use fences::{fence, tag_word, PLAIN_TAGS};
pub use options::{Hint, SplitOptions};

/// Languages are ranked on at most this much of a block (cut at a line end): the first lines tell
/// as well as the whole, and counting substrings stays cheap.
const RANK_PREFIX_BYTES: usize = 2048;
/// A second language is parsed (on this much of the block) only when the first fails to parse.
const RETRY_PREFIX_BYTES: usize = 1024;
/// Lexical evidence below this (in all, or per code line) is no evidence: not parsed, prose. Real
/// functions score at least 0.5 per line nineteen times in twenty, documentation cut at random
/// (markup, man pages, changelogs) under 0.06 half of the time (`lexid::rank`, measured ad hoc).
const MIN_EVIDENCE: f64 = 2.0;
const MIN_EVIDENCE_PER_LINE: f64 = 0.25;
/// Unfenced code that its language leaves with more of it in errors than this is also read as
/// prose (clean code is code; reading it as prose too made checks against a large prose index
/// several times slower: documentation shares many 4-word runs with code).
const UNCERTAIN_ERROR_SHARE: f64 = 0.05;
/// A runner-up language whose lexical score is at least this share of the winner's is also checked.
const CLOSE_RUNNER_UP: f64 = 0.75;
/// A close runner-up is checked only if this much of the stretch parses as it with few errors: in
/// a language whose grammar reads the stretch badly, its reading finds nothing, and parsing all of
/// it in the checker cost 2 ms per 2 KB of C (glibc's `__real__`, `const int`) read as JavaScript.
const CLOSE_PREFIX_BYTES: usize = 512;
/// When the favourite fails to parse, the runner-up is tried only with at least this share of the
/// favourite's score. Outscored four to one, it is not what the favourite's failure points to (that
/// is broken or cut-off code of the favourite, or text that is no code): on 2 KB cuts of this
/// machine's documentation and sources, 120 of 160 retries were below it, three of those parsed (two
/// of them Python taken for Ruby, whose grammar reads nearly anything), and they cost 1 ms each.
const RETRY_MIN_SHARE: f64 = 0.25;
/// A region of one code line is code only from this length on (shorter cannot hold a copy worth
/// reporting, and a single line is the easiest to misjudge).
const ONE_LINE_CODE_BYTES: usize = 80;

/// The first lines of `text`, up to about `limit` bytes.
fn prefix(text: &str, limit: usize) -> &str {
    if text.len() <= limit {
        return text;
    }
    let mut cut = limit;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    match text[..cut].rfind('\n') {
        Some(line_end) if line_end > 0 => &text[..line_end + 1],
        _ => &text[..cut],
    }
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
    /// Other readings of this stretch worth checking because the split may be wrong: `None` as
    /// prose, `Some(language)` as code in that language.
    pub alternatives: Vec<Option<Language>>,
}

/// A segment and the syntax trees of exactly its text that the splitter parsed, by language (the
/// primary reading's, and a failed candidate's that is now an alternative), for reuse.
pub struct ParsedSegment {
    pub segment: Segment,
    pub trees: Vec<(Language, Tree)>,
}

impl ParsedSegment {
    /// The kept tree of this segment parsed as `language`, if any.
    pub fn tree(&self, language: Language) -> Option<&Tree> {
        self.trees.iter().find(|(l, _)| *l == language).map(|(_, t)| t)
    }
}

/// Splits an answer into prose and code segments (every language allowed, no hint).
pub fn split_answer(text: &str, parser: &mut Parser) -> Vec<Segment> {
    split_answer_with(text, parser, &SplitOptions::default()).into_iter().map(|p| p.segment).collect()
}

/// Splits an answer as `options` say, keeping the parse of each code segment it made.
pub fn split_answer_with(text: &str, parser: &mut Parser, options: &SplitOptions) -> Vec<ParsedSegment> {
    let mut out = Splitter { text, parser, options, segments: Vec::new() };
    if options.languages.is_empty() && options.hint.is_none() {
        out.prose(0, text.len());
        return out.segments;
    }
    let lines: Vec<(usize, &str)> = text
        .split_inclusive('\n')
        .scan(0, |start, line| {
            let at = *start;
            *start += line.len();
            Some((at, line))
        })
        .collect();
    let mut unfenced_start = 0;
    let mut i = 0;
    while i < lines.len() {
        let Some((ch, run, info)) = fence(lines[i].1) else {
            i += 1;
            continue;
        };
        let content_start = lines[i].0 + lines[i].1.len();
        let closing = (i + 1..lines.len()).find(
            |&j| matches!(fence(lines[j].1), Some((c, r, rest)) if c == ch && r >= run && rest.is_empty()),
        );
        let content_end = closing.map_or(text.len(), |j| lines[j].0);
        out.unfenced(unfenced_start, lines[i].0);
        out.fenced(content_start, content_end, info);
        unfenced_start = closing.map_or(text.len(), |j| lines[j].0 + lines[j].1.len());
        i = closing.map_or(lines.len(), |j| j + 1);
    }
    out.unfenced(unfenced_start, text.len());
    out.segments
}

struct Splitter<'a, 'p> {
    text: &'a str,
    parser: &'p mut Parser,
    options: &'a SplitOptions,
    segments: Vec<ParsedSegment>,
}

/// What detection made of a stretch that may be code.
struct Detected {
    language: Option<Language>,
    trees: Vec<(Language, Tree)>,
    /// The share of the stretch the chosen language's parse left in errors (1 when none was chosen).
    errors: f64,
    alternatives: Vec<Option<Language>>,
}

impl Splitter<'_, '_> {
    fn push(&mut self, segment: Segment, trees: Vec<(Language, Tree)>) {
        if segment.start >= segment.end && !segment.fenced {
            return;
        }
        // Adjacent plain prose merges into one segment.
        if let Some(last) = self.segments.last_mut() {
            let plain = |s: &Segment| !s.code && s.alternatives.is_empty();
            if plain(&last.segment) && plain(&segment) && last.segment.end == segment.start {
                last.segment.end = segment.end;
                return;
            }
        }
        self.segments.push(ParsedSegment { segment, trees });
    }

    fn prose(&mut self, start: usize, end: usize) {
        self.prose_or(start, end, Vec::new());
    }

    fn prose_or(&mut self, start: usize, end: usize, alternatives: Vec<Option<Language>>) {
        let segment = Segment {
            code: false,
            start,
            end,
            language: None,
            fenced: false,
            info: String::new(),
            alternatives,
        };
        self.push(segment, Vec::new());
    }

    /// `body` parsed as `language`: the tree (kept as a reading of exactly `body`) and its error share.
    fn parse(&mut self, body: &str, language: Language) -> (Vec<(Language, Tree)>, f64) {
        match parse(self.parser, body, language) {
            Some(tree) => {
                let errors = tree_error_share(&tree, body.len());
                (vec![(language, tree)], errors)
            }
            None => (Vec::new(), 1.0),
        }
    }

    fn fenced(&mut self, start: usize, end: usize, info: &str) {
        // A block may begin inside the docstring or comment of a function cut in half (a partial
        // copy): that tail is prose, or the code after it would be read as the rest of a string.
        let (lines, from) = scan_noting_start(self.text, start, end);
        if let Some(code_start) = lines.get(from).map(|l| l.start).filter(|_| from > 0) {
            self.prose(start, code_start);
            return self.fenced_code(code_start, end, info, &lines[from..]);
        }
        self.fenced_code(start, end, info, &lines)
    }

    fn fenced_code(&mut self, start: usize, end: usize, info: &str, lines: &[ScannedLine]) {
        let body = &self.text[start..end];
        let tagged = language_of_tag(info);
        let segment = |language, alternatives| Segment {
            code: true,
            start,
            end,
            language,
            fenced: true,
            info: info.into(),
            alternatives,
        };
        if let Some(language) = tagged.or(if info.is_empty() { self.options.hint } else { None }) {
            // A tag (or the caller) names the language: parsed once, for the tokens; a block that
            // parses badly as it (a wrong tag, or broken code) is checked as prose too, and in the
            // lexical favourite if the text says more for that than for the tag.
            let (trees, errors) = self.parse(body, language);
            let mut alternatives = Vec::new();
            if errors > MAX_ERROR_SHARE {
                // Another language only where the text says more for it than for the tag: a second
                // grammar's error recovery over the block costs about a millisecond per KB, and a
                // block that its tag's grammar reads badly is mostly broken code of that language.
                let ranked = rank(prefix(body, RANK_PREFIX_BYTES), self.options.languages);
                let tag_score = ranked.iter().find(|e| e.language == language).map(|e| e.score);
                let other = ranked.into_iter().find(|e| {
                    e.language != language
                        && e.lexical > 0.0
                        && e.score >= MIN_EVIDENCE
                        && tag_score.is_none_or(|s| e.score > s)
                });
                alternatives.extend(other.map(|e| Some(e.language)));
                alternatives.push(None);
            }
            return self.push(segment(Some(language), alternatives), trees);
        }
        // A tag of text that is not code (bash, json, sql, output): prose. So is a block of comments
        // alone (a licence header): no parse finds code tokens in it. No tag, or one of a language
        // nearcopy does not parse (kotlin for Java, swift): the language is detected.
        let found = if PLAIN_TAGS.contains(&tag_word(info).as_str()) || only_comments(body) {
            Detected::none()
        } else {
            let evidence = code_text(self.text, lines, start, end, RANK_PREFIX_BYTES);
            // A fence is evidence of code in itself: any lexical evidence will do, where some line
            // reads as code. A block without such a line (a quotation, a table, a man page's roff)
            // is ranked whole and needs the evidence unfenced text needs: a man page fenced with
            // tildes cost 6 ms as Ruby, 100% of it in errors.
            if evidence.is_empty() {
                self.detect(body, prefix(body, RANK_PREFIX_BYTES), false)
            } else {
                self.detect(body, &evidence, true)
            }
        };
        self.push(segment(found.language, found.alternatives), found.trees);
    }

    /// Unfenced text: code regions found lexically and confirmed by a parse, prose around them.
    fn unfenced(&mut self, start: usize, end: usize) {
        if start >= end {
            return;
        }
        let (lines, from) = scan_noting_start(self.text, start, end);
        let mut position = start;
        // A caller who says the text is code has only sentences end its code regions.
        for region in regions(&lines, from, self.options.hint.is_some()) {
            let bytes = region.end - region.start;
            if region.code_lines < 2 && bytes < ONE_LINE_CODE_BYTES {
                continue; // one short line: too little to tell, and too short to hold a copy
            }
            let evidence = code_text(self.text, &lines, region.start, region.end, RANK_PREFIX_BYTES);
            let found = self.detect(&self.text[region.start..region.end], &evidence, false);
            self.prose(position, region.start);
            match found.language {
                Some(language) => {
                    let mut alternatives = found.alternatives;
                    if found.errors > UNCERTAIN_ERROR_SHARE {
                        alternatives.push(None); // code that parses badly is also read as prose
                    }
                    let segment = Segment {
                        code: true,
                        start: region.start,
                        end: region.end,
                        language: Some(language),
                        fenced: false,
                        info: String::new(),
                        alternatives,
                    };
                    self.push(segment, found.trees);
                }
                None => {
                    let segment = Segment {
                        code: false,
                        start: region.start,
                        end: region.end,
                        language: None,
                        fenced: false,
                        info: String::new(),
                        alternatives: found.alternatives,
                    };
                    self.push(segment, found.trees);
                }
            }
            position = region.end;
        }
        self.prose(position, end);
    }

    /// The language of a stretch that looks like code: the lexical favourite of its `evidence` (its
    /// code lines) if that parses `body` with few errors (the whole stretch, once: the tree is
    /// kept), else the runner-up (tried on a prefix, if it has a quarter of the favourite's score),
    /// else none — then it is prose, to be checked as code in the favourite too.
    fn detect(&mut self, body: &str, evidence: &str, fenced: bool) -> Detected {
        if let Some(language) = self.options.hint {
            // No detection: the caller's language, also read as prose if it parses badly.
            let (trees, errors) = self.parse(body, language);
            let alternatives = if errors > MAX_ERROR_SHARE { vec![None] } else { Vec::new() };
            return Detected { language: Some(language), trees, errors, alternatives };
        }
        let ranked = rank(evidence, self.options.languages);
        let Some(&best) = ranked.first() else { return Detected::none() };
        // Without evidence of an allowed language it is not worth a parse: text that reads as code
        // line by line (logs, tables, markup the line scan did not catch) costs a grammar's error
        // recovery ~1.5 ms/KB. Some construct of the language must be there (line shapes alone, such
        // as roff's `.\}`, are no evidence), and outside a fence enough of it: the bar stops rising
        // at a dozen lines, since each construct counts at most three times.
        let lines = evidence.lines().count().clamp(1, 12) as f64;
        let unproven = best.lexical <= 0.0
            || !fenced && (best.score < MIN_EVIDENCE || best.score < MIN_EVIDENCE_PER_LINE * lines);
        if unproven {
            return Detected::none();
        }
        let first = best.language;
        let second = ranked.get(1).copied().filter(|e| e.lexical > 0.0 && e.score >= MIN_EVIDENCE);
        let (mut trees, errors) = self.parse(body, first);
        if errors <= MAX_ERROR_SHARE {
            // A close call (C or Java for a short method) is checked both ways: grammars that both
            // parse a snippet still tokenize it differently (`public` is a name in C).
            let mut alternatives = Vec::new();
            if let Some(close) = second.filter(|e| e.score >= CLOSE_RUNNER_UP * best.score) {
                let head = prefix(body, CLOSE_PREFIX_BYTES);
                let (head_trees, head_errors) = self.parse(head, close.language);
                if head_errors <= MAX_ERROR_SHARE {
                    if head.len() == body.len() {
                        trees.extend(head_trees); // the whole stretch: kept, not parsed again
                    }
                    alternatives.push(Some(close.language));
                }
            }
            return Detected { language: Some(first), trees, errors, alternatives };
        }
        let retry = second.filter(|e| e.score >= RETRY_MIN_SHARE * best.score);
        if let Some(second) = retry.map(|e| e.language) {
            let head = prefix(body, RETRY_PREFIX_BYTES);
            let (head_trees, retry) = self.parse(head, second);
            if retry <= MAX_ERROR_SHARE {
                // The favourite's tree is of the whole block; the runner-up's only if the block is short.
                if head.len() == body.len() {
                    trees.extend(head_trees);
                }
                return Detected {
                    language: Some(second),
                    trees,
                    errors: retry,
                    alternatives: vec![Some(first)],
                };
            }
        }
        Detected { language: None, trees, errors: 1.0, alternatives: vec![Some(first)] }
    }
}

impl Detected {
    fn none() -> Self {
        Detected { language: None, trees: Vec::new(), errors: 1.0, alternatives: Vec::new() }
    }
}

#[cfg(test)]
mod tests;
