//! Writing a segment: a batch of documents (signatures, keys, optional columns) streamed to a file
//! written beside its name and renamed into place, section by section in the order of the layout
//! ([`super::header`]), the body checksummed as it is written.

use super::build::{band_columns, pack_into, table_bytes, TableScratch};
use super::header::{
    Header, Layout, FLAG_CONTENT_HASHES, FLAG_KEYS_IN_ORDER, FLAG_SET_SIZES, FLAG_SHINGLE_SETS, HEADER_LEN,
};
use super::packed::PackedWriter;
use super::table::TableLayout;
use super::{key_hash, AtomicFile, Hashing, BLOCK_BITS};
use crate::dedup::Slot;
use crate::error::{Error, Result};
use crate::fingerprint::segment::blocks::BlockHasher;
use crate::hash::xxh3_64;
use crate::invalid;
use crate::pool;
use rayon::prelude::*;
use std::io::Write;
use std::path::Path;

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

/// Optional columns of a batch: content hashes (`2n` u64), shingle sets (values, `n + 1` bounds)
/// and set sizes (`n` u32: each document's number of distinct shingles, for containment queries).
#[derive(Default)]
pub struct Columns<'a> {
    pub content_hashes: Option<&'a [u64]>,
    pub sets: Option<(&'a [u64], &'a [u64])>,
    pub set_sizes: Option<&'a [u32]>,
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

/// Writes `values` as little-endian u64s, a buffer at a time (not one 8-byte write each).
fn write_u64s(out: &mut impl Write, values: impl Iterator<Item = u64>) -> Result<()> {
    let mut bytes = Vec::with_capacity(1 << 16);
    for v in values {
        bytes.extend_from_slice(&v.to_le_bytes());
        if bytes.len() >= 1 << 16 {
            write_all(out, &bytes)?;
            bytes.clear();
        }
    }
    write_all(out, &bytes)
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
    if let Some(sizes) = docs.columns.set_sizes {
        if sizes.len() != n {
            return Err(invalid!("{} set sizes for {n} documents", sizes.len()));
        }
        flags |= FLAG_SET_SIZES;
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
        Keys::Int(ints) => {
            if in_order(ints.iter().copied()) {
                flags |= FLAG_KEYS_IN_ORDER;
            }
            int_range(ints.iter().copied())
        }
        Keys::Str { .. } => (0, 0),
    };
    let header = Header { flags, documents: n as u64, key_bytes, set_values, key_base, key_span, ..*params };
    header.check()?;
    let layout = Layout::of(&header);
    let columns = band_columns(docs.sigs, &header, threads)?;
    let mut file = AtomicFile::create(path)?;
    let out = file.writer();
    write_all(out, &[0u8; HEADER_LEN])?;
    let mut body = Hashing::new(out);
    // The band tables, `threads` at a time (each is built in memory, then written in order).
    let mut built: Vec<(TableScratch, Vec<u8>)> =
        (0..threads.clamp(1, header.bands)).map(|_| Default::default()).collect();
    let at_once = built.len();
    for first in (0..header.bands).step_by(at_once) {
        let group = &mut built[..(header.bands - first).min(at_once)];
        let make = |(i, (scratch, bytes)): (usize, &mut (TableScratch, Vec<u8>))| {
            bytes.clear();
            table_bytes(&layout.table, &columns[(first + i) * n..(first + i + 1) * n], scratch, bytes)
        };
        if group.len() > 1 && n > 1 << 14 {
            pool::pool(group.len())?.install(|| group.par_iter_mut().enumerate().try_for_each(make))?;
        } else {
            group.iter_mut().enumerate().try_for_each(make)?;
        }
        group.iter().try_for_each(|(_, bytes)| write_all(&mut body, bytes))?;
    }
    drop(columns);
    let hashes: Vec<u32> = match &docs.keys {
        Keys::Str { blob, ends } => {
            let mut start = 0usize;
            ends.iter()
                .map(|&end| {
                    let hash = key_hash(&blob[start..end as usize]);
                    start = end as usize;
                    hash
                })
                .collect()
        }
        Keys::Int(ints) => ints.iter().map(|v| key_hash(&v.to_le_bytes())).collect(),
    };
    let (scratch, bytes) = &mut built[0];
    bytes.clear();
    table_bytes(&layout.table, &hashes, scratch, bytes)?;
    write_all(&mut body, bytes)?;
    drop((hashes, built));
    match &docs.keys {
        Keys::Str { blob, ends } => {
            let mut packed = Vec::new();
            pack_into(&mut packed, layout.ends_width, ends.iter().copied())?;
            write_all(&mut body, &packed)?;
            write_all(&mut body, blob)?;
            pad(&mut body, blob.len() as u64)?;
        }
        Keys::Int(ints) => write_int_batch(&mut body, &header, ints)?,
    }
    write_store(&mut body, &header, docs.sigs, threads)?;
    pad(&mut body, (layout.store_row * n) as u64)?;
    if let Some(hashes) = docs.columns.content_hashes {
        write_u64s(&mut body, hashes.iter().copied())?;
    }
    if let Some((values, bounds)) = docs.columns.sets {
        write_u64s(&mut body, bounds.iter().chain(values).copied())?;
    }
    if let Some(sizes) = docs.columns.set_sizes {
        write_set_sizes(&mut body, sizes.iter().copied())?;
    }
    let (written, checksum, blocks) = (body.written, body.hasher.digest(), body.blocks);
    finish(file, written, checksum, blocks, &header, &layout)?;
    Ok(header)
}

/// Whether `ints` are consecutive and rising, at least one ([`FLAG_KEYS_IN_ORDER`]).
pub(crate) fn in_order(mut ints: impl Iterator<Item = i64>) -> bool {
    let Some(first) = ints.next() else { return false };
    let mut want = first;
    ints.all(|v| {
        want = want.wrapping_add(1);
        v == want && want != i64::MIN
    })
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

/// Writes int keys as the header's layout stores them, streamed (a merge's keys are not held).
pub(crate) fn write_int_keys(
    out: &mut impl Write,
    header: &Header,
    ints: impl Iterator<Item = i64>,
) -> Result<()> {
    let width = Layout::of(header).int_width;
    match width {
        0 => return Ok(()), // keys in order: none stored
        64 => return write_u64s(out, ints.map(|v| v as u64)),
        _ => {}
    }
    let mut writer = PackedWriter::new(width)?;
    for v in ints {
        writer.push((i128::from(v) - i128::from(header.key_base)) as u64, out)?;
    }
    writer.finish(out).map(|_| ())
}

/// [`write_int_keys`] of a batch in memory, packed in one pass.
fn write_int_batch(out: &mut impl Write, header: &Header, ints: &[i64]) -> Result<()> {
    let width = Layout::of(header).int_width;
    match width {
        0 => return Ok(()), // keys in order: none stored
        64 => return write_u64s(out, ints.iter().map(|&v| v as u64)),
        _ => {}
    }
    let (mut bytes, base) = (Vec::new(), i128::from(header.key_base));
    pack_into(&mut bytes, width, ints.iter().map(|&v| (i128::from(v) - base) as u64))?;
    write_all(out, &bytes)
}

/// Documents whose store rows are encoded at a time (in parallel), then written.
const STORE_CHUNK: usize = 1 << 14;

/// Writes the verification store: each signature row as the header's store keeps it.
fn write_store<W: Slot>(out: &mut impl Write, header: &Header, sigs: &[W], threads: usize) -> Result<()> {
    let k = header.num_perm;
    let encode = |rows: &[W], bytes: &mut Vec<u8>| {
        bytes.clear();
        rows.chunks_exact(k).for_each(|row| header.store.encode(row, header.slot_bytes(), bytes));
    };
    let mut parts: Vec<Vec<u8>> = vec![Vec::new(); threads.max(1)];
    for chunk in sigs.chunks(STORE_CHUNK * k) {
        let per = (chunk.len() / k).div_ceil(parts.len()) * k;
        if parts.len() > 1 && chunk.len() / k >= 1024 {
            pool::pool(parts.len())?
                .install(|| parts.par_iter_mut().zip(chunk.par_chunks(per)).for_each(|(b, r)| encode(r, b)));
            parts.iter().take(chunk.len().div_ceil(per)).try_for_each(|b| write_all(out, b))?;
        } else {
            encode(chunk, &mut parts[0]);
            write_all(out, &parts[0])?;
        }
    }
    Ok(())
}

/// Writes the set-size column: a u32 per document, padded to a multiple of 8 bytes.
pub(crate) fn write_set_sizes(out: &mut impl Write, sizes: impl Iterator<Item = u32>) -> Result<()> {
    let mut count = 0u64;
    for size in sizes {
        write_all(out, &size.to_le_bytes())?;
        count += 1;
    }
    pad(out, 4 * count)
}

/// Checks that the body has the layout's length, then writes the block table after it and
/// publishes the file with its header.
pub(crate) fn finish_segment(
    file: AtomicFile,
    written: u64,
    checksum: u64,
    blocks: BlockHasher,
    header: &Header,
) -> Result<()> {
    finish(file, written, checksum, blocks, header, &Layout::of(header))
}

fn finish(
    mut file: AtomicFile,
    written: u64,
    checksum: u64,
    blocks: BlockHasher,
    header: &Header,
    layout: &Layout,
) -> Result<()> {
    if u128::from(written) + HEADER_LEN as u128 != layout.total {
        return Err(Error::InvalidArgument(format!(
            "segment body of {written} bytes, its layout needs {}",
            layout.total
        )));
    }
    let table = blocks.finish();
    write_all(file.writer(), &table)?;
    file.commit(&header.encode(checksum, BLOCK_BITS, xxh3_64(&table, 0)))
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
