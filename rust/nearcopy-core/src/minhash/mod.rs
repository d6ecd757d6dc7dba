//! MinHash signatures.
//!
//! | scheme     | token hash     | permutation (per slot k)                  | stored | empty slot |
//! |------------|----------------|-------------------------------------------|--------|------------|
//! | `legacy`   | `sha1_hash32`  | `((a·h + b) mod 2^64) mod (2^61−1)`, low 32 bits | u64 | 2^32−1 |
//! | `affine32` | `sha1_hash32`  | `a·fmix32(h) + b mod 2^32`                | u32    | 2^32−1     |
//! | `affine64` | `sha1_hash64`  | `a·fmix64(h) + b mod 2^64`                | u64    | 2^64−1     |
//! | `fast`     | seeded XXH3-64 | one-permutation hashing + densification   | u64    | 2^64−1     |
//!
//! The first three reproduce datasketch bit for bit (parameters drawn as numpy's `RandomState`
//! draws them, see [`crate::mt19937`]). `fast` hashes each shingle once and puts it in one of
//! `num_perm` bins (one-permutation hashing, Li et al. 2012), then fills empty bins from a
//! pseudo-randomly chosen non-empty one (optimal densification, Shrivastava 2017): O(1) per shingle
//! instead of O(num_perm), with the estimation error of classic MinHash.

mod densify;
mod kernels;

use crate::error::Result;
use crate::hash::{sha1_hash32, sha1_hash64, splitmix64, xxh3_64};
use crate::invalid;
use crate::mt19937::Mt19937;

/// The largest `num_perm` accepted: far beyond any LSH use, small enough to keep rank arithmetic in u32.
pub const MAX_NUM_PERM: usize = 1 << 16;

const MERSENNE61: u64 = (1 << 61) - 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Legacy,
    Affine32,
    Affine64,
    Fast,
}

impl Scheme {
    pub const ALL: [Scheme; 4] = [Scheme::Fast, Scheme::Legacy, Scheme::Affine32, Scheme::Affine64];

    pub fn parse(name: &str) -> Result<Self> {
        Scheme::ALL.into_iter().find(|s| s.name() == name).ok_or_else(|| {
            invalid!("scheme must be one of 'fast', 'legacy', 'affine32', 'affine64', got {name:?}")
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Scheme::Legacy => "legacy",
            Scheme::Affine32 => "affine32",
            Scheme::Affine64 => "affine64",
            Scheme::Fast => "fast",
        }
    }

    /// Whether signatures of this scheme are stored as u32 (else u64).
    pub fn is_u32(self) -> bool {
        self == Scheme::Affine32
    }
}

/// A MinHash function: a scheme, a number of slots and a seed, with its parameters drawn.
#[derive(Debug, Clone)]
pub struct MinHasher {
    scheme: Scheme,
    num_perm: usize,
    seed: u32,
    a64: Vec<u64>,
    b64: Vec<u64>,
    a32: Vec<u32>,
    b32: Vec<u32>,
    /// `fast`: key of the token hash and of the densification ranks.
    hash_key: u64,
    densify_key: u64,
}

impl MinHasher {
    pub fn new(scheme: Scheme, num_perm: usize, seed: u64) -> Result<Self> {
        if num_perm == 0 || num_perm > MAX_NUM_PERM {
            return Err(invalid!("num_perm must be between 1 and {MAX_NUM_PERM}, got {num_perm}"));
        }
        let seed =
            u32::try_from(seed).map_err(|_| invalid!("seed must be between 0 and 2**32 - 1, got {seed}"))?;
        let mut hasher = MinHasher {
            scheme,
            num_perm,
            seed,
            a64: Vec::new(),
            b64: Vec::new(),
            a32: Vec::new(),
            b32: Vec::new(),
            hash_key: 0,
            densify_key: 0,
        };
        let mut rng = Mt19937::new(seed);
        match scheme {
            Scheme::Legacy => {
                // datasketch draws interleaved: a0, b0, a1, b1, ...
                for _ in 0..num_perm {
                    hasher.a64.push(rng.randint_u64(1, MERSENNE61));
                    hasher.b64.push(rng.randint_u64(0, MERSENNE61));
                }
            }
            Scheme::Affine32 => {
                // All a first (odd: a bijection mod 2^32), then all b.
                hasher.a32 = (0..num_perm).map(|_| rng.randint_u32(0, 1 << 31) * 2 + 1).collect();
                hasher.b32 = (0..num_perm).map(|_| rng.randint_u32(0, 1 << 32)).collect();
            }
            Scheme::Affine64 => {
                hasher.a64 = (0..num_perm).map(|_| rng.randint_u64(0, 1 << 63) * 2 + 1).collect();
                // randint(0, 2**64) is a full-width draw.
                hasher.b64 = (0..num_perm).map(|_| rng.next_u64()).collect();
            }
            Scheme::Fast => {
                let mut state = u64::from(seed) ^ 0x6E65_6172_636F_7079; // "nearcopy"
                hasher.hash_key = splitmix64(&mut state);
                hasher.densify_key = splitmix64(&mut state);
            }
        }
        Ok(hasher)
    }

    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    pub fn num_perm(&self) -> usize {
        self.num_perm
    }

    pub fn seed(&self) -> u32 {
        self.seed
    }

    /// The permutation parameters `(a, b)` widened to u64 (empty for `fast`).
    pub fn permutations(&self) -> (Vec<u64>, Vec<u64>) {
        if self.scheme.is_u32() {
            let widen = |v: &[u32]| v.iter().map(|&x| u64::from(x)).collect();
            (widen(&self.a32), widen(&self.b32))
        } else {
            (self.a64.clone(), self.b64.clone())
        }
    }

    /// The hash of one token (or shingle) as this scheme defines it. Inlined into the per-shingle
    /// loops, where a call cost as much as the `fast` scheme's hash itself.
    #[inline(always)]
    pub fn token_hash(&self, bytes: &[u8]) -> u64 {
        match self.scheme {
            Scheme::Legacy => u64::from(sha1_hash32(bytes)),
            Scheme::Affine32 => u64::from(crate::hash::fmix32(sha1_hash32(bytes))),
            Scheme::Affine64 => crate::hash::fmix64(sha1_hash64(bytes)),
            Scheme::Fast => xxh3_64(bytes, self.hash_key),
        }
    }

    /// The value of a slot no token has reached (datasketch's empty signature).
    pub fn empty_value(&self) -> u64 {
        match self.scheme {
            Scheme::Legacy | Scheme::Affine32 => u64::from(u32::MAX),
            Scheme::Affine64 | Scheme::Fast => u64::MAX,
        }
    }
}

/// Storage word of a signature: u32 for `affine32`, u64 for the others.
pub trait SigWord: Copy + Send + Sync + 'static {
    /// Whether `scheme` stores its signatures in this word type.
    fn fits(scheme: Scheme) -> bool;
    fn from_u64(value: u64) -> Self;
    /// Folds token hashes (from [`MinHasher::token_hash`]) into a signature.
    fn update(hasher: &MinHasher, hashes: &[u64], sig: &mut [Self]);
    /// Completes a signature once every token is in (densification for `fast`).
    fn finish(hasher: &MinHasher, sig: &mut [Self], scratch: &mut densify::Scratch);
}

pub use densify::Scratch as FinishScratch;

impl SigWord for u64 {
    fn fits(scheme: Scheme) -> bool {
        !scheme.is_u32()
    }
    fn from_u64(value: u64) -> Self {
        value
    }
    fn update(hasher: &MinHasher, hashes: &[u64], sig: &mut [u64]) {
        match hasher.scheme {
            Scheme::Legacy => kernels::legacy(&hasher.a64, &hasher.b64, hashes, sig),
            Scheme::Affine64 => kernels::affine64(&hasher.a64, &hasher.b64, hashes, sig),
            Scheme::Fast => kernels::one_permutation(hashes, sig),
            Scheme::Affine32 => unreachable_scheme(),
        }
    }
    fn finish(hasher: &MinHasher, sig: &mut [u64], scratch: &mut densify::Scratch) {
        if hasher.scheme == Scheme::Fast {
            densify::densify(sig, hasher.densify_key, scratch);
        }
    }
}

impl SigWord for u32 {
    fn fits(scheme: Scheme) -> bool {
        scheme.is_u32()
    }
    fn from_u64(value: u64) -> Self {
        value as u32
    }
    fn update(hasher: &MinHasher, hashes: &[u64], sig: &mut [u32]) {
        kernels::affine32(&hasher.a32, &hasher.b32, hashes, sig);
    }
    fn finish(_: &MinHasher, _: &mut [u32], _: &mut densify::Scratch) {}
}

/// The batch layer checks `SigWord::fits` before any kernel runs, so a mismatch is a bug here.
#[cold]
fn unreachable_scheme() {
    debug_assert!(false, "a u32 scheme reached the u64 kernels");
}

#[cfg(test)]
mod tests;
