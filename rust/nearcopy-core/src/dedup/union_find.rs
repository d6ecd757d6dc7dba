//! Union-find over documents `0..n` in a caller-owned parent array.
//!
//! The array lives with the caller (a numpy array in Python) so that the components can grow across
//! many calls, one per bucket, without any state in the extension. The root of a component is always
//! its smallest document (a union links the larger root under the smaller), so `parent[i] <= i` holds
//! everywhere, `find` always terminates, and the labels do not depend on the order of the unions: the
//! same pairs in any order, any bucketing, any thread count give the same labels.

use crate::error::Result;
use crate::invalid;

fn check(parent: &[u64], pairs: &[u64]) -> Result<()> {
    if let Some(i) = parent.iter().enumerate().position(|(i, &p)| p > i as u64) {
        return Err(invalid!("parent[{i}] = {} is not a valid union-find parent", parent[i]));
    }
    if pairs.len() % 2 != 0 {
        return Err(invalid!("pairs must be (i, j) pairs, got {} values", pairs.len()));
    }
    if let Some(&bad) = pairs.iter().find(|&&d| d >= parent.len() as u64) {
        return Err(invalid!("pair names document {bad}, but there are only {} documents", parent.len()));
    }
    Ok(())
}

/// The root of `x`, halving the path on the way (every node visited then points to its grandparent).
#[inline]
fn find(parent: &mut [u64], mut x: u64) -> u64 {
    while parent[x as usize] != x {
        let grand = parent[parent[x as usize] as usize];
        parent[x as usize] = grand;
        x = grand;
    }
    x
}

/// Joins the components of every pair; returns the number of merges (pairs that were not yet
/// connected).
pub fn union_pairs(parent: &mut [u64], pairs: &[u64]) -> Result<u64> {
    check(parent, pairs)?;
    let mut merges = 0;
    for pair in pairs.chunks_exact(2) {
        let (a, b) = (find(parent, pair[0]), find(parent, pair[1]));
        if a != b {
            parent[a.max(b) as usize] = a.min(b);
            merges += 1;
        }
    }
    Ok(merges)
}

/// The pairs (`[i, j, ...]`) whose documents are not yet in one component: only these need
/// verifying, since an edge inside a component cannot change the components.
pub fn unconnected(parent: &mut [u64], pairs: &[u64]) -> Result<Vec<u64>> {
    check(parent, pairs)?;
    let mut out = Vec::new();
    for pair in pairs.chunks_exact(2) {
        if find(parent, pair[0]) != find(parent, pair[1]) {
            out.extend_from_slice(pair);
        }
    }
    Ok(out)
}

/// Every document's root (its component's smallest document), compressing the array fully.
pub fn roots(parent: &mut [u64]) -> Result<Vec<u64>> {
    check(parent, &[])?;
    // Ascending order: a parent is smaller than its child, so it is already final when reached.
    for i in 0..parent.len() {
        parent[i] = parent[parent[i] as usize];
    }
    Ok(parent.to_vec())
}
