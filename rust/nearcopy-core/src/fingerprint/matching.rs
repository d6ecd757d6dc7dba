//! From shared fingerprints to matched spans.
//!
//! A protected corpus is a table of (fingerprint hash → document, position) postings sorted by hash.
//! A query's fingerprints are looked up; every hit says "query token q is document d's token p", and
//! hits of a copied passage lie on one diagonal `p − q` of that document. Hits are chained along
//! diagonals, then chains of one document that follow each other in the query are stitched across
//! small diagonal shifts (a statement inserted or a word deleted moves the diagonal, not the copy).
//! Fingerprints found in more than `max_doc_frequency` documents are *common*: a match made only of
//! common fingerprints is boilerplate (an idiom) unless it is long (a popular function copied
//! whole: in a code base that holds many implementations of the same task, every fingerprint of a
//! function copied into thirty files is common, and the copy is still a copy). Fingerprints in more
//! than `ignore_doc_frequency` documents are not looked at at all: their postings would cost more
//! than any match they could add.

use super::Fingerprint;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Posting {
    pub doc: u32,
    pub position: u32,
}

/// Fingerprints of a protected corpus, sorted by hash for binary search (the in-memory form of an
/// index segment).
#[derive(Debug, Default, Clone)]
pub struct FingerprintTable {
    hashes: Vec<u64>,
    postings: Vec<Posting>,
}

impl FingerprintTable {
    /// A table of `(hash, posting)` entries in any order.
    pub fn from_entries(mut entries: Vec<(u64, Posting)>) -> Self {
        entries.sort_unstable();
        entries.dedup();
        let (hashes, postings) = entries.into_iter().unzip();
        FingerprintTable { hashes, postings }
    }

    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// The postings of `hash`, sorted by document then position.
    pub fn lookup(&self, hash: u64) -> &[Posting] {
        let start = self.hashes.partition_point(|&h| h < hash);
        let end = start + self.hashes[start..].partition_point(|&h| h == hash);
        &self.postings[start..end]
    }
}

/// Where postings are looked up: an in-memory table or a memory-mapped segment.
pub trait PostingSource {
    /// Replaces `out` with the postings of `hash`, sorted by document then position, and returns how
    /// many documents they name. Stops early once that exceeds `max_documents` (a boilerplate
    /// fingerprint, about to be ignored: its postings, possibly millions, are not worth copying);
    /// the count returned then exceeds `max_documents` and `out` is incomplete.
    fn postings(&self, hash: u64, max_documents: usize, out: &mut Vec<Posting>) -> usize;

    /// A hint that `postings(hash)` comes soon: stage 0 starts loading its first read into the
    /// cache, stage 1 (given a while after stage 0) the reads that the first one locates. A source
    /// in memory has nothing to do.
    fn prefetch(&self, _hash: u64, _stage: u8) {}

    /// The stored words of document `doc` ([`super::words`]), to rank documents that normalize
    /// alike: empty where the source keeps none; None where they cannot be read (a damaged block,
    /// which the source then reports as it reports damaged postings).
    fn document_words(&self, _doc: u32) -> Option<&[u8]> {
        Some(&[])
    }

    /// Whether, as an allowlist, this source must be asked about every fingerprint looked up (it
    /// records what it is asked: the router's first phase). Otherwise an allowlist is asked only
    /// about fingerprints that have postings: whether it holds one that has none changes nothing.
    fn asked_about_every_fingerprint(&self) -> bool {
        false
    }
}

impl<T: PostingSource + ?Sized> PostingSource for &T {
    fn postings(&self, hash: u64, max_documents: usize, out: &mut Vec<Posting>) -> usize {
        (**self).postings(hash, max_documents, out)
    }

    fn prefetch(&self, hash: u64, stage: u8) {
        (**self).prefetch(hash, stage)
    }

    fn document_words(&self, doc: u32) -> Option<&[u8]> {
        (**self).document_words(doc)
    }

    fn asked_about_every_fingerprint(&self) -> bool {
        (**self).asked_about_every_fingerprint()
    }
}

/// Appends `postings` (sorted by document) to `out` until they name more than `max_documents`
/// documents; returns the documents named.
pub(crate) fn collect_postings(
    postings: impl Iterator<Item = Posting>,
    max_documents: usize,
    out: &mut Vec<Posting>,
) -> usize {
    out.clear();
    let mut documents = 0;
    for posting in postings {
        if out.last().is_none_or(|last| last.doc != posting.doc) {
            documents += 1;
            if documents > max_documents {
                return documents;
            }
        }
        out.push(posting);
    }
    documents
}

impl PostingSource for FingerprintTable {
    fn postings(&self, hash: u64, max_documents: usize, out: &mut Vec<Posting>) -> usize {
        collect_postings(self.lookup(hash).iter().copied(), max_documents, out)
    }
}

impl PostingSource for super::segment::Segment {
    fn postings(&self, hash: u64, max_documents: usize, out: &mut Vec<Posting>) -> usize {
        self.lookup_limited(hash, max_documents, out)
    }

    fn prefetch(&self, hash: u64, stage: u8) {
        self.prefetch_lookup(hash, stage)
    }

    fn document_words(&self, doc: u32) -> Option<&[u8]> {
        super::segment::Segment::document_words(self, doc)
    }
}

/// Fingerprints ahead of the one looked up whose reads are hinted (stage 0 this far ahead, stage 1
/// half as far): a 2 KB answer looks up some three hundred, each a few dependent cache misses per
/// segment, and a 1 GB index in four shards spent a third of its checks waiting on them.
const LOOKUP_AHEAD: usize = 16;

/// How hits are chained into matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatchParams {
    /// Tokens per k-gram: a hit at query token q covers tokens q..q+k.
    pub k: usize,
    /// The winnowing window: along a shared run there is a fingerprint at least every `w` tokens, so
    /// hits on one diagonal at most `w` apart are taken to cover the tokens between them.
    pub w: usize,
    /// Fingerprints in more documents than this are common (see the module's documentation).
    pub max_doc_frequency: usize,
    /// Fingerprints in more documents than this (at least `max_doc_frequency`) are ignored.
    pub ignore_doc_frequency: usize,
    /// Chains of one document whose query spans are at most this many tokens apart are one match.
    pub max_gap: usize,
}

/// A passage of the query found in a protected document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpanMatch {
    /// Which of the searched sources (index segments), and which of its documents.
    pub source: u32,
    pub doc: u32,
    /// Query tokens `query_start..query_end` are covered by the match.
    pub query_start: u32,
    pub query_end: u32,
    /// Where the passage starts in the document (token index), from the first hit.
    pub doc_start: u32,
    /// Query tokens covered by shared k-grams (≤ `query_end − query_start` when stitched over edits).
    pub covered: u32,
    /// Of those, the tokens covered by fingerprints that are not common.
    pub distinct: u32,
    pub hits: u32,
    /// The most tokens one chain (one diagonal, unbroken) of the match covers. A copy, even an
    /// edited one, holds a long unbroken run; two functions written alike (three `if (x == null)
    /// throw ...;` checks, a run of `err = GET (...); if (err != OK) return err;`) share only short
    /// runs, on diagonals that shift with every statement, which stitching adds up to a long match.
    pub longest_run: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Hit {
    source: u32,
    doc: u32,
    diagonal: i64,
    query: u32,
    position: u32,
    common: bool,
    hash: u64,
}

impl Hit {
    fn new(source: u32, p: Posting, query: u32, common: bool, hash: u64) -> Self {
        let diagonal = i64::from(p.position) - i64::from(query);
        Hit { source, doc: p.doc, diagonal, query, position: p.position, common, hash }
    }
}

/// A fingerprint repeated in the query and in protected documents pairs every occurrence with every
/// occurrence: a row of a table, once literals are abstracted, repeated a hundred times in the
/// answer and in a document is ten thousand hits on some two hundred diagonals, of which at most a
/// few are a copy (one answer of pasted `dir()` output took 60 ms, nearly all of it sorting such
/// hits). Past this many pairs, a fingerprint's hits are kept only on the diagonals that other
/// fingerprints' hits are on: there they extend and bridge a copy as before; alone, a chain of one
/// repeated fingerprint adds no coverage (see the chaining below), and the words of repetitive
/// code are checked as well (`Content::CodeWords`).
const PAIR_BUDGET: usize = 1024;

/// A fingerprint over the pair budget: its occurrences in the query (sorted) and its postings.
struct Crowded {
    hash: u64,
    common: bool,
    queried: Vec<u32>,
    found: Vec<(u32, Posting)>,
}

/// Adds the hits of `crowded` fingerprints that lie on a diagonal of one of `hits`.
fn hits_of_crowded(crowded: &[Crowded], hits: &mut Vec<Hit>) {
    if crowded.is_empty() {
        return;
    }
    let mut diagonals: Vec<(u32, u32, i64)> = hits.iter().map(|h| (h.source, h.doc, h.diagonal)).collect();
    diagonals.sort_unstable();
    diagonals.dedup();
    for c in crowded {
        for &(source, p) in &c.found {
            let from = diagonals.partition_point(|&(s, d, _)| (s, d) < (source, p.doc));
            for &(_, _, diagonal) in
                diagonals[from..].iter().take_while(|&&(s, d, _)| (s, d) == (source, p.doc))
            {
                let q = i64::from(p.position) - diagonal;
                if u32::try_from(q).is_ok_and(|q| c.queried.binary_search(&q).is_ok()) {
                    hits.push(Hit::new(source, p, q as u32, c.common, c.hash));
                }
            }
        }
    }
}

/// The matches of a query's fingerprints against every source (the segments of one index), longest
/// first. A fingerprint is common when the documents holding it, over all sources together, exceed
/// `max_doc_frequency`, and ignored past `ignore_doc_frequency`; one found in any `allowlist`
/// source is never reported.
pub fn find_matches<S: PostingSource, A: PostingSource>(
    sources: &[S],
    allowlist: &[A],
    query: &[Fingerprint],
    params: &MatchParams,
) -> Vec<SpanMatch> {
    find_matches_within(sources, allowlist, query, params, PAIR_BUDGET)
}

/// [`find_matches`] with a fingerprint's hits limited past `pair_budget` pairs (see [`PAIR_BUDGET`]).
fn find_matches_within<S: PostingSource, A: PostingSource>(
    sources: &[S],
    allowlist: &[A],
    query: &[Fingerprint],
    params: &MatchParams,
    pair_budget: usize,
) -> Vec<SpanMatch> {
    let mut hits = Vec::new();
    let mut crowded = Vec::new();
    // The query's fingerprints by hash: a hash repeated in the query is looked up once.
    let mut by_hash: Vec<Fingerprint> = query.to_vec();
    by_hash.sort_unstable_by_key(|f| (f.hash, f.position));
    let (mut postings, mut found_here) = (Vec::new(), Vec::new());
    let mut found: Vec<(u32, Posting)> = Vec::new();
    let ignore = params.ignore_doc_frequency.max(params.max_doc_frequency);
    let groups: Vec<&[Fingerprint]> = by_hash.chunk_by(|a, b| a.hash == b.hash).collect();
    let hint = |g: usize, stage: u8| {
        if let Some(group) = groups.get(g) {
            sources.iter().for_each(|s| s.prefetch(group[0].hash, stage));
            allowlist.iter().for_each(|a| a.prefetch(group[0].hash, stage));
        }
    };
    (0..LOOKUP_AHEAD).for_each(|g| hint(g, 0));
    (0..LOOKUP_AHEAD / 2).for_each(|g| hint(g, 1));
    // Most of an answer's fingerprints are in no source. The allowlists (one per shard, MBs each
    // with a corpus's transpiler helpers and notices, as far from the cache as the segments) were
    // looked up first for every one, unhinted: 14% of a check's time on an index of 1 GB in four
    // shards (measured by skipping them). They are now asked last, only about the fingerprints
    // found, and hinted with the segments: 8% of the check's time saved.
    let allowlist_first = allowlist.iter().any(|a| a.asked_about_every_fingerprint());
    let mut allowlisted = |hash: u64| allowlist.iter().any(|a| a.postings(hash, 0, &mut postings) > 0);
    'hashes: for (g, group) in groups.iter().enumerate() {
        hint(g + LOOKUP_AHEAD, 0);
        hint(g + LOOKUP_AHEAD / 2, 1);
        let hash = group[0].hash;
        if allowlist_first && allowlisted(hash) {
            continue;
        }
        found.clear();
        let mut documents = 0;
        for (s, source) in sources.iter().enumerate() {
            documents += source.postings(hash, ignore - documents, &mut found_here);
            if documents > ignore {
                continue 'hashes;
            }
            found.extend(found_here.iter().map(|&p| (s as u32, p)));
        }
        if found.is_empty() || !allowlist_first && allowlisted(hash) {
            continue; // no hit to make, or none to report
        }
        let common = documents > params.max_doc_frequency;
        let queried: Vec<u32> = group.iter().map(|f| f.position).collect();
        if queried.len() * found.len() > pair_budget {
            crowded.push(Crowded { hash, common, queried, found: found.clone() });
            continue;
        }
        for &q in &queried {
            hits.extend(found.iter().map(|&(source, p)| Hit::new(source, p, q, common, hash)));
        }
    }
    hits_of_crowded(&crowded, &mut hits);
    hits.sort_unstable();
    let (k, w) = (params.k as u32, params.w as u32);
    // Chains along one diagonal: consecutive hits no further apart than the gap allows. A
    // fingerprint a chain has already had (repetitive code: a table of `{"key", "value"},` rows is
    // the same k-gram over and over once literals are abstracted) extends it but adds no coverage:
    // repeating itself is not more evidence of a copy, and such tables matched any other table.
    let mut chains: Vec<(SpanMatch, Vec<u64>)> = Vec::new();
    let mut previous_hit = 0u32;
    for hit in hits {
        match chains.last_mut() {
            Some((last, seen))
                if (last.source, last.doc) == (hit.source, hit.doc)
                    && hit.diagonal == i64::from(last.doc_start) - i64::from(last.query_start)
                    && hit.query <= last.query_end + params.max_gap as u32 =>
            {
                if seen.contains(&hit.hash) {
                    last.query_end = last.query_end.max(hit.query + k);
                    last.hits += 1;
                    previous_hit = hit.query;
                    continue;
                }
                seen.push(hit.hash);
                let new_end = hit.query + k;
                // Close behind the previous hit: the run in between is shared too. Further: only
                // this k-gram is known to be.
                let from = if hit.query <= previous_hit + w {
                    last.query_end
                } else {
                    hit.query.max(last.query_end)
                };
                let added = new_end.saturating_sub(from);
                last.covered += added;
                if !hit.common {
                    last.distinct += added;
                }
                last.query_end = last.query_end.max(new_end);
                last.hits += 1;
            }
            _ => chains.push((
                SpanMatch {
                    source: hit.source,
                    doc: hit.doc,
                    query_start: hit.query,
                    query_end: hit.query + k,
                    doc_start: hit.position,
                    covered: k,
                    distinct: if hit.common { 0 } else { k },
                    hits: 1,
                    longest_run: 0,
                },
                vec![hit.hash],
            )),
        }
        previous_hit = hit.query;
    }
    for (chain, _) in &mut chains {
        chain.longest_run = chain.covered;
    }
    stitch(chains, params.max_gap as u32)
}

/// Joins chains of the same document that follow each other in the query (across diagonal shifts);
/// a chain made only of fingerprints the match already has (the same rows of a table, on another
/// diagonal) extends it without adding coverage.
fn stitch(mut chains: Vec<(SpanMatch, Vec<u64>)>, max_gap: u32) -> Vec<SpanMatch> {
    // A total order: chains of one document on two diagonals can cover the same query span, and which
    // comes first decides what the second adds. Left to an unstable sort, that depended on where
    // the chains sat among other documents' (so on the documents' numbering: a verdict changed when
    // the corpus was indexed in another order, or sharded); the diagonal (`doc_start`) settles it.
    chains.sort_unstable_by_key(|(c, _)| (c.source, c.doc, c.query_start, c.query_end, c.doc_start));
    let mut out: Vec<(SpanMatch, Vec<u64>)> = Vec::new();
    for (chain, hashes) in chains {
        match out.last_mut() {
            Some((last, seen))
                if (last.source, last.doc) == (chain.source, chain.doc)
                    && chain.query_start <= last.query_end + max_gap =>
            {
                let fresh: Vec<u64> = hashes.into_iter().filter(|h| !seen.contains(h)).collect();
                if !fresh.is_empty() {
                    let overlap = last.query_end.saturating_sub(chain.query_start).min(chain.covered);
                    last.covered += chain.covered - overlap;
                    last.distinct += chain.distinct.saturating_sub(overlap);
                    seen.extend(fresh);
                }
                last.query_end = last.query_end.max(chain.query_end);
                last.hits += chain.hits;
                last.longest_run = last.longest_run.max(chain.longest_run);
            }
            _ => out.push((chain, hashes)),
        }
    }
    let mut out: Vec<SpanMatch> = out.into_iter().map(|(m, _)| m).collect();
    out.sort_unstable_by_key(|m| (std::cmp::Reverse(m.covered), m.source, m.doc, m.query_start));
    out
}

#[cfg(test)]
mod tests;
