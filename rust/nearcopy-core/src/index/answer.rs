//! Where an answer reproduces indexed documents: the answer split into prose and code, each part
//! fingerprinted with its own normalizer and winnowing (and read its other ways where the split was
//! unsure), looked up in every segment, the matches in byte spans of the answer.

use super::repetitive;
use crate::code::{split_answer_with, Hint, Language, LanguageSet, Parser, SplitOptions};
use crate::error::Result;
use crate::fingerprint::document::{Content, Fingerprinter, TokenStream};
use crate::fingerprint::{find_matches, Fingerprint, MatchParams, PostingSource, Winnowings};

/// A stretch of an answer found in an indexed document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerMatch {
    /// Which of the given segments, and which of its documents.
    pub segment: usize,
    pub doc: u32,
    /// Byte span in the answer: the hits' span widened by `w − 1` tokens each way (see below).
    pub start: usize,
    pub end: usize,
    /// Normalized tokens of the answer the match covers, and the tokens its span holds.
    pub covered: u32,
    pub span_tokens: u32,
    pub content: Content,
    /// Of the distinct words of the answer's part the match is in, how many the document holds:
    /// it ranks matches of equal coverage ([`super::attribution`]).
    pub shared_words: u32,
}

/// Everything `match_answer` found, with the answer's token count for coverage fractions.
#[derive(Debug, Default)]
pub struct AnswerReport {
    pub matches: Vec<AnswerMatch>,
    pub answer_tokens: usize,
}

/// What counts as a copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatchSettings {
    /// Fingerprints in more protected documents than this (over all segments) are common: a match
    /// made of common fingerprints alone is boilerplate unless it covers `popular_percent` % of the
    /// minimum (a popular passage copied whole, not an idiom).
    pub max_doc_frequency: usize,
    /// Fingerprints in more documents than this are not looked at (their postings cost more than
    /// they can add). Equal to `max_doc_frequency`: common fingerprints are ignored outright.
    pub ignore_doc_frequency: usize,
    pub popular_percent: u32,
    /// A match must cover at least this many normalized tokens: of prose, and of code.
    pub min_prose_tokens: u32,
    pub min_code_tokens: u32,
    /// What the index holds, and what the caller knows of the answer.
    pub contents: IndexContents,
    pub hint: Hint,
}

/// What the protected documents are: prose, and code in which languages. An answer's code in a
/// language the index does not hold cannot match it, so detection chooses only among these, and
/// prose is not looked up in an index without prose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexContents {
    pub prose: bool,
    pub languages: LanguageSet,
}

impl Default for IndexContents {
    fn default() -> Self {
        IndexContents { prose: true, languages: LanguageSet::ALL }
    }
}

/// Chains of one document this many windows-plus-k-grams apart in the answer are stitched into one
/// copy with an edit in between. Prose edits (a word swapped or dropped every few words) break the
/// chains more often than code edits do; the factors are measured in benches/bench_filter.py.
const PROSE_GAP_FACTOR: usize = 3;
const CODE_GAP_FACTOR: usize = 1;

/// A match of code must hold one unbroken run (one chain, on one diagonal) of this many k-grams'
/// worth of tokens, or of the whole minimum if that is smaller, counted as lengths are (with
/// `w − 1` added). A copy, even one with statements edited, keeps such a run; two functions written
/// alike (three `if (x == null) throw ...;` checks against three of another file, a run of
/// `err = GET (...); if (err != OK) return err;`) share only runs of a statement or two, on diagonals
/// that shift with every statement, which stitching would add up to a long match. On filter-real's
/// held-out functions, every false positive of that kind had no shared run of 40 tokens.
const CODE_RUN_KGRAMS: u64 = 2;

/// Reusable state of one answer's matching.
#[derive(Default)]
struct MatchScratch {
    fingerprinter: Fingerprinter,
    stream: TokenStream,
    fps: Vec<Fingerprint>,
}

/// Splits `answer` into prose and code, fingerprints each part with its own normalizer and winnowing,
/// and looks the fingerprints up in every segment (`allowlist` segments hold passages that are never
/// reported). A part the splitter was unsure of is also read its other ways (as prose, as code in
/// another language) and the matches of every reading kept, so a wrong split costs time, not recall.
/// Returns the matches covering at least the minimum for their content, longest first.
pub fn match_answer<S: PostingSource, A: PostingSource>(
    answer: &str,
    segments: &[S],
    allowlist: &[A],
    winnowings: &Winnowings,
    settings: &MatchSettings,
) -> Result<AnswerReport> {
    let contents = &settings.contents;
    let mut parser = Parser::new();
    let mut scratch = MatchScratch::default();
    let mut report = AnswerReport::default();
    let split = SplitOptions::new(contents.languages, settings.hint);
    for part in split_answer_with(answer, &mut parser, &split) {
        let segment = &part.segment;
        let text = &answer[segment.start..segment.end];
        let primary = match segment.language {
            Some(language) if segment.code => Content::Code(language),
            _ => Content::Prose,
        };
        let mut readings = vec![primary];
        for alternative in &segment.alternatives {
            let content = alternative.map_or(Content::Prose, Content::Code);
            if !readings.contains(&content) {
                readings.push(content);
            }
        }
        // (A reading may add another as it goes: repetitive code is also read for its words, made
        // from that code reading's tokens when it is found, so that the code is not parsed again.)
        let mut words_of_code: Vec<(Language, TokenStream)> = Vec::new();
        let found_before = report.matches.len();
        for n in 0.. {
            let Some(&content) = readings.get(n) else { break };
            // Prose cannot match an index without prose documents; the primary reading is still
            // normalized, for the answer's token count.
            let searched = matches!(content, Content::Code(_)) || contents.prose;
            if !searched && n > 0 {
                continue;
            }
            let MatchScratch { fingerprinter, stream, .. } = &mut scratch;
            match content {
                Content::Code(language) => match part.tree(language) {
                    Some(tree) => fingerprinter.tokens_parsed(text, language, tree, segment.start, stream),
                    None => fingerprinter.tokens(text, content, segment.start, stream)?,
                },
                Content::CodeWords(language) => {
                    match words_of_code.iter().position(|(l, _)| *l == language) {
                        Some(at) => *stream = words_of_code.swap_remove(at).1,
                        None => fingerprinter.tokens(text, content, segment.start, stream)?,
                    }
                }
                Content::Prose => fingerprinter.tokens(text, content, segment.start, stream)?,
            }
            if n == 0 {
                report.answer_tokens += stream.ids.len();
            }
            if searched {
                let repetitive = find_in(
                    &mut scratch,
                    content,
                    segments,
                    allowlist,
                    winnowings,
                    settings,
                    &mut report.matches,
                );
                // Code that is one row over and over (a table of strings) says little as code, where
                // its literals are abstracted away; its words say what it holds.
                if let (true, Content::Code(language)) = (repetitive, content) {
                    if !readings.contains(&Content::CodeWords(language)) {
                        readings.push(Content::CodeWords(language));
                        // The stream's spans are in the answer: its words are too.
                        let MatchScratch { fingerprinter, stream, .. } = &mut scratch;
                        let mut words = TokenStream::default();
                        fingerprinter.words_of(answer, stream, 0..stream.ids.len(), 0, &mut words);
                        words_of_code.push((language, words));
                    }
                }
            }
        }
        super::attribution::count_shared_words(text, segments, &mut report.matches[found_before..]);
    }
    report.matches = strongest_per_passage(report.matches);
    Ok(report)
}

/// Appends the matches of the token stream in `scratch` (normalized as `content`); returns whether
/// the stream is [`repetitive`].
fn find_in<S: PostingSource, A: PostingSource>(
    scratch: &mut MatchScratch,
    content: Content,
    segments: &[S],
    allowlist: &[A],
    winnowings: &Winnowings,
    settings: &MatchSettings,
    out: &mut Vec<AnswerMatch>,
) -> bool {
    let MatchScratch { fingerprinter, stream, fps } = scratch;
    let winnowing = winnowings.for_content(content);
    fingerprinter.fingerprints(stream, winnowing, fps);
    let repetitive = repetitive(fps);
    // Popular passages are a code matter (a helper pasted into many repositories); in prose, a
    // passage many documents share is a boilerplate section, and its common 4-word k-grams ("one of
    // the most") name so many documents that looking at them made prose checks three times slower.
    let (gap_factor, min_tokens, ignore_doc_frequency) = match content {
        Content::Prose | Content::CodeWords(_) => {
            (PROSE_GAP_FACTOR, settings.min_prose_tokens, settings.max_doc_frequency)
        }
        Content::Code(_) => (CODE_GAP_FACTOR, settings.min_code_tokens, settings.ignore_doc_frequency),
    };
    let params = MatchParams {
        k: winnowing.k,
        w: winnowing.w,
        max_doc_frequency: settings.max_doc_frequency,
        ignore_doc_frequency,
        max_gap: (winnowing.k + winnowing.w) * gap_factor,
    };
    // Winnowing selects a fingerprint within the first and the last `w` k-grams of a shared run,
    // so the run may reach up to `w − 1` tokens beyond the outermost hits at either end, and does
    // by about that much in all on average. Lengths are compared with the thresholds after adding
    // it (a 50-token copy shows some 41 covered tokens: without it, one copy of 50 to 60 tokens in
    // six went unflagged), and the span is widened by it at both ends, to redact too much rather
    // than let copied text out.
    let reach = winnowing.w.saturating_sub(1);
    let reach_tokens = reach as u64;
    let run_needed = match content {
        Content::Code(_) => (CODE_RUN_KGRAMS * winnowing.k as u64).min(u64::from(min_tokens)),
        Content::Prose | Content::CodeWords(_) => 0,
    };
    for m in find_matches(segments, allowlist, fps, &params) {
        // Enough of its own, or long enough to be a popular passage copied rather than an idiom.
        let copied = u64::from(m.distinct) + reach_tokens >= u64::from(min_tokens)
            || (u64::from(m.covered) + reach_tokens) * 100
                >= u64::from(min_tokens) * u64::from(settings.popular_percent);
        if !copied || u64::from(m.longest_run) + reach_tokens < run_needed {
            continue;
        }
        let first = (m.query_start as usize).saturating_sub(reach);
        let last = (m.query_end as usize + reach).min(stream.ends.len()) - 1;
        out.push(AnswerMatch {
            segment: m.source as usize,
            doc: m.doc,
            start: stream.starts[first],
            end: stream.ends[last],
            covered: m.covered,
            span_tokens: m.query_end - m.query_start,
            content,
            shared_words: 0,
        });
    }
    repetitive
}

/// Longest first, then the document holding more of the part's words; of the matches of one
/// document whose answer spans overlap (the same passage found under two readings), only the first.
fn strongest_per_passage(mut matches: Vec<AnswerMatch>) -> Vec<AnswerMatch> {
    use std::cmp::Reverse;
    matches.sort_by_key(|m| (Reverse(m.covered), Reverse(m.shared_words), m.start, m.segment, m.doc));
    let mut kept: Vec<AnswerMatch> = Vec::with_capacity(matches.len());
    for m in matches {
        let repeated = kept
            .iter()
            .any(|k| (k.segment, k.doc) == (m.segment, m.doc) && k.start < m.end && m.start < k.end);
        if !repeated {
            kept.push(m);
        }
    }
    kept
}
