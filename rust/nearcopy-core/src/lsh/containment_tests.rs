//! Containment queries against slow, obviously correct references: every stored row compared slot
//! by slot, the binomial distribution summed term by term from its definition.

use super::*;
use crate::error::Error;
use crate::hash::splitmix64;
use crate::lsh::header::FLAG_SET_SIZES;
use crate::lsh::KeyKind;
use crate::lsh::{merge_segments, write_segment, Columns, Header, Keys, NewDocs, Segment, Store, Tombstones};
use crate::minhash::Scheme;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const SLOTS: usize = 16;

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nearcopy-containment-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn single_slot_bands() -> Header {
    Header::new(SLOTS, SLOTS, 1, Scheme::Fast, 1, Store::Bits(8), KeyKind::Int)
}

/// The parameters of segments with set sizes (a reader takes its flags from its segments).
fn with_sizes() -> Header {
    Header { flags: FLAG_SET_SIZES, ..single_slot_bands() }
}

/// Signatures over a small alphabet (slots agree often) and set sizes from 1 to 400.
fn documents(n: usize, seed: u64) -> (Vec<u64>, Vec<u32>) {
    let mut state = seed;
    let sigs = (0..n * SLOTS).map(|_| splitmix64(&mut state) % 5).collect();
    let sizes = (0..n).map(|_| 1 + (splitmix64(&mut state) % 400) as u32).collect();
    (sigs, sizes)
}

fn write(dir: &Path, name: &str, sigs: &[u64], sizes: Option<&[u32]>, first_key: i64) -> Segment {
    let path = dir.join(name);
    let keys: Vec<i64> = (0..(sigs.len() / SLOTS) as i64).map(|d| first_key + d).collect();
    let columns = Columns { set_sizes: sizes, ..Columns::default() };
    write_segment(&path, &single_slot_bands(), &NewDocs { sigs, keys: Keys::Int(&keys), columns }, 2)
        .unwrap();
    Segment::open(&path).unwrap()
}

fn choose(n: u32, k: u32) -> f64 {
    (0..k).map(|i| f64::from(n - i) / f64::from(i + 1)).product()
}

/// `P(X ≤ m)` for `X ~ Binomial(n, p)`, from the definition.
fn reference_cdf(m: u32, n: u32, p: f64) -> f64 {
    (0..=m.min(n)).map(|j| choose(n, j) * p.powi(j as i32) * (1.0 - p).powi((n - j) as i32)).sum()
}

/// The slow reference: (key, containment) of every stored row agreeing with `query` on a slot and
/// passing the test at the threshold, computed from the rows and sizes alone.
fn reference(
    stored: &[(i64, &[u64], u32)],
    query: &[u64],
    size: u64,
    settings: &ContainmentSettings,
) -> BTreeMap<i64, f64> {
    let mut found = BTreeMap::new();
    for &(key, row, doc_size) in stored {
        let shared = row.iter().zip(query).filter(|(a, b)| a == b).count() as u32;
        if shared == 0 {
            continue;
        }
        let estimate = estimate_containment(f64::from(shared) / SLOTS as f64, size, u64::from(doc_size));
        let t = settings.threshold;
        let union = size as f64 + f64::from(doc_size) - t * size as f64;
        // A document smaller than `t` of the query cannot hold `t` of it.
        let possible = t * size as f64 <= f64::from(doc_size);
        let kept = t <= 0.0
            || possible
                && reference_cdf(shared, SLOTS as u32, t * size as f64 / union)
                    > 1.0 - settings.boundary_recall;
        if !settings.verify || kept {
            found.insert(key, estimate);
        }
    }
    found
}

fn results(bounds: &[u64], hits: &[ContainmentHit], q: usize, segments: &[&Segment]) -> BTreeMap<i64, f64> {
    hits[bounds[q] as usize..bounds[q + 1] as usize]
        .iter()
        .map(|h| (segments[h.source as usize].int_key(h.doc as usize), h.containment))
        .collect()
}

#[test]
fn the_binomial_tail_and_the_estimates_follow_their_definitions() {
    for (n, p) in [(16, 0.02), (128, 0.013), (128, 0.5), (40, 0.97)] {
        for m in 0..=n {
            let (fast, slow) = (binomial_cdf(m, n, p), reference_cdf(m, n, p));
            assert!((fast - slow).abs() < 1e-9, "n {n} p {p} m {m}: {fast} vs {slow}");
        }
    }
    assert!(binomial_cdf(3, 8192, 0.5) < 1e-300, "no overflow at large n");
    // A passage of 10 shingles inside a document of 100: Jaccard 0.1, containment 1.
    assert!((jaccard_at(1.0, 10, 100) - 0.1).abs() < 1e-12);
    assert!((estimate_containment(0.1, 10, 100) - 1.0).abs() < 1e-12);
    // Half of it: 5 / (10 + 100 - 5).
    assert!((estimate_containment(jaccard_at(0.5, 10, 100), 10, 100) - 0.5).abs() < 1e-12);
    // Never more than the smaller set allows, never below 0, 0 for an empty query.
    assert_eq!(estimate_containment(1.0, 10, 4), 0.4);
    assert_eq!(estimate_containment(0.0, 10, 4), 0.0);
    assert_eq!(estimate_containment(0.5, 0, 4), 0.0);
}

#[test]
fn containment_results_equal_the_slot_by_slot_reference_across_segments_and_merges() {
    let dir = tempdir("reference");
    let ((s1, z1), (s2, z2)) = (documents(300, 1), documents(200, 2));
    let a = write(&dir, "a.ncl", &s1, Some(&z1), 0);
    let b = write(&dir, "b.ncl", &s2, Some(&z2), 1000);
    let none = Tombstones::none();
    let removed = Tombstones::from_sorted((0..200).step_by(4).collect(), 200);
    let sources = [Source { segment: &a, removed: &none }, Source { segment: &b, removed: &removed }];
    let mut stored: Vec<(i64, &[u64], u32)> =
        s1.chunks_exact(SLOTS).zip(&z1).enumerate().map(|(d, (row, &z))| (d as i64, row, z)).collect();
    stored.extend(
        s2.chunks_exact(SLOTS)
            .zip(&z2)
            .enumerate()
            .filter(|(d, _)| d % 4 != 0)
            .map(|(d, (row, &z))| (1000 + d as i64, row, z)),
    );
    merge_segments(&dir.join("m.ncl"), &sources).unwrap();
    let merged = Segment::open(&dir.join("m.ncl")).unwrap();
    merged.verify().unwrap();
    assert!(merged.has_set_sizes() && merged.len() == 450);
    let (queries, sizes) = documents(40, 3);
    let sizes: Vec<u64> = sizes.iter().map(|&s| u64::from(s) / 4 + 1).collect();
    for (threshold, verify, boundary_recall) in
        [(0.5, true, 0.5), (0.8, true, 0.9), (0.3, false, 0.5), (1.0, true, 0.2)]
    {
        let settings = ContainmentSettings { threshold, verify, top_k: 0, boundary_recall };
        for threads in [1, 2] {
            let header = with_sizes();
            let (bounds, hits) =
                query_containment(&sources, &header, &queries, &sizes, &settings, threads).unwrap();
            let merged_sources = [Source { segment: &merged, removed: &none }];
            let (mb, mh) =
                query_containment(&merged_sources, &header, &queries, &sizes, &settings, threads).unwrap();
            for (q, row) in queries.chunks_exact(SLOTS).enumerate() {
                let want = reference(&stored, row, sizes[q], &settings);
                let got = results(&bounds, &hits, q, &[&a, &b]);
                let extra: Vec<_> = got.keys().filter(|k| !want.contains_key(k)).collect();
                let missing: Vec<_> = want.keys().filter(|k| !got.contains_key(k)).collect();
                assert_eq!(got, want, "query {q}, {settings:?}: extra {extra:?} missing {missing:?}");
                assert_eq!(results(&mb, &mh, q, &[&merged]), want, "merged, query {q}");
                let ranked = &hits[bounds[q] as usize..bounds[q + 1] as usize];
                assert!(
                    ranked.windows(2).all(|w| w[0].containment >= w[1].containment),
                    "most contained first"
                );
            }
        }
    }
    let top = ContainmentSettings { threshold: 0.0, verify: true, top_k: 2, boundary_recall: 0.5 };
    let (bounds, _) = query_containment(&sources, &with_sizes(), &queries, &sizes, &top, 1).unwrap();
    assert!(bounds.windows(2).all(|w| w[1] - w[0] <= 2));
}

#[test]
fn containment_is_refused_without_set_sizes_or_single_slot_bands() {
    let dir = tempdir("refused");
    let (sigs, sizes) = documents(50, 4);
    let plain = write(&dir, "plain.ncl", &sigs, None, 0);
    let none = Tombstones::none();
    let settings = ContainmentSettings { threshold: 0.5, verify: true, top_k: 0, boundary_recall: 0.5 };
    let query = &sigs[..SLOTS];
    let header = single_slot_bands();
    let err =
        query_containment(&[Source { segment: &plain, removed: &none }], &header, query, &[10], &settings, 1);
    assert!(matches!(err, Err(Error::InvalidArgument(m)) if m.contains("without set sizes")));
    let sized = write(&dir, "sized.ncl", &sigs, Some(&sizes), 0);
    let sources = [Source { segment: &sized, removed: &none }];
    let header = with_sizes();
    let banded = Header { bands: 4, rows: 4, ..header };
    assert!(query_containment(&sources, &banded, query, &[10], &settings, 1).is_err());
    assert!(
        query_containment(&sources, &header, query, &[10, 11], &settings, 1).is_err(),
        "one size per row"
    );
    let bad = ContainmentSettings { boundary_recall: 1.5, ..settings };
    assert!(query_containment(&sources, &header, query, &[10], &bad, 1).is_err());
    // A segment with set sizes is another index than one without: a merge refuses to mix them.
    let mixed = [Source { segment: &plain, removed: &none }, Source { segment: &sized, removed: &none }];
    assert!(merge_segments(&dir.join("mixed.ncl"), &mixed).is_err());
}

#[test]
fn a_flipped_bit_in_the_set_sizes_fails_the_query_that_reads_it() {
    let dir = tempdir("flipped");
    let (sigs, sizes) = documents(50, 5);
    let good = write(&dir, "good.ncl", &sigs, Some(&sizes), 0);
    let mut bytes = std::fs::read(&good.path).unwrap();
    let first_size = crate::lsh::header::Layout::of(&good.header).sizes_at;
    assert_eq!(u32::from_le_bytes(bytes[first_size..first_size + 4].try_into().unwrap()), sizes[0]);
    bytes[first_size] ^= 0x10;
    std::fs::write(dir.join("bad.ncl"), &bytes).unwrap();
    let bad = Segment::open(&dir.join("bad.ncl")).unwrap();
    let none = Tombstones::none();
    let settings = ContainmentSettings { threshold: 0.0, verify: false, top_k: 0, boundary_recall: 0.5 };
    let sources = [Source { segment: &bad, removed: &none }];
    let sizes64: Vec<u64> = vec![20; 50];
    let found = query_containment(&sources, &with_sizes(), &sigs, &sizes64, &settings, 1);
    assert!(matches!(found, Err(Error::Corrupt(m)) if m.contains("checksum")));
    assert!(bad.verify().is_err());
}
