//! The two per-document passes over the whole corpus: exact-duplicate groups (before the band keys
//! are clustered) and the keep decisions (after). Both were numpy `lexsort`s whose temporaries took
//! about a hundred bytes per document (a gigabyte at ten million documents, beyond the memory
//! limit); here the peak is 24 bytes per document of scratch plus the results.

use crate::error::Result;
use crate::invalid;
use crate::pool;
use rayon::prelude::*;
use std::cmp::Ordering;

/// Each document's representative among the documents with its content hash (`hashes`: two words
/// per document), and whether it is one: the group's smallest `prefer`-red document when it has
/// one, else its smallest document.
pub fn exact_groups(
    hashes: &[u64],
    prefer: Option<&[bool]>,
    num_threads: usize,
) -> Result<(Vec<u64>, Vec<bool>)> {
    if hashes.len() % 2 != 0 {
        return Err(invalid!("content hashes are two words per document, got {} words", hashes.len()));
    }
    let n = hashes.len() / 2;
    if prefer.is_some_and(|p| p.len() != n) {
        return Err(invalid!("prefer must have one flag per document ({n})"));
    }
    let preferred = |d: usize| prefer.is_some_and(|p| p[d]);
    // (hash, then preferred documents first, then the document): one group's rows are consecutive,
    // its first row names the representative. A 63-bit document number is plenty.
    let mut rows: Vec<(u64, u64, u64)> = (0..n)
        .map(|d| (hashes[2 * d], hashes[2 * d + 1], (u64::from(!preferred(d)) << 63) | d as u64))
        .collect();
    if num_threads <= 1 || n < 1 << 16 {
        rows.sort_unstable();
    } else {
        pool::pool(num_threads)?.install(|| rows.par_sort_unstable());
    }
    let mut rep = vec![0u64; n];
    let mut start = 0;
    while start < n {
        let (h0, h1, first) = rows[start];
        let mut end = start;
        while end < n && rows[end].0 == h0 && rows[end].1 == h1 {
            rep[(rows[end].2 & (u64::MAX >> 1)) as usize] = first & (u64::MAX >> 1);
            end += 1;
        }
        start = end;
    }
    let is_rep = rep.iter().enumerate().map(|(d, &r)| r == d as u64).collect();
    Ok((rep, is_rep))
}

/// What `decide` says of each document.
#[derive(Debug, Clone, PartialEq)]
pub struct Decisions {
    /// Documents in the document's cluster.
    pub size: Vec<i64>,
    pub keep: Vec<bool>,
    /// The kept document it duplicates (`-1` if kept), or `n + r` for reference document `r`.
    pub duplicate_of: Vec<i64>,
}

/// Keeps the `max_copies` best documents of each cluster (`roots[d]`: the cluster's label, a
/// document number): highest `priority` first (NaN after all numbers), ties to the earlier document. A
/// document with a reference match (`reference_match[d] >= 0`) is never kept and duplicates that
/// reference document; another document not kept duplicates its cluster's best document.
pub fn decide(
    roots: &[u64],
    priority: &[f64],
    max_copies: usize,
    reference_match: Option<&[i64]>,
) -> Result<Decisions> {
    let n = roots.len();
    if max_copies < 1 {
        return Err(invalid!("max_copies must be at least 1, got {max_copies}"));
    }
    if priority.len() != n || reference_match.is_some_and(|m| m.len() != n) {
        return Err(invalid!("roots, priority and reference matches must have one entry per document"));
    }
    if let Some(bad) = roots.iter().find(|&&r| r >= n as u64) {
        return Err(invalid!("cluster label {bad} is not one of the {n} documents"));
    }
    // Counting sort by cluster (stable: each cluster's members in document order), so the decision
    // is linear in the corpus and only a cluster's members are ever sorted among themselves.
    // `bounds[c + 1]` counts up to the end of cluster `c`, then down, as its members are placed
    // from the last document back, to its start: cluster `c` is `bounds[c + 1]..bounds[c + 2]`.
    let mut bounds = vec![0usize; n + 2];
    roots.iter().for_each(|&r| bounds[r as usize + 1] += 1);
    for c in 0..n {
        bounds[c + 1] += bounds[c];
    }
    bounds[n + 1] = n;
    let mut members = vec![0usize; n];
    for (d, &r) in roots.iter().enumerate().rev() {
        bounds[r as usize + 1] -= 1;
        members[bounds[r as usize + 1]] = d;
    }
    let matched = |d: usize| reference_match.is_some_and(|m| m[d] >= 0);
    // NaN (no keep value) after every number, -inf included; 0.0 and -0.0 tie.
    let order = |&a: &usize, &b: &usize| {
        matched(a)
            .cmp(&matched(b))
            .then_with(|| priority[a].is_nan().cmp(&priority[b].is_nan()))
            .then_with(|| priority[b].partial_cmp(&priority[a]).unwrap_or(Ordering::Equal))
            .then_with(|| a.cmp(&b))
    };
    let mut out = Decisions { size: vec![0; n], keep: vec![false; n], duplicate_of: vec![-1; n] };
    for c in 0..n {
        let cluster = &mut members[bounds[c + 1]..bounds[c + 2]];
        if cluster.is_empty() {
            continue;
        }
        cluster.sort_by(order);
        let best = cluster[0] as i64;
        for (rank, &d) in cluster.iter().enumerate() {
            out.size[d] = cluster.len() as i64;
            out.keep[d] = rank < max_copies && !matched(d);
            out.duplicate_of[d] = match reference_match {
                Some(m) if m[d] >= 0 => n as i64 + m[d],
                _ if out.keep[d] => -1,
                _ => best,
            };
        }
    }
    Ok(out)
}
