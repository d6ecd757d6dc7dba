use super::*;
use crate::hash::splitmix64;
use std::collections::HashSet;

fn random_tokens(state: &mut u64, n: usize, alphabet: u64) -> Vec<u64> {
    (0..n).map(|_| splitmix64(state) % alphabet).collect()
}

fn winnow(tokens: &[u64], k: usize, w: usize) -> Vec<Fingerprint> {
    let mut out = Vec::new();
    Winnowing::new(k, w, None).unwrap().fingerprints(tokens, &mut Vec::new(), &mut out);
    out
}

/// The obviously-correct version: the minimum of every window, rightmost on ties, deduplicated.
fn winnow_slowly(tokens: &[u64], k: usize, w: usize) -> Vec<Fingerprint> {
    let mut hashes = Vec::new();
    Winnowing::new(k, w, None).unwrap().kgram_hashes(tokens, &mut hashes);
    let mut out: Vec<Fingerprint> = Vec::new();
    if hashes.is_empty() {
        return out;
    }
    let w = w.min(hashes.len());
    for start in 0..=hashes.len() - w {
        let window = &hashes[start..start + w];
        let (offset, &hash) = window.iter().enumerate().rev().min_by_key(|(_, &h)| h).unwrap();
        let fp = Fingerprint { hash, position: (start + offset) as u32 };
        if out.last() != Some(&fp) {
            out.push(fp);
        }
    }
    out
}

#[test]
fn matches_the_slow_definition() {
    let mut state = 1;
    for case in 0..300 {
        let n = (case * 7) % 90;
        let tokens = random_tokens(&mut state, n, if case % 3 == 0 { 3 } else { 1000 });
        for (k, w) in [(1, 1), (3, 4), (5, 8), (2, 30), (4, 6), (20, 10), (3, 32), (2, 33), (1, 70)] {
            assert_eq!(winnow(&tokens, k, w), winnow_slowly(&tokens, k, w), "n={n} k={k} w={w}");
        }
    }
}

#[test]
fn rolling_hash_equals_direct_hash() {
    let mut state = 9;
    let tokens = random_tokens(&mut state, 200, u64::MAX);
    let winnowing = Winnowing::new(7, 4, None).unwrap();
    let mut rolled = Vec::new();
    winnowing.kgram_hashes(&tokens, &mut rolled);
    for (i, &hash) in rolled.iter().enumerate() {
        let mut direct = Vec::new();
        winnowing.kgram_hashes(&tokens[i..i + 7], &mut direct);
        assert_eq!(direct, [hash]);
    }
}

#[test]
fn shared_runs_of_the_guarantee_length_share_a_fingerprint() {
    let mut state = 5;
    let (k, w) = (6, 10);
    let t = Winnowing::new(k, w, None).unwrap().guarantee();
    for _ in 0..500 {
        let shared = random_tokens(&mut state, t, 50);
        let a =
            [random_tokens(&mut state, 40, 50), shared.clone(), random_tokens(&mut state, 40, 50)].concat();
        let b = [random_tokens(&mut state, 7, 50), shared, random_tokens(&mut state, 3, 50)].concat();
        let fa: HashSet<u64> = winnow(&a, k, w).iter().map(|f| f.hash).collect();
        assert!(winnow(&b, k, w).iter().any(|f| fa.contains(&f.hash)));
    }
}

#[test]
fn density_is_about_two_over_w_plus_one() {
    let mut state = 3;
    let tokens = random_tokens(&mut state, 100_000, u64::MAX);
    let w = 15;
    let density = winnow(&tokens, 5, w).len() as f64 / tokens.len() as f64;
    assert!((density - 2.0 / (w as f64 + 1.0)).abs() < 0.01, "density {density}");
}

#[test]
fn short_streams_and_keys() {
    assert!(winnow(&[1, 2], 3, 4).is_empty());
    assert_eq!(winnow(&[1, 2, 3], 3, 4).len(), 1, "fewer k-grams than a window: one fingerprint");
    let tokens = [4u64, 8, 15, 16, 23, 42];
    let mut keyed = Vec::new();
    Winnowing::new(2, 2, Some(FingerprintKey { k0: 0xABCD, k1: 7 })).unwrap().fingerprints(
        &tokens,
        &mut Vec::new(),
        &mut keyed,
    );
    let plain: HashSet<u64> = winnow(&tokens, 2, 2).iter().map(|f| f.hash).collect();
    assert!(keyed.iter().all(|f| !plain.contains(&f.hash)), "a key changes every hash");
    assert!(Winnowing::new(0, 4, None).is_err() && Winnowing::new(4, 0, None).is_err());
}
