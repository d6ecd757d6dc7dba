//! Token hash functions and integer mixers.
//!
//! The SHA-1 based hashes are the ones datasketch uses by default (`sha1_hash32` / `sha1_hash64`), so
//! the compatible schemes must use them; the native scheme uses seeded XXH3, which is an order of
//! magnitude faster on short inputs.

use sha1::{Digest, Sha1};

/// First 4 bytes of SHA-1 of `data`, little-endian (datasketch `sha1_hash32`).
#[inline]
pub fn sha1_hash32(data: &[u8]) -> u32 {
    let digest = Sha1::digest(data);
    u32::from_le_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// First 8 bytes of SHA-1 of `data`, little-endian (datasketch `sha1_hash64`).
#[inline]
pub fn sha1_hash64(data: &[u8]) -> u64 {
    let digest = Sha1::digest(data);
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(first)
}

/// Streaming XXH3 (`Xxh3::new()` digests to `xxh3_64(all bytes, 0)`).
pub use xxhash_rust::xxh3::Xxh3;

/// Seeded 64-bit XXH3 of `data` (the native scheme's token hash).
#[inline]
pub fn xxh3_64(data: &[u8], seed: u64) -> u64 {
    xxhash_rust::xxh3::xxh3_64_with_seed(data, seed)
}

/// MurmurHash3's 32-bit finalizer: a fixed avalanching bijection (datasketch `_fmix(h, 32)`).
#[inline]
pub fn fmix32(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85EB_CA6B);
    h ^= h >> 13;
    h = h.wrapping_mul(0xC2B2_AE35);
    h ^ (h >> 16)
}

/// MurmurHash3's 64-bit finalizer (datasketch `_fmix(h, 64)`).
#[inline]
pub fn fmix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    h ^= h >> 33;
    h = h.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
    h ^ (h >> 33)
}

/// SplitMix64 step: derives independent 64-bit keys from a small seed.
#[inline]
pub fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha1_hashes_match_python_struct_unpack() {
        // sha1(b"hello") = aaf4c61d dcc5e8a2 dabede0f 3b482cd9 aea9434d
        assert_eq!(sha1_hash32(b"hello"), 0x1dc6_f4aa);
        assert_eq!(sha1_hash64(b"hello"), 0xa2e8_c5dc_1dc6_f4aa);
        // sha1(b"") = da39a3ee 5e6b4b0d ...
        assert_eq!(sha1_hash32(b""), 0xeea3_39da);
    }

    #[test]
    fn fmix_is_murmur3_finalizer() {
        assert_eq!(fmix32(0), 0);
        assert_eq!(fmix64(0), 0);
        // Known MurmurHash3 fmix32 value for 1.
        assert_eq!(fmix32(1), 0x514E_28B7);
        // A bijection cannot map two small inputs to one output.
        let outs: std::collections::HashSet<u32> = (0..10_000u32).map(fmix32).collect();
        assert_eq!(outs.len(), 10_000);
    }

    #[test]
    fn xxh3_depends_on_seed() {
        assert_ne!(xxh3_64(b"token", 1), xxh3_64(b"token", 2));
        assert_eq!(xxh3_64(b"token", 7), xxh3_64(b"token", 7));
    }
}
