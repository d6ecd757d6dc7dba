//! Building a new segment's tables and packed arrays in memory, fast: the bytes are exactly those
//! [`super::table::write_table`] and [`super::packed::PackedWriter`] write (the format does not
//! change; the tests compare them), made without a comparison sort of the whole table.
//!
//! A batch's table maps each document `d` (in order) to one 32-bit key. Its entries are sorted by
//! (key, document), and the directory cuts them into buckets by the key's top bits, so a counting
//! sort by bucket (stable: documents stay in order) leaves only each bucket's ~16 entries to sort.
//! A comparison sort of the whole table (`(u32, u64)` pairs, once per band) was most of an insert's
//! time.

use super::header::Header;
use super::packed::packed_len;
use super::stored_key;
use super::table::TableLayout;
use crate::dedup::Slot;
use crate::error::{Error, Result};
use crate::hash::xxh3_64;
use crate::pool;
use rayon::prelude::*;

/// Appends `values` to `out` as a packed array of `width`-bit values (least significant bit
/// first), slack and padding included: the bytes of [`super::packed::PackedWriter`] for the same
/// values. Returns the number of values.
pub(super) fn pack_into(out: &mut Vec<u8>, width: u32, values: impl Iterator<Item = u64>) -> Result<usize> {
    if width == 0 || width > super::packed::MAX_WIDTH {
        return Err(Error::InvalidArgument(format!("packed width {width} out of range")));
    }
    let (start, mask) = (out.len(), (1u64 << width) - 1);
    let (mut word, mut bits, mut count, mut wide) = (0u64, 0u32, 0usize, 0u64);
    for value in values {
        wide |= value & !mask;
        word |= value << bits;
        bits += width;
        if bits >= 64 {
            out.extend_from_slice(&word.to_le_bytes());
            bits -= 64;
            // The bits of `value` that did not fit (none when it ended exactly at the word's end).
            word = if bits == 0 { 0 } else { value >> (width - bits) };
        }
        count += 1;
    }
    if wide != 0 {
        out.truncate(start);
        return Err(Error::InvalidArgument(format!("a value does not fit {width} bits")));
    }
    out.extend_from_slice(&word.to_le_bytes()[..bits.div_ceil(8) as usize]);
    // The slack and alignment padding (the packed bits take at most `total - SLACK` bytes).
    out.resize(start + packed_len(count, width), 0);
    Ok(count)
}

/// Reused buffers of [`table_bytes`], so that building a table per band allocates once.
#[derive(Default)]
pub(super) struct TableScratch {
    directory: Vec<u32>,
    next: Vec<u32>,
    entries: Vec<u64>,
}

/// Appends to `out` the bytes of the table of `keys` (`keys[d]` is document `d`'s key), laid out
/// as `layout` (of `keys.len()` entries, values below `keys.len()`).
pub(super) fn table_bytes(
    layout: &TableLayout,
    keys: &[u32],
    scratch: &mut TableScratch,
    out: &mut Vec<u8>,
) -> Result<()> {
    let TableScratch { directory, next, entries } = scratch;
    if keys.len() != layout.count || keys.len() > u32::MAX as usize {
        return Err(Error::InvalidArgument(format!(
            "{} table keys given, {} announced",
            keys.len(),
            layout.count
        )));
    }
    let buckets = 1usize << layout.dir_bits;
    directory.clear();
    directory.resize(buckets + 1, 0);
    for &key in keys {
        directory[layout.bucket(key) + 1] += 1;
    }
    for b in 1..directory.len() {
        directory[b] += directory[b - 1];
    }
    next.clear();
    next.extend_from_slice(&directory[..buckets]);
    entries.clear();
    entries.resize(keys.len(), 0);
    // (remainder, document) in one u64: sorting it sorts by key then document.
    for (d, &key) in keys.iter().enumerate() {
        let slot = &mut next[layout.bucket(key)];
        entries[*slot as usize] = (layout.remainder(key) << 32) | d as u64;
        *slot += 1;
    }
    for bucket in directory.windows(2) {
        let run = &mut entries[bucket[0] as usize..bucket[1] as usize];
        if run.len() > 1 {
            run.sort_unstable();
        }
    }
    let start = out.len();
    out.extend(directory.iter().flat_map(|d| d.to_le_bytes()));
    out.resize(start + layout.rems_at, 0);
    pack_into(out, layout.rem_width, entries.iter().map(|e| e >> 32))?;
    pack_into(out, layout.value_width, entries.iter().map(|e| e & 0xFFFF_FFFF))?;
    debug_assert_eq!(out.len() - start, layout.len);
    Ok(())
}

/// The fewest documents worth a thread of their own.
const CHUNK_DOCS: usize = 4096;

/// The 32 stored bits of every band key of `sigs`, band-major: `columns[b * n + d]` is band `b`
/// of document `d` (the keys of [`crate::dedup::band_keys`]). A table is built from one band's
/// column; reading it out of the document-major keys instead strode through all of them per band.
pub(super) fn band_columns<W: Slot>(sigs: &[W], header: &Header, threads: usize) -> Result<Vec<u32>> {
    let (k, bands, rows) = (header.num_perm, header.bands, header.rows);
    let n = sigs.len() / k.max(1);
    let mut columns = vec![0u32; bands * n];
    if n == 0 {
        return Ok(columns);
    }
    let parts = threads.clamp(1, n.div_ceil(CHUNK_DOCS));
    let per = n.div_ceil(parts);
    // Each part's piece of every column, so that the parts fill them side by side.
    let mut pieces: Vec<Vec<&mut [u32]>> = (0..parts).map(|_| Vec::with_capacity(bands)).collect();
    for column in columns.chunks_mut(n) {
        let mut rest = column;
        for piece in pieces.iter_mut() {
            let (mine, tail) = rest.split_at_mut(per.min(rest.len()));
            piece.push(mine);
            rest = tail;
        }
    }
    let fill = |(p, mut piece): (usize, Vec<&mut [u32]>)| -> Result<()> {
        let (first, mut buf) = (p * per, Vec::with_capacity(rows * 8));
        let count = piece.first().map_or(0, |c| c.len());
        for (d, sig) in sigs[first * k..(first + count) * k].chunks_exact(k).enumerate() {
            for (b, column) in piece.iter_mut().enumerate() {
                // The key of `band_keys` (the tests compare them), written straight to its column.
                let band = W::band_bytes(&sig[b * rows..(b + 1) * rows], &mut buf);
                column[d] = stored_key(xxh3_64(band, b as u64));
            }
        }
        Ok(())
    };
    if parts > 1 {
        pool::pool(threads)?.install(|| pieces.into_par_iter().enumerate().try_for_each(fill))?;
    } else {
        pieces.into_iter().enumerate().try_for_each(fill)?;
    }
    Ok(columns)
}

#[cfg(test)]
mod tests {
    use super::super::packed::PackedWriter;
    use super::super::table::write_table;
    use super::*;
    use crate::hash::splitmix64;

    #[test]
    fn packed_arrays_are_the_packed_writers_bytes() {
        let mut state = 11u64;
        for width in [1u32, 2, 7, 8, 9, 13, 16, 17, 28, 31, 32, 33, 48, 55, 56] {
            for count in [0usize, 1, 7, 8, 63, 64, 65, 1000] {
                let mask = (1u64 << width) - 1;
                let values: Vec<u64> = (0..count).map(|_| splitmix64(&mut state) & mask).collect();
                let mut expected = Vec::new();
                let mut writer = PackedWriter::new(width).unwrap();
                values.iter().for_each(|&v| writer.push(v, &mut expected).unwrap());
                writer.finish(&mut expected).unwrap();
                let mut ours = vec![0xAB];
                assert_eq!(pack_into(&mut ours, width, values.iter().copied()).unwrap(), count);
                assert_eq!(ours[1..], expected[..], "width {width}, {count} values");
            }
        }
        let mut out = vec![1, 2];
        assert!(pack_into(&mut out, 4, [3u64, 16].into_iter()).is_err(), "16 needs 5 bits");
        assert_eq!(out, [1, 2], "nothing appended on error");
        assert!(pack_into(&mut out, 0, std::iter::empty()).is_err());
    }

    #[test]
    fn band_columns_are_the_band_keys_of_dedup_for_any_thread_count() {
        let mut state = 3u64;
        for n in [0usize, 1, 4095, 4096, 9000] {
            let sigs: Vec<u64> = (0..n * 16).map(|_| splitmix64(&mut state) % 5).collect();
            let header = Header::new(
                16,
                3,
                5,
                crate::minhash::Scheme::Fast,
                1,
                super::super::Store::Bits(8),
                super::super::KeyKind::Int,
            );
            let keys = crate::dedup::band_keys(&sigs, 16, 3, 5, 1).unwrap();
            for threads in [1, 2, 3] {
                let columns = band_columns(&sigs, &header, threads).unwrap();
                assert_eq!(columns.len(), 3 * n);
                for d in 0..n {
                    for b in 0..3 {
                        assert_eq!(columns[b * n + d], stored_key(keys[d * 3 + b]), "n {n} doc {d} band {b}");
                    }
                }
            }
        }
        let small: Vec<u32> = (0..64).collect();
        let header = Header::new(
            16,
            4,
            4,
            crate::minhash::Scheme::Affine32,
            1,
            super::super::Store::Full,
            super::super::KeyKind::Str,
        );
        let keys = &crate::dedup::band_keys(&small, 16, 4, 4, 1).unwrap();
        let columns = band_columns(&small, &header, 2).unwrap();
        assert_eq!(
            columns,
            [0, 1, 2, 3]
                .iter()
                .flat_map(|&b| (0..4).map(move |d| stored_key(keys[d * 4 + b])))
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn tables_are_the_bytes_of_sorted_entries_written_by_write_table() {
        let mut scratch = TableScratch::default();
        for n in [0usize, 1, 5, 63, 64, 65, 1000, 20_000] {
            let mut state = n as u64 + 5;
            // Keys of every kind: distinct, shared by a cluster of documents, extremes.
            let keys: Vec<u32> = (0..n)
                .map(|d| match d % 5 {
                    0 => 0x1234_5678,
                    1 => u32::MAX,
                    2 => (splitmix64(&mut state) as u32) & 0xFFF0_0000,
                    _ => splitmix64(&mut state) as u32,
                })
                .collect();
            let mut sorted: Vec<(u32, u64)> = keys.iter().enumerate().map(|(d, &k)| (k, d as u64)).collect();
            sorted.sort_unstable();
            let layout = TableLayout::new(n, n as u64);
            let mut expected = Vec::new();
            write_table(&mut expected, &layout, n as u64, || sorted.iter().copied()).unwrap();
            let mut ours = vec![7u8; 3];
            table_bytes(&layout, &keys, &mut scratch, &mut ours).unwrap();
            assert_eq!(ours[3..], expected[..], "{n} documents");
        }
        let layout = TableLayout::new(3, 3);
        assert!(table_bytes(&layout, &[1, 2], &mut scratch, &mut Vec::new()).is_err());
    }
}
