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

/// Hints the first and the last cache line of `bytes` (a stored row read whole soon).
#[inline]
pub fn prefetch_ends(bytes: &[u8]) {
    if !bytes.is_empty() {
        prefetch_at(bytes, 0);
        prefetch_at(bytes, bytes.len() - 1);
    }
}
