//! Containment queries: the documents that hold most of a (short) query, LSH Ensemble's question,
//! on an index of single-slot bands (`rows == 1`) whose segments record each document's set size.
//!
//! A passage of `q` shingles inside a document of `x` has Jaccard similarity `J = c·q / (q + x −
//! c·q)` with it (`c`: the share of the passage the document holds), about 0.02 for 60 words in
//! 2,000: far below any Jaccard band's reach, but a single slot still agrees with probability `J`,
//! so `b` single-slot bands find the pair with probability `1 − (1 − J)^b` (0.92 at `J` = 0.02 and
//! 128 bands). The bands a candidate shares are its agreeing slots (at 32 bits of a hash of each),
//! so they also estimate `J` (`shared / bands`) without reading the verification store, and
//! `c ≈ J·(q + x) / ((1 + J)·q)` follows from the two sizes.
//!
//! That estimate moves in steps of about `x / (q · bands)` (0.29 for 60 words in 2,000 at 128
//! bands), so comparing it with the threshold would drop a document holding the query whenever
//! chance gives it one agreeing slot fewer than its mean. Verification asks instead whether the shared count is one a document
//! holding exactly `threshold` of the query reaches: the count is Binomial(`bands`, `J_t`), `J_t`
//! the Jaccard similarity at the threshold, and a candidate is kept when `P(count ≤ shared) >
//! 1 − boundary_recall` — `boundary_recall` (default 0.5: the median) is the share of documents at
//! the threshold that verification keeps.

use super::header::Header;
use super::query::{gather, Source};
use crate::dedup::{band_keys, Slot};
use crate::error::Result;
use crate::invalid;
use crate::pool;
use rayon::prelude::*;

#[derive(Clone, Copy, Debug)]
pub struct ContainmentSettings {
    /// The share of the query's shingles a document must hold (tested as the module says).
    pub threshold: f64,
    /// Keep only candidates passing the test (else every candidate, each with its estimate).
    pub verify: bool,
    /// At most this many results per query, the most contained first (0: all).
    pub top_k: usize,
    /// The share of candidates holding exactly `threshold` of the query that verification keeps.
    pub boundary_recall: f64,
}

/// A result: document `doc` of source `source` shares `shared` single-slot bands with the query,
/// which gives the estimated `containment` of the query in it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ContainmentHit {
    pub source: u32,
    pub doc: u32,
    pub shared: u32,
    pub containment: f64,
}

/// The containment of a query of `query_size` shingles in a document of `doc_size`, from their
/// estimated Jaccard similarity: `|Q ∩ X| = J·(q + x) / (1 + J)`, divided by `q`, and at most what
/// the smaller set allows (0 for an empty query).
pub fn estimate_containment(jaccard: f64, query_size: u64, doc_size: u64) -> f64 {
    if query_size == 0 {
        return 0.0;
    }
    let (q, x) = (query_size as f64, doc_size as f64);
    let shared = jaccard * (q + x) / (1.0 + jaccard);
    (shared / q).clamp(0.0, (x / q).min(1.0))
}

/// The Jaccard similarity of a query of `query_size` shingles with a document of `doc_size` that
/// holds `containment` of it: `c·q / (q + x − c·q)` (0 for an empty query).
pub fn jaccard_at(containment: f64, query_size: u64, doc_size: u64) -> f64 {
    let shared = containment.clamp(0.0, 1.0) * query_size as f64;
    let union = query_size as f64 + doc_size as f64 - shared;
    if union <= 0.0 {
        return 0.0;
    }
    (shared / union).clamp(0.0, 1.0)
}

/// `P(X ≤ m)` for `X ~ Binomial(n, p)`, summed in log space (no underflow at large `n`).
pub fn binomial_cdf(m: u32, n: u32, p: f64) -> f64 {
    if m >= n || p <= 0.0 {
        return 1.0;
    }
    if p >= 1.0 {
        return 0.0;
    }
    let (ln_p, ln_q) = (p.ln(), (1.0 - p).ln());
    let mut ln_pmf = f64::from(n) * ln_q; // j = 0
    let mut sum = ln_pmf.exp();
    for j in 0..m {
        ln_pmf += (f64::from(n - j) / f64::from(j + 1)).ln() + ln_p - ln_q;
        sum += ln_pmf.exp();
    }
    sum.min(1.0)
}

/// Whether a candidate sharing `shared` of `bands` single-slot bands passes verification: a
/// document holding exactly `settings.threshold` of the query shares at most that many with
/// probability above `1 − boundary_recall`.
pub fn passes(
    shared: u32,
    bands: usize,
    query_size: u64,
    doc_size: u64,
    settings: &ContainmentSettings,
) -> bool {
    if settings.threshold <= 0.0 {
        return true;
    }
    // A document smaller than `threshold` of the query cannot hold that much of it.
    if query_size == 0 || settings.threshold * query_size as f64 > doc_size as f64 {
        return false;
    }
    let at_threshold = jaccard_at(settings.threshold, query_size, doc_size);
    binomial_cdf(shared, bands as u32, at_threshold) > 1.0 - settings.boundary_recall.clamp(0.0, 1.0)
}

/// The containment results of every query row of `sigs` (`num_perm` slots each, `sizes[i]` the
/// set size of row `i`) over `sources`: `bounds` (`queries + 1` offsets) and the hits, per query
/// the most contained first (ties: source, then document). The same for any thread count.
pub fn query_containment<W: Slot>(
    sources: &[Source<'_>],
    params: &Header,
    sigs: &[W],
    sizes: &[u64],
    settings: &ContainmentSettings,
    threads: usize,
) -> Result<(Vec<u64>, Vec<ContainmentHit>)> {
    let k = params.num_perm;
    if k == 0 || sigs.len() % k != 0 {
        return Err(invalid!("query signatures of {} values are not rows of num_perm = {k}", sigs.len()));
    }
    if sizes.len() != sigs.len() / k {
        return Err(invalid!("{} set sizes for {} query signatures", sizes.len(), sigs.len() / k));
    }
    if !(0.0..=1.0).contains(&settings.boundary_recall) {
        return Err(invalid!("boundary_recall must be in [0, 1], got {}", settings.boundary_recall));
    }
    if params.rows != 1 {
        return Err(invalid!(
            "containment queries need single-slot bands; this index has {} rows per band",
            params.rows
        ));
    }
    if let Some(other) = sources.iter().find(|s| !s.segment.header.same_index(params)) {
        return Err(invalid!("{}: a segment of another index", other.segment.path.display()));
    }
    if let Some(other) = sources.iter().find(|s| !s.segment.has_set_sizes()) {
        return Err(invalid!("{}: a segment without set sizes", other.segment.path.display()));
    }
    let keys = band_keys(sigs, k, params.bands, params.rows, threads)?;
    let one = |(keys, &size): (&[u64], &u64), candidates: &mut Vec<u64>| {
        run(sources, params.bands, keys, size, settings, candidates)
    };
    let per_query: Vec<Vec<ContainmentHit>> = if threads <= 1 || sizes.len() < 64 {
        let mut candidates = Vec::new();
        keys.chunks_exact(params.bands).zip(sizes).map(|q| one(q, &mut candidates)).collect()
    } else {
        pool::pool(threads)?.install(|| {
            keys.par_chunks_exact(params.bands)
                .zip(sizes.par_iter())
                .with_min_len(16)
                .map_init(Vec::new, |candidates, q| one(q, candidates))
                .collect()
        })
    };
    let mut bounds = Vec::with_capacity(sizes.len() + 1);
    bounds.push(0u64);
    let mut hits = Vec::with_capacity(per_query.iter().map(Vec::len).sum());
    for found in per_query {
        hits.extend(found);
        bounds.push(hits.len() as u64);
    }
    sources.iter().try_for_each(|s| s.segment.checked())?;
    Ok((bounds, hits))
}

fn run(
    sources: &[Source<'_>],
    bands: usize,
    keys: &[u64],
    query_size: u64,
    settings: &ContainmentSettings,
    candidates: &mut Vec<u64>,
) -> Vec<ContainmentHit> {
    gather(sources, keys, candidates);
    let mut hits = Vec::new();
    // A document appears once per band it shares with the query: the length of its run.
    for run in candidates.chunk_by(|a, b| a == b) {
        let (source, doc) = ((run[0] >> 32) as u32, run[0] as u32);
        let doc_size = sources[source as usize].segment.set_size(doc as usize).unwrap_or(0);
        let shared = run.len() as u32;
        let jaccard = f64::from(shared) / bands as f64;
        let containment = estimate_containment(jaccard, query_size, u64::from(doc_size));
        if !settings.verify || passes(shared, bands, query_size, u64::from(doc_size), settings) {
            hits.push(ContainmentHit { source, doc, shared, containment });
        }
    }
    hits.sort_unstable_by(|a, b| {
        b.containment.total_cmp(&a.containment).then(a.source.cmp(&b.source)).then(a.doc.cmp(&b.doc))
    });
    if settings.top_k > 0 {
        hits.truncate(settings.top_k);
    }
    hits
}

#[cfg(test)]
#[path = "containment_tests.rs"]
mod tests;
