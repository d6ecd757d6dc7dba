//! One LSH segment on disk, opened: the memory-mapped file, its header checked in O(1) at open
//! and its body by [`Segment::verify`]. The format is described in [`super::header`].

use super::header::{Header, KeyKind, Layout, FLAG_CONTENT_HASHES, FLAG_SHINGLE_SETS, FORMAT_VERSION};
use super::header::{HEADER_LEN, MAGIC};
use super::packed;
use super::store::Store;
use super::table::Table;
use super::{io, key_hash, scheme_from_code};
use crate::error::{Error, Result};
use crate::hash::xxh3_64;
use std::fs::File;
use std::path::{Path, PathBuf};

/// A memory-mapped, validated segment.
#[derive(Debug)]
pub struct Segment {
    map: memmap2::Mmap,
    pub header: Header,
    layout: Layout,
    body_checksum: u64,
    pub path: PathBuf,
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
        if layout.total != map.len() as u128 {
            return Err(corrupt(format!(
                "{} bytes for {} documents (truncated or padded)",
                map.len(),
                header.documents
            )));
        }
        Ok(Segment { body_checksum: read_u64(&map, 72), map, header, layout, path: path.to_path_buf() })
    }

    pub fn bytes(&self) -> &[u8] {
        &self.map
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
        let ends = self.map.get(self.layout.keys_at..).unwrap_or(&[]);
        let end = packed::get(ends, self.layout.ends_width, doc) as usize;
        let start = if doc == 0 { 0 } else { packed::get(ends, self.layout.ends_width, doc - 1) as usize };
        let blob = self
            .map
            .get(self.layout.blob_at..self.layout.blob_at + self.header.key_bytes as usize)
            .unwrap_or(&[]);
        blob.get(start..end).unwrap_or(&[])
    }

    pub fn int_key(&self, doc: usize) -> i64 {
        if self.layout.int_width == 64 {
            return read_u64(&self.map, self.layout.keys_at + 8 * doc) as i64;
        }
        let keys = self.map.get(self.layout.keys_at..).unwrap_or(&[]);
        self.header.key_base.wrapping_add(packed::get(keys, self.layout.int_width, doc) as i64)
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
        self.map.get(at..at + self.layout.store_row).unwrap_or(&[])
    }

    pub fn content_hash(&self, doc: usize) -> Option<[u64; 2]> {
        (self.header.flags & FLAG_CONTENT_HASHES != 0 && doc < self.len()).then(|| {
            let at = self.layout.hashes_at + 16 * doc;
            [read_u64(&self.map, at), read_u64(&self.map, at + 8)]
        })
    }

    /// The shingle set of `doc` (sorted u64 hashes), when the segment has them.
    pub fn shingle_set(&self, doc: usize) -> Option<Vec<u64>> {
        if self.header.flags & FLAG_SHINGLE_SETS == 0 || doc >= self.len() {
            return None;
        }
        let (lo, hi) = (
            read_u64(&self.map, self.layout.bounds_at + 8 * doc),
            read_u64(&self.map, self.layout.bounds_at + 8 * doc + 8),
        );
        let count = hi.saturating_sub(lo).min(self.header.set_values.saturating_sub(lo)) as usize;
        Some((0..count).map(|i| read_u64(&self.map, self.layout.values_at + 8 * (lo as usize + i))).collect())
    }

    /// Reads the whole body: the checksum, every table's order, and the keys against their table.
    pub fn verify(&self) -> Result<()> {
        let corrupt =
            |why: &str| Error::Corrupt(format!("{}: LSH segment damaged: {why}", self.path.display()));
        if xxh3_64(&self.map[HEADER_LEN..], 0) != self.body_checksum {
            return Err(corrupt("body checksum mismatch"));
        }
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
