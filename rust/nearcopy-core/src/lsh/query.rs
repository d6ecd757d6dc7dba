//! Queries: the documents of an index sharing a band with each query signature, verified against
//! the store and ranked; and the documents holding given keys.

use super::header::Header;
use super::segment::Segment;
use super::store::equal_count;
use super::tombstones::Tombstones;
use super::write::Keys;
use super::{key_hash, stored_key};
use crate::dedup::{band_keys, Slot};
use crate::error::Result;
use crate::invalid;
use crate::pool;
use rayon::prelude::*;

/// A segment with its removed documents.
#[derive(Clone, Copy)]
pub struct Source<'a> {
    pub segment: &'a Segment,
    pub removed: &'a Tombstones,
}

#[derive(Clone, Copy, Debug)]
pub struct QuerySettings {
    /// The least estimated Jaccard similarity a verified candidate needs.
    pub threshold: f64,
    /// Keep only candidates reaching `threshold` (else every candidate, each with its estimate).
    pub verify: bool,
    /// At most this many results per query, the most similar first (0: all).
    pub top_k: usize,
}

/// A result: document `doc` of source `source`, which agrees with the query on `equal` stored slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hit {
    pub source: u32,
    pub doc: u32,
    pub equal: u32,
}

/// The results of every query row of `sigs` (`num_perm` slots each) over `sources`, whose segments
/// all have the parameters of `params`: `bounds` (`queries + 1` offsets into the hits) and the hits,
/// per query the most similar first (ties: source, then document). The same for any thread count.
pub fn query<W: Slot>(
    sources: &[Source<'_>],
    params: &Header,
    sigs: &[W],
    settings: &QuerySettings,
    threads: usize,
) -> Result<(Vec<u64>, Vec<Hit>)> {
    let k = params.num_perm;
    if k == 0 || sigs.len() % k != 0 {
        return Err(invalid!("query signatures of {} values are not rows of num_perm = {k}", sigs.len()));
    }
    if let Some(other) = sources.iter().find(|s| !s.segment.header.same_index(params)) {
        return Err(invalid!("{}: a segment of another index", other.segment.path.display()));
    }
    let keys = band_keys(sigs, k, params.bands, params.rows, threads)?;
    let min_equal = params.store.min_equal(settings.threshold, k);
    let one = |(row, keys): (&[W], &[u64]), scratch: &mut Scratch| {
        scratch.run(sources, params, row, keys, settings, min_equal)
    };
    let rows = sigs.len() / k;
    let per_query: Vec<Vec<Hit>> = if threads <= 1 || rows < 64 {
        // This thread's scratch, kept between calls: single queries would otherwise regrow their
        // candidate buffer every time (a tenth of a heavy query went to reallocating it).
        SCRATCH.with(|cell| {
            let mut scratch = cell.take();
            let found = sigs
                .chunks_exact(k)
                .zip(keys.chunks_exact(params.bands))
                .map(|q| one(q, &mut scratch))
                .collect();
            cell.set(scratch);
            found
        })
    } else {
        pool::pool(threads)?.install(|| {
            sigs.par_chunks_exact(k)
                .zip(keys.par_chunks_exact(params.bands))
                .with_min_len(16)
                .map_init(Scratch::default, |scratch, q| one(q, scratch))
                .collect()
        })
    };
    let mut bounds = Vec::with_capacity(rows + 1);
    bounds.push(0u64);
    let mut hits = Vec::with_capacity(per_query.iter().map(Vec::len).sum());
    for found in per_query {
        hits.extend(found);
        bounds.push(hits.len() as u64);
    }
    // Every read touched its blocks first; a damaged one makes the whole answer an error.
    sources.iter().try_for_each(|s| s.segment.checked())?;
    Ok((bounds, hits))
}

/// Candidates ahead whose stored rows are fetched into the cache while the current one is compared:
/// the rows are scattered through the store, and waiting for each in turn left the core idle.
const PREFETCH_DISTANCE: usize = 8;

#[inline]
fn prefetch(bytes: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    if !bytes.is_empty() {
        // SAFETY: a prefetch is a hint that never faults and reads nothing into the program; the
        // pointer is of a live slice anyway. SSE is part of every x86_64 target.
        unsafe {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            _mm_prefetch::<_MM_HINT_T0>(bytes.as_ptr().cast());
            _mm_prefetch::<_MM_HINT_T0>(bytes.as_ptr().add(bytes.len() - 1).cast());
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = bytes;
}

/// `source << 32 | doc` of every live document sharing a band with the query's band `keys`, once
/// per band it shares, sorted (a document's repeats are adjacent).
pub(super) fn gather(sources: &[Source<'_>], keys: &[u64], candidates: &mut Vec<u64>) {
    candidates.clear();
    for (s, source) in sources.iter().enumerate() {
        let (segment, bytes) = (source.segment, source.segment.bytes());
        let (documents, high, removals) =
            (segment.header.documents, (s as u64) << 32, source.removed.count() > 0);
        for (band, &key) in keys.iter().enumerate() {
            let table = segment.band_table(band);
            let found = segment.lookup(&table, stored_key(key));
            table.for_each_value(bytes, found, |doc| {
                // A damaged value past the segment's documents is no candidate (verify reports it).
                if doc < documents && !(removals && source.removed.is_removed(doc as u32)) {
                    candidates.push(high | doc);
                }
            });
        }
    }
    // The stable sort merges runs: each band's lookup comes sorted by document, and a document
    // near the query is found in many bands (an unstable sort of thousands of such repeats was
    // most of a slow query's time).
    candidates.sort();
}

thread_local! {
    static SCRATCH: std::cell::Cell<Scratch> = std::cell::Cell::new(Scratch::default());
}

#[derive(Default)]
struct Scratch {
    /// `source << 32 | doc` of each candidate: one u64 sorts faster than a pair.
    candidates: Vec<u64>,
    row: Vec<u8>,
}

impl Scratch {
    fn run<W: Slot>(
        &mut self,
        sources: &[Source<'_>],
        params: &Header,
        row: &[W],
        keys: &[u64],
        settings: &QuerySettings,
        min_equal: u32,
    ) -> Vec<Hit> {
        gather(sources, keys, &mut self.candidates);
        self.candidates.dedup();
        self.row.clear();
        params.store.encode(row, params.slot_bytes(), &mut self.row);
        let width = params.store.slot_bytes(params.slot_bytes());
        let stored = |packed: u64| sources[(packed >> 32) as usize].segment.store_row(packed as u32 as usize);
        let mut hits = Vec::with_capacity(self.candidates.len().min(1 << 16));
        for (i, &packed) in self.candidates.iter().enumerate() {
            if let Some(&ahead) = self.candidates.get(i + PREFETCH_DISTANCE) {
                prefetch(stored(ahead));
            }
            let hit = Hit {
                source: (packed >> 32) as u32,
                doc: packed as u32,
                equal: equal_count(&self.row, stored(packed), width),
            };
            if !settings.verify || hit.equal >= min_equal {
                hits.push(hit);
            }
        }
        hits.sort_unstable_by_key(|h| (std::cmp::Reverse(h.equal), h.source, h.doc));
        if settings.top_k > 0 {
            hits.truncate(settings.top_k);
        }
        hits
    }
}

/// `(key number, source, document)` of every document of `sources` holding one of `keys` (removed
/// documents too when `removed` is set), in key order, then source, then document.
pub fn find_keys(sources: &[Source<'_>], keys: &Keys<'_>, removed: bool) -> Result<Vec<(u64, u32, u32)>> {
    if let Keys::Str { blob, ends } = keys {
        if ends.windows(2).any(|w| w[0] > w[1]) || ends.last().is_some_and(|&e| e > blob.len() as u64) {
            return Err(invalid!("key ends must rise within the key bytes"));
        }
    }
    let mut found = Vec::new();
    let mut look = |q: usize, bytes: &[u8], matches: &dyn Fn(&Segment, usize) -> bool| {
        let hash = key_hash(bytes);
        for (s, source) in sources.iter().enumerate() {
            let (segment, map) = (source.segment, source.segment.bytes());
            let table = segment.key_table();
            let mut docs: Vec<u32> = segment
                .lookup(&table, hash)
                .map(|i| table.value(map, i))
                .filter(|&d| d < segment.header.documents && matches(segment, d as usize))
                .map(|d| d as u32)
                .filter(|&d| removed || !source.removed.is_removed(d))
                .collect();
            docs.sort_unstable();
            found.extend(docs.into_iter().map(|d| (q as u64, s as u32, d)));
        }
    };
    match keys {
        Keys::Str { blob, ends } => {
            let mut start = 0usize;
            for (q, &end) in ends.iter().enumerate() {
                let key = &blob[start..end as usize];
                look(q, key, &|segment, d| segment.str_key(d) == key);
                start = end as usize;
            }
        }
        Keys::Int(ints) => {
            for (q, &v) in ints.iter().enumerate() {
                look(q, &v.to_le_bytes(), &|segment, d| segment.int_key(d) == v);
            }
        }
    }
    sources.iter().try_for_each(|s| s.segment.checked())?;
    Ok(found)
}
