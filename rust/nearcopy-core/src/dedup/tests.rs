//! Each kernel against a slow, obviously correct reference on seeded random inputs.

use super::bands::bucket_of;
use super::exact::{content_hashes, exact_jaccard, shingle_sets, Shingling};
use super::*;
use crate::hash::splitmix64;
use crate::text::TextOptions;
use std::collections::{BTreeSet, HashSet};

/// Signatures over a tiny alphabet, so that bands often agree by chance.
fn random_sigs(docs: usize, num_perm: usize, alphabet: u64, seed: u64) -> Vec<u64> {
    let mut state = seed;
    (0..docs * num_perm).map(|_| splitmix64(&mut state) % alphabet).collect()
}

fn brute_force_pairs(sigs: &[u64], num_perm: usize, bands: usize, rows: usize) -> BTreeSet<(u64, u64)> {
    let docs = sigs.len() / num_perm;
    let band = |d: usize, b: usize| &sigs[d * num_perm + b * rows..d * num_perm + (b + 1) * rows];
    let mut out = BTreeSet::new();
    for i in 0..docs {
        for j in i + 1..docs {
            if (0..bands).any(|b| band(i, b) == band(j, b)) {
                out.insert((i as u64, j as u64));
            }
        }
    }
    out
}

fn as_set(flat: &[u64]) -> BTreeSet<(u64, u64)> {
    flat.chunks_exact(2).map(|p| (p[0], p[1])).collect()
}

/// Candidate pairs through every stage, over `buckets` buckets.
fn pipeline_pairs(
    sigs: &[u64],
    num_perm: usize,
    bands: usize,
    rows: usize,
    buckets: usize,
) -> BTreeSet<(u64, u64)> {
    let keys = band_keys(sigs, num_perm, bands, rows, 2).unwrap();
    let (records, counts) = bucket_records(&keys, bands, 0, None, buckets).unwrap();
    assert_eq!(counts.iter().sum::<u64>() as usize, keys.len());
    let mut all = BTreeSet::new();
    let mut start = 0;
    for (b, &count) in counts.iter().enumerate() {
        let part = &records[start * 2..(start + count as usize) * 2];
        assert!(part.chunks_exact(2).all(|r| bucket_of(r[0], buckets) == b));
        all.extend(as_set(&candidate_pairs(part, usize::MAX, 1).unwrap()));
        start += count as usize;
    }
    all
}

#[test]
fn candidates_are_exactly_the_pairs_sharing_a_band() {
    for seed in 0..20 {
        let sigs = random_sigs(60, 12, 3, seed);
        let expected = brute_force_pairs(&sigs, 12, 4, 3);
        for buckets in [1, 3, 16] {
            assert_eq!(pipeline_pairs(&sigs, 12, 4, 3, buckets), expected, "seed {seed} buckets {buckets}");
        }
    }
}

#[test]
fn band_keys_depend_on_the_band_and_the_thread_count_does_not_matter() {
    let sigs: Vec<u32> = vec![7, 7, 7, 7];
    let keys = band_keys(&sigs, 4, 2, 2, 1).unwrap();
    assert_ne!(keys[0], keys[1], "equal values in different bands must give different keys");
    let many = random_sigs(5000, 16, 1 << 20, 3);
    assert_eq!(band_keys(&many, 16, 4, 4, 1).unwrap(), band_keys(&many, 16, 4, 4, 2).unwrap());
    assert!(band_keys(&sigs, 4, 3, 2, 1).is_err());
    assert!(band_keys(&sigs, 3, 1, 1, 1).is_err());
}

#[test]
fn excluded_documents_leave_no_records() {
    let keys = [1u64, 2, 3, 4, 5, 6];
    let (records, counts) = bucket_records(&keys, 2, 10, Some(&[true, false, true]), 4).unwrap();
    let docs: BTreeSet<u64> = records.chunks_exact(2).map(|r| r[1]).collect();
    assert_eq!(docs, BTreeSet::from([10, 12]));
    assert_eq!(counts.iter().sum::<u64>(), 4);
    assert!(bucket_records(&keys, 2, 0, Some(&[true]), 4).is_err());
}

#[test]
fn large_groups_become_a_star_and_a_chain() {
    let records: Vec<u64> = (0..10u64).flat_map(|d| [42, 9 - d]).collect();
    let pairs = as_set(&candidate_pairs(&records, 4, 1).unwrap());
    let expected: BTreeSet<(u64, u64)> = (1..10).map(|j| (0, j)).chain((1..9).map(|i| (i, i + 1))).collect();
    assert_eq!(pairs, expected);
}

#[test]
fn sorted_records_give_the_same_pairs_as_unsorted_ones() {
    let mut state = 3;
    let records: Vec<u64> = (0..200u64)
        .flat_map(|d| [splitmix64(&mut state) % 17, splitmix64(&mut state) % 60 + d % 2])
        .collect();
    let sorted = sort_records(&records, 1).unwrap();
    let as_pairs = |r: &[u64]| r.chunks_exact(2).map(|p| (p[0], p[1])).collect::<Vec<_>>();
    let mut expected = as_pairs(&records);
    expected.sort();
    assert_eq!(as_pairs(&sorted), expected);
    assert_eq!(sort_records(&records, 2).unwrap(), sorted);
    for max_group in [2, 5, usize::MAX] {
        assert_eq!(
            candidate_pairs(&sorted, max_group, 1).unwrap(),
            candidate_pairs(&records, max_group, 1).unwrap()
        );
    }
    assert!(sort_records(&[1, 2, 3], 1).is_err());
}

#[test]
fn equal_slots_counts_agreements() {
    let sigs = random_sigs(30, 8, 2, 5);
    let pairs: Vec<u64> = (0..30u64).flat_map(|i| (0..30u64).flat_map(move |j| [i, j])).collect();
    let counts = equal_slots(&sigs, 8, &pairs, 2).unwrap();
    for (p, &c) in pairs.chunks_exact(2).zip(&counts) {
        let (a, b) = (&sigs[p[0] as usize * 8..][..8], &sigs[p[1] as usize * 8..][..8]);
        assert_eq!(c as usize, a.iter().zip(b).filter(|(x, y)| x == y).count());
    }
    assert!(equal_slots(&sigs, 8, &[0, 30], 1).is_err());
}

/// Connected components by repeated relaxation: the slowest, most obvious labelling.
fn reference_labels(n: usize, pairs: &[(u64, u64)]) -> Vec<u64> {
    let mut label: Vec<u64> = (0..n as u64).collect();
    loop {
        let mut changed = false;
        for &(a, b) in pairs {
            let low = label[a as usize].min(label[b as usize]);
            for x in [a, b] {
                if label[x as usize] != low {
                    label[x as usize] = low;
                    changed = true;
                }
            }
        }
        if !changed {
            return label;
        }
    }
}

#[test]
fn union_find_labels_components_by_their_smallest_document() {
    let mut state = 11;
    for round in 0..50 {
        let n = 1 + (splitmix64(&mut state) % 80) as usize;
        let edges = splitmix64(&mut state) % 100;
        let pairs: Vec<(u64, u64)> = (0..edges)
            .map(|_| (splitmix64(&mut state) % n as u64, splitmix64(&mut state) % n as u64))
            .collect();
        let expected = reference_labels(n, &pairs);
        // In two halves, in any order: the labels must not depend on it.
        let flat: Vec<u64> = pairs.iter().rev().flat_map(|&(a, b)| [b, a]).collect();
        let mut parent: Vec<u64> = (0..n as u64).collect();
        let (first, second) = flat.split_at(flat.len() / 4 * 2);
        union_pairs(&mut parent, first).unwrap();
        let pending = unconnected(&mut parent, second).unwrap();
        union_pairs(&mut parent, &pending).unwrap();
        assert_eq!(roots(&mut parent).unwrap(), expected, "round {round}");
    }
}

#[test]
fn union_find_refuses_bad_arrays() {
    assert!(union_pairs(&mut [0, 2, 1], &[]).is_err());
    assert!(union_pairs(&mut [0, 1], &[0, 2]).is_err());
    assert!(unconnected(&mut [0, 1], &[0]).is_err());
}

#[test]
fn exact_jaccard_matches_set_arithmetic() {
    let opts = TextOptions { ngram: 2, ..TextOptions::default() };
    let texts = ["a b c d e", "a b c d f", "x y", "", "A, B. c d e!"];
    let docs: Vec<(&str, Shingling<'_>)> = texts.iter().map(|t| (*t, Shingling::Text(&opts))).collect();
    let (values, bounds) = shingle_sets(&docs, 2).unwrap();
    let sets: Vec<HashSet<String>> =
        texts.iter().map(|t| crate::shingle::shingles(t, &opts).into_iter().collect()).collect();
    let pairs: Vec<u64> = (0..5u64).flat_map(|i| (0..5u64).flat_map(move |j| [i, j])).collect();
    let got = exact_jaccard(&values, &bounds, &pairs, 1).unwrap();
    for (p, &j) in pairs.chunks_exact(2).zip(&got) {
        let (a, b) = (&sets[p[0] as usize], &sets[p[1] as usize]);
        let union = a.union(b).count();
        let expected = if union == 0 { 1.0 } else { a.intersection(b).count() as f64 / union as f64 };
        assert!((j - expected).abs() < 1e-12, "{p:?}: {j} vs {expected}");
    }
    assert!(exact_jaccard(&values, &bounds, &[0, 9], 1).is_err());
}

#[test]
fn content_hashes_tell_texts_apart() {
    let hashes = content_hashes(&["same", "same", "other"], 2).unwrap();
    assert_eq!(hashes.len(), 6);
    assert_eq!(hashes[..2], hashes[2..4]);
    assert_ne!(hashes[..2], hashes[4..]);
    assert_eq!(content_hashes(&["same", "other"], 1).unwrap(), [&hashes[..2], &hashes[4..]].concat());
}

/// The slow reference of `exact_groups`: for each document, scan for the first document of its
/// group in (preferred first, then document) order.
fn brute_force_groups(hashes: &[u64], prefer: &[bool]) -> Vec<u64> {
    let n = hashes.len() / 2;
    let same = |a: usize, b: usize| hashes[2 * a..2 * a + 2] == hashes[2 * b..2 * b + 2];
    (0..n)
        .map(|d| {
            let group: Vec<usize> = (0..n).filter(|&e| same(d, e)).collect();
            *group.iter().find(|&&e| prefer[e]).unwrap_or(&group[0]) as u64
        })
        .collect()
}

#[test]
fn exact_groups_match_the_reference_with_and_without_preferences() {
    let mut state = 11;
    for trial in 0..40u64 {
        let n = (splitmix64(&mut state) % 70) as usize;
        let hashes: Vec<u64> = (0..2 * n).map(|i| splitmix64(&mut state) % 3 + (i as u64 % 2) * 7).collect();
        let prefer: Vec<bool> = (0..n).map(|_| splitmix64(&mut state) % 4 == 0).collect();
        let (rep, is_rep) = exact_groups(&hashes, Some(&prefer), 1 + (trial % 2) as usize).unwrap();
        assert_eq!(rep, brute_force_groups(&hashes, &prefer));
        assert!(is_rep.iter().enumerate().all(|(d, &r)| r == (rep[d] == d as u64)));
        let (plain, _) = exact_groups(&hashes, None, 1).unwrap();
        assert_eq!(plain, brute_force_groups(&hashes, &vec![false; n]));
    }
    assert!(exact_groups(&[1, 2, 3], None, 1).is_err());
    assert!(exact_groups(&[1, 2], Some(&[true, false]), 1).is_err());
}

/// The slow reference of `decide`: each document's rank is the number of its cluster's members
/// ordered before it by (matched, NaN, priority descending, document).
fn brute_force_decide(roots: &[u64], priority: &[f64], k: usize, matched: &[i64]) -> Decisions {
    let n = roots.len();
    let key = |d: usize| {
        let nan = priority[d].is_nan();
        (matched[d] >= 0, nan, if nan { 0.0 } else { -priority[d] }, d as f64)
    };
    let before = |a: usize, b: usize| key(a) < key(b);
    let mut out = Decisions { size: vec![0; n], keep: vec![false; n], duplicate_of: vec![-1; n] };
    for d in 0..n {
        let cluster: Vec<usize> = (0..n).filter(|&e| roots[e] == roots[d]).collect();
        let rank = cluster.iter().filter(|&&e| before(e, d)).count();
        let best = *cluster.iter().find(|&&e| cluster.iter().all(|&f| f == e || before(e, f))).unwrap();
        out.size[d] = cluster.len() as i64;
        out.keep[d] = rank < k && matched[d] < 0;
        out.duplicate_of[d] = if matched[d] >= 0 {
            n as i64 + matched[d]
        } else if out.keep[d] {
            -1
        } else {
            best as i64
        };
    }
    out
}

#[test]
fn decide_matches_the_reference() {
    let mut state = 5;
    for _ in 0..60 {
        let n = (splitmix64(&mut state) % 40) as usize + 1;
        let roots: Vec<u64> = (0..n).map(|_| splitmix64(&mut state) % (n as u64).min(6)).collect();
        let values = [0.0, -0.0, 1.5, -2.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY];
        let priority: Vec<f64> = (0..n).map(|_| values[(splitmix64(&mut state) % 7) as usize]).collect();
        let matched: Vec<i64> = (0..n).map(|_| (splitmix64(&mut state) % 5) as i64 - 3).collect();
        let k = (splitmix64(&mut state) % 3) as usize + 1;
        assert_eq!(
            decide(&roots, &priority, k, Some(&matched)).unwrap(),
            brute_force_decide(&roots, &priority, k, &matched)
        );
        let none = vec![-1; n];
        assert_eq!(
            decide(&roots, &priority, k, None).unwrap(),
            brute_force_decide(&roots, &priority, k, &none)
        );
    }
    assert!(decide(&[0, 5], &[0.0, 0.0], 1, None).is_err());
    assert!(decide(&[0], &[0.0], 0, None).is_err());
    assert!(decide(&[0], &[0.0, 1.0], 1, None).is_err());
}
