//! A bit-exact re-implementation of what datasketch gets from `numpy.random.RandomState(seed)`.
//!
//! datasketch draws its permutation parameters with `RandomState(seed).randint(...)`; to produce the
//! same signatures without numpy we reproduce MT19937 (`init_genrand` seeding) and numpy's *masked*
//! rejection sampling for bounded integers, which is what the legacy `RandomState` uses.

const N: usize = 624;
const M: usize = 397;
const MATRIX_A: u32 = 0x9908_B0DF;
const UPPER_MASK: u32 = 0x8000_0000;
const LOWER_MASK: u32 = 0x7FFF_FFFF;

pub struct Mt19937 {
    state: [u32; N],
    index: usize,
}

impl Mt19937 {
    /// `RandomState(seed)` for an integer seed: numpy's `mt19937_seed`, the reference `init_genrand`.
    pub fn new(seed: u32) -> Self {
        let mut state = [0u32; N];
        state[0] = seed;
        for i in 1..N {
            let prev = state[i - 1];
            state[i] = 1_812_433_253u32.wrapping_mul(prev ^ (prev >> 30)).wrapping_add(i as u32);
        }
        Mt19937 { state, index: N }
    }

    fn twist(&mut self) {
        for i in 0..N {
            let y = (self.state[i] & UPPER_MASK) | (self.state[(i + 1) % N] & LOWER_MASK);
            let mut next = self.state[(i + M) % N] ^ (y >> 1);
            if y & 1 != 0 {
                next ^= MATRIX_A;
            }
            self.state[i] = next;
        }
        self.index = 0;
    }

    pub fn next_u32(&mut self) -> u32 {
        if self.index >= N {
            self.twist();
        }
        let mut y = self.state[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9D2C_5680;
        y ^= (y << 15) & 0xEFC6_0000;
        y ^ (y >> 18)
    }

    /// numpy's `mt19937_next64`: the first 32-bit output is the high half.
    pub fn next_u64(&mut self) -> u64 {
        let high = u64::from(self.next_u32());
        let low = u64::from(self.next_u32());
        (high << 32) | low
    }

    /// `randint(low, high, dtype=np.uint64)` (high exclusive), as `RandomState` computes it.
    pub fn randint_u64(&mut self, low: u64, high: u64) -> u64 {
        debug_assert!(high > low);
        let range = high - low - 1; // numpy works with the inclusive range
        if range == 0 {
            return low;
        }
        if range <= u64::from(u32::MAX) {
            // numpy switches to 32-bit draws when the range fits in 32 bits.
            return low + u64::from(self.bounded_masked_u32(range as u32));
        }
        if range == u64::MAX {
            return low.wrapping_add(self.next_u64());
        }
        let mask = mask_for(range);
        loop {
            let value = self.next_u64() & mask;
            if value <= range {
                return low + value;
            }
        }
    }

    /// `randint(low, high, dtype=np.uint32)` (high exclusive), as `RandomState` computes it.
    pub fn randint_u32(&mut self, low: u32, high: u64) -> u32 {
        debug_assert!(high > u64::from(low) && high <= 1 << 32);
        let range = (high - u64::from(low) - 1) as u32;
        low.wrapping_add(self.bounded_masked_u32(range))
    }

    fn bounded_masked_u32(&mut self, range: u32) -> u32 {
        if range == 0 {
            return 0;
        }
        if range == u32::MAX {
            return self.next_u32();
        }
        let mask = mask_for(u64::from(range)) as u32;
        loop {
            let value = self.next_u32() & mask;
            if value <= range {
                return value;
            }
        }
    }
}

/// The smallest all-ones mask covering `range` (numpy `_gen_mask`).
fn mask_for(range: u64) -> u64 {
    if range == 0 {
        0
    } else {
        u64::MAX >> range.leading_zeros()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_reference_mt19937_outputs() {
        // numpy.random.RandomState(5489).randint(0, 2**32, dtype=np.uint64, size=3) draws 32 bits
        // each; 5489 is the reference implementation's default seed.
        let mut rng = Mt19937::new(5489);
        assert_eq!(rng.next_u32(), 3_499_211_612);
        assert_eq!(rng.next_u32(), 581_869_302);
        assert_eq!(rng.next_u32(), 3_890_346_734);
    }

    #[test]
    fn seed_one_first_output() {
        // numpy.random.RandomState(1).randint(0, 2**32, dtype=np.uint64) == 1791095845
        let mut rng = Mt19937::new(1);
        assert_eq!(rng.next_u32(), 1_791_095_845);
    }

    #[test]
    fn masks_cover_range() {
        assert_eq!(mask_for(1), 1);
        assert_eq!(mask_for(5), 7);
        assert_eq!(mask_for((1 << 61) - 3), (1 << 61) - 1);
        assert_eq!(mask_for(u64::MAX), u64::MAX);
    }

    #[test]
    fn bounded_draws_stay_in_range() {
        let mut rng = Mt19937::new(42);
        for _ in 0..10_000 {
            let v = rng.randint_u64(1, (1 << 61) - 1);
            assert!((1..(1 << 61) - 1).contains(&v));
            let w = rng.randint_u32(0, 1 << 31);
            assert!(w < 1 << 31);
        }
    }
}
