//! Character classes of the text normalizer: word characters, scripts written without spaces, and
//! full case folding. The tables come from `tables.rs`, generated from Python's `unicodedata` so
//! that the Rust normalizer and its Python reference agree by construction.

use super::tables::{CASEFOLD, WORD_CHAR_RANGES};

/// Letters, marks and numbers (general categories L*, M*, N*): the characters tokens are made of.
#[inline]
pub fn is_word_char(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric();
    }
    in_ranges(&WORD_CHAR_RANGES, c as u32)
}

/// Blocks of scripts written without spaces between words. Each of their characters is a token by
/// itself, since there is no word boundary to find without a dictionary.
static NO_SPACE_RANGES: [(u32, u32); 21] = [
    (0x0E00, 0x0E7F),   // Thai
    (0x0E80, 0x0EFF),   // Lao
    (0x1000, 0x109F),   // Myanmar
    (0x1780, 0x17FF),   // Khmer
    (0x19E0, 0x19FF),   // Khmer symbols
    (0x2E80, 0x2FDF),   // CJK radicals, Kangxi radicals
    (0x3005, 0x3007),   // ideographic iteration mark, closing mark, number zero
    (0x3021, 0x3029),   // Hangzhou numerals
    (0x3040, 0x309F),   // Hiragana
    (0x30A0, 0x30FF),   // Katakana
    (0x3100, 0x312F),   // Bopomofo
    (0x31A0, 0x31BF),   // Bopomofo extended
    (0x31F0, 0x31FF),   // Katakana phonetic extensions
    (0x3400, 0x4DBF),   // CJK extension A
    (0x4E00, 0x9FFF),   // CJK unified ideographs
    (0xA000, 0xA4CF),   // Yi
    (0xF900, 0xFAFF),   // CJK compatibility ideographs
    (0xFF66, 0xFF9F),   // halfwidth Katakana (only reached with NFKC off)
    (0x1B000, 0x1B16F), // Kana supplement and extensions
    (0x20000, 0x2FA1F), // CJK extensions B-F, compatibility supplement
    (0x30000, 0x323AF), // CJK extensions G-H
];

/// True for characters of a script written without spaces (CJK, Thai, Lao, Khmer, Myanmar, ...).
#[inline]
pub fn is_no_space_char(c: char) -> bool {
    let cp = c as u32;
    cp >= 0x0E00 && in_ranges(&NO_SPACE_RANGES, cp)
}

/// Appends the full case folding of `c` (what Python's `str.casefold` does) to `out`.
#[inline]
pub fn push_casefolded(c: char, out: &mut String) {
    if c.is_ascii() {
        out.push(c.to_ascii_lowercase());
        return;
    }
    match CASEFOLD.binary_search_by_key(&(c as u32), |&(cp, _)| cp) {
        Ok(found) => out.push_str(CASEFOLD[found].1),
        Err(_) => out.push(c),
    }
}

fn in_ranges(ranges: &[(u32, u32)], cp: u32) -> bool {
    // The last range starting at or before `cp` is the only one that can contain it.
    let after = ranges.partition_point(|&(lo, _)| lo <= cp);
    after > 0 && cp <= ranges[after - 1].1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_chars() {
        for c in ['a', 'Z', '7', 'é', 'ß', 'ж', '中', '٣', '\u{301}'] {
            assert!(is_word_char(c), "{c:?} is a word char");
        }
        for c in [' ', '_', '-', '.', '\'', '€', '\u{3000}', '。', '\0', '\u{FFFD}'] {
            assert!(!is_word_char(c), "{c:?} is not a word char");
        }
    }

    #[test]
    fn no_space_scripts() {
        for c in ['中', 'あ', 'カ', 'ก', '\u{20000}'] {
            assert!(is_no_space_char(c), "{c:?}");
        }
        for c in ['a', 'é', '한', 'ж'] {
            assert!(!is_no_space_char(c), "{c:?}");
        }
    }

    #[test]
    fn casefold_is_full_folding() {
        let fold = |s: &str| {
            let mut out = String::new();
            s.chars().for_each(|c| push_casefolded(c, &mut out));
            out
        };
        assert_eq!(fold("Straße"), "strasse");
        assert_eq!(fold("ΣΊΣΥΦΟΣ"), "σίσυφοσ");
        assert_eq!(fold("ﬁ"), "fi");
        assert_eq!(fold("İ"), "i\u{307}");
    }

    #[test]
    fn tables_are_sorted_for_binary_search() {
        assert!(WORD_CHAR_RANGES.windows(2).all(|w| w[0].1 < w[1].0));
        assert!(NO_SPACE_RANGES.windows(2).all(|w| w[0].1 < w[1].0));
        assert!(CASEFOLD.windows(2).all(|w| w[0].0 < w[1].0));
    }
}
