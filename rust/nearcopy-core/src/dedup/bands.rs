//! Band keys from signatures, and records bucketed by key for spilling to disk.

use crate::error::Result;
use crate::hash::xxh3_64;
use crate::invalid;
use crate::pool;
use rayon::prelude::*;

/// A signature slot: u32 (`affine32`) or u64 (every other scheme).
pub trait Slot: Copy + Eq + Send + Sync + 'static {
    fn to_u64(self) -> u64;

    /// The slots of a band as 8 little-endian bytes each (what a band key hashes), written to `buf`
    /// or, where the slots already are those bytes, borrowed.
    fn band_bytes<'a>(band: &'a [Self], buf: &'a mut Vec<u8>) -> &'a [u8] {
        buf.clear();
        band.iter().for_each(|v| buf.extend_from_slice(&v.to_u64().to_le_bytes()));
        buf
    }
}

impl Slot for u32 {
    fn to_u64(self) -> u64 {
        u64::from(self)
    }
}

impl Slot for u64 {
    fn to_u64(self) -> u64 {
        self
    }

    fn band_bytes<'a>(band: &'a [Self], buf: &'a mut Vec<u8>) -> &'a [u8] {
        if cfg!(target_endian = "little") {
            // SAFETY: a u64 slice is valid as bytes (no padding, alignment 1 is weaker), the length
            // is the slice's size in bytes, and the borrow keeps `band` alive; on little-endian
            // machines those bytes are each slot's little-endian form, so no copy is needed (the
            // copy was half of a band key's cost, which is most of a single LSH query's).
            unsafe { std::slice::from_raw_parts(band.as_ptr().cast::<u8>(), std::mem::size_of_val(band)) }
        } else {
            buf.clear();
            band.iter().for_each(|v| buf.extend_from_slice(&v.to_le_bytes()));
            buf
        }
    }
}

/// Checks that `len` values are whole rows of `num_perm` slots that hold `bands × rows`.
pub(crate) fn check_shape(len: usize, num_perm: usize, bands: usize, rows: usize) -> Result<usize> {
    if num_perm == 0 || len % num_perm != 0 {
        return Err(invalid!("signatures of {len} values are not rows of num_perm = {num_perm}"));
    }
    if bands == 0 || rows == 0 || bands.checked_mul(rows).is_none_or(|used| used > num_perm) {
        return Err(invalid!("{bands} bands of {rows} rows do not fit signatures of {num_perm} slots"));
    }
    Ok(len / num_perm)
}

/// `docs × bands` keys (row-major): key `b` of a document is XXH3-64 of the band's slots (each as
/// 8 little-endian bytes) seeded with `b`, so equal values in different bands give different keys.
/// Two documents share a key exactly when their band slots are equal, up to 64-bit collisions
/// (about one spurious candidate in 2^64 pairs, and verification drops it anyway).
pub fn band_keys<W: Slot>(
    sigs: &[W],
    num_perm: usize,
    bands: usize,
    rows: usize,
    num_threads: usize,
) -> Result<Vec<u64>> {
    let docs = check_shape(sigs.len(), num_perm, bands, rows)?;
    let mut keys = vec![0u64; docs * bands];
    let fill = |(sig, out): (&[W], &mut [u64]), buf: &mut Vec<u8>| row_band_keys(sig, rows, out, buf);
    if num_threads <= 1 || docs < 1024 {
        let mut buf = Vec::with_capacity(rows * 8);
        sigs.chunks_exact(num_perm).zip(keys.chunks_exact_mut(bands)).for_each(|row| fill(row, &mut buf));
    } else {
        pool::pool(num_threads)?.install(|| {
            sigs.par_chunks_exact(num_perm)
                .zip(keys.par_chunks_exact_mut(bands))
                .with_min_len(256)
                .for_each_init(|| Vec::with_capacity(rows * 8), |buf, row| fill(row, buf));
        });
    }
    Ok(keys)
}

/// The band keys of one signature row `sig` (those [`band_keys`] gives it), one per slot of `out`
/// (`buf`: a reusable buffer for the band's bytes).
#[inline]
pub fn row_band_keys<W: Slot>(sig: &[W], rows: usize, out: &mut [u64], buf: &mut Vec<u8>) {
    for (b, key) in out.iter_mut().enumerate() {
        *key = xxh3_64(W::band_bytes(&sig[b * rows..(b + 1) * rows], buf), b as u64);
    }
}

/// The bucket of a key among `buckets`: its high bits (multiply-shift), so buckets are even for
/// any count, not only powers of two.
#[inline]
pub fn bucket_of(key: u64, buckets: usize) -> usize {
    ((u128::from(key) * buckets as u128) >> 64) as usize
}

/// Records `(key, doc)` of `docs × bands` keys (documents numbered from `first_doc`), flattened as
/// `[key, doc, key, doc, ...]` and ordered by bucket, with the number of records in each bucket.
/// Documents whose `include` flag is false (exact duplicates of an earlier one) are left out.
pub fn bucket_records(
    keys: &[u64],
    bands: usize,
    first_doc: u64,
    include: Option<&[bool]>,
    buckets: usize,
) -> Result<(Vec<u64>, Vec<u64>)> {
    if bands == 0 || keys.len() % bands != 0 {
        return Err(invalid!("{} keys are not rows of {bands} bands", keys.len()));
    }
    if buckets == 0 {
        return Err(invalid!("the number of buckets must be at least 1"));
    }
    let docs = keys.len() / bands;
    if include.is_some_and(|flags| flags.len() != docs) {
        return Err(invalid!("include flags must have one entry per document ({docs})"));
    }
    let included = |d: usize| include.is_none_or(|flags| flags[d]);
    // Counting sort by bucket: one pass to count, one to place; linear and stable.
    let mut counts = vec![0u64; buckets];
    for (d, row) in keys.chunks_exact(bands).enumerate() {
        if included(d) {
            row.iter().for_each(|&key| counts[bucket_of(key, buckets)] += 1);
        }
    }
    let mut next: Vec<usize> = counts
        .iter()
        .scan(0usize, |acc, &c| {
            let start = *acc;
            *acc += c as usize;
            Some(start)
        })
        .collect();
    let total: usize = counts.iter().map(|&c| c as usize).sum();
    let mut out = vec![0u64; total * 2];
    for (d, row) in keys.chunks_exact(bands).enumerate() {
        if !included(d) {
            continue;
        }
        for &key in row {
            let slot = &mut next[bucket_of(key, buckets)];
            out[*slot * 2] = key;
            out[*slot * 2 + 1] = first_doc + d as u64;
            *slot += 1;
        }
    }
    Ok((out, counts))
}
