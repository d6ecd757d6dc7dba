//! A sorted table of `(key, value)` entries inside a segment file: for each band, band key →
//! documents; for the segment's keys, key hash → documents.
//!
//! Keys are 32 bits. The table is cut into `2^d` buckets by the keys' top `d` bits (about sixteen
//! entries per bucket), and a directory of `2^d + 1` u32
//! offsets says where each bucket starts. Those `d` bits are then implied by the bucket, so each
//! entry stores only the key's other `32 - d` bits and its value, both bit-packed
//! ([`super::packed`]): keys and values in two arrays, so that the binary search in a bucket
//! touches only the keys. About 38 bits per entry whatever the segment's size.
//!
//! Every table keeps the same 32 key bits, so tables of any sizes merge by merging their keys.

use super::packed::{self, PackedWriter};
use crate::error::{Error, Result};
use std::io::Write;
use std::ops::Range;

/// At most 2^24 buckets (a 64 MB directory).
const MAX_DIRECTORY_BITS: u32 = 24;

/// About sixteen entries per bucket: a bucket of `2^m / 2^d` entries costs `32 - d` key bits per
/// entry plus 32 directory bits per bucket, least at `d = m - 4` or `m - 5` (38 bits per entry with
/// the document number); sixteen keeps the search in a bucket to one or two cache lines.
fn directory_bits(count: usize) -> u32 {
    if count < 64 {
        0
    } else {
        (count.ilog2() - 4).min(MAX_DIRECTORY_BITS)
    }
}

/// Where the parts of a table of `count` entries with values below `value_bound` lie, relative to
/// the table's start; a function of the two numbers alone, so a reader needs no stored offsets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableLayout {
    pub count: usize,
    pub(super) dir_bits: u32,
    pub(super) rem_width: u32,
    pub(super) value_width: u32,
    pub(super) rems_at: usize,
    values_at: usize,
    pub len: usize,
}

impl TableLayout {
    pub fn new(count: usize, value_bound: u64) -> Self {
        let dir_bits = directory_bits(count);
        let rem_width = 32 - dir_bits;
        let value_width = packed::width_for(value_bound.saturating_sub(1));
        let dir_len = (4 * ((1usize << dir_bits) + 1)).div_ceil(8) * 8;
        let rems_at = dir_len;
        let values_at = rems_at + packed::packed_len(count, rem_width);
        let len = values_at + packed::packed_len(count, value_width);
        TableLayout { count, dir_bits, rem_width, value_width, rems_at, values_at, len }
    }

    #[inline]
    pub(super) fn bucket(&self, key: u32) -> usize {
        (u64::from(key) >> self.rem_width) as usize
    }

    #[inline]
    pub(super) fn remainder(&self, key: u32) -> u64 {
        u64::from(key) & ((1u64 << self.rem_width) - 1)
    }
}

/// A table at byte offset `at` of a file's bytes (the reader passes the mapped file to each call).
#[derive(Clone, Copy, Debug)]
pub struct Table {
    pub layout: TableLayout,
    pub at: usize,
}

impl Table {
    /// Directory entry `b`, clamped to the entry count (a damaged directory cannot send a lookup
    /// outside the table).
    #[inline]
    fn directory(&self, bytes: &[u8], b: usize) -> usize {
        let at = self.at + 4 * b;
        bytes
            .get(at..at + 4)
            .map_or(0, |w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]) as usize)
            .min(self.layout.count)
    }

    #[inline]
    fn rem(&self, bytes: &[u8], i: usize) -> u64 {
        packed::get(bytes.get(self.at + self.layout.rems_at..).unwrap_or(&[]), self.layout.rem_width, i)
    }

    /// Value `i` (a document number of the segment).
    #[inline]
    pub fn value(&self, bytes: &[u8], i: usize) -> u64 {
        packed::get(bytes.get(self.at + self.layout.values_at..).unwrap_or(&[]), self.layout.value_width, i)
    }

    /// Calls `f` with the values of positions `range`, in order: one pass over the packed bits (a
    /// run of a heavily shared band key can name thousands of documents).
    #[inline]
    pub fn for_each_value(&self, bytes: &[u8], range: Range<usize>, mut f: impl FnMut(u64)) {
        let values = bytes.get(self.at + self.layout.values_at..).unwrap_or(&[]);
        let width = u64::from(self.layout.value_width);
        let mask = (1u64 << width) - 1;
        let mut bit = range.start as u64 * width;
        for _ in range {
            let at = (bit / 8) as usize;
            let value = match values.get(at..at + 8) {
                Some(word) => (u64::from_le_bytes(word.try_into().unwrap_or([0; 8])) >> (bit % 8)) & mask,
                None => 0,
            };
            f(value);
            bit += width;
        }
    }

    /// The positions of the entries of `key`.
    pub fn lookup(&self, bytes: &[u8], key: u32) -> Range<usize> {
        self.search(bytes, key, self.bucket_entries(bytes, key))
    }

    /// `(offset, length)` of the file's bytes holding the directory entries of `key`'s bucket.
    #[inline]
    pub fn directory_bytes(&self, key: u32) -> (usize, usize) {
        (self.at + 4 * self.layout.bucket(key), 8)
    }

    /// The positions of the entries of `key`'s bucket (from the directory).
    #[inline]
    pub fn bucket_entries(&self, bytes: &[u8], key: u32) -> Range<usize> {
        let b = self.layout.bucket(key);
        let (lo, end) = (self.directory(bytes, b), self.directory(bytes, b + 1));
        lo..end.max(lo)
    }

    /// `(offset, length)` of the file's bytes holding the keys of positions `range`.
    #[inline]
    pub fn keys_bytes(&self, range: &Range<usize>) -> (usize, usize) {
        self.packed_bytes(self.layout.rems_at, self.layout.rem_width, range.clone())
    }

    /// The positions of the entries of `key` among those of its `bucket` ([`Table::bucket_entries`]).
    pub fn search(&self, bytes: &[u8], key: u32, bucket: Range<usize>) -> Range<usize> {
        let want = self.layout.remainder(key);
        let end = bucket.end;
        let first = self.first_above(bytes, bucket.start, end, |rem| rem < want);
        // The run's end by a second search: a band key shared by thousands of documents (copies)
        // made a step-by-step scan a good part of a heavy query.
        let stop = match first < end && self.rem(bytes, first) == want {
            true => self.first_above(bytes, first + 1, end, |rem| rem <= want),
            false => first,
        };
        first..stop
    }

    /// The first position of `lo..end` whose key remainder fails `below` (the keys are sorted, so
    /// `below` holds on a prefix), or `end`.
    #[inline]
    fn first_above(&self, bytes: &[u8], mut lo: usize, end: usize, below: impl Fn(u64) -> bool) -> usize {
        let mut hi = end;
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if below(self.rem(bytes, mid)) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// `(offset, length)` of the file's bytes holding the values of positions `range`.
    pub fn values_bytes(&self, range: &Range<usize>) -> (usize, usize) {
        self.packed_bytes(self.layout.values_at, self.layout.value_width, range.clone())
    }

    /// The bytes a packed read of positions `range` takes: each reads the 8 bytes from its first.
    fn packed_bytes(&self, at: usize, width: u32, range: Range<usize>) -> (usize, usize) {
        if range.is_empty() {
            return (0, 0);
        }
        let first = self.at + at + (range.start as u64 * u64::from(width) / 8) as usize;
        let last = self.at + at + ((range.end - 1) as u64 * u64::from(width) / 8) as usize + 8;
        (first, last - first)
    }

    /// Every entry in order, keys rebuilt from their buckets (for merging and verifying).
    pub fn entries(self, bytes: &[u8]) -> impl Iterator<Item = (u32, u64)> + '_ {
        let mut bucket = 0usize;
        (0..self.layout.count).map(move |i| {
            while bucket < (1usize << self.layout.dir_bits) - 1 && self.directory(bytes, bucket + 1) <= i {
                bucket += 1;
            }
            let key = ((bucket as u64) << self.layout.rem_width) | self.rem(bytes, i);
            (key as u32, self.value(bytes, i))
        })
    }

    /// Checks what a lookup relies on: the directory spans the entries in order, and each bucket's
    /// entries are sorted by (key, value) with values below `value_bound`. O(entries).
    pub fn verify(&self, bytes: &[u8], value_bound: u64) -> std::result::Result<(), &'static str> {
        let buckets = 1usize << self.layout.dir_bits;
        let raw = |b: usize| {
            let at = self.at + 4 * b;
            bytes.get(at..at + 4).map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]) as usize)
        };
        if raw(0) != Some(0) || raw(buckets) != Some(self.layout.count) {
            return Err("a table directory does not span its entries");
        }
        if (0..buckets).any(|b| raw(b) > raw(b + 1)) {
            return Err("a table directory out of order");
        }
        let mut previous: Option<(u32, u64)> = None;
        for entry in self.entries(bytes) {
            if previous.is_some_and(|p| p > entry) {
                return Err("table entries out of order");
            }
            if entry.1 >= value_bound {
                return Err("a table names a document the segment does not have");
            }
            previous = Some(entry);
        }
        Ok(())
    }
}

/// Writes a table of `layout.count` entries, yielded in (key, value) order by `entries()` (called
/// three times: for the directory, the keys and the values, so a merge can stream its inputs
/// instead of holding the merged table). Returns the bytes written (`layout.len`).
pub fn write_table<I: Iterator<Item = (u32, u64)>>(
    out: &mut impl Write,
    layout: &TableLayout,
    value_bound: u64,
    entries: impl Fn() -> I,
) -> Result<usize> {
    let buckets = 1usize << layout.dir_bits;
    let mut directory = vec![0u32; buckets + 1];
    let mut count = 0usize;
    let mut previous: Option<(u32, u64)> = None;
    for entry in entries() {
        if previous.is_some_and(|p| p > entry) {
            return Err(Error::InvalidArgument("table entries must be sorted".into()));
        }
        if entry.1 >= value_bound {
            return Err(Error::InvalidArgument(format!("value {} not below {value_bound}", entry.1)));
        }
        previous = Some(entry);
        directory[layout.bucket(entry.0) + 1] += 1;
        count += 1;
    }
    if count != layout.count {
        return Err(Error::InvalidArgument(format!(
            "{count} table entries given, {} announced",
            layout.count
        )));
    }
    for b in 1..directory.len() {
        directory[b] += directory[b - 1];
    }
    let write = |out: &mut dyn Write, bytes: &[u8]| {
        out.write_all(bytes).map_err(|e| Error::Io(format!("cannot write: {e}")))
    };
    let mut dir_bytes: Vec<u8> = directory.iter().flat_map(|d| d.to_le_bytes()).collect();
    dir_bytes.resize(layout.rems_at, 0);
    write(out, &dir_bytes)?;
    let mut rems = PackedWriter::new(layout.rem_width)?;
    for (key, _) in entries() {
        rems.push(layout.remainder(key), out)?;
    }
    rems.finish(out)?;
    let mut values = PackedWriter::new(layout.value_width)?;
    for (_, value) in entries() {
        values.push(value, out)?;
    }
    values.finish(out)?;
    Ok(layout.len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table_of(entries: &[(u32, u64)], bound: u64) -> (Table, Vec<u8>) {
        let layout = TableLayout::new(entries.len(), bound);
        let mut bytes = Vec::new();
        let written = write_table(&mut bytes, &layout, bound, || entries.iter().copied()).unwrap();
        assert_eq!((written, bytes.len()), (layout.len, layout.len));
        (Table { layout, at: 0 }, bytes)
    }

    #[test]
    fn lookups_agree_with_a_plain_scan_for_every_size() {
        for n in [0usize, 1, 63, 64, 65, 500, 4096, 20_000] {
            let mut state = n as u64;
            let mut entries: Vec<(u32, u64)> = (0..n)
                .map(|i| {
                    let h = crate::hash::splitmix64(&mut state) as u32;
                    // Some keys repeat (several documents in one band bucket), some are extremes.
                    let key = match i % 7 {
                        0 => 0,
                        1 => u32::MAX,
                        2 => h & 0xFFFF_0000,
                        _ => h,
                    };
                    (key, (i % 1000) as u64)
                })
                .collect();
            entries.sort_unstable();
            entries.dedup();
            let (table, bytes) = table_of(&entries, 1000);
            table.verify(&bytes, 1000).unwrap();
            assert_eq!(table.entries(&bytes).collect::<Vec<_>>(), entries, "n={n}");
            for probe in entries.iter().map(|e| e.0).chain([7, 0x8000_0000, 0xFFFF_FFFE]) {
                let found: Vec<u64> = table.lookup(&bytes, probe).map(|i| table.value(&bytes, i)).collect();
                let expected: Vec<u64> = entries.iter().filter(|e| e.0 == probe).map(|e| e.1).collect();
                assert_eq!(found, expected, "n={n} key={probe:#x}");
            }
        }
    }

    #[test]
    fn unsorted_or_out_of_range_entries_are_refused() {
        let layout = TableLayout::new(2, 10);
        let mut sink = Vec::new();
        assert!(write_table(&mut sink, &layout, 10, || [(5u32, 1u64), (4, 1)].into_iter()).is_err());
        assert!(write_table(&mut sink, &layout, 10, || [(4u32, 1u64), (5, 10)].into_iter()).is_err());
        assert!(write_table(&mut sink, &layout, 10, || [(4u32, 1u64)].into_iter()).is_err());
    }

    #[test]
    fn a_damaged_directory_is_caught_by_verify_and_harmless_to_lookups() {
        let entries: Vec<(u32, u64)> =
            (0..200u32).map(|i| (i.wrapping_mul(0x9E37_79B9), u64::from(i % 50))).collect();
        let mut entries = entries;
        entries.sort_unstable();
        let (table, mut bytes) = table_of(&entries, 50);
        bytes[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(table.verify(&bytes, 50).is_err());
        for e in &entries {
            let range = table.lookup(&bytes, e.0);
            assert!(range.end <= entries.len());
        }
    }
}
