//! The inner loops: fold a block of token hashes into a signature.
//!
//! Each loop runs over the signature's slots with the token hash fixed, which the compiler vectorizes;
//! `multiversion` compiles it for AVX-512, AVX2 and the baseline and picks one at run time, so a
//! portable wheel still uses the machine's widest vectors.

use super::MERSENNE61;
use multiversion::multiversion;

/// `x mod (2^61 − 1)` for any u64, without a division: 2^61 ≡ 1, so fold the top 3 bits down.
#[inline(always)]
fn mod_mersenne61(x: u64) -> u64 {
    let folded = (x & MERSENNE61) + (x >> 61);
    if folded >= MERSENNE61 {
        folded - MERSENNE61
    } else {
        folded
    }
}

/// datasketch `legacy`: `((a·h + b) mod 2^64) mod (2^61 − 1)`, low 32 bits. The product wraps at
/// 2^64 because datasketch computes it in numpy uint64.
#[multiversion(targets = "simd")]
pub fn legacy(a: &[u64], b: &[u64], hashes: &[u64], sig: &mut [u64]) {
    let n = sig.len().min(a.len()).min(b.len());
    let (a, b, sig) = (&a[..n], &b[..n], &mut sig[..n]);
    for &h in hashes {
        for k in 0..n {
            let permuted = mod_mersenne61(a[k].wrapping_mul(h).wrapping_add(b[k])) & 0xFFFF_FFFF;
            sig[k] = sig[k].min(permuted);
        }
    }
}

/// datasketch `affine32`: `a·x + b mod 2^32`, `x` the fmix32-mixed token hash.
#[multiversion(targets = "simd")]
pub fn affine32(a: &[u32], b: &[u32], hashes: &[u64], sig: &mut [u32]) {
    let n = sig.len().min(a.len()).min(b.len());
    let (a, b, sig) = (&a[..n], &b[..n], &mut sig[..n]);
    for &h in hashes {
        let x = h as u32;
        for k in 0..n {
            sig[k] = sig[k].min(a[k].wrapping_mul(x).wrapping_add(b[k]));
        }
    }
}

/// datasketch `affine64`: `a·x + b mod 2^64`, `x` the fmix64-mixed token hash.
#[multiversion(targets = "simd")]
pub fn affine64(a: &[u64], b: &[u64], hashes: &[u64], sig: &mut [u64]) {
    let n = sig.len().min(a.len()).min(b.len());
    let (a, b, sig) = (&a[..n], &b[..n], &mut sig[..n]);
    for &h in hashes {
        for k in 0..n {
            sig[k] = sig[k].min(a[k].wrapping_mul(h).wrapping_add(b[k]));
        }
    }
}

/// One-permutation hashing: the hash's high bits pick the bin (Lemire's multiply-shift range
/// reduction, no modulo bias worth speaking of), and the bin keeps the smallest hash it receives.
pub fn one_permutation(hashes: &[u64], sig: &mut [u64]) {
    let bins = sig.len() as u128;
    for &h in hashes {
        let bin = ((u128::from(h) * bins) >> 64) as usize;
        if let Some(slot) = sig.get_mut(bin) {
            *slot = (*slot).min(h);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mersenne_fold_equals_modulo() {
        let samples = [0, 1, MERSENNE61 - 1, MERSENNE61, MERSENNE61 + 1, u64::MAX, 1 << 63, 12_345];
        for x in samples.into_iter().chain((0..10_000u64).map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15))) {
            assert_eq!(mod_mersenne61(x), x % MERSENNE61, "x = {x}");
        }
    }

    #[test]
    fn kernels_take_the_minimum_of_each_slot() {
        let a = [3u64, 5];
        let b = [7u64, 11];
        let hashes = [2u64, 1];
        let mut sig = [u64::MAX; 2];
        affine64(&a, &b, &hashes, &mut sig);
        assert_eq!(sig, [3 + 7, 5 + 11]);
        let mut legacy_sig = [u64::from(u32::MAX); 2];
        legacy(&a, &b, &hashes, &mut legacy_sig);
        assert_eq!(legacy_sig, [10, 16]);
        let mut sig32 = [u32::MAX; 2];
        affine32(&[3, 5], &[7, 11], &hashes, &mut sig32);
        assert_eq!(sig32, [10, 16]);
    }

    #[test]
    fn one_permutation_bins_by_high_bits() {
        let mut sig = [u64::MAX; 4];
        one_permutation(&[u64::MAX - 1, 5, 3, 1 << 62], &mut sig);
        assert_eq!(sig, [3, 1 << 62, u64::MAX, u64::MAX - 1]);
    }
}
