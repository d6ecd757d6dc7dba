//! Raw candidates and the packed ranking of [`super::query`], against the estimated, tuple-ranked
//! answers they must equal.

use super::rank::RankKey;
use super::tests::{params, signatures, str_keys, tempdir, write};
use super::*;
use std::collections::BTreeSet;

fn hits_of(bounds: &[u64], hits: &[Hit], q: usize) -> Vec<Hit> {
    hits[bounds[q] as usize..bounds[q + 1] as usize].to_vec()
}

#[test]
fn raw_candidates_are_the_estimated_ones_without_reading_the_store() {
    let dir = tempdir("raw");
    let sigs = signatures(400, 11);
    let ((blob, ends), (more, more_ends)) = (str_keys(250, "a"), str_keys(150, "b"));
    let header = params(Store::Bits(8), KeyKind::Str);
    let a = write(&dir, "a.ncl", &header, &sigs[..250 * 16], Keys::Str { blob: &blob, ends: &ends });
    let b = write(&dir, "b.ncl", &header, &sigs[250 * 16..], Keys::Str { blob: &more, ends: &more_ends });
    let removed = Tombstones::from_sorted((0..150).step_by(7).collect(), 150);
    let none = Tombstones::none();
    let sources = [Source { segment: &a, removed: &none }, Source { segment: &b, removed: &removed }];
    let queries = signatures(60, 12);
    // A threshold of 0 keeps every candidate, estimated.
    let estimated = QuerySettings { threshold: 0.0, verify: true, top_k: 0 };
    let raw = QuerySettings { verify: false, ..estimated };
    assert!(estimated.estimates() && !raw.estimates() && QuerySettings { top_k: 2, ..raw }.estimates());
    let (ebounds, ehits) = query(&sources, &a.header, &queries, &estimated, 1).unwrap();
    for threads in [1, 2] {
        let (bounds, hits) = query(&sources, &a.header, &queries, &raw, threads).unwrap();
        for q in 0..60 {
            let found = hits_of(&bounds, &hits, q);
            assert!(found.iter().all(|h| h.equal == 0));
            let as_set = |h: &[Hit]| h.iter().map(|h| (h.source, h.doc)).collect::<BTreeSet<_>>();
            assert_eq!(as_set(&found), as_set(&hits_of(&ebounds, &ehits, q)), "query {q}");
            assert_eq!(as_set(&found).len(), found.len(), "each candidate once");
            let one = query_one(&sources, &a.header, &queries[q * 16..q * 16 + 16], &raw, <[Hit]>::to_vec);
            assert_eq!(one.unwrap(), found, "a single query finds them in the same order");
        }
    }
}

#[test]
fn packed_rank_keys_order_and_unpack_hits_exactly() {
    let dir = tempdir("rank");
    let sigs = signatures(300, 13);
    let ints: Vec<i64> = (0..300).collect();
    let a = write(&dir, "a.ncl", &params(Store::Bits(8), KeyKind::Int), &sigs, Keys::Int(&ints));
    let none = Tombstones::none();
    let sources = vec![Source { segment: &a, removed: &none }; 3];
    let ranks = RankKey::new(&sources, 16).unwrap();
    let mut hits = Vec::new();
    for source in 0..3u32 {
        for doc in [0u32, 1, 17, 255, 299] {
            for equal in [0u32, 1, 9, 16] {
                hits.push(Hit { source, doc, equal });
            }
        }
    }
    let mut by_tuple = hits.clone();
    by_tuple.sort_by_key(|h| (std::cmp::Reverse(h.equal), h.source, h.doc));
    let mut keys: Vec<u64> =
        hits.iter().map(|h| ranks.key(u64::from(h.source) << 32 | u64::from(h.doc), h.equal)).collect();
    keys.sort_unstable();
    assert_eq!(keys.iter().map(|&k| ranks.hit(k)).collect::<Vec<_>>(), by_tuple);
    // Hits that cannot fit in 64 bits are ranked as tuples.
    assert!(RankKey::new(&sources, usize::MAX >> 1).is_none());
    // Verified and top-k answers over several sources, ranked either way, are the same.
    let queries = signatures(50, 14);
    for settings in [
        QuerySettings { threshold: 0.5, verify: true, top_k: 0 },
        QuerySettings { threshold: 0.0, verify: false, top_k: 4 },
    ] {
        let (bounds, hits) = query(&sources, &a.header, &queries, &settings, 1).unwrap();
        for q in 0..50 {
            let found = hits_of(&bounds, &hits, q);
            let mut expected: Vec<Hit> = hits_of(&bounds, &hits, q);
            expected.sort_by_key(|h| (std::cmp::Reverse(h.equal), h.source, h.doc));
            assert_eq!(found, expected);
        }
    }
}
