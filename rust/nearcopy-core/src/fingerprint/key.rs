//! The secret that keys fingerprints: SipHash-2-4 (Aumasson & Bernstein 2012) under a 128-bit key.
//!
//! A keyed index must not let anyone holding its files test whether a guessed sentence is in the
//! protected corpus. The k-gram's rolling hash is a public function of its tokens, so whatever turns
//! it into the stored fingerprint has to be a pseudo-random function of a secret: an earlier version
//! XORed a 64-bit key into the rolling hash before fmix64, but fmix64 is a public bijection, so one
//! known (text, fingerprint) pair gave the key away (and the header's key check, two more fmix64
//! rounds, gave it away with no pair at all). SipHash is a PRF designed for exactly this
//! (short inputs, secret key) and costs about as much as a few multiplications per k-gram.
//!
//! The key check stored in segment headers and the manifest is SipHash of a 16-byte message under
//! the same key: a fingerprint's message is always 8 bytes, and SipHash encodes the message length in
//! its last block, so the check is an independent PRF output and says nothing about fingerprints.

/// A 128-bit fingerprint key (two little-endian halves of the 16 key bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FingerprintKey {
    pub k0: u64,
    pub k1: u64,
}

/// The message whose PRF value identifies a key ("nearcopy" "key chk\0" as little-endian words).
const CHECK_MESSAGE: [u64; 2] = [0x7970_6f63_7261_656e, 0x006b_6863_2079_656b];

impl FingerprintKey {
    pub fn from_bytes(bytes: &[u8; 16]) -> Self {
        let half = |at: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[at..at + 8]);
            u64::from_le_bytes(b)
        };
        FingerprintKey { k0: half(0), k1: half(8) }
    }

    /// SipHash-2-4 of one 8-byte message: the hash of a k-gram.
    #[inline]
    pub fn hash_u64(&self, message: u64) -> u64 {
        siphash24(self, &[message])
    }

    /// A value that tells whether two keys are equal without revealing either (never 0, which
    /// means "unkeyed" in headers).
    pub fn check(&self) -> u64 {
        siphash24(self, &CHECK_MESSAGE) | 1
    }
}

/// The key check of an optional key: 0 for none.
pub fn key_check(key: Option<&FingerprintKey>) -> u64 {
    key.map_or(0, FingerprintKey::check)
}

#[inline(always)]
fn sip_round(v: &mut [u64; 4]) {
    v[0] = v[0].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(13) ^ v[0];
    v[0] = v[0].rotate_left(32);
    v[2] = v[2].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(16) ^ v[2];
    v[0] = v[0].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(21) ^ v[0];
    v[2] = v[2].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(17) ^ v[2];
    v[2] = v[2].rotate_left(32);
}

/// SipHash-2-4 of a message of whole 64-bit little-endian words (the reference algorithm; the
/// final block carries only the length byte because the message has no partial word).
#[inline]
fn siphash24(key: &FingerprintKey, words: &[u64]) -> u64 {
    let mut v = [
        key.k0 ^ 0x736f_6d65_7073_6575,
        key.k1 ^ 0x646f_7261_6e64_6f6d,
        key.k0 ^ 0x6c79_6765_6e65_7261,
        key.k1 ^ 0x7465_6462_7974_6573,
    ];
    let mut compress = |m: u64| {
        v[3] ^= m;
        sip_round(&mut v);
        sip_round(&mut v);
        v[0] ^= m;
    };
    for &m in words {
        compress(m);
    }
    compress(((words.len() as u64 * 8) & 0xff) << 56);
    v[2] ^= 0xff;
    for _ in 0..4 {
        sip_round(&mut v);
    }
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference_key() -> FingerprintKey {
        let bytes: [u8; 16] = std::array::from_fn(|i| i as u8);
        FingerprintKey::from_bytes(&bytes)
    }

    #[test]
    fn matches_the_siphash_paper_vectors() {
        // Appendix A of the SipHash paper / the reference vectors.h: key 00..0f, message 00..(n-1).
        let key = reference_key();
        assert_eq!(siphash24(&key, &[]), 0x726f_db47_dd0e_0e31);
        assert_eq!(siphash24(&key, &[0x0706_0504_0302_0100]), 0x93f5_f579_9a93_2462);
        let sixteen = [0x0706_0504_0302_0100, 0x0f0e_0d0c_0b0a_0908];
        assert_eq!(siphash24(&key, &sixteen), 0x3f2a_cc7f_57c2_9bdb);
    }

    #[test]
    #[allow(deprecated)] // std's SipHasher is SipHash-2-4: an independent implementation to compare with
    fn matches_std_siphasher_on_words() {
        use std::hash::{Hasher, SipHasher};
        let key = FingerprintKey { k0: 0x0123_4567_89ab_cdef, k1: 0xfedc_ba98_7654_3210 };
        for message in [0u64, 1, u64::MAX, 0x9E37_79B9_7F4A_7C15] {
            let mut std_hasher = SipHasher::new_with_keys(key.k0, key.k1);
            std_hasher.write(&message.to_le_bytes());
            assert_eq!(key.hash_u64(message), std_hasher.finish());
        }
    }

    #[test]
    fn check_identifies_the_key_and_is_never_zero() {
        let key = reference_key();
        let other = FingerprintKey { k0: key.k0 ^ 1, ..key };
        assert_ne!(key.check(), other.check());
        assert_ne!(key.check(), 0);
        assert_eq!(key_check(None), 0);
        assert_ne!(key.check(), key.hash_u64(CHECK_MESSAGE[0]) | 1);
    }
}
