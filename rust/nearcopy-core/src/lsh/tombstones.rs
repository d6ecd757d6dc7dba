//! Removed documents of a segment. Segments are never modified (readers have them mapped), so a
//! removal writes a new tombstone file for the segment — every removed document so far — and the
//! next manifest names it; a merge then leaves those documents out.
//!
//! Layout (little-endian): magic `NCDEL\0\r\n`, format version (u32), zero (u32), the body checksum
//! of the segment it belongs to (u64, so a tombstone file cannot be applied to another segment),
//! the segment's document count (u64), the number of removed documents `m` (u64), `m` sorted u32
//! document numbers, then XXH3-64 of everything before it.

use super::{io, AtomicFile, Segment};
use crate::error::{Error, Result};
use crate::hash::xxh3_64;
use std::path::Path;

const MAGIC: &[u8; 8] = b"NCDEL\0\r\n";
const VERSION: u32 = 1;
const HEADER_LEN: usize = 40;

/// Writes the tombstones `docs` (sorted, distinct, each below the segment's count) of `segment`.
pub fn write_tombstones(path: &Path, segment: &Segment, docs: &[u32]) -> Result<()> {
    if docs.windows(2).any(|w| w[0] >= w[1])
        || docs.last().is_some_and(|&d| u64::from(d) >= segment.header.documents)
    {
        return Err(Error::InvalidArgument(
            "tombstones must be sorted distinct documents of the segment".into(),
        ));
    }
    let mut bytes = Vec::with_capacity(HEADER_LEN + 4 * docs.len() + 8);
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&VERSION.to_le_bytes());
    bytes.extend_from_slice(&0u32.to_le_bytes());
    bytes.extend_from_slice(&segment.body_checksum().to_le_bytes());
    bytes.extend_from_slice(&segment.header.documents.to_le_bytes());
    bytes.extend_from_slice(&(docs.len() as u64).to_le_bytes());
    docs.iter().for_each(|d| bytes.extend_from_slice(&d.to_le_bytes()));
    let sum = xxh3_64(&bytes, 0);
    bytes.extend_from_slice(&sum.to_le_bytes());
    // The whole file is the "header" that AtomicFile writes at offset 0.
    AtomicFile::create(path)?.commit(&bytes)
}

/// The removed documents of one segment: a sorted list (for renumbering in a merge) and a bitmap
/// (for the check of every query candidate).
#[derive(Debug, Default)]
pub struct Tombstones {
    docs: Vec<u32>,
    bits: Vec<u64>,
}

impl Tombstones {
    pub fn none() -> Self {
        Tombstones::default()
    }

    /// Reads and checks the tombstone file of `segment` (whole: these files are small).
    pub fn open(path: &Path, segment: &Segment) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| io(path, "read", e))?;
        let corrupt =
            |why: &str| Error::Corrupt(format!("{}: not a valid tombstone file: {why}", path.display()));
        if bytes.len() < HEADER_LEN + 8 || &bytes[..8] != MAGIC {
            return Err(corrupt("wrong magic bytes (not a tombstone file, or truncated)"));
        }
        let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
        let (body, sum) = bytes.split_at(bytes.len() - 8);
        if xxh3_64(body, 0) != u64::from_le_bytes(sum.try_into().expect("8 bytes")) {
            return Err(corrupt("checksum mismatch (damaged file)"));
        }
        if u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes")) != VERSION {
            return Err(corrupt("another format version"));
        }
        if u64_at(16) != segment.body_checksum() || u64_at(24) != segment.header.documents {
            return Err(corrupt("written for another segment"));
        }
        let count = u64_at(32);
        if u128::from(count) * 4 + HEADER_LEN as u128 + 8 != bytes.len() as u128 {
            return Err(corrupt("length does not match its count"));
        }
        let docs: Vec<u32> = body[HEADER_LEN..]
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes")))
            .collect();
        if docs.windows(2).any(|w| w[0] >= w[1])
            || docs.last().is_some_and(|&d| u64::from(d) >= segment.header.documents)
        {
            return Err(corrupt("documents out of order or out of range"));
        }
        Ok(Tombstones::from_sorted(docs, segment.len()))
    }

    /// Tombstones from sorted distinct document numbers below `documents`.
    pub fn from_sorted(docs: Vec<u32>, documents: usize) -> Self {
        let mut bits = vec![0u64; if docs.is_empty() { 0 } else { documents.div_ceil(64) }];
        for &d in &docs {
            bits[d as usize / 64] |= 1 << (d % 64);
        }
        Tombstones { docs, bits }
    }

    #[inline]
    pub fn is_removed(&self, doc: u32) -> bool {
        self.bits.get(doc as usize / 64).is_some_and(|w| w & (1 << (doc % 64)) != 0)
    }

    pub fn count(&self) -> usize {
        self.docs.len()
    }

    pub fn docs(&self) -> &[u32] {
        &self.docs
    }

    /// Removed documents numbered below `doc` (how far a merge moves `doc` down).
    pub fn before(&self, doc: u32) -> u32 {
        self.docs.partition_point(|&d| d < doc) as u32
    }
}
