//! The protected index's work: fingerprint a corpus into segment entries (in parallel), and find
//! where an answer reproduces indexed documents, in byte spans of the answer.

use crate::code::{split_answer_with, Hint, LanguageSet, Parser, SplitOptions};
use crate::error::Result;
use crate::fingerprint::document::{Content, Fingerprinter, TokenStream};
use crate::fingerprint::{find_matches, Fingerprint, MatchParams, Posting, PostingSource, Winnowings};
use crate::pool;
use rayon::prelude::*;

pub mod fanout;
pub mod notices;
pub mod order;

/// The entries of one segment, (hash, posting) in the order the segment stores them
/// ([`order::stored_rank`]), plus totals for `info()`.
#[derive(Debug, Default)]
pub struct BuiltSegment {
    pub entries: Vec<(u64, Posting)>,
    pub tokens: u64,
    /// Code documents with stretches also fingerprinted for their words, because their code is
    /// repetitive there (see below); those fingerprints are in the prose id space.
    pub also_prose: u64,
}

/// Per-worker normalizers and buffers.
type Scratch = (Fingerprinter, TokenStream, Vec<Fingerprint>, TokenStream);
/// The entries of a run of documents (in document order), their token count, and how many of them
/// were also read as prose.
type RunEntries = (Vec<(u64, Posting)>, u64, u64);

/// Documents per parallel task: several tasks per thread (documents differ in size), each appending
/// to one vector so that no per-document vector is allocated and copied.
const RUNS_PER_THREAD: usize = 8;

/// Whether a stream's fingerprints are repetitive: fewer than half of them distinct (a table of
/// `{"key", "value"},` rows, a switch of `case X: return "X";`, once literals are abstracted). Such
/// code says little as code, where every table matches every other; its words say what it holds,
/// so it is fingerprinted (and an answer's such code read) for its words too
/// ([`Content::CodeWords`]).
pub(crate) fn repetitive(fps: &[Fingerprint]) -> bool {
    fps.len() >= REPETITIVE_MIN_FINGERPRINTS && {
        let mut hashes: Vec<u64> = fps.iter().map(|f| f.hash).collect();
        hashes.sort_unstable();
        hashes.dedup();
        2 * hashes.len() < fps.len()
    }
}

/// Fingerprints in a window of the document's code looked at for repetition, at a time (a switch of
/// ten one-line cases is about twenty).
const REPETITION_WINDOW: usize = 12;

/// The token ranges of `fps` (fingerprints of `k`-grams of a stream of `tokens`) where some window
/// of [`REPETITION_WINDOW`] fingerprints is [`repetitive`], merged, in order.
fn repetitive_stretches(fps: &[Fingerprint], k: usize, tokens: usize) -> Vec<std::ops::Range<usize>> {
    let mut out: Vec<std::ops::Range<usize>> = Vec::new();
    if fps.len() < REPETITION_WINDOW {
        if repetitive(fps) {
            out.push(0..tokens);
        }
        return out;
    }
    if repetitive(fps) {
        out.push(0..tokens);
        return out;
    }
    for window in fps.windows(REPETITION_WINDOW).step_by(REPETITION_WINDOW / 4) {
        if !repetitive(window) {
            continue;
        }
        let start = window[0].position as usize;
        let end = (window[REPETITION_WINDOW - 1].position as usize + k).min(tokens);
        match out.last_mut() {
            Some(last) if start <= last.end => last.end = last.end.max(end),
            _ => out.push(start..end),
        }
    }
    out
}

/// Fingerprints every document (`docs[i]` becomes document `i` of the segment) into entries in the
/// order the segment stores them ([`order::stored_rank`]), exact duplicates dropped.
pub fn build_entries(
    docs: &[(&str, Content)],
    winnowings: &Winnowings,
    num_threads: usize,
) -> Result<BuiltSegment> {
    let one = |f: &mut Scratch,
               d: usize,
               (text, content): &(&str, Content),
               out: &mut Vec<(u64, Posting)>| {
        let (fingerprinter, stream, fps, words) = f;
        fingerprinter.tokens(text, *content, 0, stream)?;
        fingerprinter.fingerprints(stream, winnowings.for_content(*content), fps);
        let posting = |fp: &Fingerprint| (fp.hash, Posting { doc: d as u32, position: fp.position });
        let first = out.len();
        out.extend(fps.iter().map(posting));
        let tokens = stream.ids.len() as u64;
        // The repetitive stretches of code (a function that is a table) are fingerprinted for their
        // words too, one after another in one stream of words (positions never meet a code one:
        // words and symbols are hashed apart).
        words.ids.clear();
        words.starts.clear();
        words.ends.clear();
        if let Content::Code(language) = *content {
            let k = winnowings.for_content(*content).k;
            for range in repetitive_stretches(fps, k, stream.ids.len()) {
                fingerprinter.words_of(text, stream, range, 0, words);
            }
            if !words.ids.is_empty() {
                fingerprinter.fingerprints(words, winnowings.for_content(Content::CodeWords(language)), fps);
                out.extend(fps.iter().map(posting));
                // Each stream's positions increase; the two streams' interleave.
                out[first..].sort_unstable_by_key(|e| (e.1.position, e.0 as u32));
            }
        }
        Ok::<_, crate::Error>((tokens, !words.ids.is_empty()))
    };
    let run = |f: &mut Scratch, (first, run): (usize, &[(&str, Content)])| -> Result<RunEntries> {
        // About one entry per 16 bytes of prose (fewer for code): reserved, not touched, so an
        // overestimate costs no memory.
        let mut out = Vec::with_capacity(run.iter().map(|(t, _)| t.len() / 16 + 1).sum());
        let (mut tokens, mut also_prose) = (0, 0);
        for (i, doc) in run.iter().enumerate() {
            let (t, words) = one(f, first + i, doc, &mut out)?;
            tokens += t;
            also_prose += u64::from(words);
        }
        Ok((out, tokens, also_prose))
    };
    let per_run = if num_threads <= 1 {
        docs.len().max(1)
    } else {
        docs.len().div_ceil(num_threads * RUNS_PER_THREAD).max(1)
    };
    let runs = docs.chunks(per_run).enumerate().map(|(i, r)| (i * per_run, r));
    let parts: Vec<Result<RunEntries>> = if num_threads <= 1 {
        let mut state = Default::default();
        runs.map(|r| run(&mut state, r)).collect()
    } else {
        let runs: Vec<_> = runs.collect();
        pool::pool(num_threads)?.install(|| runs.into_par_iter().map_init(Default::default, run).collect())
    };
    let mut built = BuiltSegment::default();
    for part in parts {
        let (entries, tokens, also_prose) = part?;
        if built.entries.is_empty() {
            built.entries = entries;
        } else {
            built.entries.extend(entries);
        }
        built.tokens += tokens;
        built.also_prose += also_prose;
    }
    order::into_stored_order(&mut built.entries);
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

/// A stream needs at least this many fingerprints to be called [`repetitive`].
const REPETITIVE_MIN_FINGERPRINTS: usize = 8;

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
        // (A reading may add another as it goes: repetitive code is also read as prose.)
        for n in 0.. {
            let Some(&content) = readings.get(n) else { break };
            // Prose cannot match an index without prose documents; the primary reading is still
            // normalized, for the answer's token count.
            let searched = matches!(content, Content::Code(_)) || contents.prose;
            if !searched && n > 0 {
                continue;
            }
            let MatchScratch { fingerprinter, stream, .. } = &mut scratch;
            let kept = match content {
                Content::Code(language) => part.tree(language).map(|tree| (language, tree)),
                Content::Prose | Content::CodeWords(_) => None,
            };
            match kept {
                Some((language, tree)) => {
                    fingerprinter.tokens_parsed(text, language, tree, segment.start, stream)
                }
                None => fingerprinter.tokens(text, content, segment.start, stream)?,
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
                    }
                }
            }
        }
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
        });
    }
    repetitive
}

/// Longest first; of the matches of one document whose answer spans overlap (the same passage
/// found under two readings), only the longest.
fn strongest_per_passage(mut matches: Vec<AnswerMatch>) -> Vec<AnswerMatch> {
    matches.sort_by_key(|m| (std::cmp::Reverse(m.covered), m.start, m.segment, m.doc));
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

#[cfg(test)]
mod tests;
