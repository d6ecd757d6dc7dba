//! Reading the int keys of many documents of a segment, as a query does for its results.
//!
//! A heavy query returns thousands of documents, and each result's key was a call that looked up
//! the layout, checked the key's block and decoded it: with keys that are not in order (a user's
//! own ids), that work per result was as much as the rest of the query. The reader takes the
//! layout once, and skips the block checks once every block of the segment has been checked
//! (`warm()`), so a key is one packed load.

use super::{read_u64, Segment};
use crate::lsh::packed;

/// The int keys of one segment, read by document number.
pub struct IntKeys<'a> {
    segment: &'a Segment,
    /// The key column (from its first byte to the end of the file).
    column: &'a [u8],
    base: i64,
    /// Bits per key offset; 0 for keys in order (none stored), 64 for raw i64.
    width: u32,
    /// Every block checked already: reads need no check.
    whole: bool,
}

impl<'a> IntKeys<'a> {
    pub fn of(segment: &'a Segment) -> Self {
        let layout = &segment.layout;
        IntKeys {
            segment,
            column: segment.map.get(layout.keys_at..).unwrap_or(&[]),
            base: segment.header.key_base,
            width: layout.int_width,
            whole: segment.blocks.all_checked(),
        }
    }

    /// Where the bits of document `doc`'s key start in the file (the byte holding the first).
    #[inline]
    fn at(&self, doc: usize) -> usize {
        self.segment.layout.keys_at.saturating_add(doc.saturating_mul(self.width as usize) / 8)
    }

    /// Document `doc`'s key; 0 when its block is damaged (the query that read it then fails).
    #[inline]
    pub fn get(&self, doc: usize) -> i64 {
        if self.width == 0 {
            return self.base.wrapping_add(doc as i64);
        }
        if !self.whole && !self.segment.touch(self.at(doc), 8) {
            return 0;
        }
        if self.width == 64 {
            return read_u64(self.column, 8 * doc) as i64;
        }
        self.base.wrapping_add(packed::get(self.column, self.width, doc) as i64)
    }

    /// Hints the cache line of document `doc`'s key (a query's results lie all over the column).
    #[inline]
    pub fn prefetch(&self, doc: usize) {
        if self.width != 0 {
            self.segment.prefetch(self.at(doc));
        }
    }
}
