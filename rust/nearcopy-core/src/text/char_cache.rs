//! What the normalizer does with one character, remembered: text outside ASCII (accented Latin,
//! Cyrillic, Greek, CJK) repeats a small set of characters, and working each one out afresh -- its
//! combining class, NFKC twice and case folding through iterators, then a binary search per output
//! character for its class -- cost about 1,000 instructions a character, so such text was read
//! 5-15 times slower than English. A direct-mapped table indexed by the code point answers most
//! characters with one comparison.

use super::classify::{is_no_space_char, is_word_char, push_casefolded};
use super::TextOptions;
use unicode_normalization::char::canonical_combining_class;
use unicode_normalization::UnicodeNormalization;

/// Slots of the table (a power of two). 2,048 slots of 20 bytes: 40 KB, inside L2.
const SLOTS: usize = 2048;
/// Longest mapping kept, in bytes and in characters (the class masks are one byte).
const MAX_BYTES: usize = 12;
const MAX_CHARS: usize = 8;
const EMPTY: u32 = u32::MAX; // no char has this value

/// One character's entry.
#[derive(Clone, Copy)]
pub(super) struct CharInfo {
    key: u32,
    /// Canonical combining class 0: the character starts a cluster.
    pub starter: bool,
    /// Bytes of the mapping in `bytes`; `u8::MAX` when it is too long to keep.
    len: u8,
    /// Bit k: the mapping's k-th character is a word character / of a no-space script.
    pub word: u8,
    pub no_space: u8,
    bytes: [u8; MAX_BYTES],
}

impl CharInfo {
    const VACANT: CharInfo =
        CharInfo { key: EMPTY, starter: true, len: 0, word: 0, no_space: 0, bytes: [0; MAX_BYTES] };

    /// `nfkc(casefold(nfkc(c)))` of the character as a cluster by itself, when short enough to keep.
    pub fn mapped(&self) -> Option<&str> {
        let bytes = self.bytes.get(..usize::from(self.len))?;
        // SAFETY: the bytes were copied whole from a `str` (see `fill`), so they are valid UTF-8;
        // checking again cost as much as the rest of the lookup.
        Some(unsafe { std::str::from_utf8_unchecked(bytes) })
    }
}

/// The table, for one setting of the options (it empties itself when they change).
pub(super) struct CharCache {
    slots: Vec<CharInfo>,
    options: (bool, bool),
    mapped: String,
    scratch: String,
}

impl Default for CharCache {
    fn default() -> Self {
        // The table is allocated on first use: ASCII-only text never needs it.
        CharCache { slots: Vec::new(), options: (true, true), mapped: String::new(), scratch: String::new() }
    }
}

impl CharCache {
    /// What the normalizer does with `c`.
    #[inline(always)]
    pub fn get(&mut self, c: char, opts: &TextOptions) -> CharInfo {
        if self.slots.is_empty() || self.options != (opts.nfkc, opts.casefold) {
            self.slots.clear();
            self.slots.resize(SLOTS, CharInfo::VACANT);
            self.options = (opts.nfkc, opts.casefold);
        }
        let cp = c as u32;
        let slot = (cp ^ (cp >> 11)) as usize & (SLOTS - 1);
        if self.slots[slot].key != cp {
            self.slots[slot] = self.fill(c, opts);
        }
        self.slots[slot]
    }

    #[cold]
    #[inline(never)]
    fn fill(&mut self, c: char, opts: &TextOptions) -> CharInfo {
        let mut buf = [0u8; 4];
        normalize_cluster(c.encode_utf8(&mut buf), opts, &mut self.mapped, &mut self.scratch);
        let mut info =
            CharInfo { key: c as u32, starter: canonical_combining_class(c) == 0, ..CharInfo::VACANT };
        if self.mapped.len() > MAX_BYTES || self.mapped.chars().count() > MAX_CHARS {
            info.len = u8::MAX;
            return info;
        }
        info.len = self.mapped.len() as u8;
        info.bytes[..self.mapped.len()].copy_from_slice(self.mapped.as_bytes());
        for (k, m) in self.mapped.chars().enumerate() {
            info.word |= u8::from(is_word_char(m)) << k;
            info.no_space |= u8::from(is_no_space_char(m)) << k;
        }
        info
    }
}

/// Writes `nfkc(casefold(nfkc(cluster)))` (each step only when its option is on) into `out`.
pub(super) fn normalize_cluster(cluster: &str, opts: &TextOptions, out: &mut String, scratch: &mut String) {
    out.clear();
    match (opts.nfkc, opts.casefold) {
        (false, false) => out.push_str(cluster),
        (true, false) => out.extend(cluster.nfkc()),
        (false, true) => cluster.chars().for_each(|c| push_casefolded(c, out)),
        (true, true) => {
            scratch.clear();
            cluster.nfkc().for_each(|c| push_casefolded(c, scratch));
            out.extend(scratch.nfkc());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uncached(c: char, opts: &TextOptions) -> String {
        let (mut out, mut scratch) = (String::new(), String::new());
        normalize_cluster(c.encode_utf8(&mut [0; 4]), opts, &mut out, &mut scratch);
        out
    }

    #[test]
    fn cached_answers_equal_computed_ones_for_every_option_and_collision() {
        let mut cache = CharCache::default();
        // Characters 2,048 apart share a slot; the options change between rounds.
        let chars: Vec<char> = (0x80u32..0x3_0000).step_by(97).filter_map(char::from_u32).collect();
        for (nfkc, casefold) in [(true, true), (false, true), (true, false), (false, false), (true, true)] {
            let opts = TextOptions { nfkc, casefold, ..TextOptions::default() };
            for &c in chars.iter().chain(&chars) {
                let info = cache.get(c, &opts);
                let expected = uncached(c, &opts);
                assert_eq!(info.starter, canonical_combining_class(c) == 0, "{c:?}");
                match info.mapped() {
                    Some(mapped) => {
                        assert_eq!(mapped, expected, "{c:?}");
                        for (k, m) in mapped.chars().enumerate() {
                            assert_eq!(info.word >> k & 1 == 1, is_word_char(m), "{c:?}");
                            assert_eq!(info.no_space >> k & 1 == 1, is_no_space_char(m), "{c:?}");
                        }
                    }
                    None => assert!(expected.len() > MAX_BYTES || expected.chars().count() > MAX_CHARS),
                }
            }
        }
    }

    #[test]
    fn long_expansions_are_not_kept() {
        // U+FDFA, an Arabic ligature, expands to 18 characters under NFKC.
        let info = CharCache::default().get('\u{FDFA}', &TextOptions::default());
        assert!(info.mapped().is_none());
        assert!(info.starter);
    }
}
