//! Exact comparisons: identical texts by a 128-bit hash (the fast path), and exact Jaccard
//! similarity of shingle sets (`--verify exact`).

use crate::code::{CodeNormalizer, CodeOptions};
use crate::error::{Error, Result};
use crate::invalid;
use crate::pool;
use crate::shingle::Shingler;
use crate::text::TextOptions;
use rayon::prelude::*;
use std::sync::Mutex;
use xxhash_rust::xxh3::xxh3_128;

/// XXH3-128 of each text's UTF-8 bytes, as `[low, high, low, high, ...]`. At 128 bits, ten million
/// documents collide with probability about 10^-25, so equal hashes are taken for equal texts.
pub fn content_hashes(texts: &[&str], num_threads: usize) -> Result<Vec<u64>> {
    let hash = |t: &&str| {
        let h = xxh3_128(t.as_bytes());
        [h as u64, (h >> 64) as u64]
    };
    if num_threads <= 1 {
        return Ok(texts.iter().flat_map(hash).collect());
    }
    let pairs: Vec<[u64; 2]> = pool::pool(num_threads)?.install(|| texts.par_iter().map(hash).collect());
    Ok(pairs.into_iter().flatten().collect())
}

/// How one document is shingled: prose options, or code options for its language.
#[derive(Clone, Copy)]
pub enum Shingling<'a> {
    Text(&'a TextOptions),
    Code(&'a CodeOptions),
}

/// Each document's set of shingles as sorted, distinct XXH3-64 hashes: flat values and
/// `docs + 1` bounds (document `d` owns `values[bounds[d]..bounds[d + 1]]`).
pub fn shingle_sets(docs: &[(&str, Shingling<'_>)], num_threads: usize) -> Result<(Vec<u64>, Vec<u64>)> {
    let failure: Mutex<Option<Error>> = Mutex::new(None);
    let one = |(text, how): &(&str, Shingling<'_>), shingler: &mut Shingler, code: &mut CodeNormalizer| {
        let mut set = Vec::new();
        let emit = |s: &[u8]| set.push(xxhash_rust::xxh3::xxh3_64(s));
        match how {
            Shingling::Text(opts) => shingler.shingles(text, opts, emit),
            Shingling::Code(opts) => {
                if let Err(err) = code.shingles(text, opts, emit) {
                    *failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(err);
                }
            }
        }
        set.sort_unstable();
        set.dedup();
        set
    };
    let sets: Vec<Vec<u64>> = if num_threads <= 1 {
        let (mut shingler, mut code) = (Shingler::new(), CodeNormalizer::new());
        docs.iter().map(|d| one(d, &mut shingler, &mut code)).collect()
    } else {
        pool::pool(num_threads)?.install(|| {
            docs.par_iter()
                .map_init(|| (Shingler::new(), CodeNormalizer::new()), |(s, c), d| one(d, s, c))
                .collect()
        })
    };
    if let Some(err) = failure.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(err);
    }
    let mut bounds = Vec::with_capacity(sets.len() + 1);
    bounds.push(0u64);
    let mut values = Vec::with_capacity(sets.iter().map(Vec::len).sum());
    for set in sets {
        values.extend_from_slice(&set);
        bounds.push(values.len() as u64);
    }
    Ok((values, bounds))
}

/// |A ∩ B| / |A ∪ B| of two sorted, distinct sets (1.0 for two empty sets, as identical documents).
fn jaccard(a: &[u64], b: &[u64]) -> f64 {
    let (mut i, mut j, mut common) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
        }
    }
    let union = a.len() + b.len() - common;
    if union == 0 {
        1.0
    } else {
        common as f64 / union as f64
    }
}

/// Exact Jaccard similarity of each pair `(i, j)` of `pairs`, over sets from [`shingle_sets`].
pub fn exact_jaccard(values: &[u64], bounds: &[u64], pairs: &[u64], num_threads: usize) -> Result<Vec<f64>> {
    let rising = bounds.first() == Some(&0)
        && bounds.windows(2).all(|w| w[0] <= w[1])
        && bounds.last() == Some(&(values.len() as u64));
    if !rising {
        return Err(invalid!("set bounds must rise from 0 to the number of values"));
    }
    let docs = bounds.len() as u64 - 1;
    if pairs.len() % 2 != 0 || pairs.iter().any(|&d| d >= docs) {
        return Err(invalid!("pairs must be (i, j) pairs of documents below {docs}"));
    }
    let set = |d: u64| &values[bounds[d as usize] as usize..bounds[d as usize + 1] as usize];
    let one = |p: &[u64]| jaccard(set(p[0]), set(p[1]));
    if num_threads <= 1 || pairs.len() < 1 << 12 {
        return Ok(pairs.chunks_exact(2).map(one).collect());
    }
    Ok(pool::pool(num_threads)?.install(|| pairs.par_chunks_exact(2).with_min_len(256).map(one).collect()))
}
