//! The layout of one LSH segment on disk: an immutable, memory-mapped file of a batch of documents.
//! Its header, and where each section lies (a function of the header alone).
//!
//! | offset | field |
//! |---|---|
//! | 0 | magic `NCLSH\0\r\n`, 8: format version (u32), 12: flags (bit 0 content hashes, bit 1 shingle sets, bit 2 set sizes, bit 3 int keys in order) |
//! | 16 | num_perm, 20: bands, 24: rows, 28: scheme (u32 each), 32: seed (u64) |
//! | 40 | store (u32: 0 full slots, 8 or 16 bits), 44: key kind (u32: 0 str, 1 int) |
//! | 48 | documents `n`, 56: key bytes, 64: shingle-set values (u64 each) |
//! | 72 | checksum of the body (XXH3-64) |
//! | 80 | int keys: the smallest key (i64) and the span to the largest (u64) |
//! | 96 | log2 of the checksum block size (u32), 100 zero; 104: checksum of the block table (u64); 112..120 zero |
//! | 120 | checksum of bytes 0..120 |
//! | 128 | per band: a [`Table`](super::table::Table) of (band key, document); then a table of (key hash, document) |
//! |     | keys: str: `n` packed end offsets then their UTF-8; int: `n` packed offsets from the smallest (none when in order) |
//! |     | the verification store: `n` rows of `num_perm` stored slots ([`Store`]) |
//! |     | optional: `n` content hashes (2 u64), shingle-set bounds (`n + 1` u64) and values (u64) |
//! |     | optional: `n` set sizes (u32, the document's shingle count; containment queries), padded to 8 |
//! |     | the block table: a checksum (u64) per block of the body (bytes 128 to here), to the end |
//!
//! Every section starts at a multiple of 8 and its length follows from the header's counts, so
//! opening checks the header and the file's length in O(1);
//! [`Segment::verify`](super::segment::Segment::verify) reads the body (checksum, every table's
//! order, the keys against their table). Readers never see a segment being written: it is
//! written beside its name and renamed into place (`AtomicFile`). A reader checks each block of
//! the body the first time a query reads from it, as the protected index does
//! ([`crate::fingerprint::segment::blocks`]): a flipped bit is refused, never answered from.

use super::packed;
use super::store::Store;
use super::table::TableLayout;
use crate::error::Result;
use crate::hash::xxh3_64;
use crate::invalid;
use crate::minhash::{Scheme, MAX_NUM_PERM};

pub(super) const MAGIC: &[u8; 8] = b"NCLSH\0\r\n";
// 2: per-block checksums of the body, checked on first touch.
pub const FORMAT_VERSION: u32 = 2;
pub(super) const HEADER_LEN: usize = 128;
pub const FLAG_CONTENT_HASHES: u32 = 1;
pub const FLAG_SHINGLE_SETS: u32 = 2;
/// Each document's set size (its number of distinct shingles), which containment queries need.
/// A flag of format 2, not a new version: segments without it read as before.
pub const FLAG_SET_SIZES: u32 = 4;
/// Int keys that are the smallest plus the document number (`key_base + doc`: ids inserted in
/// order, a corpus's row numbers): no key column is stored, and a query's keys are computed, not
/// read. A flag of one segment, not of the index (a merge's gaps clear it). Format 2 readers
/// before it refuse such a segment by its unknown flag, never misread it.
pub const FLAG_KEYS_IN_ORDER: u32 = 8;
/// The flags every segment of an index shares (the columns it keeps).
pub const INDEX_FLAGS: u32 = FLAG_CONTENT_HASHES | FLAG_SHINGLE_SETS | FLAG_SET_SIZES;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    Str,
    Int,
}

/// What a segment's header says: the parameters every segment of an index shares, and its counts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Header {
    pub num_perm: usize,
    pub bands: usize,
    pub rows: usize,
    pub scheme: Scheme,
    pub seed: u64,
    pub store: Store,
    pub key_kind: KeyKind,
    pub flags: u32,
    pub documents: u64,
    pub key_bytes: u64,
    pub set_values: u64,
    /// Int keys are stored as offsets from the smallest, `key_base`, in as few bits as the
    /// span to the largest needs (a key is 2.5 bytes at a million consecutive ids, not 8).
    pub key_base: i64,
    pub key_span: u64,
}

impl Header {
    /// The parameters every segment of an index shares, with no documents yet (a writer fills in
    /// the counts and flags of its batch).
    pub fn new(
        num_perm: usize,
        bands: usize,
        rows: usize,
        scheme: Scheme,
        seed: u64,
        store: Store,
        key_kind: KeyKind,
    ) -> Self {
        Header {
            num_perm,
            bands,
            rows,
            scheme,
            seed,
            store,
            key_kind,
            flags: 0,
            documents: 0,
            key_bytes: 0,
            set_values: 0,
            key_base: 0,
            key_span: 0,
        }
    }

    /// Bytes per signature slot: 4 for `affine32`, 8 for the other schemes.
    pub fn slot_bytes(&self) -> usize {
        if self.scheme.is_u32() {
            4
        } else {
            8
        }
    }

    /// Whether document `d`'s int key is `key_base + d` ([`FLAG_KEYS_IN_ORDER`]).
    pub fn keys_in_order(&self) -> bool {
        self.flags & FLAG_KEYS_IN_ORDER != 0
    }

    /// Whether two headers describe segments of one index (counts and per-segment flags aside).
    pub fn same_index(&self, other: &Header) -> bool {
        let flags = self.flags & INDEX_FLAGS;
        (self.num_perm, self.bands, self.rows, self.scheme, self.seed, self.store, self.key_kind, flags)
            == (
                other.num_perm,
                other.bands,
                other.rows,
                other.scheme,
                other.seed,
                other.store,
                other.key_kind,
                other.flags & INDEX_FLAGS,
            )
    }

    pub fn check(&self) -> Result<()> {
        if self.num_perm == 0 || self.num_perm > MAX_NUM_PERM {
            return Err(invalid!("num_perm must be between 1 and {MAX_NUM_PERM}, got {}", self.num_perm));
        }
        if self.bands == 0 || self.rows == 0 || self.bands.saturating_mul(self.rows) > self.num_perm {
            return Err(invalid!(
                "{} bands of {} rows do not fit num_perm = {}",
                self.bands,
                self.rows,
                self.num_perm
            ));
        }
        if self.documents > u64::from(u32::MAX) {
            return Err(invalid!("a segment holds fewer than 2^32 documents"));
        }
        if self.key_bytes >= 1 << packed::MAX_WIDTH || self.set_values >= 1 << packed::MAX_WIDTH {
            return Err(invalid!("a segment holds fewer than 2^56 key bytes and set values"));
        }
        if self.flags & !(INDEX_FLAGS | FLAG_KEYS_IN_ORDER) != 0 {
            return Err(invalid!("unknown segment flags {:#x}", self.flags));
        }
        if self.keys_in_order()
            && (self.key_kind != KeyKind::Int || self.key_span != self.documents.saturating_sub(1))
        {
            return Err(invalid!("keys in order, but not int keys spanning the documents"));
        }
        Ok(())
    }

    pub(super) fn encode(&self, body_checksum: u64, block_bits: u32, block_table_checksum: u64) -> Vec<u8> {
        let mut h = Vec::with_capacity(HEADER_LEN);
        h.extend_from_slice(MAGIC);
        for v in [FORMAT_VERSION, self.flags, self.num_perm as u32, self.bands as u32, self.rows as u32] {
            h.extend_from_slice(&v.to_le_bytes());
        }
        h.extend_from_slice(&super::scheme_code(self.scheme).to_le_bytes());
        h.extend_from_slice(&self.seed.to_le_bytes());
        h.extend_from_slice(&self.store.code().to_le_bytes());
        h.extend_from_slice(&u32::from(self.key_kind == KeyKind::Int).to_le_bytes());
        for v in [
            self.documents,
            self.key_bytes,
            self.set_values,
            body_checksum,
            self.key_base as u64,
            self.key_span,
        ] {
            h.extend_from_slice(&v.to_le_bytes());
        }
        h.extend_from_slice(&u64::from(block_bits).to_le_bytes());
        h.extend_from_slice(&block_table_checksum.to_le_bytes());
        h.resize(120, 0);
        let sum = xxh3_64(&h, 0);
        h.extend_from_slice(&sum.to_le_bytes());
        h
    }
}

/// Where each section lies; a function of the header alone.
#[derive(Clone, Copy, Debug)]
pub(super) struct Layout {
    pub(super) table: TableLayout,
    pub(super) key_table_at: usize,
    pub(super) keys_at: usize,
    pub(super) ends_width: u32,
    /// Bits per int key offset, 64 for raw i64 (a span wider than packed arrays hold), 0 for keys
    /// in order (none stored).
    pub(super) int_width: u32,
    pub(super) blob_at: usize,
    pub(super) store_at: usize,
    pub(super) store_row: usize,
    pub(super) hashes_at: usize,
    pub(super) bounds_at: usize,
    pub(super) values_at: usize,
    pub(super) sizes_at: usize,
    /// The end of the body, where the block table starts.
    pub(super) total: u128,
}

fn padded(bytes: u128) -> u128 {
    bytes.div_ceil(8) * 8
}

impl Layout {
    pub(super) fn of(h: &Header) -> Layout {
        let n = h.documents as usize;
        let table = TableLayout::new(n, h.documents);
        let key_table_at = HEADER_LEN + h.bands * table.len;
        let keys_at = key_table_at + table.len;
        let ends_width = packed::width_for(h.key_bytes);
        let int_width = match packed::width_for(h.key_span) {
            _ if h.keys_in_order() => 0,
            w if w <= packed::MAX_WIDTH => w,
            _ => 64,
        };
        let (blob_at, keys_end) = match h.key_kind {
            KeyKind::Str => {
                let blob_at = keys_at as u128 + packed::packed_len(n, ends_width) as u128;
                (blob_at, blob_at + padded(u128::from(h.key_bytes)))
            }
            KeyKind::Int if int_width == 0 => (keys_at as u128, keys_at as u128),
            KeyKind::Int if int_width == 64 => (keys_at as u128, keys_at as u128 + 8 * n as u128),
            KeyKind::Int => (keys_at as u128, keys_at as u128 + packed::packed_len(n, int_width) as u128),
        };
        let store_row = h.num_perm * h.store.slot_bytes(h.slot_bytes());
        let store_at = keys_end;
        let hashes_at = store_at + padded(store_row as u128 * n as u128);
        let with_hashes = h.flags & FLAG_CONTENT_HASHES != 0;
        let bounds_at = hashes_at + if with_hashes { 16 * n as u128 } else { 0 };
        let with_sets = h.flags & FLAG_SHINGLE_SETS != 0;
        let values_at = bounds_at + if with_sets { 8 * (n as u128 + 1) } else { 0 };
        let sizes_at = values_at + if with_sets { 8 * u128::from(h.set_values) } else { 0 };
        let with_sizes = h.flags & FLAG_SET_SIZES != 0;
        let total = sizes_at + if with_sizes { padded(4 * n as u128) } else { 0 };
        // Offsets past the file are never used: opening refuses a file shorter than `total`.
        let at = |v: u128| usize::try_from(v).unwrap_or(usize::MAX);
        Layout {
            table,
            key_table_at,
            keys_at,
            ends_width,
            int_width,
            blob_at: at(blob_at),
            store_at: at(store_at),
            store_row,
            hashes_at: at(hashes_at),
            bounds_at: at(bounds_at),
            values_at: at(values_at),
            sizes_at: at(sizes_at),
            total,
        }
    }
}
