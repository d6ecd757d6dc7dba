//! Per-block checksums of a segment's body, checked the first time a lookup reads a block.
//!
//! A segment is memory-mapped and can be gigabytes, so opening it must not read it all, yet nothing
//! read from it may be trusted unchecked (a flipped bit in a posting would name another document,
//! or hide a copy). The body is cut into blocks of `2^bits` bytes, each with its own checksum in a
//! table at the end of the file; the table itself is covered by a checksum in the header and is
//! read at open (8 bytes per 16 KiB block: 0.05% of the file). A lookup checks the blocks its bytes
//! lie in the first time it reads them, and marks them checked in a bitset shared by every thread,
//! so the cost is paid once per block of the file a query touches, then one atomic load per block.
//! A block that fails is remembered: every later match on the segment is refused.

use crate::error::{Error, Result};
use crate::hash::xxh3_64;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;

/// log2 of the block size written: 16 KiB, four pages. Smaller blocks cost a bigger table to read
/// at open; bigger ones more bytes hashed on a block's first touch (measured in docs/filter.md).
pub const BLOCK_BITS: u32 = 14;
/// The block sizes a reader accepts (512 bytes to 1 GiB).
pub const BLOCK_BITS_RANGE: std::ops::RangeInclusive<u32> = 9..=30;

/// How many blocks of `1 << bits` bytes a body of `body_len` bytes has.
pub fn block_count(body_len: u64, bits: u32) -> u64 {
    body_len.div_ceil(1u64 << bits)
}

/// The checksum of block `index`: seeded with the index, so two blocks swapped do not pass.
pub fn block_checksum(block: &[u8], index: u64) -> u64 {
    xxh3_64(block, index)
}

/// Checksums of a body written in pieces of any size (the segment writer streams its body).
pub struct BlockHasher {
    bits: u32,
    /// The index of the first block this hasher sums (a body hashed in two streams, each its part).
    first: u64,
    block: Vec<u8>,
    sums: Vec<u64>,
}

impl BlockHasher {
    pub fn new(bits: u32) -> Self {
        Self::from_block(bits, 0)
    }

    /// A hasher of the bytes from the start of block `first` of a body on.
    pub fn from_block(bits: u32, first: u64) -> Self {
        BlockHasher { bits, first, block: Vec::with_capacity(1 << bits), sums: Vec::new() }
    }

    pub fn update(&mut self, mut bytes: &[u8]) {
        let size = 1usize << self.bits;
        while !bytes.is_empty() {
            let take = (size - self.block.len()).min(bytes.len());
            self.block.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.block.len() == size {
                self.sums.push(block_checksum(&self.block, self.first + self.sums.len() as u64));
                self.block.clear();
            }
        }
    }

    /// Bytes past the last whole block hashed (those of a block not complete yet).
    pub fn pending(&self) -> usize {
        self.block.len()
    }

    /// The table: one little-endian u64 per block, the last one possibly short.
    pub fn finish(mut self) -> Vec<u8> {
        if !self.block.is_empty() {
            self.sums.push(block_checksum(&self.block, self.first + self.sums.len() as u64));
        }
        self.sums.iter().flat_map(|s| s.to_le_bytes()).collect()
    }
}

/// Which blocks of a mapped segment have been checked, and the first damage found.
pub struct BlockChecks {
    bits: u32,
    /// The body is `map[body_at..table_at]`; the table follows it to the end of the file.
    body_at: usize,
    table_at: usize,
    blocks: usize,
    checked: Box<[AtomicU64]>,
    /// Set once every block has been checked (`check_all`, as `warm()` does): a lookup then takes
    /// one load, not a bit test per block it reads (a heavy LSH query reads a key per result).
    all_checked: AtomicBool,
    damage: OnceLock<String>,
}

impl BlockChecks {
    /// Checks the table against `table_checksum` (from the header): O(blocks), not O(size).
    pub fn open(map: &[u8], body_at: usize, table_at: usize, bits: u32, table_checksum: u64) -> Option<Self> {
        if xxh3_64(&map[table_at..], 0) != table_checksum {
            return None;
        }
        let blocks = block_count((table_at - body_at) as u64, bits) as usize;
        let checked = (0..blocks.div_ceil(64)).map(|_| AtomicU64::new(0)).collect();
        let all_checked = AtomicBool::new(blocks == 0);
        Some(BlockChecks { bits, body_at, table_at, blocks, checked, all_checked, damage: OnceLock::new() })
    }

    /// Whether the bytes `at..at + len` of the file lie in blocks that match their checksums,
    /// checking those not checked yet. False (and the damage remembered) when one does not.
    #[inline(always)]
    pub fn touch(&self, map: &[u8], at: usize, len: usize) -> bool {
        if len == 0 || self.all_checked() {
            return true;
        }
        debug_assert!(at >= self.body_at && at + len <= self.table_at);
        let first = (at - self.body_at) >> self.bits;
        let last = (at + len - 1 - self.body_at) >> self.bits;
        if first == last {
            // A key or a posting: the one case on the lookup path that counts.
            return self.is_checked(first) || self.check(map, first);
        }
        (first..=last).all(|b| self.is_checked(b) || self.check(map, b))
    }

    /// The offset just past the block holding byte `at` of the file (the table's start, at most).
    #[inline]
    pub fn end_of_block(&self, at: usize) -> usize {
        (self.body_at + ((((at - self.body_at) >> self.bits) + 1) << self.bits)).min(self.table_at)
    }

    /// Whether every block has been checked (and matched its checksum).
    #[inline]
    pub fn all_checked(&self) -> bool {
        self.all_checked.load(Ordering::Acquire)
    }

    #[inline]
    fn is_checked(&self, block: usize) -> bool {
        self.checked[block / 64].load(Ordering::Acquire) & (1 << (block % 64)) != 0
    }

    #[cold]
    #[inline(never)]
    fn check(&self, map: &[u8], block: usize) -> bool {
        let start = self.body_at + (block << self.bits);
        let end = (start + (1 << self.bits)).min(self.table_at);
        let at = self.table_at + 8 * block;
        let stored = u64::from_le_bytes(map[at..at + 8].try_into().expect("8 bytes"));
        if block_checksum(&map[start..end], block as u64) != stored {
            let _ = self.damage.set(format!(
                "block {block} (bytes {start}-{end}) does not match its checksum (damaged file)"
            ));
            return false;
        }
        // Two threads may both check a block the first time: the result is the same.
        self.checked[block / 64].fetch_or(1 << (block % 64), Ordering::Release);
        true
    }

    /// Checks every block not checked yet (`verify`): O(size).
    pub fn check_all(&self, map: &[u8]) -> bool {
        let whole = (0..self.blocks).all(|b| self.is_checked(b) || self.check(map, b));
        if whole {
            self.all_checked.store(true, Ordering::Release);
        }
        whole
    }

    /// The first damage a lookup found, if any.
    pub fn damage(&self) -> Option<&str> {
        self.damage.get().map(String::as_str)
    }
}

/// An error naming `path` and what was found damaged.
pub fn damaged(path: &std::path::Path, why: &str) -> Error {
    Error::Corrupt(format!(
        "{}: index segment damaged: {why}; restore the file or rebuild the index",
        path.display()
    ))
}

/// The result of a lookup is only used when every block it read matched its checksum.
pub fn checked(path: &std::path::Path, checks: &BlockChecks) -> Result<()> {
    checks.damage().map_or(Ok(()), |why| Err(damaged(path, why)))
}
