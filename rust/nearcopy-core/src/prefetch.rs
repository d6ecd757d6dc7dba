//! Cache prefetch hints for reads from memory-mapped index files.
//!
//! A lookup in a large mapped file is a few dependent reads from anywhere in it (a directory entry,
//! then keys, then postings), each a cache miss. Taken one lookup after another, every miss is
//! waited for in turn; hinting the next lookups' first reads while the current one runs lets the
//! misses overlap.

/// Hints that the cache line holding `map[at]` will be read soon. Nothing happens past the end of
/// `map`, nor on targets without a prefetch instruction.
#[inline]
pub fn prefetch_at(map: &[u8], at: usize) {
    #[cfg(target_arch = "x86_64")]
    if at < map.len() {
        // SAFETY: a prefetch is a hint that never faults and reads nothing into the program; the
        // pointer is inside the live slice. SSE is part of every x86_64 target.
        unsafe {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            _mm_prefetch::<_MM_HINT_T0>(map.as_ptr().add(at).cast());
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (map, at);
}

/// Cache line size of the targets prefetched for (x86_64, and most of aarch64).
const LINE: usize = 64;

/// Hints every cache line of `map[at..at + len]` (nothing past the end of `map`).
#[inline]
pub fn prefetch_lines(map: &[u8], at: usize, len: usize) {
    if len == 0 || at >= map.len() {
        return;
    }
    let last = at.saturating_add(len - 1).min(map.len() - 1);
    let mut line = at & !(LINE - 1);
    while line <= last {
        prefetch_at(map, line.max(at));
        line += LINE;
    }
}

/// Hints the first and the last cache line of `bytes` (a stored row read whole soon).
#[inline]
pub fn prefetch_ends(bytes: &[u8]) {
    if !bytes.is_empty() {
        prefetch_at(bytes, 0);
        prefetch_at(bytes, bytes.len() - 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_never_read_past_the_map() {
        let map = vec![0u8; 200];
        for (at, len) in
            [(0, 0), (0, 200), (190, 1000), (199, 1), (200, 8), (usize::MAX - 3, 100), (5, usize::MAX)]
        {
            prefetch_lines(&map, at, len);
        }
        prefetch_lines(&[], 0, 64);
    }
}
