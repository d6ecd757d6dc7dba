//! A code document's words, kept to tell apart documents that normalize alike.
//!
//! Code normalization abstracts identifiers and literals and drops comments, so files that differ
//! only there (one architecture's copy of a file and another's, `la_riscv_gnu_pltenter` against
//! `la_hppa_gnu_pltenter`, the same function under two licence headers) give one token stream and
//! every copy of either matches both with equal coverage. What tells them apart is exactly what
//! was abstracted: the words. A segment keeps each code document's distinct words, hashed
//! ([`document_words`]); among matches of equal coverage, the document holding more of the matched
//! span's words is reported first ([`shared_words`]).
//!
//! A word is a run of two or more ASCII letters, digits and underscores, or bytes of non-ASCII
//! characters (so `Größe` and `変数` are words too), compared exactly (case kept: casing is part of
//! what a copy copies). A word is kept as 16 bits of its hash ([`WordHash`]): two bytes
//! a word instead of four made the index 20% bigger instead of 41% (filter-real's corpus, where
//! code documents hold 200 distinct words on average). A word of an answer not in a document is
//! counted as held with probability (the document's words) / 65,536: 0.3% for 200 words, 2% for a
//! big file's 1,500, which the documents that tie, alike in size, share.

use crate::hash::fmix64;

/// What a segment keeps of a word.
pub type WordHash = u16;
/// Its bytes in a segment (little-endian).
pub const WORD_BYTES: usize = 2;

/// Words shorter than this are not kept: `i`, `x`, `n` are in every file and tell none apart.
const MIN_WORD_BYTES: usize = 2;

/// The hashes of the words of `text`, in order of appearance, repeats included, into `out`.
pub fn word_hashes(text: &[u8], out: &mut Vec<WordHash>) {
    for_each_word(text, &mut |hash| out.push(hash));
}

/// Calls `each` with the hash of every word of `text`, in order: FNV-1a (64-bit) of its bytes,
/// computed as they are scanned, mixed by fmix64, its top 16 bits. (XXH3 of each word once found
/// made the scan a third slower: a call per word, most words a few bytes long.)
#[inline]
fn for_each_word(text: &[u8], each: &mut impl FnMut(WordHash)) {
    const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
    let finish = |hash: u64| (fmix64(hash) >> 48) as WordHash;
    let (mut hash, mut len) = (FNV_OFFSET, 0usize);
    for &b in text {
        if WORD_BYTE[usize::from(b)] {
            hash = (hash ^ u64::from(b)).wrapping_mul(FNV_PRIME);
            len += 1;
            continue;
        }
        if len >= MIN_WORD_BYTES {
            each(finish(hash));
        }
        (hash, len) = (FNV_OFFSET, 0);
    }
    if len >= MIN_WORD_BYTES {
        each(finish(hash));
    }
}

/// Which bytes belong to words: ASCII letters, digits, `_`, and every byte of a non-ASCII character.
static WORD_BYTE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80;
        b += 1;
    }
    table
};

/// The distinct word hashes of `text`, sorted, into `out` (cleared first): what a segment stores
/// of a code document, and what an answer's part is compared with. Deduplicated in a bitset of
/// every hash (8 KB), read out in order: a sort of the words with their repeats cost as much again
/// as finding and hashing them.
pub fn document_words(text: &[u8], out: &mut Vec<WordHash>) {
    out.clear();
    SEEN.with(|seen| {
        let mut seen = seen.borrow_mut();
        let mut each = |hash: WordHash| seen[usize::from(hash >> 6)] |= 1u64 << (hash & 63);
        for_each_word(text, &mut each);
        // Read out and cleared together, so the set is empty for the next text.
        for (i, bits) in seen.iter_mut().enumerate() {
            while *bits != 0 {
                out.push((i * 64) as WordHash + bits.trailing_zeros() as WordHash);
                *bits &= *bits - 1;
            }
        }
    });
}

thread_local! {
    /// One bit per possible word hash.
    static SEEN: std::cell::RefCell<Box<[u64; 1 << 10]>> = std::cell::RefCell::new(Box::new([0; 1 << 10]));
}

/// How many of `wanted` (sorted, distinct) are in `held` (a document's stored words: sorted,
/// distinct, [`WORD_BYTES`] little-endian bytes each). A merge of the two sorted lists, galloping
/// through `held` when it is much the longer (a big file's thousands of words against a block's
/// hundred).
pub fn shared_words(wanted: &[WordHash], held: &[u8]) -> u32 {
    let len = held.len() / WORD_BYTES;
    let at = |i: usize| WordHash::from_le_bytes([held[WORD_BYTES * i], held[WORD_BYTES * i + 1]]);
    let (mut shared, mut lo) = (0u32, 0usize);
    for &word in wanted {
        // Gallop: the first stored word >= `word` lies within the next 1, 2, 4, ... places.
        let mut step = 1;
        let mut hi = lo;
        while hi < len && at(hi) < word {
            lo = hi + 1;
            hi = lo + step;
            step *= 2;
        }
        let mut hi = hi.min(len);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if at(mid) < word {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        if lo == len {
            break;
        }
        if at(lo) == word {
            shared += 1;
            lo += 1;
        }
    }
    shared
}

/// The words of a run of documents, as a segment stores them: document `d`'s sorted distinct
/// hashes are `hashes[starts[d]..starts[d + 1]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentWords {
    pub starts: Vec<u64>,
    pub hashes: Vec<WordHash>,
}

impl Default for DocumentWords {
    fn default() -> Self {
        DocumentWords { starts: vec![0], hashes: Vec::new() }
    }
}

impl DocumentWords {
    /// `documents` documents without words (prose, or a segment of an older format).
    pub fn none(documents: usize) -> Self {
        DocumentWords { starts: vec![0; documents + 1], hashes: Vec::new() }
    }

    pub fn documents(&self) -> usize {
        self.starts.len() - 1
    }

    /// Appends a document holding `words` (sorted, distinct).
    pub fn push(&mut self, words: &[WordHash]) {
        self.hashes.extend_from_slice(words);
        self.starts.push(self.hashes.len() as u64);
    }

    /// Appends every document of `other`, after this one's.
    pub fn extend(&mut self, other: &DocumentWords) {
        let base = self.hashes.len() as u64;
        self.hashes.extend_from_slice(&other.hashes);
        self.starts.extend(other.starts[1..].iter().map(|s| s + base));
    }

    /// Document `d`'s words.
    pub fn of(&self, d: usize) -> &[WordHash] {
        &self.hashes[self.starts[d] as usize..self.starts[d + 1] as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(words: &[WordHash]) -> Vec<u8> {
        words.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    #[test]
    fn words_are_runs_of_two_or_more_word_bytes_compared_exactly() {
        let mut a = Vec::new();
        word_hashes("la_riscv_gnu_pltenter (x, La_riscv_regs *regs) /* RISC-V */".as_bytes(), &mut a);
        let mut b = Vec::new();
        for w in ["la_riscv_gnu_pltenter", "La_riscv_regs", "regs", "RISC"] {
            word_hashes(w.as_bytes(), &mut b);
        }
        assert_eq!(a, b, "`x` and `V` are too short; `*`, `(`, `-` end words");
        let mut c = Vec::new();
        word_hashes("Größe 変数 regs REGS".as_bytes(), &mut c);
        assert_eq!(c.len(), 4);
        assert_ne!(c[2], c[3], "case is kept");
    }

    #[test]
    fn document_words_are_sorted_and_distinct() {
        let mut out = vec![7];
        document_words(b"b a_ b a_ cc b", &mut out);
        let mut expected = Vec::new();
        word_hashes(b"a_ cc", &mut expected);
        expected.sort_unstable();
        assert_eq!(out, expected);
        // Random texts of random words (many hashes, repeats): the bitset gives what a sort does.
        let mut state = 11u64;
        for n in [0usize, 1, 50, 5000, 60_000] {
            let text: Vec<u8> =
                (0..n).map(|_| b"ab_ 9\x80z."[(crate::hash::splitmix64(&mut state) % 8) as usize]).collect();
            let mut expected = Vec::new();
            word_hashes(&text, &mut expected);
            expected.sort_unstable();
            expected.dedup();
            document_words(&text, &mut out);
            assert_eq!(out, expected, "{n} bytes");
        }
    }

    #[test]
    fn shared_words_agrees_with_a_plain_count() {
        let mut state = 3u64;
        for (n_wanted, n_held) in [(0, 0), (1, 0), (0, 5), (10, 3), (3, 1000), (200, 5000), (50, 50)] {
            let mut draw = |n: usize, modulus: u64| {
                let mut v: Vec<WordHash> =
                    (0..n).map(|_| (crate::hash::splitmix64(&mut state) % modulus) as WordHash).collect();
                v.sort_unstable();
                v.dedup();
                v
            };
            let held = draw(n_held, 8000);
            let wanted = draw(n_wanted, 8000);
            let plain = wanted.iter().filter(|w| held.contains(w)).count() as u32;
            assert_eq!(shared_words(&wanted, &bytes(&held)), plain, "{n_wanted} against {n_held}");
        }
        assert_eq!(shared_words(&[1, 2, WordHash::MAX], &bytes(&[0, 2, WordHash::MAX])), 2);
    }

    #[test]
    fn document_words_of_a_run() {
        let mut words = DocumentWords::none(2);
        words.push(&[1, 5]);
        let mut more = DocumentWords::default();
        more.push(&[]);
        more.push(&[2]);
        words.extend(&more);
        assert_eq!(words.documents(), 5);
        assert_eq!(
            (words.of(0), words.of(2), words.of(3), words.of(4)),
            (&[][..], &[1, 5][..], &[][..], &[2][..])
        );
    }
}
