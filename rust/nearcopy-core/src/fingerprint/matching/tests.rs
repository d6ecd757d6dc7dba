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
    let docs: Vec<Vec<u64>> =
        (0..10).map(|_| [tokens(&mut state, 50), popular.clone(), tokens(&mut state, 50)].concat()).collect();
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
    assert!(find_matches(&[table(&docs)], NONE, &fingerprints(&query), &params()).iter().any(|m| m.doc == 1));
}

/// An allowlist that counts what it is asked, and may ask to be asked about everything.
struct Asked<'a> {
    table: &'a FingerprintTable,
    every: bool,
    asked: std::cell::RefCell<Vec<u64>>,
}

impl PostingSource for Asked<'_> {
    fn postings(&self, hash: u64, max_documents: usize, out: &mut Vec<Posting>) -> usize {
        self.asked.borrow_mut().push(hash);
        self.table.postings(hash, max_documents, out)
    }

    fn asked_about_every_fingerprint(&self) -> bool {
        self.every
    }
}

#[test]
fn an_allowlist_is_asked_only_about_fingerprints_found_unless_it_must_see_all() {
    let mut state = 16;
    let docs: Vec<Vec<u64>> = (0..6).map(|_| tokens(&mut state, 300)).collect();
    let (segments, query) = ([table(&docs[..3]), table(&docs[3..])], {
        // a licence passage of document 1, a copy from document 4, and text in no document
        let licence = docs[1][20..120].to_vec();
        [licence, docs[4][50..150].to_vec(), tokens(&mut state, 200)].concat()
    });
    let mut every_kgram = Vec::new();
    Winnowing::new(K, 1, None).unwrap().fingerprints(&docs[1][20..120], &mut Vec::new(), &mut every_kgram);
    let licence = FingerprintTable::from_entries(
        every_kgram.iter().map(|f| (f.hash, Posting { doc: 0, position: f.position })).collect(),
    );
    let query = fingerprints(&query);
    let run = |every: bool| {
        let allowlist = [Asked { table: &licence, every, asked: Default::default() }];
        let matches = find_matches(&segments, &allowlist, &query, &params());
        let [allowlist] = allowlist;
        (matches, allowlist.asked.into_inner())
    };
    let (last, asked_last) = run(false);
    let (first, asked_first) = run(true);
    assert_eq!(last, first, "the same matches either way");
    assert!(
        last.iter().all(|m| (m.source, m.doc) != (0, 1)) && last.iter().any(|m| (m.source, m.doc) == (1, 1))
    );
    let distinct = |mut hashes: Vec<u64>| {
        hashes.sort_unstable();
        hashes.dedup();
        hashes
    };
    assert_eq!(distinct(asked_first.clone()), distinct(query.iter().map(|f| f.hash).collect()));
    let found: Vec<u64> =
        query.iter().map(|f| f.hash).filter(|&h| segments.iter().any(|s| !s.lookup(h).is_empty())).collect();
    assert_eq!(distinct(asked_last), distinct(found.clone()), "only the fingerprints some segment holds");
    assert!(asked_first.len() > 2 * found.len(), "most of the query is in no document");
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

#[test]
fn stitching_does_not_depend_on_the_order_chains_come_in() {
    // Two chains of one document covering the same query span on two diagonals, with different
    // fingerprints: the result must not depend on which one the sort happens to put first.
    let chain = |doc_start: u32, covered: u32, hashes: Vec<u64>| {
        let m = SpanMatch {
            source: 0,
            doc: 4,
            query_start: 10,
            query_end: 40,
            doc_start,
            covered,
            distinct: covered,
            hits: hashes.len() as u32,
            longest_run: covered,
        };
        (m, hashes)
    };
    let first = vec![chain(100, 30, vec![1, 2, 3]), chain(500, 12, vec![3, 4])];
    let second: Vec<_> = first.iter().rev().cloned().collect();
    assert_eq!(stitch(first, 13), stitch(second, 13));
}

/// A document holding a table: a distinctive head, one row of `row` tokens `rows` times, a tail.
fn with_table(state: &mut u64, row: usize, rows: usize) -> Vec<u64> {
    let line = tokens(state, row);
    [tokens(state, 80), line.repeat(rows), tokens(state, 80)].concat()
}

#[test]
fn a_copied_table_is_found_whole_although_its_rows_are_over_the_pair_budget() {
    // Every fingerprint of a row pairs each of its ~100 occurrences in the answer with each in the
    // document: far over the budget, so only the diagonals the head and tail are on keep them.
    let mut state = 21;
    let docs: Vec<Vec<u64>> = (0..6)
        .map(|i| if i == 3 { with_table(&mut state, 6, 100) } else { tokens(&mut state, 400) })
        .collect();
    let copy = docs[3].clone();
    let table = table(&docs);
    let query = fingerprints(&copy);
    let budgeted = find_matches(&[&table], NONE, &query, &params());
    let unlimited = find_matches_within(&[&table], NONE, &query, &params(), usize::MAX);
    let best = budgeted[0];
    assert_eq!(best.doc, 3);
    assert!(best.query_start <= W as u32 && best.query_end as usize >= copy.len() - W, "{best:?}");
    let same = |m: &SpanMatch| (m.doc, m.query_start, m.query_end, m.covered, m.distinct);
    assert_eq!(same(&best), same(&unlimited[0]), "the copy's match is the one all pairs give");
}

#[test]
fn under_the_pair_budget_every_pair_is_kept() {
    let mut state = 22;
    for _ in 0..20 {
        let docs: Vec<Vec<u64>> = (0..8).map(|_| with_table(&mut state, 5, 3)).collect();
        let query = [docs[1][20..140].to_vec(), docs[5][..60].to_vec()].concat();
        let table = table(&docs);
        let query = fingerprints(&query);
        assert_eq!(
            find_matches(&[&table], NONE, &query, &params()),
            find_matches_within(&[&table], NONE, &query, &params(), usize::MAX)
        );
    }
}

#[test]
fn a_match_stitched_from_short_runs_says_how_long_its_longest_unbroken_run_is() {
    let mut state = 14;
    let docs: Vec<Vec<u64>> = (0..5).map(|_| tokens(&mut state, 400)).collect();
    // A verbatim copy: one run, all of it.
    let copy = docs[3][100..300].to_vec();
    let whole = find_matches(&[table(&docs)], NONE, &fingerprints(&copy), &params())[0];
    assert_eq!((whole.doc, whole.longest_run), (3, whole.covered), "{whole:?}");
    // Runs of 14 tokens of the document, each followed by two tokens of its own (the diagonal
    // shifts at every one): stitched into one long match, no run of it longer than 14.
    let shapes: Vec<u64> = (0..12)
        .flat_map(|i| [docs[1][20 * i..20 * i + 14].to_vec(), vec![90_000 + i as u64, 91_000]].concat())
        .collect();
    let stitched = find_matches(&[table(&docs)], NONE, &fingerprints(&shapes), &params())[0];
    assert_eq!(stitched.doc, 1);
    assert!(stitched.covered >= 60 && stitched.longest_run <= 14, "{stitched:?}");
}
