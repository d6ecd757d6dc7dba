//! Index segments on disk: one immutable file of hash-sorted fingerprint postings, memory-mapped.
//!
//! Layout (little-endian; 12 bytes per fingerprint plus a directory of at most half a byte each,
//! then 8 bytes per document and 2 per distinct word of each code document):
//!
//! | offset | field |
//! |---|---|
//! | 0 | magic `NCSEG\0\r\n` (the `\r\n` shows a text-mode transfer that mangled the file) |
//! | 8 | format version (u32), 12: flags (u32, bit 0: keyed) |
//! | 16 | prose k (u32), 20: prose w (u32) |
//! | 24 | key check (u64): identifies the key without revealing it, 0 when unkeyed |
//! | 32 | documents (u64), 40: fingerprints `n` (u64) |
//! | 48 | checksum of the block table (u64, XXH3) |
//! | 56 | code k (u32), 60: code w (u32) |
//! | 64 | directory bits `b` (u32), 68: block bits `c` (u32) |
//! | 72 | words `W` (u64): the distinct words of the code documents, summed |
//! | 80 | checksum of bytes 0..80 (u64) |
//! | 88 | the body: directory, `2^b + 1` × u32, where bucket `i` (the keys whose top `b` bits are |
//! |    | `i`) starts; then keys: `n` × u32, the top 32 bits of each fingerprint hash, sorted; |
//! |    | then postings: `n` × (document u32, position u32), sorted within each key; then word |
//! |    | starts: documents + 1 × u64, where each document's words start (the last is `W`); then |
//! |    | words: `W` × u16, each document's hashes sorted ([`super::words`]) |
//! | end | the block table: one u64 per `2^c` bytes of the body, XXH3 of the block seeded with its number |
//!
//! A fingerprint is looked up by the top 32 bits of its hash: 4 bytes instead of 8. A lookup then
//! finds, besides the true postings, those of another hash with the same top bits, with probability
//! about entries / 2^32 (1% at 40 million fingerprints); such a chance posting is a lone hit in some
//! document, far from the 25 tokens of chained hits a copy needs. Every segment keeps the same 32
//! bits whatever its size, so segments merge by merging their sorted keys. The directory (about
//! eight keys per bucket) narrows the binary search to a bucket. The words are read only to rank
//! matches of equal coverage ([`Segment::document_words`]).
//!
//! Format 6 (an 80-byte header, the checksum at 72, no words) is still read: its documents have no
//! words, and a merge writes them as such.
//!
//! Segments are published by writing a temporary file, syncing it and renaming it into place, and
//! are never modified afterwards, so readers in any number of processes map them without locks.
//! Opening checks the header, the header checksum, that the length fits the counts and the block
//! table's checksum (a few microseconds per 100 MB, so opening stays instant); a lookup checks each
//! block of the body it reads the first time it reads it ([`blocks`]), and a match that read a
//! damaged block is refused. [`Segment::verify`] checks every block, then the order of the body.

pub mod blocks;
mod document_words;
mod write;

use super::matching::Posting;
use crate::error::{Error, Result};
use crate::fingerprint::words::WORD_BYTES;
use crate::hash::xxh3_64;
use crate::prefetch::{prefetch_at, prefetch_lines};
use blocks::{block_count, BlockChecks, BLOCK_BITS_RANGE};
use std::fs::File;
use std::path::{Path, PathBuf};
pub use write::{merge_segments, write_segment, write_segment_with_words};

const MAGIC: &[u8; 8] = b"NCSEG\0\r\n";
/// 7: each code document's words, to rank documents that normalize alike. 6: the body
/// checksummed per block, checked when a lookup first reads the block (5 had one checksum of the
/// whole body, which only `verify` read). 5: fingerprints keyed by SipHash-2-4 under a 128-bit key
/// (4 XORed a 64-bit key into fmix64's input, which one known text gave away).
pub const FORMAT_VERSION: u32 = 7;
/// The previous format, still read (no words).
const FORMAT_WITHOUT_WORDS: u32 = 6;
const HEADER_LEN: usize = 88;
const HEADER_LEN_WITHOUT_WORDS: usize = 80;
const ENTRY_LEN: usize = 12;
/// About eight entries per directory bucket, at most 2^24 buckets (a 64 MB directory).
const MAX_DIRECTORY_BITS: u32 = 24;

fn directory_bits(entries: usize) -> u32 {
    if entries < 64 {
        0
    } else {
        (entries.ilog2() - 3).min(MAX_DIRECTORY_BITS)
    }
}

#[inline]
fn bucket(key: u32, bits: u32) -> usize {
    if bits == 0 {
        0
    } else {
        (key >> (32 - bits)) as usize
    }
}

/// What a segment stores of a fingerprint hash.
#[inline]
pub fn stored_key(hash: u64) -> u32 {
    (hash >> 32) as u32
}

pub use super::key::key_check;

fn io(path: &Path, what: &str, err: std::io::Error) -> Error {
    Error::Io(format!("{}: cannot {what}: {err}", path.display()))
}

/// A memory-mapped segment whose header and block table were validated at open.
pub struct Segment {
    map: memmap2::Mmap,
    path: PathBuf,
    /// Winnowing of prose (k, w) and of code (code_k, code_w).
    pub k: usize,
    pub w: usize,
    pub code_k: usize,
    pub code_w: usize,
    pub key_check: u64,
    pub documents: u64,
    entries: usize,
    bits: u32,
    /// Byte offsets of the body (the directory), the keys, the postings, the word starts and the
    /// words (`words` of them; none in a format 6 segment, where `word_starts_at` is None).
    body_at: usize,
    keys_at: usize,
    postings_at: usize,
    word_starts_at: Option<usize>,
    words_at: usize,
    words: u64,
    blocks: BlockChecks,
}

fn read_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

fn read_u64(bytes: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(b)
}

impl Segment {
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| io(path, "open", e))?;
        // SAFETY: published segments are never written again (they are replaced by rename, which
        // leaves this mapping on the old file), so the mapped bytes cannot change under the reader.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| io(path, "map", e))?;
        let corrupt = |why: &str| {
            Error::Corrupt(format!("{}: not a valid nearcopy index segment: {why}", path.display()))
        };
        if map.len() < 12 || &map[..8] != MAGIC {
            return Err(corrupt("wrong magic bytes (not a segment, or truncated)"));
        }
        let version = read_u32(&map, 8);
        let header_len = match version {
            FORMAT_VERSION => HEADER_LEN,
            FORMAT_WITHOUT_WORDS => HEADER_LEN_WITHOUT_WORDS,
            _ => {
                return Err(corrupt(&format!(
                    "format version {version}, this nearcopy reads {FORMAT_WITHOUT_WORDS} and \
                     {FORMAT_VERSION} (rebuild the index)"
                )))
            }
        };
        if map.len() < header_len {
            return Err(corrupt("truncated header"));
        }
        let sum_at = header_len - 8;
        if read_u64(&map, sum_at) != xxh3_64(&map[..sum_at], 0) {
            return Err(corrupt("header checksum mismatch (damaged file)"));
        }
        let (documents, entries) = (read_u64(&map, 32), read_u64(&map, 40));
        let words = if version == FORMAT_VERSION { read_u64(&map, 72) } else { 0 };
        let (bits, block_bits) = (read_u32(&map, 64), read_u32(&map, 68));
        if bits > MAX_DIRECTORY_BITS {
            return Err(corrupt(&format!("a directory of 2^{bits} buckets")));
        }
        if !BLOCK_BITS_RANGE.contains(&block_bits) {
            return Err(corrupt(&format!("checksum blocks of 2^{block_bits} bytes")));
        }
        let directory = 4 * ((1u64 << bits) + 1);
        let postings_end = entries.checked_mul(ENTRY_LEN as u64).and_then(|b| b.checked_add(directory));
        let with_words = |end: u64| -> Option<u64> {
            if version != FORMAT_VERSION {
                return Some(end);
            }
            let starts = documents.checked_add(1)?.checked_mul(8)?;
            end.checked_add(starts)?.checked_add(words.checked_mul(WORD_BYTES as u64)?)
        };
        let body = postings_end.and_then(with_words);
        let expected = body.and_then(|b| {
            b.checked_add(header_len as u64)?.checked_add(block_count(b, block_bits).checked_mul(8)?)
        });
        if expected != Some(map.len() as u64) {
            return Err(corrupt(&format!(
                "{} bytes for {entries} fingerprints (truncated or padded)",
                map.len()
            )));
        }
        let table_at = header_len + body.unwrap_or(0) as usize;
        let blocks = BlockChecks::open(&map, header_len, table_at, block_bits, read_u64(&map, 48))
            .ok_or_else(|| corrupt("block table checksum mismatch (damaged file)"))?;
        let keys_at = header_len + directory as usize;
        let postings_at = keys_at + 4 * entries as usize;
        let starts_at = postings_at + 8 * entries as usize;
        Ok(Segment {
            k: read_u32(&map, 16) as usize,
            w: read_u32(&map, 20) as usize,
            code_k: read_u32(&map, 56) as usize,
            code_w: read_u32(&map, 60) as usize,
            key_check: read_u64(&map, 24),
            documents,
            entries: entries as usize,
            bits,
            body_at: header_len,
            keys_at,
            postings_at,
            word_starts_at: (version == FORMAT_VERSION).then_some(starts_at),
            // (The length check bounds this in format 7; format 6 has no words and no region.)
            words_at: if version == FORMAT_VERSION { starts_at + 8 * (documents as usize + 1) } else { 0 },
            words,
            blocks,
            map,
            path: path.to_path_buf(),
        })
    }

    pub fn len(&self) -> usize {
        self.entries
    }

    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    pub fn bytes(&self) -> usize {
        self.map.len()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Calls `f` with every stored key, in order; None (and no call) when a block of the keys is
    /// damaged.
    pub fn for_each_key(&self, mut f: impl FnMut(u32)) -> Option<()> {
        if self.entries > 0 && !self.touch(self.keys_at, 4 * self.entries) {
            return None;
        }
        (0..self.entries).for_each(|i| f(self.key(i)));
        Some(())
    }

    #[inline]
    fn key(&self, i: usize) -> u32 {
        read_u32(&self.map, self.keys_at + 4 * i)
    }

    #[inline]
    fn directory(&self, b: usize) -> usize {
        read_u32(&self.map, self.body_at + 4 * b) as usize
    }

    #[inline]
    fn posting(&self, i: usize) -> Posting {
        let at = self.postings_at + 8 * i;
        Posting { doc: read_u32(&self.map, at), position: read_u32(&self.map, at + 4) }
    }

    /// Whether `len` bytes at `at` lie in blocks that match their checksums (checked on first touch).
    #[inline]
    fn touch(&self, at: usize, len: usize) -> bool {
        self.blocks.touch(&self.map, at, len)
    }

    /// Checks the block(s) holding entry `i` of the array at byte `at` (entries of `size` bytes);
    /// returns the first entry past those blocks, or None when one is damaged.
    #[inline]
    fn checked_from(&self, at: usize, size: usize, i: usize) -> Option<usize> {
        let start = at + size * i;
        self.touch(start, size).then(|| (self.blocks.end_of_block(start + size - 1) - at) / size)
    }

    /// Starts loading what a lookup of `hash` reads first (`stage` 0: its directory bucket) or next
    /// (1, once the bucket has arrived: its keys and postings). The bucket's values are only
    /// addresses to hint at, never trusted: a lookup checks their blocks before reading them.
    #[inline]
    pub fn prefetch_lookup(&self, hash: u64, stage: u8) {
        let at = self.body_at + 4 * bucket(stored_key(hash), self.bits);
        if stage == 0 {
            return prefetch_at(&self.map, at);
        }
        if at + 8 <= self.map.len() {
            let (first, end) = (read_u32(&self.map, at) as usize, read_u32(&self.map, at + 4) as usize);
            // A bucket's ~8 keys (32 bytes) and postings (64) straddle a cache line boundary about
            // half the time, and the binary search's first probe is in the middle: hinting only
            // the first line left the key load at half of `lookup_limited`'s samples on a warmed
            // index. Every line of a small bucket is hinted; of a long run (a boilerplate
            // k-gram's), the first ones. (Hinting postings only once the key is known to be there,
            // a third stage, was no faster.)
            let count = end.saturating_sub(first).clamp(1, 16);
            let keys = self.keys_at.saturating_add(first.saturating_mul(4));
            let postings = self.postings_at.saturating_add(first.saturating_mul(8));
            prefetch_lines(&self.map, keys, 4 * count);
            prefetch_lines(&self.map, postings, 8 * count);
        }
    }

    /// The postings of `hash` (sorted by document, then position).
    pub fn lookup(&self, hash: u64, out: &mut Vec<Posting>) {
        self.lookup_limited(hash, usize::MAX, out);
    }

    /// The postings of `hash` until they name more than `max_documents` documents; returns how many
    /// documents they name (see [`super::PostingSource::postings`]). Every key and posting read is
    /// in a checked block (the few a binary search reads, not the whole bucket; a boilerplate run
    /// only up to where the count stops it): when one is damaged, nothing is found and
    /// [`Segment::damage`] says so.
    pub fn lookup_limited(&self, hash: u64, max_documents: usize, out: &mut Vec<Posting>) -> usize {
        out.clear();
        let key = stored_key(hash);
        let b = bucket(key, self.bits);
        if !self.touch(self.body_at + 4 * b, 8) {
            return 0;
        }
        let (mut lo, end) = (self.directory(b), self.directory(b + 1).min(self.entries));
        // A bucket holds about eight keys: one check covers them all. A big one (a boilerplate
        // k-gram's run) is checked where the binary search reads it.
        let small = lo < end && end - lo <= 64;
        if small && !self.touch(self.keys_at + 4 * lo, 4 * (end - lo)) {
            return 0;
        }
        let mut hi = end;
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if !small && !self.touch(self.keys_at + 4 * mid, 4) {
                return 0;
            }
            if self.key(mid) < key {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        // A run of postings can be long (a boilerplate k-gram): its blocks are checked once each,
        // and entries below `keys_ok` / `postings_ok` are known to lie in checked blocks.
        let (mut damaged, mut keys_ok, mut postings_ok) = (false, if small { end } else { lo }, lo);
        let run = (lo..end).map_while(|i| {
            if i >= keys_ok {
                let Some(next) = self.checked_from(self.keys_at, 4, i) else {
                    damaged = true;
                    return None;
                };
                keys_ok = next;
            }
            if self.key(i) != key {
                return None;
            }
            if i >= postings_ok {
                let Some(next) = self.checked_from(self.postings_at, 8, i) else {
                    damaged = true;
                    return None;
                };
                postings_ok = next;
            }
            Some(self.posting(i))
        });
        let documents = super::matching::collect_postings(run, max_documents, out);
        if damaged {
            out.clear();
            return 0;
        }
        documents
    }

    /// An error when a lookup read a damaged block (its answer must not be used), else `Ok`.
    pub fn damage(&self) -> Result<()> {
        blocks::checked(&self.path, &self.blocks)
    }

    /// Reads and checks every block not checked yet (each page of the file is mapped on the way):
    /// what a server does before its first check, so that no check pays for a first touch.
    pub fn warm(&self) -> Result<()> {
        if !self.blocks.check_all(&self.map) {
            return self.damage();
        }
        Ok(())
    }

    /// Checks every block, then the body's order and document numbers. O(size).
    pub fn verify(&self) -> Result<()> {
        if !self.blocks.check_all(&self.map) {
            return self.damage();
        }
        let corrupt = |why: &str| blocks::damaged(&self.path, why);
        let buckets = 1usize << self.bits;
        if self.directory(0) != 0 || self.directory(buckets) != self.entries {
            return Err(corrupt("directory does not span the fingerprints"));
        }
        // One pass over the entries (a merge verifies every input: three passes cost as much as
        // the merge's own reading).
        for b in 0..buckets {
            let (start, end) = (self.directory(b), self.directory(b + 1));
            if start > end || end > self.entries {
                return Err(corrupt("directory out of order"));
            }
            let mut previous = None;
            for i in start..end {
                let entry = (self.key(i), self.posting(i));
                if bucket(entry.0, self.bits) != b {
                    return Err(corrupt("a fingerprint in the wrong directory bucket"));
                }
                if previous.is_some_and(|p| p > entry) {
                    return Err(corrupt("fingerprints out of order"));
                }
                if u64::from(entry.1.doc) >= self.documents {
                    return Err(corrupt("a posting names a document the segment does not have"));
                }
                previous = Some(entry);
            }
        }
        self.verify_words()
    }
}

#[cfg(test)]
pub(crate) mod tests;
#[cfg(test)]
mod words_tests;
