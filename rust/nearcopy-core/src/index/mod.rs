//! The protected index's work: fingerprint a corpus into segment entries (in parallel), and find
//! where an answer reproduces indexed documents, in byte spans of the answer ([`answer`]).

use crate::error::Result;
use crate::fingerprint::document::{Content, Fingerprinter, TokenStream};
use crate::fingerprint::words::{document_words, DocumentWords, WordHash};
use crate::fingerprint::{Fingerprint, Posting, Winnowings};
use crate::pool;
use rayon::prelude::*;

mod answer;
mod attribution;
pub mod fanout;
pub mod notices;
pub mod order;

pub use answer::{match_answer, AnswerMatch, AnswerReport, IndexContents, MatchSettings};

/// The entries of one segment, (hash, posting) in the order the segment stores them
/// ([`order::stored_rank`]), its documents' words, plus totals for `info()`.
#[derive(Debug, Default)]
pub struct BuiltSegment {
    pub entries: Vec<(u64, Posting)>,
    /// The distinct words of each code document (none for prose), to rank documents that
    /// normalize alike ([`crate::fingerprint::words`]).
    pub words: DocumentWords,
    pub tokens: u64,
    /// Code documents with stretches also fingerprinted for their words, because their code is
    /// repetitive there (see below); those fingerprints are in the prose id space.
    pub also_prose: u64,
}

/// Per-worker normalizers and buffers.
type Scratch = (Fingerprinter, TokenStream, Vec<Fingerprint>, TokenStream, Vec<WordHash>);
/// The entries of a run of documents (in document order), their words, their token count, and
/// how many of them were also read as prose.
type RunEntries = (Vec<(u64, Posting)>, DocumentWords, u64, u64);

/// Documents per parallel task: several tasks per thread (documents differ in size), each appending
/// to one vector so that no per-document vector is allocated and copied.
const RUNS_PER_THREAD: usize = 8;

/// A stream needs at least this many fingerprints to be called [`repetitive`].
const REPETITIVE_MIN_FINGERPRINTS: usize = 8;

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
               out: &mut Vec<(u64, Posting)>,
               doc_words: &mut DocumentWords| {
        let (fingerprinter, stream, fps, words, word_hashes) = f;
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
        word_hashes.clear();
        if let Content::Code(language) = *content {
            // About 2% of a parse: a 40 KB file's few thousand words hashed and sorted.
            document_words(text.as_bytes(), word_hashes);
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
        doc_words.push(word_hashes);
        Ok::<_, crate::Error>((tokens, !words.ids.is_empty()))
    };
    let run = |f: &mut Scratch, (first, run): (usize, &[(&str, Content)])| -> Result<RunEntries> {
        // About one entry per 16 bytes of prose (fewer for code): reserved, not touched, so an
        // overestimate costs no memory.
        let mut out = Vec::with_capacity(run.iter().map(|(t, _)| t.len() / 16 + 1).sum());
        order::advise_huge_pages(&out);
        let mut doc_words = DocumentWords::default();
        let (mut tokens, mut also_prose) = (0, 0);
        for (i, doc) in run.iter().enumerate() {
            let (t, words) = one(f, first + i, doc, &mut out, &mut doc_words)?;
            tokens += t;
            also_prose += u64::from(words);
        }
        Ok((out, doc_words, tokens, also_prose))
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
        let (entries, words, tokens, also_prose) = part?;
        if built.entries.is_empty() {
            built.entries = entries;
        } else {
            built.entries.extend(entries);
        }
        built.words.extend(&words);
        built.tokens += tokens;
        built.also_prose += also_prose;
    }
    order::into_stored_order(&mut built.entries);
    Ok(built)
}

#[cfg(test)]
mod tests;
