//! Verification of candidate pairs against the full signatures.

use super::bands::Slot;
use crate::error::Result;
use crate::invalid;
use crate::pool;
use rayon::prelude::*;

/// For each pair `(i, j)` of `pairs` (`[i, j, ...]`), the number of slots where rows `i` and `j` of
/// `sigs` agree: the estimated Jaccard similarity is that count over `num_perm`. Counts, not
/// floats, so that a threshold test is exact and the same in every driver.
pub fn equal_slots<W: Slot>(
    sigs: &[W],
    num_perm: usize,
    pairs: &[u64],
    num_threads: usize,
) -> Result<Vec<u32>> {
    if num_perm == 0 || sigs.len() % num_perm != 0 {
        return Err(invalid!("signatures of {} values are not rows of num_perm = {num_perm}", sigs.len()));
    }
    let docs = (sigs.len() / num_perm) as u64;
    if pairs.len() % 2 != 0 {
        return Err(invalid!("pairs must be (i, j) pairs, got {} values", pairs.len()));
    }
    if let Some(&bad) = pairs.iter().find(|&&d| d >= docs) {
        return Err(invalid!("pair names document {bad}, but there are only {docs} signatures"));
    }
    let row = |d: u64| &sigs[d as usize * num_perm..(d as usize + 1) * num_perm];
    let count = |pair: &[u64]| row(pair[0]).iter().zip(row(pair[1])).filter(|(a, b)| a == b).count() as u32;
    if num_threads <= 1 || pairs.len() < 1 << 14 {
        return Ok(pairs.chunks_exact(2).map(count).collect());
    }
    Ok(pool::pool(num_threads)?.install(|| pairs.par_chunks_exact(2).with_min_len(1024).map(count).collect()))
}
