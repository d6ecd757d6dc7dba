//! Merging segments into one, leaving removed documents out.
//!
//! Every section is streamed from the mapped inputs: each table by a k-way merge of the inputs'
//! tables (run three times: directory, keys, values), the keys, store rows and columns copied
//! document by document. Memory is the output's table directory and the inputs' tombstone lists,
//! whatever the index's size.

use super::header::{
    Header, KeyKind, FLAG_CONTENT_HASHES, FLAG_KEYS_IN_ORDER, FLAG_SET_SIZES, FLAG_SHINGLE_SETS, INDEX_FLAGS,
};
use super::packed::PackedWriter;
use super::query::Source;
use super::segment::Segment;
use super::table::{write_table, Table};
use super::write::{
    finish_segment, in_order, int_range, key_ends_width, start_segment, table_layout, write_int_keys,
    write_set_sizes,
};
use super::Hashing;
use crate::error::{Error, Result};
use crate::invalid;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::Write;
use std::path::Path;

fn write_all(out: &mut impl Write, bytes: &[u8]) -> Result<()> {
    out.write_all(bytes).map_err(|e| Error::Io(format!("cannot write: {e}")))
}

fn pad(out: &mut impl Write, len: u64) -> Result<()> {
    write_all(out, &[0u8; 8][..(len.next_multiple_of(8) - len) as usize])
}

/// Document numbers of the merged segment: each input's live documents, in input order.
struct Renumbering<'a> {
    sources: &'a [Source<'a>],
    first: Vec<u64>,
}

impl Renumbering<'_> {
    #[inline]
    fn new_doc(&self, s: usize, doc: u64) -> Option<u64> {
        let removed = self.sources[s].removed;
        let doc = u32::try_from(doc).ok()?;
        (!removed.is_removed(doc)).then(|| self.first[s] + u64::from(doc - removed.before(doc)))
    }

    /// `(source, document)` of every live document, in the merged order.
    fn live(&self) -> impl Iterator<Item = (&Segment, usize)> + '_ {
        self.sources.iter().flat_map(|source| {
            (0..source.segment.len())
                .filter(|&d| !source.removed.is_removed(d as u32))
                .map(move |d| (source.segment, d))
        })
    }
}

/// The entries of one table of every input, renumbered, in (key, document) order.
fn merged<'a>(
    renumbering: &'a Renumbering<'a>,
    table_of: &'a dyn Fn(&Segment) -> Table,
) -> impl Iterator<Item = (u32, u64)> + 'a {
    let mut inputs: Vec<Box<dyn Iterator<Item = (u32, u64)> + 'a>> = renumbering
        .sources
        .iter()
        .enumerate()
        .map(|(s, source)| {
            let table = table_of(source.segment);
            let entries = table.entries(source.segment.bytes());
            Box::new(entries.filter_map(move |(key, doc)| renumbering.new_doc(s, doc).map(|d| (key, d))))
                as Box<dyn Iterator<Item = (u32, u64)> + 'a>
        })
        .collect();
    let mut heap: BinaryHeap<Reverse<(u32, u64, usize)>> = inputs
        .iter_mut()
        .enumerate()
        .filter_map(|(s, it)| it.next().map(|(k, d)| Reverse((k, d, s))))
        .collect();
    std::iter::from_fn(move || {
        let Reverse((key, doc, s)) = heap.pop()?;
        if let Some((k, d)) = inputs[s].next() {
            heap.push(Reverse((k, d, s)));
        }
        Some((key, doc))
    })
}

/// Merges `sources` (segments of one index, each with its tombstones) into a segment at `path`;
/// each input is verified first, so a damaged one is never rewritten under a fresh checksum.
/// Returns the merged segment's header.
pub fn merge_segments(path: &Path, sources: &[Source<'_>]) -> Result<Header> {
    let first = sources.first().ok_or_else(|| invalid!("no segments to merge"))?.segment.header;
    if let Some(other) = sources.iter().find(|s| !s.segment.header.same_index(&first)) {
        return Err(invalid!("{}: a segment of another index", other.segment.path.display()));
    }
    for source in sources {
        source.segment.verify()?;
    }
    let mut starts = Vec::with_capacity(sources.len());
    let mut documents = 0u64;
    for source in sources {
        starts.push(documents);
        documents += (source.segment.len() - source.removed.count()) as u64;
    }
    let renumbering = Renumbering { sources, first: starts };
    let (mut key_bytes, mut set_values) = (0u64, 0u64);
    for (segment, d) in renumbering.live() {
        if first.key_kind == KeyKind::Str {
            key_bytes += segment.str_key(d).len() as u64;
        }
        set_values += segment.shingle_set(d).map_or(0, |s| s.len() as u64);
    }
    let live_ints = || renumbering.live().map(|(segment, d)| segment.int_key(d));
    let (key_base, key_span) = match first.key_kind {
        KeyKind::Int => int_range(live_ints()),
        KeyKind::Str => (0, 0),
    };
    let mut flags = first.flags & INDEX_FLAGS;
    if first.key_kind == KeyKind::Int && in_order(live_ints()) {
        flags |= FLAG_KEYS_IN_ORDER;
    }
    let header = Header { flags, documents, key_bytes, set_values, key_base, key_span, ..first };
    header.check()?;
    let layout = table_layout(&header);
    let mut file = start_segment(path)?;
    let mut body = Hashing::new(file.writer());
    for band in 0..header.bands {
        let table_of = move |segment: &Segment| segment.band_table(band);
        write_table(&mut body, &layout, documents, || merged(&renumbering, &table_of))?;
    }
    let key_table = |segment: &Segment| segment.key_table();
    write_table(&mut body, &layout, documents, || merged(&renumbering, &key_table))?;
    match header.key_kind {
        KeyKind::Str => {
            let mut ends = PackedWriter::new(key_ends_width(&header))?;
            let mut end = 0u64;
            for (segment, d) in renumbering.live() {
                end += segment.str_key(d).len() as u64;
                ends.push(end, &mut body)?;
            }
            ends.finish(&mut body)?;
            for (segment, d) in renumbering.live() {
                write_all(&mut body, segment.str_key(d))?;
            }
            pad(&mut body, key_bytes)?;
        }
        KeyKind::Int => write_int_keys(&mut body, &header, live_ints())?,
    }
    let mut store_bytes = 0u64;
    for (segment, d) in renumbering.live() {
        let row = segment.store_row(d);
        store_bytes += row.len() as u64;
        write_all(&mut body, row)?;
    }
    pad(&mut body, store_bytes)?;
    if header.flags & FLAG_CONTENT_HASHES != 0 {
        for (segment, d) in renumbering.live() {
            for v in segment.content_hash(d).unwrap_or_default() {
                write_all(&mut body, &v.to_le_bytes())?;
            }
        }
    }
    if header.flags & FLAG_SHINGLE_SETS != 0 {
        let mut bound = 0u64;
        write_all(&mut body, &bound.to_le_bytes())?;
        for (segment, d) in renumbering.live() {
            bound += segment.shingle_set(d).map_or(0, |s| s.len() as u64);
            write_all(&mut body, &bound.to_le_bytes())?;
        }
        for (segment, d) in renumbering.live() {
            for v in segment.shingle_set(d).unwrap_or_default() {
                write_all(&mut body, &v.to_le_bytes())?;
            }
        }
    }
    if header.flags & FLAG_SET_SIZES != 0 {
        write_set_sizes(&mut body, renumbering.live().map(|(segment, d)| segment.set_size(d).unwrap_or(0)))?;
    }
    let (written, checksum, blocks) = (body.written, body.hasher.digest(), body.blocks);
    finish_segment(file, written, checksum, blocks, &header)?;
    Ok(header)
}
