//! Which fingerprints a segment may hold, kept in memory: a bit per value of its stored keys' low
//! bits. An allowlist is asked about every fingerprint some segment holds, and on the 1 GB corpus in
//! four shards each shard's allowlist (its transpiler helpers and licence notices, 6.9 MB) was as far
//! from the cache as the segments: with its bits, a lookup of a fingerprint it does not hold (nearly
//! all of them) ends without touching its file.

use super::matching::PostingSource;
use super::segment::{stored_key, Segment};
use super::Posting;

/// About this many bits per stored key: a fingerprint the segment does not hold passes the bits
/// about one time in nine (and is then looked up as before).
const BITS_PER_KEY: usize = 8;
/// At most this many bits (16 MiB), whatever the segment.
const MAX_BITS: usize = 1 << 27;

/// The bits of a segment's keys (see the module's comment).
pub struct Presence {
    bits: Vec<u8>,
    mask: u32,
}

impl Presence {
    /// The bits of every key `segment` stores; None when a block of its keys is damaged (its
    /// lookups then say so, as without the bits).
    pub fn of(segment: &Segment) -> Option<Presence> {
        let count = (BITS_PER_KEY * segment.len()).next_power_of_two().clamp(64, MAX_BITS);
        let mask = (count - 1) as u32;
        let mut bits = vec![0u8; count / 8];
        segment.for_each_key(|key| {
            let bit = key & mask;
            bits[bit as usize / 8] |= 1 << (bit % 8);
        })?;
        Some(Presence { bits, mask })
    }

    /// False only if the segment holds no fingerprint of this hash.
    #[inline]
    pub fn may_hold(&self, hash: u64) -> bool {
        let bit = stored_key(hash) & self.mask;
        self.bits[bit as usize / 8] >> (bit % 8) & 1 == 1
    }

    /// Bytes of memory the bits take.
    pub fn bytes(&self) -> usize {
        self.bits.len()
    }
}

/// A segment asked through its [`Presence`] bits first.
#[derive(Clone, Copy)]
pub struct Screened<'a> {
    pub segment: &'a Segment,
    pub presence: &'a Presence,
}

impl PostingSource for Screened<'_> {
    fn postings(&self, hash: u64, max_documents: usize, out: &mut Vec<Posting>) -> usize {
        if !self.presence.may_hold(hash) {
            out.clear();
            return 0;
        }
        self.segment.postings(hash, max_documents, out)
    }

    fn prefetch(&self, hash: u64, stage: u8) {
        // The segment's reads only for a fingerprint the bits let through (the bits, a MB or two,
        // stay in the cache).
        if self.presence.may_hold(hash) {
            self.segment.prefetch(hash, stage);
        }
    }

    fn document_words(&self, doc: u32) -> Option<&[u8]> {
        self.segment.document_words(doc)
    }
}

#[cfg(test)]
mod tests;
