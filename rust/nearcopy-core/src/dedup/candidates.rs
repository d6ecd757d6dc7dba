//! Candidate pairs from one bucket of `(key, doc)` records: documents sharing a band key.

use crate::error::Result;
use crate::invalid;
use crate::pool;
use rayon::prelude::*;

/// Pairs `(i, j)`, `i < j`, of documents sharing a key among `records` (`[key, doc, ...]`),
/// flattened as `[i, j, ...]`, sorted and without repeats.
///
/// A group of at most `max_group` documents is paired all-to-all, as datasketch's `MinHashLSH`
/// query would. A larger group is linked as a star to its first document plus a chain through
/// consecutive documents (2n pairs instead of n²/2): such groups are swarms of near-identical copies
/// (boilerplate, templates), where every member verifies against the first; a member similar only to
/// other non-first members may lose its edge, which is the price of staying linear.
pub fn candidate_pairs(records: &[u64], max_group: usize, num_threads: usize) -> Result<Vec<u64>> {
    if records.len() % 2 != 0 {
        return Err(invalid!("records must be (key, doc) pairs, got {} values", records.len()));
    }
    let mut sorted: Vec<(u64, u64)> = records.chunks_exact(2).map(|r| (r[0], r[1])).collect();
    if !sorted.is_sorted() {
        sort(&mut sorted, num_threads)?; // the pipeline's slices come sorted (`sort_records`)
    }
    let mut pairs: Vec<(u64, u64)> = Vec::new();
    let mut members: Vec<u64> = Vec::new();
    let mut start = 0;
    while start < sorted.len() {
        let key = sorted[start].0;
        let end = start + sorted[start..].iter().take_while(|r| r.0 == key).count();
        members.clear();
        members.extend(sorted[start..end].iter().map(|r| r.1));
        members.dedup(); // sorted by doc already; a repeat is a cross-band key collision
        if members.len() <= max_group.max(2) {
            for (a, &i) in members.iter().enumerate() {
                pairs.extend(members[a + 1..].iter().map(|&j| (i, j)));
            }
        } else {
            pairs.extend(members[1..].iter().map(|&j| (members[0], j)));
            pairs.extend(members.windows(2).skip(1).map(|w| (w[0], w[1])));
        }
        start = end;
    }
    sort(&mut pairs, num_threads)?;
    pairs.dedup();
    Ok(pairs.into_iter().flat_map(|(i, j)| [i, j]).collect())
}

/// `(key, doc)` records (`[key, doc, ...]`) sorted by key, then document: the order in which
/// `candidate_pairs` reads them, and in which a caller can cut them at key boundaries.
pub fn sort_records(records: &[u64], num_threads: usize) -> Result<Vec<u64>> {
    if records.len() % 2 != 0 {
        return Err(invalid!("records must be (key, doc) pairs, got {} values", records.len()));
    }
    let mut sorted: Vec<(u64, u64)> = records.chunks_exact(2).map(|r| (r[0], r[1])).collect();
    sort(&mut sorted, num_threads)?;
    Ok(sorted.into_iter().flat_map(|(key, doc)| [key, doc]).collect())
}

fn sort(items: &mut [(u64, u64)], num_threads: usize) -> Result<()> {
    if num_threads <= 1 || items.len() < 1 << 16 {
        items.sort_unstable();
    } else {
        pool::pool(num_threads)?.install(|| items.par_sort_unstable());
    }
    Ok(())
}
