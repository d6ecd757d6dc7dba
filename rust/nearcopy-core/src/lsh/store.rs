//! The verification store: what a segment keeps of each signature, to estimate the similarity of a
//! candidate without the full signature.
//!
//! A full signature at 128 slots is 512 or 1,024 bytes, more than the whole per-document budget of
//! the index. b-bit minwise hashing (Li & König, 2010) keeps `b` bits of each slot instead: two
//! documents still agree on a slot where their minima are equal (probability J), and otherwise
//! agree by chance with probability `2^-b` (the bits come from a mix of the whole slot value, so
//! they are uniform whatever the scheme). The share of agreeing slots `P` then estimates
//! `J = (P - 2^-b) / (1 - 2^-b)`: unbiased, with the variance of full MinHash times about
//! `1 / (1 - 2^-b)^2` (1.008 at 8 bits). `Full` keeps the slots themselves (what `dedup` verifies
//! with, so a reference index gives exactly the matches of the corpus it was saved from).

use crate::dedup::Slot;
use crate::error::Result;
use crate::hash::fmix64;
use crate::invalid;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Store {
    /// Every slot as stored in the signature (4 or 8 bytes).
    Full,
    /// `b` bits of a mix of each slot: 8 or 16.
    Bits(u32),
}

impl Store {
    /// From the header's code: 0 is `Full`, 8 and 16 are bits per slot.
    pub fn from_code(code: u32) -> Result<Self> {
        match code {
            0 => Ok(Store::Full),
            8 | 16 => Ok(Store::Bits(code)),
            _ => Err(invalid!(
                "a verification store keeps 8 or 16 bits per slot, or the full slot (0), got {code}"
            )),
        }
    }

    pub fn code(self) -> u32 {
        match self {
            Store::Full => 0,
            Store::Bits(bits) => bits,
        }
    }

    /// Bytes per stored slot, for signatures of `slot_bytes` bytes per slot.
    pub fn slot_bytes(self, slot_bytes: usize) -> usize {
        match self {
            Store::Full => slot_bytes,
            Store::Bits(bits) => bits as usize / 8,
        }
    }

    /// The probability that two different slot values agree in the store.
    pub fn chance(self) -> f64 {
        match self {
            Store::Full => 0.0,
            Store::Bits(bits) => (-f64::from(bits)).exp2(),
        }
    }

    /// The Jaccard estimate from `equal` agreeing slots out of `num_perm`, in [0, 1].
    pub fn estimate(self, equal: u32, num_perm: usize) -> f64 {
        let share = f64::from(equal) / num_perm as f64;
        let c = self.chance();
        ((share - c) / (1.0 - c)).clamp(0.0, 1.0)
    }

    /// The fewest agreeing slots whose estimate reaches `threshold`: a count, so the test is exact
    /// and the same wherever it runs (a threshold of 0 or below admits every candidate).
    pub fn min_equal(self, threshold: f64, num_perm: usize) -> u32 {
        if threshold <= 0.0 {
            return 0;
        }
        let c = self.chance();
        let needed = (threshold.min(1.0) * (1.0 - c) + c) * num_perm as f64;
        (needed - 1e-9).ceil().max(0.0) as u32
    }

    /// Appends the stored form of one signature row to `out`.
    pub fn encode<W: Slot>(self, row: &[W], slot_bytes: usize, out: &mut Vec<u8>) {
        match self {
            Store::Full => {
                for v in row {
                    out.extend_from_slice(&v.to_u64().to_le_bytes()[..slot_bytes]);
                }
            }
            Store::Bits(8) => {
                // Filled in place rather than pushed: the loop then has no capacity checks to keep
                // it from being vectorized (it was half of a query's instructions).
                let start = out.len();
                out.resize(start + row.len(), 0);
                out[start..].iter_mut().zip(row).for_each(|(o, v)| *o = fingerprint(v.to_u64()) as u8);
            }
            Store::Bits(_) => {
                for v in row {
                    out.extend_from_slice(&(fingerprint(v.to_u64()) as u16).to_le_bytes());
                }
            }
        }
    }
}

/// The bits a `Bits` store keeps of a slot value: its low bits after a full-avalanche mix, so that
/// schemes whose slots have structured low bits (affine maps) still give uniform fingerprints.
#[inline]
pub fn fingerprint(value: u64) -> u64 {
    fmix64(value ^ 0x6C73_685F_7374_6F72)
}

/// Slots on which two stored rows (of `width`-byte slots) agree.
#[inline]
pub fn equal_count(a: &[u8], b: &[u8], width: usize) -> u32 {
    match width {
        1 => equal_bytes(a, b),
        2 => equal_lanes::<2>(a, b),
        4 => equal_lanes::<4>(a, b),
        8 => equal_lanes::<8>(a, b),
        _ => a.chunks_exact(width).zip(b.chunks_exact(width)).map(|(x, y)| u32::from(x == y)).sum(),
    }
}

/// Lanes of the byte counters of [`equal_bytes`]: one SSE2 register.
const LANES: usize = 16;

/// Equal bytes of `a` and `b` (to the shorter's length). Each of 16 lanes counts its matches in a
/// u8, 255 chunks at most before the lanes are added up, which the compiler makes one compare and
/// one subtract per 16 slots and a single horizontal sum per row. Summing each chunk on its own
/// (as before) became a mask and a software popcount per 16 slots (baseline x86_64 has no
/// POPCNT): about 20 instructions per chunk, the most of a verified query's time in this function.
#[inline]
fn equal_bytes(a: &[u8], b: &[u8]) -> u32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut total = 0u32;
    for (x, y) in a.chunks(255 * LANES).zip(b.chunks(255 * LANES)) {
        let mut lanes = [0u8; LANES];
        for (p, q) in x.chunks_exact(LANES).zip(y.chunks_exact(LANES)) {
            for ((lane, u), v) in lanes.iter_mut().zip(p).zip(q) {
                *lane += u8::from(u == v);
            }
        }
        total += lanes.iter().map(|&v| u32::from(v)).sum::<u32>();
        let tail = x.len() / LANES * LANES;
        total += x[tail..].iter().zip(&y[tail..]).map(|(u, v)| u32::from(u == v)).sum::<u32>();
    }
    total
}

/// Equal `W`-byte slots of `a` and `b`, each read as one little-endian word (a compare of words,
/// not of byte slices of a length known only at run time).
#[inline]
fn equal_lanes<const W: usize>(a: &[u8], b: &[u8]) -> u32 {
    let word = |c: &[u8]| -> u64 {
        let mut bytes = [0u8; 8];
        bytes[..W].copy_from_slice(c);
        u64::from_le_bytes(bytes)
    };
    a.chunks_exact(W).zip(b.chunks_exact(W)).map(|(x, y)| u32::from(word(x) == word(y))).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_correct_for_chance_agreement() {
        let bits8 = Store::Bits(8);
        // Unrelated rows agree on about 1/256 of their slots by chance: that is an estimate of 0.
        assert_eq!(bits8.estimate(0, 128), 0.0);
        assert!((bits8.estimate(64, 128) - (0.5 - 1.0 / 256.0) / (1.0 - 1.0 / 256.0)).abs() < 1e-12);
        assert_eq!(Store::Full.estimate(64, 128), 0.5);
        assert_eq!(bits8.estimate(128, 128), 1.0);
        for store in [Store::Full, Store::Bits(8), Store::Bits(16)] {
            for threshold in [0.1, 0.5, 0.8, 0.95, 1.0] {
                let m = store.min_equal(threshold, 128);
                assert!(store.estimate(m, 128) >= threshold - 1e-9, "{store:?} {threshold}");
                assert!(m == 0 || store.estimate(m - 1, 128) < threshold, "{store:?} {threshold}");
            }
            assert_eq!(store.min_equal(0.0, 128), 0);
        }
        assert_eq!(Store::Full.min_equal(0.8, 128), 103, "as dedup's ceil(0.8 * 128)");
    }

    #[test]
    fn rows_encode_and_compare_slot_by_slot() {
        let a: Vec<u64> = (0..128).collect();
        let mut b = a.clone();
        b[..32].iter_mut().for_each(|v| *v += 1000);
        for (store, slot) in [(Store::Full, 8), (Store::Bits(8), 8), (Store::Bits(16), 8), (Store::Full, 4)] {
            let (mut x, mut y) = (Vec::new(), Vec::new());
            store.encode(&a, slot, &mut x);
            store.encode(&b, slot, &mut y);
            let width = store.slot_bytes(slot);
            assert_eq!(x.len(), 128 * width);
            let equal = equal_count(&x, &y, width);
            // 96 equal slots; 32 different ones that may collide by chance in a small store.
            assert!((96..=96 + 32).contains(&equal) && (store != Store::Full || equal == 96), "{store:?}");
        }
        assert!(Store::from_code(4).is_err() && Store::from_code(16).is_ok());
    }

    #[test]
    fn equal_counts_agree_with_a_plain_loop_for_every_length() {
        let mut state = 3u64;
        for len in [0usize, 1, 15, 16, 17, 100, 128, 255, 256] {
            let a: Vec<u8> = (0..len).map(|_| crate::hash::splitmix64(&mut state) as u8 % 3).collect();
            let b: Vec<u8> = (0..len).map(|_| crate::hash::splitmix64(&mut state) as u8 % 3).collect();
            let plain = a.iter().zip(&b).filter(|(x, y)| x == y).count() as u32;
            assert_eq!(equal_count(&a, &b, 1), plain, "length {len}");
            assert_eq!(equal_count(&a, &a, 1), len as u32);
            for width in [2usize, 3, 4, 8] {
                let slots = |r: &[u8]| r.chunks_exact(width).map(<[u8]>::to_vec).collect::<Vec<_>>();
                let plain = slots(&a).iter().zip(slots(&b)).filter(|(x, y)| **x == *y).count() as u32;
                assert_eq!(equal_count(&a, &b, width), plain, "length {len}, width {width}");
            }
        }
        // More than 255 chunks of 16: the byte counters are added up before they could overflow.
        let long = vec![7u8; 16 * 300 + 5];
        assert_eq!(equal_count(&long, &long, 1), long.len() as u32);
    }

    #[test]
    fn eight_bit_fingerprints_collide_at_the_chance_rate() {
        let pairs = 200_000u64;
        let equal = (0..pairs).filter(|&i| fingerprint(i) as u8 == fingerprint(i + pairs) as u8).count();
        let rate = equal as f64 / pairs as f64;
        assert!((rate - 1.0 / 256.0).abs() < 0.0008, "chance agreement {rate}");
    }
}
