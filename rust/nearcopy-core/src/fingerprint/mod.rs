//! Winnowed k-gram fingerprints of a normalized token stream (Schleimer, Wilkerson & Aiken 2003),
//! the building block of the protected index: spans, not whole documents, are what an output copies.
//!
//! Every run of `k` consecutive tokens gets a hash; of every `w` consecutive k-gram hashes the
//! smallest (the rightmost on ties) is kept, with the position of its k-gram. Guarantee: two streams
//! sharing a run of at least `t = w + k − 1` tokens share at least one fingerprint, at the same offset
//! within the shared run; the expected density is about `2 / (w + 1)` fingerprints per token.

pub mod document;
pub mod key;
mod matching;
pub mod presence;
pub mod segment;
pub mod words;

pub use key::FingerprintKey;
pub use matching::{find_matches, FingerprintTable, MatchParams, Posting, PostingSource, SpanMatch};

use crate::error::Result;
use crate::hash::fmix64;
use crate::invalid;
use std::collections::VecDeque;

/// A selected k-gram: its hash and the index of its first token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint {
    pub hash: u64,
    pub position: u32,
}

/// Winnowing parameters. `key` makes the hashes a pseudo-random function of a secret (an index
/// built with a key cannot be probed for guessed text without it, see [`key`]); `None` is the
/// unkeyed default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Winnowing {
    pub k: usize,
    pub w: usize,
    pub key: Option<FingerprintKey>,
}

/// Winnowing parameters of prose and of code. Code is abstracted into fewer distinct symbols than
/// prose has words, so it needs longer k-grams to be as specific; the key is the same for both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Winnowings {
    pub prose: Winnowing,
    pub code: Winnowing,
}

impl Winnowings {
    pub fn new(
        prose_k: usize,
        prose_w: usize,
        code_k: usize,
        code_w: usize,
        key: Option<FingerprintKey>,
    ) -> Result<Self> {
        Ok(Winnowings {
            prose: Winnowing::new(prose_k, prose_w, key)?,
            code: Winnowing::new(code_k, code_w, key)?,
        })
    }

    pub fn for_content(&self, content: document::Content) -> &Winnowing {
        match content {
            document::Content::Prose | document::Content::CodeWords(_) => &self.prose,
            document::Content::Code(_) => &self.code,
        }
    }
}

/// Multiplier of the rolling polynomial hash (odd, so multiplication is a bijection mod 2^64).
const BASE: u64 = 0x9E37_79B9_7F4A_7C15;

impl Winnowing {
    pub fn new(k: usize, w: usize, key: Option<FingerprintKey>) -> Result<Self> {
        if !(1..=256).contains(&k) {
            return Err(invalid!("k must be between 1 and 256, got {k}"));
        }
        if !(1..=1024).contains(&w) {
            return Err(invalid!("w must be between 1 and 1024, got {w}"));
        }
        Ok(Winnowing { k, w, key })
    }

    /// The guarantee threshold `t = w + k − 1`: shared runs this long always share a fingerprint.
    pub fn guarantee(&self) -> usize {
        self.w + self.k - 1
    }

    /// Hashes of every k-gram of `tokens` (token ids, e.g. symbol ids), in order: the rolling hash
    /// mixed by fmix64, or by SipHash under the key when there is one.
    pub fn kgram_hashes(&self, tokens: &[u64], out: &mut Vec<u64>) {
        // One loop per mixer, so the unkeyed loop is exactly as fast as before keys existed.
        match &self.key {
            None => self.rolling_hashes(tokens, out, fmix64),
            Some(key) => self.rolling_hashes(tokens, out, |h| key.hash_u64(h)),
        }
    }

    #[inline(always)]
    fn rolling_hashes(&self, tokens: &[u64], out: &mut Vec<u64>, mix: impl Fn(u64) -> u64) {
        out.clear();
        let k = self.k;
        if tokens.len() < k {
            return;
        }
        let top = (1..k).fold(1u64, |p, _| p.wrapping_mul(BASE)); // BASE^(k-1)
        let mut rolling = tokens[..k].iter().fold(0u64, |h, &t| h.wrapping_mul(BASE).wrapping_add(t));
        out.push(mix(rolling));
        for i in k..tokens.len() {
            rolling = rolling
                .wrapping_sub(tokens[i - k].wrapping_mul(top))
                .wrapping_mul(BASE)
                .wrapping_add(tokens[i]);
            out.push(mix(rolling));
        }
    }

    /// Winnows `tokens` into `out` (cleared first). Streams shorter than one window keep their single
    /// smallest k-gram, so a short document still has a fingerprint.
    pub fn fingerprints(&self, tokens: &[u64], scratch: &mut Vec<u64>, out: &mut Vec<Fingerprint>) {
        out.clear();
        self.kgram_hashes(tokens, scratch);
        let hashes = scratch.as_slice();
        if hashes.is_empty() {
            return;
        }
        let w = self.w.min(hashes.len());
        if w <= RESCAN_MAX_W {
            winnow_by_rescan(hashes, w, out);
        } else {
            winnow_by_deque(hashes, w, out);
        }
    }
}

/// Windows up to this wide are winnowed by [`winnow_by_rescan`]: the default windows (6 for prose,
/// 10 for code) and any a user is likely to set. Its worst case (hashes increasing, the minimum
/// leaving every window) costs `w` comparisons per k-gram, bounded here.
const RESCAN_MAX_W: usize = 32;

/// The rightmost minimum of every window of `w` hashes, each once, into `out`: the minimum is kept
/// until a smaller (or equal, later) hash arrives or it leaves the window, when the window is
/// scanned again. Twice as fast as the deque on the default windows: no queue to maintain, and a
/// scan of six hashes in cache is cheaper than the deque's branches on every k-gram.
fn winnow_by_rescan(hashes: &[u64], w: usize, out: &mut Vec<Fingerprint>) {
    let mut min = 0usize;
    let mut last_selected = usize::MAX;
    for (i, &hash) in hashes.iter().enumerate() {
        if hash <= hashes[min] {
            min = i; // `<=`: among ties the rightmost (the paper's rule)
        } else if min + w <= i {
            min = i + 1 - w;
            for j in min + 1..=i {
                if hashes[j] <= hashes[min] {
                    min = j;
                }
            }
        }
        if i + 1 >= w && min != last_selected {
            out.push(Fingerprint { hash: hashes[min], position: min as u32 });
            last_selected = min;
        }
    }
}

/// The same as [`winnow_by_rescan`] with a queue of candidate minima (their hashes increasing from
/// front to back; the front is the window's minimum): O(1) amortized per k-gram for any `w`.
fn winnow_by_deque(hashes: &[u64], w: usize, out: &mut Vec<Fingerprint>) {
    let mut window: VecDeque<usize> = VecDeque::with_capacity(w);
    let mut last_selected = usize::MAX;
    for (i, &hash) in hashes.iter().enumerate() {
        // `>=` drops equal older hashes, so among ties the rightmost stays (the paper's rule).
        while window.back().is_some_and(|&j| hashes[j] >= hash) {
            window.pop_back();
        }
        window.push_back(i);
        if window.front().is_some_and(|&j| j + w <= i) {
            window.pop_front();
        }
        if i + 1 >= w {
            let min = window[0];
            if min != last_selected {
                out.push(Fingerprint { hash: hashes[min], position: min as u32 });
                last_selected = min;
            }
        }
    }
}

#[cfg(test)]
mod tests;
