//! One LSH segment on disk, opened: the memory-mapped file, its header and block table checked at
//! open (O(blocks), not O(size)), each block of the body the first time a query reads from it, and
//! the whole body by [`Segment::verify`]. The format is described in [`super::header`].
//!
//! Every accessor touches the bytes it reads first ([`BlockChecks::touch`]): a read from a damaged
//! block gives an empty or zero value, and the damage is remembered, so the query that read it
//! fails ([`Segment::checked`]) instead of answering from a flipped bit.

use super::header::FORMAT_VERSION;
use super::header::{Header, KeyKind, Layout, FLAG_CONTENT_HASHES, FLAG_SET_SIZES, FLAG_SHINGLE_SETS};
use super::header::{HEADER_LEN, MAGIC};
use super::packed;
use super::store::Store;
use super::table::Table;
use super::{io, key_hash, scheme_from_code};
use crate::error::{Error, Result};
use crate::fingerprint::segment::blocks::{self, block_count, BlockChecks, BLOCK_BITS_RANGE};
use crate::hash::xxh3_64;
use std::fs::File;
use std::ops::Range;
use std::path::{Path, PathBuf};

mod int_keys;
pub use int_keys::IntKeys;

/// A memory-mapped, validated segment.
pub struct Segment {
    map: memmap2::Mmap,
    pub header: Header,
    layout: Layout,
    body_checksum: u64,
    blocks: BlockChecks,
    pub path: PathBuf,
}

impl std::fmt::Debug for Segment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Segment").field("path", &self.path).field("header", &self.header).finish()
    }
}

fn read_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

fn read_u64(bytes: &[u8], at: usize) -> u64 {
    bytes.get(at..at + 8).map_or(0, |b| u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
}

impl Segment {
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| io(path, "open", e))?;
        // SAFETY: published segments are never written again (an index replaces files by writing new
        // ones and renaming), so the mapped bytes cannot change under the reader.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| io(path, "map", e))?;
        let corrupt = |why: String| {
            Error::Corrupt(format!("{}: not a valid nearcopy LSH segment: {why}", path.display()))
        };
        if map.len() < HEADER_LEN || &map[..8] != MAGIC {
            return Err(corrupt("wrong magic bytes (not an LSH segment, or truncated)".into()));
        }
        let version = read_u32(&map, 8);
        if version != FORMAT_VERSION {
            return Err(corrupt(format!("format version {version}, this nearcopy reads {FORMAT_VERSION}")));
        }
        if read_u64(&map, 120) != xxh3_64(&map[..120], 0) {
            return Err(corrupt("header checksum mismatch (damaged file)".into()));
        }
        let scheme = scheme_from_code(read_u32(&map, 28)).ok_or_else(|| corrupt("unknown scheme".into()))?;
        let store = Store::from_code(read_u32(&map, 40)).map_err(|e| corrupt(e.to_string()))?;
        let key_kind = match read_u32(&map, 44) {
            0 => KeyKind::Str,
            1 => KeyKind::Int,
            other => return Err(corrupt(format!("unknown key kind {other}"))),
        };
        let header = Header {
            num_perm: read_u32(&map, 16) as usize,
            bands: read_u32(&map, 20) as usize,
            rows: read_u32(&map, 24) as usize,
            scheme,
            seed: read_u64(&map, 32),
            store,
            key_kind,
            flags: read_u32(&map, 12),
            documents: read_u64(&map, 48),
            key_bytes: read_u64(&map, 56),
            set_values: read_u64(&map, 64),
            key_base: read_u64(&map, 80) as i64,
            key_span: read_u64(&map, 88),
        };
        header.check().map_err(|e| corrupt(e.to_string()))?;
        let layout = Layout::of(&header);
        let bits = read_u32(&map, 96);
        if !BLOCK_BITS_RANGE.contains(&bits) {
            return Err(corrupt(format!("checksum blocks of 2^{bits} bytes")));
        }
        let body = layout.total.saturating_sub(HEADER_LEN as u128) as u64;
        if layout.total + 8 * u128::from(block_count(body, bits)) != map.len() as u128 {
            return Err(corrupt(format!(
                "{} bytes for {} documents (truncated or padded)",
                map.len(),
                header.documents
            )));
        }
        let blocks = BlockChecks::open(&map, HEADER_LEN, layout.total as usize, bits, read_u64(&map, 104))
            .ok_or_else(|| corrupt("block checksum table damaged".into()))?;
        Ok(Segment {
            body_checksum: read_u64(&map, 72),
            map,
            header,
            layout,
            blocks,
            path: path.to_path_buf(),
        })
    }

    pub fn bytes(&self) -> &[u8] {
        &self.map
    }

    /// Checks the blocks holding bytes `at..at + len` (clamped to the body: packed reads take a
    /// word that may reach past their array). False when one is damaged.
    #[inline]
    pub fn touch(&self, at: usize, len: usize) -> bool {
        let end = at.saturating_add(len).min(self.layout.total as usize);
        at >= end || self.blocks.touch(&self.map, at, end - at)
    }

    /// Ok unless a read from this segment met a damaged block: every query result that read from
    /// it is checked before it is used.
    pub fn checked(&self) -> Result<()> {
        blocks::checked(&self.path, &self.blocks)
    }

    /// The positions of `key`'s entries in `table`, its blocks checked (empty if one is damaged).
    pub fn lookup(&self, table: &Table, key: u32) -> Range<usize> {
        self.search(table, key, self.bucket_entries(table, key))
    }

    /// The first step of [`Segment::lookup`]: the positions of `key`'s bucket in `table`, read
    /// from the directory (empty if its block is damaged). The steps are apart so that a query's
    /// bands can each take one step before any takes the next, their reads from memory overlapping.
    #[inline]
    pub fn bucket_entries(&self, table: &Table, key: u32) -> Range<usize> {
        let (at, len) = table.directory_bytes(key);
        if !self.touch(at, len) {
            return 0..0;
        }
        table.bucket_entries(&self.map, key)
    }

    /// The second step of [`Segment::lookup`]: `key`'s entries among its `bucket`'s.
    #[inline]
    pub fn search(&self, table: &Table, key: u32, bucket: Range<usize>) -> Range<usize> {
        let (at, len) = table.keys_bytes(&bucket);
        if !self.touch(at, len) {
            return 0..0;
        }
        let found = table.search(&self.map, key, bucket);
        match table.values_bytes(&found) {
            (at, len) if self.touch(at, len) => found,
            _ => 0..0,
        }
    }

    /// Asks for the cache line holding byte `at` of the file (nothing is read: a hint, harmless at
    /// any offset), so that reads of several places can overlap.
    #[inline]
    pub fn prefetch(&self, at: usize) {
        crate::prefetch::prefetch_at(&self.map, at);
    }

    pub fn len(&self) -> usize {
        self.header.documents as usize
    }

    pub fn is_empty(&self) -> bool {
        self.header.documents == 0
    }

    pub fn body_checksum(&self) -> u64 {
        self.body_checksum
    }

    pub fn band_table(&self, band: usize) -> Table {
        Table { layout: self.layout.table, at: HEADER_LEN + band * self.layout.table.len }
    }

    pub fn key_table(&self) -> Table {
        Table { layout: self.layout.table, at: self.layout.key_table_at }
    }

    /// The UTF-8 of str key `doc` (empty for a damaged offset; [`Segment::verify`] reports it).
    pub fn str_key(&self, doc: usize) -> &[u8] {
        let width = self.layout.ends_width as usize;
        let first = self.layout.keys_at + doc.saturating_sub(1) * width / 8;
        if !self.touch(first, (2 * width).div_ceil(8) + 8) {
            return &[];
        }
        let ends = self.map.get(self.layout.keys_at..).unwrap_or(&[]);
        let end = packed::get(ends, self.layout.ends_width, doc) as usize;
        let start = if doc == 0 { 0 } else { packed::get(ends, self.layout.ends_width, doc - 1) as usize };
        let blob = self
            .map
            .get(self.layout.blob_at..self.layout.blob_at + self.header.key_bytes as usize)
            .unwrap_or(&[]);
        match blob.get(start..end) {
            Some(key) if self.touch(self.layout.blob_at + start, key.len()) => key,
            _ => &[],
        }
    }

    /// A reader of many documents' int keys (a query's results): keys in order are computed, not
    /// read (a heavy query's keys were a third of its time as reads all over the key column).
    pub fn int_keys(&self) -> IntKeys<'_> {
        IntKeys::of(self)
    }

    pub fn int_key(&self, doc: usize) -> i64 {
        self.int_keys().get(doc)
    }

    /// The bytes a key's hash is taken of.
    pub fn key_bytes_of(&self, doc: usize) -> std::borrow::Cow<'_, [u8]> {
        match self.header.key_kind {
            KeyKind::Str => std::borrow::Cow::Borrowed(self.str_key(doc)),
            KeyKind::Int => std::borrow::Cow::Owned(self.int_key(doc).to_le_bytes().to_vec()),
        }
    }

    /// The stored verification row of `doc` (empty past the segment's documents).
    pub fn store_row(&self, doc: usize) -> &[u8] {
        let at = self.layout.store_at + doc * self.layout.store_row;
        match self.map.get(at..at + self.layout.store_row) {
            Some(row) if self.touch(at, row.len()) => row,
            _ => &[],
        }
    }

    pub fn content_hash(&self, doc: usize) -> Option<[u64; 2]> {
        (self.header.flags & FLAG_CONTENT_HASHES != 0 && doc < self.len()).then(|| {
            let at = self.layout.hashes_at + 16 * doc;
            if !self.touch(at, 16) {
                return [0, 0];
            }
            [read_u64(&self.map, at), read_u64(&self.map, at + 8)]
        })
    }

    /// The shingle set of `doc` (sorted u64 hashes), when the segment has them.
    pub fn shingle_set(&self, doc: usize) -> Option<Vec<u64>> {
        if self.header.flags & FLAG_SHINGLE_SETS == 0 || doc >= self.len() {
            return None;
        }
        if !self.touch(self.layout.bounds_at + 8 * doc, 16) {
            return Some(Vec::new());
        }
        let (lo, hi) = (
            read_u64(&self.map, self.layout.bounds_at + 8 * doc),
            read_u64(&self.map, self.layout.bounds_at + 8 * doc + 8),
        );
        let count = hi.saturating_sub(lo).min(self.header.set_values.saturating_sub(lo)) as usize;
        let at = self.layout.values_at.saturating_add(8 * lo as usize);
        if !self.touch(at, 8 * count) {
            return Some(Vec::new());
        }
        Some((0..count).map(|i| read_u64(&self.map, at + 8 * i)).collect())
    }

    /// Whether the segment records each document's set size (containment queries need it).
    pub fn has_set_sizes(&self) -> bool {
        self.header.flags & FLAG_SET_SIZES != 0
    }

    /// The set size of `doc` (its number of distinct shingles), when the segment has them (0 for a
    /// damaged block: the query that read it fails).
    pub fn set_size(&self, doc: usize) -> Option<u32> {
        if !self.has_set_sizes() || doc >= self.len() {
            return None;
        }
        let at = self.layout.sizes_at + 4 * doc;
        if !self.touch(at, 4) {
            return Some(0);
        }
        Some(read_u32(&self.map, at))
    }

    /// Reads and checks every block not checked yet (each page of the file is mapped on the way):
    /// what a server does before its first query, so that no query pays for a first touch. O(size),
    /// but without [`Segment::verify`]'s order checks.
    pub fn warm(&self) -> Result<()> {
        if !self.blocks.check_all(&self.map) {
            return Err(Error::Corrupt(format!(
                "{}: LSH segment damaged: block checksum mismatch",
                self.path.display()
            )));
        }
        Ok(())
    }

    /// Reads the whole body: the checksum, every table's order, and the keys against their table.
    pub fn verify(&self) -> Result<()> {
        let corrupt =
            |why: &str| Error::Corrupt(format!("{}: LSH segment damaged: {why}", self.path.display()));
        let body = &self.map[HEADER_LEN..self.layout.total as usize];
        if xxh3_64(body, 0) != self.body_checksum {
            return Err(corrupt("body checksum mismatch"));
        }
        self.warm()?;
        let n = self.header.documents;
        for b in 0..self.header.bands {
            self.band_table(b).verify(&self.map, n).map_err(corrupt)?;
        }
        let table = self.key_table();
        table.verify(&self.map, n).map_err(corrupt)?;
        if self.header.key_kind == KeyKind::Str {
            let ends = &self.map[self.layout.keys_at..];
            let mut previous = 0;
            for d in 0..self.len() {
                let end = packed::get(ends, self.layout.ends_width, d);
                if end < previous || end > self.header.key_bytes {
                    return Err(corrupt("key offsets out of order"));
                }
                previous = end;
            }
            if previous != self.header.key_bytes {
                return Err(corrupt("key offsets do not span the key bytes"));
            }
        }
        let mut keyed = vec![false; self.len()];
        for (hash, doc) in table.entries(&self.map) {
            if key_hash(&self.key_bytes_of(doc as usize)) != hash
                || std::mem::replace(&mut keyed[doc as usize], true)
            {
                return Err(corrupt("the key table does not match the keys"));
            }
        }
        if self.header.flags & FLAG_SHINGLE_SETS != 0 {
            let bound = |d: usize| read_u64(&self.map, self.layout.bounds_at + 8 * d);
            if bound(0) != 0
                || bound(self.len()) != self.header.set_values
                || (0..self.len()).any(|d| bound(d) > bound(d + 1))
            {
                return Err(corrupt("shingle-set bounds out of order"));
            }
        }
        Ok(())
    }
}
