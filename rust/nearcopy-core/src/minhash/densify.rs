//! Densification of a one-permutation signature: every empty bin takes the value of a non-empty bin.
//!
//! Which donor? For empty bin `i`, the non-empty bin `j` of lowest rank under a keyed pseudo-random
//! permutation `rank_i` of the bins. Because `rank_i` depends only on the key and `i`, two documents
//! whose non-empty bins overlap mostly pick the same donor — the property that makes optimal
//! densification (Shrivastava 2017) as accurate as classic MinHash. (Shrivastava probes a random
//! sequence with replacement; the lowest rank in a random order is the same choice without repeats.)
//!
//! Cost: with `m` non-empty bins out of `k`, scanning the donors costs `m` rank evaluations and walking
//! ranks upward until a non-empty bin turns up costs about `k/m` inverse evaluations. Both give the
//! same answer, so each empty bin takes the cheaper way: at most about √k work per bin, never the
//! k² of naive probing on tiny documents.

use crate::hash::fmix64;

/// Buffers reused between documents.
#[derive(Default)]
pub struct Scratch {
    original: Vec<u64>,
    donors: Vec<u32>,
}

const EMPTY: u64 = u64::MAX;
const ROUNDS: usize = 3;
const MULTIPLIERS: [u32; ROUNDS] = [0x9E37_79B1, 0x85EB_CA6B, 0xC2B2_AE35];
const INVERSES: [u32; ROUNDS] =
    [inverse_mod_2_32(0x9E37_79B1), inverse_mod_2_32(0x85EB_CA6B), inverse_mod_2_32(0xC2B2_AE35)];

/// Multiplicative inverse of an odd number modulo 2^32 (Newton's iteration doubles correct bits).
const fn inverse_mod_2_32(a: u32) -> u32 {
    let mut x = a; // correct to 3 bits for odd a
    let mut i = 0;
    while i < 4 {
        x = x.wrapping_mul(2u32.wrapping_sub(a.wrapping_mul(x)));
        i += 1;
    }
    x
}

/// A keyed bijection of `[0, k)`: a small block cipher on `bits`-bit words, restricted to `[0, k)` by
/// cycle walking (apply again while the result is out of range).
struct BinPermutation {
    keys: [u32; ROUNDS],
    bits: u32,
    mask: u32,
    bins: u32,
}

impl BinPermutation {
    fn new(key: u64, bins: u32) -> Self {
        let bits = bins.next_power_of_two().trailing_zeros();
        let mask = if bits == 0 { 0 } else { u32::MAX >> (32 - bits) };
        let mixed = fmix64(key);
        let keys = [mixed as u32, (mixed >> 32) as u32, fmix64(key ^ 0x5851_F42D_4C95_7F2D) as u32];
        BinPermutation { keys, bits, mask, bins }
    }

    fn shift(&self) -> u32 {
        self.bits.div_ceil(2).max(1)
    }

    fn forward_once(&self, mut x: u32) -> u32 {
        let shift = self.shift();
        for (key, multiplier) in self.keys.iter().zip(MULTIPLIERS) {
            x = (x ^ key) & self.mask;
            x = x.wrapping_mul(multiplier) & self.mask;
            x ^= x >> shift;
        }
        x
    }

    fn backward_once(&self, mut y: u32) -> u32 {
        let shift = self.shift();
        for (key, inverse) in self.keys.iter().zip(INVERSES).rev() {
            // Undo `x ^= x >> shift`: x = y ^ (y >> s) ^ (y >> 2s) ^ ...
            let mut x = y;
            let mut s = shift;
            while s < self.bits {
                x ^= y >> s;
                s += shift;
            }
            y = x.wrapping_mul(inverse) & self.mask;
            y = (y ^ key) & self.mask;
        }
        y
    }

    /// Rank of bin `j`.
    fn rank(&self, j: u32) -> u32 {
        let mut x = self.forward_once(j);
        while x >= self.bins {
            x = self.forward_once(x);
        }
        x
    }

    /// The bin of rank `r`.
    fn bin_of_rank(&self, r: u32) -> u32 {
        let mut x = self.backward_once(r);
        while x >= self.bins {
            x = self.backward_once(x);
        }
        x
    }
}

/// Fills every empty bin of `sig` from its donor. A signature with no non-empty bin stays empty.
pub fn densify(sig: &mut [u64], key: u64, scratch: &mut Scratch) {
    let bins = sig.len() as u32;
    scratch.donors.clear();
    scratch.donors.extend((0..bins).filter(|&j| sig[j as usize] != EMPTY));
    let filled = scratch.donors.len() as u64;
    if filled == 0 || filled == u64::from(bins) {
        return;
    }
    scratch.original.clear();
    scratch.original.extend_from_slice(sig);
    let scan_donors = filled * filled <= u64::from(bins);
    for i in 0..bins {
        if scratch.original[i as usize] != EMPTY {
            continue;
        }
        let permutation = BinPermutation::new(key ^ u64::from(i).wrapping_mul(0x9E37_79B9_7F4A_7C15), bins);
        let donor = if scan_donors {
            lowest_ranked_by_scan(&permutation, &scratch.donors)
        } else {
            lowest_ranked_by_walk(&permutation, &scratch.original)
        };
        sig[i as usize] = scratch.original[donor as usize];
    }
}

fn lowest_ranked_by_scan(permutation: &BinPermutation, donors: &[u32]) -> u32 {
    let mut best = (u32::MAX, donors[0]);
    for &j in donors {
        let rank = permutation.rank(j);
        if rank < best.0 {
            best = (rank, j);
        }
    }
    best.1
}

fn lowest_ranked_by_walk(permutation: &BinPermutation, original: &[u64]) -> u32 {
    for r in 0..permutation.bins {
        let j = permutation.bin_of_rank(r);
        if original[j as usize] != EMPTY {
            return j;
        }
    }
    // Unreachable while at least one bin is non-empty; kept total so it cannot panic.
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverses_invert() {
        for (m, inv) in MULTIPLIERS.iter().zip(INVERSES) {
            assert_eq!(m.wrapping_mul(inv), 1);
        }
    }

    #[test]
    fn bin_permutations_are_bijections_with_inverses() {
        for bins in [1u32, 2, 3, 7, 64, 100, 128, 129, 1000] {
            let p = BinPermutation::new(0xDEAD_BEEF ^ u64::from(bins), bins);
            let mut seen = vec![false; bins as usize];
            for j in 0..bins {
                let r = p.rank(j);
                assert!(r < bins);
                assert!(!seen[r as usize], "rank {r} taken twice for {bins} bins");
                seen[r as usize] = true;
                assert_eq!(p.bin_of_rank(r), j);
            }
        }
    }

    #[test]
    fn scan_and_walk_pick_the_same_donor() {
        let bins = 128u32;
        let mut state = 7u64;
        for case in 0..200u64 {
            let mut original = vec![EMPTY; bins as usize];
            let filled = 1 + (crate::hash::splitmix64(&mut state) % 60) as usize;
            for _ in 0..filled {
                let j = crate::hash::splitmix64(&mut state) % u64::from(bins);
                original[j as usize] = case;
            }
            let donors: Vec<u32> = (0..bins).filter(|&j| original[j as usize] != EMPTY).collect();
            for i in 0..bins {
                let p = BinPermutation::new(case * 31 + u64::from(i), bins);
                assert_eq!(lowest_ranked_by_scan(&p, &donors), lowest_ranked_by_walk(&p, &original));
            }
        }
    }

    #[test]
    fn densify_fills_every_bin_from_a_donor() {
        let mut sig = vec![EMPTY; 64];
        sig[5] = 50;
        sig[40] = 400;
        densify(&mut sig, 1, &mut Scratch::default());
        assert!(sig.iter().all(|&v| v == 50 || v == 400));
        assert_eq!((sig[5], sig[40]), (50, 400));
        let mut empty = vec![EMPTY; 8];
        densify(&mut empty, 1, &mut Scratch::default());
        assert!(empty.iter().all(|&v| v == EMPTY));
    }
}
