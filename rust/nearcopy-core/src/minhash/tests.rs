//! Known answers from datasketch 2.0 (`MinHash(num_perm=4, seed=1, scheme=...)`, then
//! `update(b"hello")`, `update(b"world")`); the Python tests check the same against the installed
//! datasketch on random inputs.

use super::*;

fn signature_u64(hasher: &MinHasher, tokens: &[&[u8]]) -> Vec<u64> {
    let hashes: Vec<u64> = tokens.iter().map(|t| hasher.token_hash(t)).collect();
    let mut sig = vec![hasher.empty_value(); hasher.num_perm()];
    u64::update(hasher, &hashes, &mut sig);
    u64::finish(hasher, &mut sig, &mut FinishScratch::default());
    sig
}

#[test]
fn legacy_matches_datasketch() {
    let h = MinHasher::new(Scheme::Legacy, 4, 1).unwrap();
    let (a, b) = h.permutations();
    assert_eq!(a[..2], [775_169_054_918_279_404, 2_109_959_069_025_162]);
    assert_eq!(b[..2], [1_758_426_461_858_698_312, 965_365_488_286_768_773]);
    let sig = signature_u64(&h, &[b"hello", b"world"]);
    assert_eq!(sig, [228_630_785, 216_833_891, 617_530_111, 2_362_600_675]);
}

#[test]
fn affine32_matches_datasketch() {
    let h = MinHasher::new(Scheme::Affine32, 4, 1).unwrap();
    let (a, b) = h.permutations();
    assert_eq!(a[..2], [3_582_191_691, 4_270_784_983]);
    assert_eq!(b[..2], [491_263, 550_290_313]);
    let hashes: Vec<u64> = [b"hello", b"world"].iter().map(|t| h.token_hash(*t)).collect();
    let mut sig = vec![u32::MAX; 4];
    u32::update(&h, &hashes, &mut sig);
    assert_eq!(sig, [625_790_555, 194_865_109, 1_355_773_502, 1_324_736_089]);
}

#[test]
fn affine64_matches_datasketch() {
    let h = MinHasher::new(Scheme::Affine64, 4, 1).unwrap();
    let (a, b) = h.permutations();
    assert_eq!(a[..2], [15_385_396_165_118_722_519, 8_128_538_942_144_784_529]);
    assert_eq!(b[..2], [2_707_168_392_203_228_096, 1_703_346_441_743_126_657]);
    let sig = signature_u64(&h, &[b"hello", b"world"]);
    assert_eq!(
        sig,
        [
            11_651_065_901_547_834_458,
            142_042_606_690_400_215,
            11_357_471_363_666_538_121,
            851_894_860_706_072_206
        ]
    );
}

#[test]
fn fast_is_deterministic_dense_and_seeded() {
    let h = MinHasher::new(Scheme::Fast, 64, 1).unwrap();
    let tokens: Vec<Vec<u8>> = (0..10).map(|i| format!("token{i}").into_bytes()).collect();
    let refs: Vec<&[u8]> = tokens.iter().map(|t| t.as_slice()).collect();
    let sig = signature_u64(&h, &refs);
    assert_eq!(sig, signature_u64(&h, &refs));
    assert!(sig.iter().all(|&v| v != u64::MAX), "densification leaves no empty bin");
    let other_seed = MinHasher::new(Scheme::Fast, 64, 2).unwrap();
    assert_ne!(sig, signature_u64(&other_seed, &refs));
    assert!(signature_u64(&h, &[]).iter().all(|&v| v == u64::MAX));
}

#[test]
fn fast_estimates_jaccard() {
    // Two sets of 2000 elements sharing 1000: J = 1000 / 3000.
    let h = MinHasher::new(Scheme::Fast, 1024, 3).unwrap();
    let a: Vec<Vec<u8>> = (0..2000).map(|i| format!("e{i}").into_bytes()).collect();
    let b: Vec<Vec<u8>> = (1000..3000).map(|i| format!("e{i}").into_bytes()).collect();
    let sa = signature_u64(&h, &a.iter().map(|t| t.as_slice()).collect::<Vec<_>>());
    let sb = signature_u64(&h, &b.iter().map(|t| t.as_slice()).collect::<Vec<_>>());
    let estimate = sa.iter().zip(&sb).filter(|(x, y)| x == y).count() as f64 / 1024.0;
    // Standard error sqrt(J(1-J)/k) ≈ 0.0147; allow 4 of them.
    assert!((estimate - 1.0 / 3.0).abs() < 0.06, "estimate {estimate}");
}

#[test]
fn rejects_bad_parameters() {
    assert!(MinHasher::new(Scheme::Fast, 0, 1).is_err());
    assert!(MinHasher::new(Scheme::Fast, MAX_NUM_PERM + 1, 1).is_err());
    let err = MinHasher::new(Scheme::Legacy, 8, 1 << 32).unwrap_err();
    assert!(err.to_string().contains("4294967296"), "{err}");
    assert!(Scheme::parse("affine16").is_err());
    assert_eq!(Scheme::parse("affine32"), Ok(Scheme::Affine32));
}
