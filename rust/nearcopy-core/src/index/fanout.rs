//! Checking an answer against one shard of a sharded index served on its own (a shard server behind
//! a router), with the verdict of the whole index.
//!
//! The matcher couples the shards of one index in two ways only: a fingerprint's document frequency
//! (the boilerplate rule: common past `max_doc_frequency`, ignored past `ignore_doc_frequency`) is
//! counted over every shard, and a fingerprint in any shard's allowlist is never reported. Chains,
//! stitching and the minimum lengths are per document, so per shard. A check therefore runs in two
//! phases: [`answer_frequencies`] says, for the fingerprints this shard's matcher looks up, how many
//! of its documents hold each (capped: past the largest threshold the count no longer matters) and
//! which it allowlists; the router sums the counts, and [`match_answer_with_others`] matches with
//! the other shards' documents added to each count, and their allowlisted fingerprints skipped.
//! Both are [`super::match_answer`] itself over other posting sources, so the fingerprints looked up
//! (which depend on how the answer is split, so on `settings.contents`: the whole index's) are the
//! same in both phases and in one index.

use super::{match_answer, AnswerReport, MatchSettings};
use crate::error::Result;
use crate::fingerprint::{Posting, PostingSource, Winnowings};
use std::cell::RefCell;

/// What one shard says of an answer's fingerprints: `(hash, documents holding it here)` for every
/// fingerprint with postings here (documents capped at `settings`' largest threshold + 1), and the
/// fingerprints of the answer this shard allowlists; both sorted by hash, without repeats.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ShardFrequencies {
    pub documents: Vec<(u64, u32)>,
    pub allowlisted: Vec<u64>,
}

/// What a counting source has seen, `(hash, documents)`, and its scratch postings.
type Seen = (Vec<(u64, u32)>, Vec<Posting>);

/// Counts documents over `segments` instead of yielding postings (the matcher then finds nothing).
struct Counting<'a, S> {
    segments: &'a [S],
    cap: usize,
    seen: RefCell<Seen>,
}

impl<S: PostingSource> PostingSource for Counting<'_, S> {
    fn postings(&self, hash: u64, _max_documents: usize, out: &mut Vec<Posting>) -> usize {
        out.clear();
        let (seen, scratch) = &mut *self.seen.borrow_mut();
        let mut documents = 0;
        for segment in self.segments {
            documents += segment.postings(hash, self.cap - documents.min(self.cap), scratch);
            if documents >= self.cap {
                documents = self.cap;
                break;
            }
        }
        if documents > 0 {
            seen.push((hash, documents as u32));
        }
        0
    }
}

/// Notes which looked-up fingerprints `allowlist` holds, and lets every one through.
struct Noting<'a, A> {
    allowlist: &'a [A],
    seen: RefCell<(Vec<u64>, Vec<Posting>)>,
}

impl<A: PostingSource> PostingSource for Noting<'_, A> {
    fn postings(&self, hash: u64, _max_documents: usize, out: &mut Vec<Posting>) -> usize {
        out.clear();
        let (seen, scratch) = &mut *self.seen.borrow_mut();
        if self.allowlist.iter().any(|a| a.postings(hash, 0, scratch) > 0) {
            seen.push(hash);
        }
        0
    }

    fn asked_about_every_fingerprint(&self) -> bool {
        true // another shard may hold the fingerprint this shard allowlists
    }
}

/// The documents of the other shards holding each fingerprint, with no postings: added to this
/// shard's own count, it makes the matcher's count the whole index's.
#[derive(Debug, Default, Clone)]
pub struct OtherShards {
    documents: Vec<(u64, u32)>,
}

impl OtherShards {
    /// `(hash, documents elsewhere)` in any order; a hash given twice counts both.
    pub fn new(mut documents: Vec<(u64, u32)>) -> Self {
        documents.sort_unstable();
        documents.dedup_by(|later, first| {
            let same = later.0 == first.0;
            if same {
                first.1 = first.1.saturating_add(later.1);
            }
            same
        });
        OtherShards { documents }
    }
}

impl PostingSource for OtherShards {
    fn postings(&self, hash: u64, _max_documents: usize, out: &mut Vec<Posting>) -> usize {
        out.clear();
        match self.documents.binary_search_by_key(&hash, |&(h, _)| h) {
            Ok(i) => self.documents[i].1 as usize,
            Err(_) => 0,
        }
    }
}

/// Fingerprints another shard allowlists: never reported here either.
#[derive(Debug, Default, Clone)]
pub struct AllowlistedElsewhere {
    hashes: Vec<u64>,
}

impl AllowlistedElsewhere {
    pub fn new(mut hashes: Vec<u64>) -> Self {
        hashes.sort_unstable();
        hashes.dedup();
        AllowlistedElsewhere { hashes }
    }
}

impl PostingSource for AllowlistedElsewhere {
    fn postings(&self, hash: u64, _max_documents: usize, out: &mut Vec<Posting>) -> usize {
        out.clear();
        usize::from(self.hashes.binary_search(&hash).is_ok())
    }
}

/// Phase one: what `segments` and `allowlist` (one shard) hold of the fingerprints `match_answer`
/// would look up for `answer` under `settings`.
pub fn answer_frequencies<S: PostingSource, A: PostingSource>(
    answer: &str,
    segments: &[S],
    allowlist: &[A],
    winnowings: &Winnowings,
    settings: &MatchSettings,
) -> Result<ShardFrequencies> {
    // Past the largest threshold a count only has to say "more": the sum of counts capped at T + 1
    // exceeds T exactly when the sum of the true counts does, and is exact below.
    let cap = settings.ignore_doc_frequency.max(settings.max_doc_frequency).saturating_add(1);
    let counting = [Counting { segments, cap, seen: RefCell::default() }];
    let noting = [Noting { allowlist, seen: RefCell::default() }];
    match_answer(answer, &counting, &noting, winnowings, settings)?;
    let [counting] = counting;
    let [noting] = noting;
    let mut documents = counting.seen.into_inner().0;
    documents.sort_unstable();
    documents.dedup();
    let mut allowlisted = noting.seen.into_inner().0;
    allowlisted.sort_unstable();
    allowlisted.dedup();
    Ok(ShardFrequencies { documents, allowlisted })
}

/// Phase two: the matches of `answer` in `segments` (one shard) as the whole index finds them,
/// given the other shards' documents per fingerprint and their allowlisted fingerprints. Match
/// segment numbers index `segments`.
pub fn match_answer_with_others<S: PostingSource, A: PostingSource>(
    answer: &str,
    segments: &[S],
    allowlist: &[A],
    others: &OtherShards,
    allowlisted_elsewhere: &AllowlistedElsewhere,
    winnowings: &Winnowings,
    settings: &MatchSettings,
) -> Result<AnswerReport> {
    // The other shards go last: they name no document, so the segment numbers stay this shard's.
    let mut sources: Vec<&dyn PostingSource> = segments.iter().map(|s| s as &dyn PostingSource).collect();
    sources.push(others);
    let mut allowed: Vec<&dyn PostingSource> = allowlist.iter().map(|a| a as &dyn PostingSource).collect();
    allowed.push(allowlisted_elsewhere);
    match_answer(answer, &sources, &allowed, winnowings, settings)
}

#[cfg(test)]
#[path = "fanout_tests.rs"]
mod tests;
