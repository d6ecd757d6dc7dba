//! Putting a segment's entries in the order the segment stores them, in linear time.
//!
//! A segment stores each fingerprint under the top 32 bits of its hash (`stored_key`), its postings
//! sorted under that key. The build used to sort the entries twice with comparison sorts (by hash to
//! remove duplicates, then by stored key to write them), which cost as much as normalizing and
//! winnowing prose together. Here the entries come in document order, each document's sorted by
//! (position, hash), and one stable radix sort on the stored key finishes the job: the result is
//! ordered by (stored key, document, position, hash), so exact duplicates are adjacent and what is
//! written is byte for byte what the two sorts gave.

use crate::fingerprint::Posting;

/// Digits of the stored key sorted per pass (three passes cover its 32 bits); 2^11 counters fit in
/// the first-level cache, where wider digits would miss it on every entry.
const DIGIT_BITS: u32 = 11;
const PASSES: u32 = 32_u32.div_ceil(DIGIT_BITS);

/// The order a segment stores entries in: stored key (the hash's top 32 bits), then posting, then
/// the hash's low bits (which only separate distinct hashes that share a key and a posting).
pub fn stored_rank(entry: &(u64, Posting)) -> (u32, Posting, u32) {
    ((entry.0 >> 32) as u32, entry.1, entry.0 as u32)
}

/// Sorts `entries` by [`stored_rank`] and drops exact duplicates, given entries already ordered by
/// (document, position, hash): a stable sort on the stored key alone then gives the full order.
pub fn into_stored_order(entries: &mut Vec<(u64, Posting)>) {
    debug_assert!(entries.windows(2).all(|w| (w[0].1, w[0].0 as u32) <= (w[1].1, w[1].0 as u32)));
    if entries.len() < 1024 {
        entries.sort_by_key(|e| (e.0 >> 32) as u32); // stable, and quicker than radix on few
    } else {
        radix_sort_by_stored_key(entries);
    }
    entries.dedup();
}

/// Stable least-significant-digit radix sort on the stored key, every pass's counts taken in one
/// read; a pass whose digit is the same for every entry is skipped.
fn radix_sort_by_stored_key(entries: &mut Vec<(u64, Posting)>) {
    let digit = |entry: &(u64, Posting), pass: u32| -> usize {
        ((entry.0 >> (32 + pass * DIGIT_BITS)) & ((1 << DIGIT_BITS) - 1)) as usize
    };
    let mut counts = vec![[0usize; 1 << DIGIT_BITS]; PASSES as usize];
    for entry in entries.iter() {
        for pass in 0..PASSES {
            counts[pass as usize][digit(entry, pass)] += 1;
        }
    }
    let mut scratch = Vec::with_capacity(entries.len());
    advise_huge_pages(&scratch);
    scratch.resize(entries.len(), (0u64, Posting { doc: 0, position: 0 }));
    for pass in 0..PASSES {
        let count = &counts[pass as usize];
        if count.contains(&entries.len()) {
            continue;
        }
        let mut next = [0usize; 1 << DIGIT_BITS];
        let mut total = 0;
        for (slot, &c) in next.iter_mut().zip(count.iter()) {
            *slot = total;
            total += c;
        }
        for entry in entries.iter() {
            let d = digit(entry, pass);
            scratch[next[d]] = *entry;
            next[d] += 1;
        }
        std::mem::swap(entries, &mut scratch);
    }
}

/// Buffers at least this large are backed by transparent huge pages where the kernel allows it.
const HUGE_PAGE: usize = 2 << 20;

/// Asks the kernel to back the reserved, not yet touched memory of `buffer` with transparent huge
/// pages (this machine's kernels have them in `madvise` mode: only where asked). A batch's entries
/// and the radix sort's scratch are fresh buffers of tens of megabytes each, and faulting them in
/// 4 KiB at a time cost about a tenth of a prose build; 2 MiB pages take 512 times fewer faults.
/// Advice only: the contents and the result never depend on it, and a refusal is ignored.
pub fn advise_huge_pages<T>(buffer: &Vec<T>) {
    #[cfg(target_os = "linux")]
    {
        let bytes = buffer.capacity().saturating_mul(std::mem::size_of::<T>());
        let start = buffer.as_ptr() as usize;
        let first = start.div_ceil(HUGE_PAGE) * HUGE_PAGE;
        let end = (start.saturating_add(bytes) / HUGE_PAGE) * HUGE_PAGE;
        if end > first {
            // SAFETY: the range lies inside the buffer's own allocation, and MADV_HUGEPAGE changes
            // neither its contents nor its mapping's validity.
            unsafe { libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_HUGEPAGE) };
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = buffer;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::splitmix64;

    /// Entries in document order as the build makes them, with hashes drawn from `pool` (a small pool
    /// makes shared keys, shared postings and exact duplicates common).
    fn document_order(n: usize, pool: u64, seed: u64) -> Vec<(u64, Posting)> {
        let mut state = seed;
        let hashes: Vec<u64> = (0..pool).map(|_| splitmix64(&mut state)).collect();
        let mut entries: Vec<(u64, Posting)> = (0..n)
            .map(|_| {
                let mut hash = hashes[(splitmix64(&mut state) % pool) as usize];
                if splitmix64(&mut state) % 4 == 0 {
                    hash = (hash & !0xffff_ffff) | (splitmix64(&mut state) & 3);
                    // same key, other low bits
                }
                let doc = (splitmix64(&mut state) % 50) as u32;
                (hash, Posting { doc, position: (splitmix64(&mut state) % 40) as u32 })
            })
            .collect();
        entries.sort_by_key(|e| (e.1, e.0 as u32));
        entries
    }

    /// What the build did before: sort by (hash, posting), drop duplicates, then sort by (key, posting).
    fn two_comparison_sorts(mut entries: Vec<(u64, Posting)>) -> Vec<(u32, Posting)> {
        entries.sort_unstable();
        entries.dedup();
        let mut keyed: Vec<(u32, Posting)> = entries.iter().map(|&(h, p)| ((h >> 32) as u32, p)).collect();
        keyed.sort_unstable();
        keyed
    }

    #[test]
    fn radix_order_writes_what_the_two_sorts_wrote() {
        for (n, pool, seed) in
            [(0, 1, 1), (10, 3, 2), (1023, 40, 3), (1024, 40, 4), (50_000, 700, 5), (50_000, 50_000, 6)]
        {
            let entries = document_order(n, pool, seed);
            let mut ours = entries.clone();
            into_stored_order(&mut ours);
            assert!(ours.windows(2).all(|w| stored_rank(&w[0]) < stored_rank(&w[1])), "n={n}");
            let keyed: Vec<(u32, Posting)> = ours.iter().map(|&(h, p)| ((h >> 32) as u32, p)).collect();
            assert_eq!(keyed, two_comparison_sorts(entries), "n={n} pool={pool}");
        }
    }

    #[test]
    fn a_pass_over_one_digit_value_is_skipped_without_changing_the_order() {
        // Every key below 2^11: the upper two passes see one digit value and are skipped.
        let mut entries: Vec<(u64, Posting)> =
            (0..5000u32).map(|i| (u64::from(i % 2000) << 32, Posting { doc: i, position: 0 })).collect();
        into_stored_order(&mut entries);
        assert!(entries.windows(2).all(|w| stored_rank(&w[0]) < stored_rank(&w[1])));
        assert_eq!(entries.len(), 5000);
    }
}
