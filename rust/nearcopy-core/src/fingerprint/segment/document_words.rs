//! The documents' words in a segment (format 7): read to rank matches of equal coverage
//! ([`crate::fingerprint::words`]), checked like every other byte of the body.

use super::{blocks, read_u64, Segment};
use crate::error::Result;
use crate::fingerprint::words::{WordHash, WORD_BYTES};

impl Segment {
    /// The distinct words stored for document `doc`: sorted hashes ([`crate::fingerprint::words`]),
    /// [`WORD_BYTES`] little-endian bytes each; empty for prose and in a format 6 segment. None when they lie in a
    /// damaged block (remembered: [`Segment::damage`] then refuses the match) or past the segment.
    pub fn document_words(&self, doc: u32) -> Option<&[u8]> {
        let Some(starts_at) = self.word_starts_at else { return Some(&[]) };
        if u64::from(doc) >= self.documents {
            return None;
        }
        let at = starts_at + 8 * doc as usize;
        if !self.touch(at, 16) {
            return None;
        }
        let (start, end) = (read_u64(&self.map, at), read_u64(&self.map, at + 8));
        if start > end || end > self.words {
            return None;
        }
        let (from, len) = (self.words_at + WORD_BYTES * start as usize, WORD_BYTES * (end - start) as usize);
        self.touch(from, len).then(|| &self.map[from..from + len])
    }

    /// The distinct words of the segment's code documents, summed.
    pub fn words(&self) -> u64 {
        self.words
    }

    /// Where document `doc`'s words start (`doc` = documents: their end), read unchecked: for the
    /// merge, which has verified the segment.
    pub(super) fn word_start(&self, doc: usize) -> u64 {
        self.word_starts_at.map_or(0, |at| read_u64(&self.map, at + 8 * doc))
    }

    /// The words region's bytes, read unchecked (the merge has verified the segment).
    pub(super) fn word_bytes(&self) -> &[u8] {
        if self.word_starts_at.is_none() {
            return &[];
        }
        &self.map[self.words_at..self.words_at + WORD_BYTES * self.words as usize]
    }

    /// Each document's words lie in order inside the region, sorted and distinct.
    pub(super) fn verify_words(&self) -> Result<()> {
        if self.word_starts_at.is_none() {
            return Ok(());
        }
        let corrupt = |why: &str| blocks::damaged(&self.path, why);
        if self.word_start(0) != 0 || self.word_start(self.documents as usize) != self.words {
            return Err(corrupt("word starts do not span the words"));
        }
        let words = self.word_bytes();
        let word = |i: usize| WordHash::from_le_bytes([words[WORD_BYTES * i], words[WORD_BYTES * i + 1]]);
        for d in 0..self.documents as usize {
            let (start, end) = (self.word_start(d) as usize, self.word_start(d + 1) as usize);
            if start > end || end as u64 > self.words {
                return Err(corrupt("word starts out of order"));
            }
            if (start + 1..end).any(|i| word(i - 1) >= word(i)) {
                return Err(corrupt("a document's words out of order"));
            }
        }
        Ok(())
    }
}
