//! One LSH segment on disk: an immutable, memory-mapped file of a batch of documents.
//!
//! | offset | field |
//! |---|---|
//! | 0 | magic `NCLSH\0\r\n`, 8: format version (u32), 12: flags (bit 0 content hashes, bit 1 shingle sets) |
//! | 16 | num_perm, 20: bands, 24: rows, 28: scheme (u32 each), 32: seed (u64) |
//! | 40 | store (u32: 0 full slots, 8 or 16 bits), 44: key kind (u32: 0 str, 1 int) |
//! | 48 | documents `n`, 56: key bytes, 64: shingle-set values (u64 each) |
//! | 72 | checksum of the body (XXH3-64) |
//! | 80 | int keys: the smallest key (i64) and the span to the largest (u64); 96..120 zero |
//! | 120 | checksum of bytes 0..120 |
//! | 128 | per band: a [`Table`] of (band key, document); then a table of (key hash, document) |
//! |     | keys: str: `n` packed end offsets then their UTF-8; int: `n` packed offsets from the smallest |
//! |     | the verification store: `n` rows of `num_perm` stored slots ([`Store`]) |
//! |     | optional: `n` content hashes (2 u64), shingle-set bounds (`n + 1` u64) and values (u64) |
//!
//! Every section starts at a multiple of 8 and its length follows from the header's counts, so
//! opening checks the header and the file's length in O(1); [`Segment::verify`] reads the body
//! (checksum, every table's order, the keys against their table). Readers never see a segment
//! being written: it is written beside its name and renamed into place ([`super::AtomicFile`]).

use super::packed::{self, PackedWriter};
use super::store::Store;
use super::table::{write_table, Table, TableLayout};
use super::{io, key_hash, scheme_from_code, stored_key, AtomicFile, Hashing};
use crate::dedup::{band_keys, Slot};
use crate::error::{Error, Result};
use crate::hash::{xxh3_64, Xxh3};
use crate::invalid;
use crate::minhash::{Scheme, MAX_NUM_PERM};
use crate::pool;
use rayon::prelude::*;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"NCLSH\0\r\n";
pub const FORMAT_VERSION: u32 = 1;
const HEADER_LEN: usize = 128;
pub const FLAG_CONTENT_HASHES: u32 = 1;
pub const FLAG_SHINGLE_SETS: u32 = 2;

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
    /// Bytes per signature slot: 4 for `affine32`, 8 for the other schemes.
    pub fn slot_bytes(&self) -> usize {
        if self.scheme.is_u32() {
            4
        } else {
            8
        }
    }

    /// Whether two headers describe segments of one index (counts aside).
    pub fn same_index(&self, other: &Header) -> bool {
        (self.num_perm, self.bands, self.rows, self.scheme, self.seed, self.store, self.key_kind, self.flags)
            == (
                other.num_perm,
                other.bands,
                other.rows,
                other.scheme,
                other.seed,
                other.store,
                other.key_kind,
                other.flags,
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
        if self.flags & !(FLAG_CONTENT_HASHES | FLAG_SHINGLE_SETS) != 0 {
            return Err(invalid!("unknown segment flags {:#x}", self.flags));
        }
        Ok(())
    }

    fn encode(&self, body_checksum: u64) -> Vec<u8> {
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
        h.resize(120, 0);
        let sum = xxh3_64(&h, 0);
        h.extend_from_slice(&sum.to_le_bytes());
        h
    }
}

/// Where each section lies; a function of the header alone.
#[derive(Clone, Copy, Debug)]
struct Layout {
    table: TableLayout,
    key_table_at: usize,
    keys_at: usize,
    ends_width: u32,
    /// Bits per int key offset, or 64 for raw i64 (a span wider than packed arrays hold).
    int_width: u32,
    blob_at: usize,
    store_at: usize,
    store_row: usize,
    hashes_at: usize,
    bounds_at: usize,
    values_at: usize,
    total: u128,
}

fn padded(bytes: u128) -> u128 {
    bytes.div_ceil(8) * 8
}

impl Layout {
    fn of(h: &Header) -> Layout {
        let n = h.documents as usize;
        let table = TableLayout::new(n, h.documents);
        let key_table_at = HEADER_LEN + h.bands * table.len;
        let keys_at = key_table_at + table.len;
        let ends_width = packed::width_for(h.key_bytes);
        let int_width = match packed::width_for(h.key_span) {
            w if w <= packed::MAX_WIDTH => w,
            _ => 64,
        };
        let (blob_at, keys_end) = match h.key_kind {
            KeyKind::Str => {
                let blob_at = keys_at as u128 + packed::packed_len(n, ends_width) as u128;
                (blob_at, blob_at + padded(u128::from(h.key_bytes)))
            }
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
        let total = values_at + if with_sets { 8 * u128::from(h.set_values) } else { 0 };
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
            total,
        }
    }
}

/// The keys of a batch: str keys as one UTF-8 blob with each key's end offset, or int keys.
pub enum Keys<'a> {
    Str { blob: &'a [u8], ends: &'a [u64] },
    Int(&'a [i64]),
}

impl Keys<'_> {
    fn len(&self) -> usize {
        match self {
            Keys::Str { ends, .. } => ends.len(),
            Keys::Int(ints) => ints.len(),
        }
    }
}

/// Optional columns of a batch: content hashes (`2n` u64) and shingle sets (values, `n + 1` bounds).
#[derive(Default)]
pub struct Columns<'a> {
    pub content_hashes: Option<&'a [u64]>,
    pub sets: Option<(&'a [u64], &'a [u64])>,
}

/// A batch of documents to write as a segment.
pub struct NewDocs<'a, W> {
    pub sigs: &'a [W],
    pub keys: Keys<'a>,
    pub columns: Columns<'a>,
}

fn write_all(out: &mut impl Write, bytes: &[u8]) -> Result<()> {
    out.write_all(bytes).map_err(|e| Error::Io(format!("cannot write: {e}")))
}

/// Zero bytes up to the next multiple of 8 after `len` bytes.
fn pad(out: &mut impl Write, len: u64) -> Result<()> {
    write_all(out, &[0u8; 8][..(len.next_multiple_of(8) - len) as usize])
}

/// Writes `docs` as a segment at `path` with the parameters of `params` (its counts and flags are
/// those of `docs`). Returns the segment's header.
pub fn write_segment<W: Slot>(
    path: &Path,
    params: &Header,
    docs: &NewDocs<'_, W>,
    threads: usize,
) -> Result<Header> {
    let k = params.num_perm;
    if k == 0 || docs.sigs.len() % k != 0 {
        return Err(invalid!("signatures of {} values are not rows of num_perm = {k}", docs.sigs.len()));
    }
    let n = docs.sigs.len() / k;
    if docs.keys.len() != n {
        return Err(invalid!("{} keys for {n} signatures", docs.keys.len()));
    }
    if (std::mem::size_of::<W>() == 4) != params.scheme.is_u32() {
        return Err(invalid!(
            "signatures of scheme {:?} must be {}",
            params.scheme.name(),
            if params.scheme.is_u32() { "uint32" } else { "uint64" }
        ));
    }
    let mut flags = 0;
    if let Some(hashes) = docs.columns.content_hashes {
        if hashes.len() != 2 * n {
            return Err(invalid!("content hashes must be 2 values per document"));
        }
        flags |= FLAG_CONTENT_HASHES;
    }
    let mut set_values = 0;
    if let Some((values, bounds)) = docs.columns.sets {
        if bounds.len() != n + 1
            || bounds[0] != 0
            || bounds.windows(2).any(|w| w[0] > w[1])
            || bounds[n] != values.len() as u64
        {
            return Err(invalid!(
                "shingle-set bounds must rise from 0 to the number of values, one per document"
            ));
        }
        set_values = values.len() as u64;
        flags |= FLAG_SHINGLE_SETS;
    }
    let key_bytes = match &docs.keys {
        Keys::Str { blob, ends } => {
            if ends.windows(2).any(|w| w[0] > w[1]) || ends.last().copied().unwrap_or(0) != blob.len() as u64
            {
                return Err(invalid!("key ends must rise to the length of the key bytes"));
            }
            blob.len() as u64
        }
        Keys::Int(_) => 0,
    };
    let (key_base, key_span) = match &docs.keys {
        Keys::Int(ints) => int_range(ints.iter().copied()),
        Keys::Str { .. } => (0, 0),
    };
    let header = Header { flags, documents: n as u64, key_bytes, set_values, key_base, key_span, ..*params };
    header.check()?;
    let layout = Layout::of(&header);
    let sort = |entries: &mut Vec<(u32, u64)>| {
        if threads > 1 && entries.len() > 1 << 16 {
            pool::pool(threads).map(|p| p.install(|| entries.par_sort_unstable()))
        } else {
            entries.sort_unstable();
            Ok(())
        }
    };
    let band = band_keys(docs.sigs, k, header.bands, header.rows, threads)?;
    let mut file = AtomicFile::create(path)?;
    let out = file.writer();
    write_all(out, &[0u8; HEADER_LEN])?;
    let mut body = Hashing { inner: out, hasher: Xxh3::new(), written: 0 };
    let mut entries: Vec<(u32, u64)> = Vec::with_capacity(n);
    for b in 0..header.bands {
        entries.clear();
        entries.extend((0..n).map(|d| (stored_key(band[d * header.bands + b]), d as u64)));
        sort(&mut entries)?;
        write_table(&mut body, &layout.table, header.documents, || entries.iter().copied())?;
    }
    drop(band);
    entries.clear();
    match &docs.keys {
        Keys::Str { blob, ends } => {
            let mut start = 0usize;
            for (d, &end) in ends.iter().enumerate() {
                entries.push((key_hash(&blob[start..end as usize]), d as u64));
                start = end as usize;
            }
        }
        Keys::Int(ints) => {
            entries.extend(ints.iter().enumerate().map(|(d, v)| (key_hash(&v.to_le_bytes()), d as u64)))
        }
    }
    sort(&mut entries)?;
    write_table(&mut body, &layout.table, header.documents, || entries.iter().copied())?;
    drop(entries);
    match &docs.keys {
        Keys::Str { blob, ends } => {
            let mut writer = PackedWriter::new(layout.ends_width)?;
            for &end in ends.iter() {
                writer.push(end, &mut body)?;
            }
            writer.finish(&mut body)?;
            write_all(&mut body, blob)?;
            pad(&mut body, blob.len() as u64)?;
        }
        Keys::Int(ints) => write_int_keys(&mut body, &header, ints.iter().copied())?,
    }
    let mut row = Vec::with_capacity(layout.store_row);
    for sig in docs.sigs.chunks_exact(k) {
        row.clear();
        header.store.encode(sig, header.slot_bytes(), &mut row);
        write_all(&mut body, &row)?;
    }
    pad(&mut body, (layout.store_row * n) as u64)?;
    if let Some(hashes) = docs.columns.content_hashes {
        hashes.iter().try_for_each(|v| write_all(&mut body, &v.to_le_bytes()))?;
    }
    if let Some((values, bounds)) = docs.columns.sets {
        bounds.iter().chain(values).try_for_each(|v| write_all(&mut body, &v.to_le_bytes()))?;
    }
    let (written, checksum) = (body.written, body.hasher.digest());
    finish(file, written, checksum, &header, &layout)?;
    Ok(header)
}

/// The smallest of `ints` and the span to the largest (0, 0 for none).
pub(crate) fn int_range(ints: impl Iterator<Item = i64>) -> (i64, u64) {
    let (mut low, mut high) = (i64::MAX, i64::MIN);
    for v in ints {
        (low, high) = (low.min(v), high.max(v));
    }
    if low > high {
        return (0, 0);
    }
    (low, (i128::from(high) - i128::from(low)) as u64)
}

/// Writes int keys as the header's layout stores them.
pub(crate) fn write_int_keys(
    out: &mut impl Write,
    header: &Header,
    ints: impl Iterator<Item = i64>,
) -> Result<()> {
    let width = Layout::of(header).int_width;
    if width == 64 {
        return ints.into_iter().try_for_each(|v| write_all(out, &v.to_le_bytes()));
    }
    let mut writer = PackedWriter::new(width)?;
    for v in ints {
        writer.push((i128::from(v) - i128::from(header.key_base)) as u64, out)?;
    }
    writer.finish(out).map(|_| ())
}

/// Checks that the body has the layout's length, then publishes the file with its header.
pub(crate) fn finish_segment(file: AtomicFile, written: u64, checksum: u64, header: &Header) -> Result<()> {
    finish(file, written, checksum, header, &Layout::of(header))
}

fn finish(file: AtomicFile, written: u64, checksum: u64, header: &Header, layout: &Layout) -> Result<()> {
    if u128::from(written) + HEADER_LEN as u128 != layout.total {
        return Err(Error::InvalidArgument(format!(
            "segment body of {written} bytes, its layout needs {}",
            layout.total
        )));
    }
    file.commit(&header.encode(checksum))
}

/// Starts a segment file whose body the caller writes section by section (a merge), returning the
/// file and a writer positioned after the header placeholder.
pub(crate) fn start_segment(path: &Path) -> Result<AtomicFile> {
    let mut file = AtomicFile::create(path)?;
    write_all(file.writer(), &[0u8; HEADER_LEN])?;
    Ok(file)
}

pub(crate) fn key_ends_width(header: &Header) -> u32 {
    Layout::of(header).ends_width
}

pub(crate) fn table_layout(header: &Header) -> TableLayout {
    Layout::of(header).table
}

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
