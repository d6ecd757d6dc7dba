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
}

impl<T: PostingSource + ?Sized> PostingSource for &T {
    fn postings(&self, hash: u64, max_documents: usize, out: &mut Vec<Posting>) -> usize {
        (**self).postings(hash, max_documents, out)
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
}

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
    let mut hits = Vec::new();
    let mut postings = Vec::new();
    let mut found: Vec<(u32, Posting)> = Vec::new();
    'fingerprints: for fp in query {
        for allowed in allowlist {
            if allowed.postings(fp.hash, 0, &mut postings) > 0 {
                continue 'fingerprints;
            }
        }
        found.clear();
        let mut documents = 0;
        let ignore = params.ignore_doc_frequency.max(params.max_doc_frequency);
        for (s, source) in sources.iter().enumerate() {
            documents += source.postings(fp.hash, ignore - documents, &mut postings);
            if documents > ignore {
                continue 'fingerprints;
            }
            found.extend(postings.iter().map(|&p| (s as u32, p)));
        }
        let common = documents > params.max_doc_frequency;
        hits.extend(found.iter().map(|&(source, p)| Hit {
            source,
            doc: p.doc,
            diagonal: i64::from(p.position) - i64::from(fp.position),
            query: fp.position,
            position: p.position,
            common,
            hash: fp.hash,
        }));
    }
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
                },
                vec![hit.hash],
            )),
        }
        previous_hit = hit.query;
    }
    stitch(chains, params.max_gap as u32)
}

/// Joins chains of the same document that follow each other in the query (across diagonal shifts);
/// a chain made only of fingerprints the match already has (the same rows of a table, on another
/// diagonal) extends it without adding coverage.
fn stitch(mut chains: Vec<(SpanMatch, Vec<u64>)>, max_gap: u32) -> Vec<SpanMatch> {
    chains.sort_unstable_by_key(|(c, _)| (c.source, c.doc, c.query_start, c.query_end));
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
            }
            _ => out.push((chain, hashes)),
        }
    }
    let mut out: Vec<SpanMatch> = out.into_iter().map(|(m, _)| m).collect();
    out.sort_unstable_by_key(|m| (std::cmp::Reverse(m.covered), m.source, m.doc, m.query_start));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::Winnowing;
    use crate::hash::splitmix64;

    const K: usize = 5;
    const NONE: &[FingerprintTable] = &[];
    const W: usize = 8;

    fn tokens(state: &mut u64, n: usize) -> Vec<u64> {
        (0..n).map(|_| splitmix64(state) % 5000).collect()
    }

    fn fingerprints(tokens: &[u64]) -> Vec<Fingerprint> {
        let mut out = Vec::new();
        Winnowing::new(K, W, None).unwrap().fingerprints(tokens, &mut Vec::new(), &mut out);
        out
    }

    fn table(docs: &[Vec<u64>]) -> FingerprintTable {
        let entries = docs
            .iter()
            .enumerate()
            .flat_map(|(d, t)| {
                fingerprints(t)
                    .into_iter()
                    .map(move |f| (f.hash, Posting { doc: d as u32, position: f.position }))
            })
            .collect();
        FingerprintTable::from_entries(entries)
    }

    fn params() -> MatchParams {
        MatchParams { k: K, w: W, max_doc_frequency: 3, ignore_doc_frequency: 3, max_gap: W + K }
    }

    #[test]
    fn an_embedded_copy_is_found_where_it_is() {
        let mut state = 11;
        let docs: Vec<Vec<u64>> = (0..20).map(|_| tokens(&mut state, 400)).collect();
        let query = [tokens(&mut state, 60), docs[7][100..300].to_vec(), tokens(&mut state, 50)].concat();
        let matches = find_matches(&[table(&docs)], NONE, &fingerprints(&query), &params());
        let best = matches[0];
        assert_eq!(best.doc, 7);
        assert!(best.query_start <= 60 + W as u32 && best.query_end >= 260 - W as u32, "{best:?}");
        assert!(best.covered >= 180, "{best:?}");
        assert!(matches.iter().skip(1).all(|m| m.covered < 20), "nothing else of note: {matches:?}");
    }

    #[test]
    fn an_edited_copy_is_stitched_into_one_match() {
        let mut state = 12;
        let docs: Vec<Vec<u64>> = (0..5).map(|_| tokens(&mut state, 300)).collect();
        let mut copy = docs[2][50..250].to_vec();
        copy.insert(100, 99_999); // a statement inserted: the diagonal shifts by one
        copy.remove(150);
        let matches = find_matches(&[table(&docs)], NONE, &fingerprints(&copy), &params());
        assert_eq!(matches[0].doc, 2);
        assert!(matches[0].query_end - matches[0].query_start >= 190, "{:?}", matches[0]);
    }

    #[test]
    fn boilerplate_shared_by_many_documents_is_ignored() {
        let mut state = 13;
        let boilerplate = tokens(&mut state, 80);
        let docs: Vec<Vec<u64>> =
            (0..10).map(|_| [boilerplate.clone(), tokens(&mut state, 200)].concat()).collect();
        assert!(find_matches(&[table(&docs)], NONE, &fingerprints(&boilerplate), &params()).is_empty());
        let unrelated = tokens(&mut state, 300);
        assert!(find_matches(&[table(&docs)], NONE, &fingerprints(&unrelated), &params()).is_empty());
    }

    #[test]
    fn repeating_a_passage_is_not_more_evidence() {
        // Two documents that are each the same short row many times over (a table once its
        // literals are abstracted): they share a long run, but only one row's worth of evidence.
        let mut state = 17;
        let row = tokens(&mut state, 6);
        let table_a: Vec<u64> = row.iter().cycle().take(300).copied().collect();
        let table_b: Vec<u64> = row.iter().cycle().take(240).copied().collect();
        let matches = find_matches(&[table(&[table_a])], NONE, &fingerprints(&table_b), &params());
        assert!(matches.iter().all(|m| m.covered <= 2 * (K + W) as u32), "{matches:?}");
        // A real passage with a repeated part still counts its own part in full.
        let docs: Vec<Vec<u64>> = (0..4).map(|_| tokens(&mut state, 300)).collect();
        let copy = docs[1][0..150].to_vec();
        assert!(find_matches(&[table(&docs)], NONE, &fingerprints(&copy), &params())[0].covered >= 140);
    }

    #[test]
    fn common_fingerprints_chain_but_count_apart() {
        // A passage held by ten documents: common (more than three), but looked at (at most 20).
        let mut state = 16;
        let popular = tokens(&mut state, 120);
        let docs: Vec<Vec<u64>> = (0..10)
            .map(|_| [tokens(&mut state, 50), popular.clone(), tokens(&mut state, 50)].concat())
            .collect();
        let looked_at = MatchParams { ignore_doc_frequency: 20, ..params() };
        let matches = find_matches(&[table(&docs)], NONE, &fingerprints(&popular), &looked_at);
        assert_eq!(matches.iter().map(|m| m.doc).collect::<std::collections::BTreeSet<_>>().len(), 10);
        assert!(matches.iter().all(|m| m.distinct == 0 && m.covered >= 100), "{matches:?}");
        // A copy of one document that also holds the popular passage: distinct where it is its own.
        let own = docs[4][..50].to_vec();
        let copy = [own, popular.clone()].concat();
        let best = find_matches(&[table(&docs)], NONE, &fingerprints(&copy), &looked_at)[0];
        assert_eq!(best.doc, 4);
        assert!(best.distinct >= 40 && best.distinct < best.covered, "{best:?}");
        assert!(find_matches(&[table(&docs)], NONE, &fingerprints(&popular), &params()).is_empty());
    }

    #[test]
    fn boilerplate_is_counted_over_all_segments() {
        // Ten documents share a passage, five in each of two segments: ten documents in all, more
        // than the limit of three, although neither segment alone has more than five.
        let mut state = 14;
        let boilerplate = tokens(&mut state, 80);
        let docs: Vec<Vec<u64>> =
            (0..10).map(|_| [boilerplate.clone(), tokens(&mut state, 200)].concat()).collect();
        let segments = [table(&docs[..5]), table(&docs[5..])];
        assert!(find_matches(&segments, NONE, &fingerprints(&boilerplate), &params()).is_empty());
        let copy = docs[7][100..250].to_vec();
        let matches = find_matches(&segments, NONE, &fingerprints(&copy), &params());
        assert_eq!((matches[0].source, matches[0].doc), (1, 2), "document 7 is the third of segment 1");
    }

    #[test]
    fn allowlisted_passages_are_never_reported() {
        let mut state = 15;
        let docs: Vec<Vec<u64>> = (0..4).map(|_| tokens(&mut state, 300)).collect();
        let licence = docs[1][20..120].to_vec();
        // An allowlist keeps every k-gram of its passages (a window of one), not a winnowed sample,
        // so no k-gram of them can be selected in a query and missed in the allowlist.
        let mut every_kgram = Vec::new();
        Winnowing::new(K, 1, None).unwrap().fingerprints(&licence, &mut Vec::new(), &mut every_kgram);
        let allowlist = FingerprintTable::from_entries(
            every_kgram.iter().map(|f| (f.hash, Posting { doc: 0, position: f.position })).collect(),
        );
        let query = [licence.clone(), docs[2][0..100].to_vec()].concat();
        let matches = find_matches(&[table(&docs)], &[allowlist], &fingerprints(&query), &params());
        assert!(matches.iter().all(|m| m.doc != 1), "{matches:?}");
        assert_eq!(matches[0].doc, 2);
        assert!(find_matches(&[table(&docs)], NONE, &fingerprints(&query), &params())
            .iter()
            .any(|m| m.doc == 1));
    }

    #[test]
    fn postings_stop_counting_past_the_document_limit() {
        let t = FingerprintTable::from_entries(
            (0..10u32)
                .flat_map(|d| [(9, Posting { doc: d, position: 1 }), (9, Posting { doc: d, position: 2 })])
                .collect(),
        );
        let mut out = Vec::new();
        assert_eq!(t.postings(9, 10, &mut out), 10);
        assert_eq!(out.len(), 20);
        assert_eq!(t.postings(9, 3, &mut out), 4, "stops at the fourth document");
        assert_eq!(t.postings(8, 0, &mut out), 0);
        assert!(out.is_empty());
    }

    #[test]
    fn lookup_finds_every_posting_of_a_hash() {
        let t = FingerprintTable::from_entries(vec![
            (5, Posting { doc: 1, position: 3 }),
            (2, Posting { doc: 0, position: 1 }),
            (5, Posting { doc: 0, position: 9 }),
            (5, Posting { doc: 0, position: 9 }),
        ]);
        assert_eq!(t.len(), 3);
        assert_eq!(t.lookup(5), [Posting { doc: 0, position: 9 }, Posting { doc: 1, position: 3 }]);
        assert!(t.lookup(4).is_empty() && t.lookup(u64::MAX).is_empty());
    }
}
