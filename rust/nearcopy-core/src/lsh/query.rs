//! Queries: the documents of an index sharing a band with each query signature, verified against
//! the store and ranked; and the documents holding given keys.

use super::header::Header;
use super::rank::RankKey;
use super::segment::Segment;
use super::store::equal_count;
use super::tombstones::Tombstones;
use super::write::Keys;
use super::{key_hash, stored_key};
use crate::dedup::{row_band_keys, Slot};
use crate::error::Result;
use crate::invalid;
use crate::pool;
use crate::prefetch::prefetch_ends;
use rayon::prelude::*;
use std::ops::Range;

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
    /// Keep only candidates reaching `threshold` (a threshold of 0 keeps every candidate, each
    /// with its estimate). Without it and without `top_k`, the hits are the raw candidates in the
    /// order found, `equal` 0: band lookups only, no stored row read, as datasketch's and rensa's
    /// queries answer.
    pub verify: bool,
    /// At most this many results per query, the most similar first (0: all).
    pub top_k: usize,
}

impl QuerySettings {
    /// Whether each candidate is compared with its stored row, the hits carrying [`Hit::equal`]
    /// (else they are the raw candidates).
    pub fn estimates(&self) -> bool {
        self.verify || self.top_k > 0
    }
}

/// A result: document `doc` of source `source`, which agrees with the query on `equal` stored slots
/// (0 when the settings ask for raw candidates).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hit {
    pub source: u32,
    pub doc: u32,
    pub equal: u32,
}

/// Checks that `sources` are segments of the index of `params`, queried with rows of `len` slots
/// in all.
fn check_query(sources: &[Source<'_>], params: &Header, len: usize) -> Result<()> {
    let k = params.num_perm;
    if k == 0 || len % k != 0 {
        return Err(invalid!("query signatures of {len} values are not rows of num_perm = {k}"));
    }
    if let Some(other) = sources.iter().find(|s| !s.segment.header.same_index(params)) {
        return Err(invalid!("{}: a segment of another index", other.segment.path.display()));
    }
    Ok(())
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
    check_query(sources, params, sigs.len())?;
    let k = params.num_perm;
    let min_equal = params.store.min_equal(settings.threshold, k);
    let one =
        |row: &[W], scratch: &mut Scratch| scratch.run(sources, params, row, settings, min_equal).to_vec();
    let rows = sigs.len() / k;
    let per_query: Vec<Vec<Hit>> = if threads <= 1 || rows < 64 {
        with_scratch(|scratch| sigs.chunks_exact(k).map(|row| one(row, scratch)).collect())
    } else {
        pool::pool(threads)?.install(|| {
            sigs.par_chunks_exact(k)
                .with_min_len(16)
                .map_init(Scratch::default, |scratch, row| one(row, scratch))
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

/// [`query`] of one signature `sig`, on this thread: `read` is given its hits (most similar
/// first), from a buffer kept for the thread's next query. A single query is a few microseconds,
/// so what [`query`] allocates per call (band keys, a vector per query, bounds) was a good part of
/// it.
pub fn query_one<W: Slot, R>(
    sources: &[Source<'_>],
    params: &Header,
    sig: &[W],
    settings: &QuerySettings,
    read: impl FnOnce(&[Hit]) -> R,
) -> Result<R> {
    if sig.len() != params.num_perm {
        return Err(invalid!(
            "a query signature of {} values, not num_perm = {}",
            sig.len(),
            params.num_perm
        ));
    }
    check_query(sources, params, sig.len())?;
    let min_equal = params.store.min_equal(settings.threshold, params.num_perm);
    with_scratch(|scratch| {
        scratch.run(sources, params, sig, settings, min_equal);
        sources.iter().try_for_each(|s| s.segment.checked())?;
        Ok(read(&scratch.hits))
    })
}

/// Candidates ahead whose stored rows are fetched into the cache while the current one is compared:
/// the rows are scattered through the store, and waiting for each in turn left the core idle.
const PREFETCH_DISTANCE: usize = 8;

/// `source << 32 | doc` of every live document sharing a band with the query's band `keys`, once
/// per band it shares, sorted (a document's repeats are adjacent: containment counts them).
pub(super) fn gather(sources: &[Source<'_>], keys: &[u64], candidates: &mut Vec<u64>) {
    candidates.clear();
    for_each_candidate(sources, keys, &mut Vec::new(), |_, packed| candidates.push(packed));
    // The stable sort merges runs: each band's lookup comes sorted by document, and a document
    // near the query is found in many bands (an unstable sort of thousands of such repeats was
    // most of a slow query's time).
    candidates.sort();
}

/// Calls `f(source, source << 32 | doc)` for every live document sharing a band with the query's
/// band `keys`, once per band it shares (`found`: a buffer for the bands' entry ranges).
#[inline]
fn for_each_candidate(
    sources: &[Source<'_>],
    keys: &[u64],
    found: &mut Vec<Range<usize>>,
    mut f: impl FnMut(usize, u64),
) {
    for (s, source) in sources.iter().enumerate() {
        let (segment, bytes) = (source.segment, source.segment.bytes());
        let (documents, high, removals) =
            (segment.header.documents, (s as u64) << 32, source.removed.count() > 0);
        // Each band's lookup is three dependent reads (directory, keys, values) from anywhere in a
        // large file, most of a light query's time when taken one after the other: every band
        // takes each step before any takes the next, so the bands' reads overlap.
        for (band, &key) in keys.iter().enumerate() {
            segment.prefetch(segment.band_table(band).directory_bytes(stored_key(key)).0);
        }
        found.clear();
        for (band, &key) in keys.iter().enumerate() {
            let table = segment.band_table(band);
            let bucket = segment.bucket_entries(&table, stored_key(key));
            let (at, len) = table.keys_bytes(&bucket);
            if len > 0 {
                segment.prefetch(at);
                segment.prefetch(at + len - 1);
            }
            found.push(bucket);
        }
        for (band, (&key, range)) in keys.iter().zip(found.iter_mut()).enumerate() {
            let table = segment.band_table(band);
            *range = segment.search(&table, stored_key(key), range.clone());
            if range.start < range.end {
                segment.prefetch(table.values_bytes(range).0);
            }
        }
        for (band, range) in found.iter().enumerate() {
            segment.band_table(band).for_each_value(bytes, range.clone(), |doc| {
                // A damaged value past the segment's documents is no candidate (verify reports it).
                if doc < documents && !(removals && source.removed.is_removed(doc as u32)) {
                    f(s, high | doc);
                }
            });
        }
    }
}

thread_local! {
    static SCRATCH: std::cell::Cell<Scratch> = std::cell::Cell::new(Scratch::default());
}

/// Runs `f` with this thread's scratch, kept between calls: single queries would otherwise regrow
/// their buffers every time (a tenth of a heavy query went to reallocating the candidates).
fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    SCRATCH.with(|cell| {
        let mut scratch = cell.take();
        let out = f(&mut scratch);
        cell.set(scratch);
        out
    })
}

/// A query's buffers.
#[derive(Default)]
struct Scratch {
    keys: Vec<u64>,
    band_bytes: Vec<u8>,
    /// `source << 32 | doc` of each distinct candidate, in the order first found.
    candidates: Vec<u64>,
    /// One bit per document of the sources (source `s`'s from bit `firsts[s]`): set once the
    /// document is among the candidates, so a document found in many bands is taken once without
    /// sorting every find (the sort was a fifth of a heavy query). Clear between queries.
    seen: Vec<u64>,
    firsts: Vec<usize>,
    /// Each band's entries in the segment being searched.
    found: Vec<Range<usize>>,
    row: Vec<u8>,
    /// The hits as [`RankKey`]s, while they are ranked.
    ranked: Vec<u64>,
    hits: Vec<Hit>,
}

impl Scratch {
    /// The hits of one query `row` (in `self.hits`, the most similar first).
    fn run<W: Slot>(
        &mut self,
        sources: &[Source<'_>],
        params: &Header,
        row: &[W],
        settings: &QuerySettings,
        min_equal: u32,
    ) -> &[Hit] {
        self.keys.resize(params.bands, 0);
        row_band_keys(row, params.rows, &mut self.keys, &mut self.band_bytes);
        self.gather_distinct(sources);
        self.hits.clear();
        if !settings.estimates() {
            let hit = |&packed: &u64| Hit { source: (packed >> 32) as u32, doc: packed as u32, equal: 0 };
            self.hits.extend(self.candidates.iter().map(hit));
            return &self.hits;
        }
        self.row.clear();
        params.store.encode(row, params.slot_bytes(), &mut self.row);
        let width = params.store.slot_bytes(params.slot_bytes());
        let stored = |packed: u64| sources[(packed >> 32) as usize].segment.store_row(packed as u32 as usize);
        let ranks = RankKey::new(sources, params.num_perm);
        self.ranked.clear();
        for (i, &packed) in self.candidates.iter().enumerate() {
            if let Some(&ahead) = self.candidates.get(i + PREFETCH_DISTANCE) {
                prefetch_ends(stored(ahead));
            }
            let equal = equal_count(&self.row, stored(packed), width);
            if !settings.verify || equal >= min_equal {
                match ranks {
                    Some(ranks) => self.ranked.push(ranks.key(packed, equal)),
                    None => self.hits.push(Hit { source: (packed >> 32) as u32, doc: packed as u32, equal }),
                }
            }
        }
        self.rank(ranks, settings.top_k);
        &self.hits
    }

    /// Orders the hits (in `ranked` as keys, else in `hits`) the most similar first, ties by
    /// source then document, the first `top_k` only (0: all), into `hits`.
    fn rank(&mut self, ranks: Option<RankKey>, top_k: usize) {
        match ranks {
            Some(ranks) => {
                // One integer per hit whose order is the hits': a sort of u64s, not of tuples
                // compared field by field (that sort was an eighth of a heavy verified query).
                if top_k > 0 && self.ranked.len() > top_k {
                    self.ranked.select_nth_unstable(top_k - 1);
                    self.ranked.truncate(top_k);
                }
                self.ranked.sort_unstable();
                self.hits.extend(self.ranked.iter().map(|&key| ranks.hit(key)));
            }
            None => {
                // (source, doc) is unique, so the order is total: the same hits whatever order the
                // candidates were found in.
                let rank = |h: &Hit| (std::cmp::Reverse(h.equal), h.source, h.doc);
                if top_k > 0 && self.hits.len() > top_k {
                    self.hits.select_nth_unstable_by_key(top_k - 1, rank);
                    self.hits.truncate(top_k);
                }
                self.hits.sort_unstable_by_key(rank);
            }
        }
    }

    /// The distinct live documents sharing a band with the query's band keys, into `candidates`.
    fn gather_distinct(&mut self, sources: &[Source<'_>]) {
        let Scratch { keys, candidates, seen, firsts, found, .. } = self;
        candidates.clear();
        firsts.clear();
        let mut total = 0usize;
        for source in sources {
            firsts.push(total);
            total += source.segment.len();
        }
        if seen.len() < total.div_ceil(64) {
            seen.resize(total.div_ceil(64), 0);
        }
        for_each_candidate(sources, keys, found, |s, packed| {
            let bit = firsts[s] + (packed as u32 as usize);
            let (word, mask) = (bit / 64, 1u64 << (bit % 64));
            if seen[word] & mask == 0 {
                seen[word] |= mask;
                candidates.push(packed);
            }
        });
        // Cleared bit by bit, or whole when the candidates are many.
        if candidates.len() * 8 >= seen.len() {
            seen.fill(0);
        } else {
            for &packed in candidates.iter() {
                let bit = firsts[(packed >> 32) as usize] + (packed as u32 as usize);
                seen[bit / 64] &= !(1u64 << (bit % 64));
            }
        }
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
