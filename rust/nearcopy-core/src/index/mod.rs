//! The protected index's work: fingerprint a corpus into segment entries (in parallel), and find
//! where an answer reproduces indexed documents, in byte spans of the answer.

use crate::code::{split_answer, Parser};
use crate::error::Result;
use crate::fingerprint::document::{Content, Fingerprinter, TokenStream};
use crate::fingerprint::{find_matches, Fingerprint, MatchParams, Posting, PostingSource, Winnowings};
use crate::pool;
use rayon::prelude::*;

/// The entries of one segment: (hash, posting) sorted, plus totals for `info()`.
#[derive(Debug, Default)]
pub struct BuiltSegment {
    pub entries: Vec<(u64, Posting)>,
    pub tokens: u64,
}

/// Per-worker normalizers and buffers.
type Scratch = (Fingerprinter, TokenStream, Vec<Fingerprint>);
/// One document's entries and token count.
type DocEntries = (Vec<(u64, Posting)>, u64);

/// Fingerprints every document (`docs[i]` becomes document `i` of the segment).
pub fn build_entries(
    docs: &[(&str, Content)],
    winnowings: &Winnowings,
    num_threads: usize,
) -> Result<BuiltSegment> {
    let one = |f: &mut Scratch, (d, (text, content)): (usize, &(&str, Content))| -> Result<DocEntries> {
        let (fingerprinter, stream, fps) = f;
        fingerprinter.tokens(text, *content, 0, stream)?;
        fingerprinter.fingerprints(stream, winnowings.for_content(*content), fps);
        let entries =
            fps.iter().map(|fp| (fp.hash, Posting { doc: d as u32, position: fp.position })).collect();
        Ok((entries, stream.ids.len() as u64))
    };
    let parts: Vec<Result<DocEntries>> = if num_threads <= 1 {
        let mut state = Default::default();
        docs.iter().enumerate().map(|doc| one(&mut state, doc)).collect()
    } else {
        pool::pool(num_threads)?
            .install(|| docs.par_iter().enumerate().map_init(Default::default, one).collect())
    };
    let mut built = BuiltSegment::default();
    for part in parts {
        let (entries, tokens) = part?;
        built.entries.extend(entries);
        built.tokens += tokens;
    }
    built.entries.par_sort_unstable();
    built.entries.dedup();
    Ok(built)
}

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
    /// Fingerprints in more protected documents than this (over all segments) are boilerplate.
    pub max_doc_frequency: usize,
    /// A match must cover at least this many normalized tokens: of prose, and of code.
    pub min_prose_tokens: u32,
    pub min_code_tokens: u32,
}

/// Chains of one document this many windows-plus-k-grams apart in the answer are stitched into one
/// copy with an edit in between. Prose edits (a word swapped or dropped every few words) break the
/// chains more often than code edits do; the factors are measured in benches/bench_filter.py.
const PROSE_GAP_FACTOR: usize = 2;
const CODE_GAP_FACTOR: usize = 1;

/// Splits `answer` into prose and code, fingerprints each part with its own normalizer and winnowing,
/// and looks the fingerprints up in every segment (`allowlist` segments hold passages that are never
/// reported). Returns the matches covering at least the minimum for their content, longest first.
pub fn match_answer<S: PostingSource, A: PostingSource>(
    answer: &str,
    segments: &[S],
    allowlist: &[A],
    winnowings: &Winnowings,
    settings: &MatchSettings,
) -> Result<AnswerReport> {
    let mut parser = Parser::new();
    let mut fingerprinter = Fingerprinter::new();
    let (mut stream, mut fps) = (TokenStream::default(), Vec::new());
    let mut report = AnswerReport::default();
    for part in split_answer(answer, &mut parser) {
        let content = match part.language {
            Some(language) if part.code => Content::Code(language),
            _ => Content::Prose,
        };
        fingerprinter.tokens(&answer[part.start..part.end], content, part.start, &mut stream)?;
        report.answer_tokens += stream.ids.len();
        let winnowing = winnowings.for_content(content);
        fingerprinter.fingerprints(&stream, winnowing, &mut fps);
        let (gap_factor, min_tokens) = match content {
            Content::Prose => (PROSE_GAP_FACTOR, settings.min_prose_tokens),
            Content::Code(_) => (CODE_GAP_FACTOR, settings.min_code_tokens),
        };
        let params = MatchParams {
            k: winnowing.k,
            w: winnowing.w,
            max_doc_frequency: settings.max_doc_frequency,
            max_gap: (winnowing.k + winnowing.w) * gap_factor,
        };
        for m in find_matches(segments, allowlist, &fps, &params) {
            if m.covered < min_tokens {
                continue;
            }
            // Winnowing selects a fingerprint within the first and the last `w` k-grams of a shared
            // run, so the run may reach up to `w − 1` tokens beyond the outermost hits: the span is
            // widened by that much, to redact too much rather than let copied text out.
            let reach = winnowing.w.saturating_sub(1);
            let first = (m.query_start as usize).saturating_sub(reach);
            let last = (m.query_end as usize + reach).min(stream.ends.len()) - 1;
            report.matches.push(AnswerMatch {
                segment: m.source as usize,
                doc: m.doc,
                start: stream.starts[first],
                end: stream.ends[last],
                covered: m.covered,
                span_tokens: m.query_end - m.query_start,
                content,
            });
        }
    }
    report.matches.sort_by_key(|m| (std::cmp::Reverse(m.covered), m.start));
    Ok(report)
}

#[cfg(test)]
mod tests;
