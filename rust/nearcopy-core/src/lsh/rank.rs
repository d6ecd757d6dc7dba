//! The order of a query's hits as one integer per hit, so that ranking them is a sort of `u64`s.

use super::query::{Hit, Source};

/// Packs a hit into a `u64` ordered as hits are ranked (most equal slots first, then source, then
/// document): `(num_perm - equal) << (source_bits + doc_bits) | source << doc_bits | doc`, each
/// field as wide as the index's sizes need. Unpacks it again, exactly.
#[derive(Clone, Copy, Debug)]
pub(super) struct RankKey {
    num_perm: u32,
    source_bits: u32,
    doc_bits: u32,
}

/// The bits that hold every value up to `n`.
fn bits(n: u64) -> u32 {
    u64::BITS - n.leading_zeros()
}

impl RankKey {
    /// The packing of hits of `sources` at `num_perm` slots; None when they need more than 64 bits
    /// (then hits are ranked as tuples).
    pub(super) fn new(sources: &[Source<'_>], num_perm: usize) -> Option<Self> {
        let docs = sources.iter().map(|s| s.segment.len() as u64).max().unwrap_or(0);
        let (num_perm, source_bits, doc_bits) =
            (u32::try_from(num_perm).ok()?, bits(sources.len() as u64), bits(docs));
        (bits(u64::from(num_perm)) + source_bits + doc_bits <= 64).then_some(RankKey {
            num_perm,
            source_bits,
            doc_bits,
        })
    }

    /// The key of candidate `packed` (`source << 32 | doc`) agreeing with the query on `equal` slots
    /// (at most `num_perm`: the query row has no more).
    #[inline]
    pub(super) fn key(self, packed: u64, equal: u32) -> u64 {
        let missed = u64::from(self.num_perm - equal.min(self.num_perm));
        (missed << (self.source_bits + self.doc_bits))
            | ((packed >> 32) << self.doc_bits)
            | (packed as u32 as u64)
    }

    #[inline]
    pub(super) fn hit(self, key: u64) -> Hit {
        let low = self.source_bits + self.doc_bits;
        Hit {
            source: ((key >> self.doc_bits) & ((1u64 << self.source_bits) - 1)) as u32,
            doc: (key & ((1u64 << self.doc_bits) - 1)) as u32,
            equal: self.num_perm - (key >> low) as u32,
        }
    }
}
