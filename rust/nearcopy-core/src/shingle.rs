//! Shingles: the byte strings a document is hashed as.
//!
//! * word unit: `n` consecutive tokens joined by one space — a slice of the normalizer's buffer, so
//!   no copy is made;
//! * char unit: `n` consecutive characters of the token stream.
//!
//! A document with fewer than `n` units (but at least one) yields one shingle holding all of them, so
//! short documents still get a signature. Both rules are restated in `tests/reference_normalizer.py`.

use crate::text::{Normalizer, ShingleUnit, TextOptions, Token};
use std::collections::VecDeque;

/// Streams the shingles of one document into `emit`. Reusable across documents.
#[derive(Default)]
pub struct Shingler {
    normalizer: Normalizer,
    /// Start offsets (in the character stream) of the last `n` characters.
    starts: VecDeque<usize>,
    /// Start offsets of the last `n` word tokens, a ring.
    ring: Vec<usize>,
    /// The character stream of the char unit.
    chars: String,
}

impl Shingler {
    pub fn new() -> Self {
        Self::default()
    }

    /// Normalizes `text` and calls `emit` with the bytes of each shingle, in order.
    pub fn shingles(&mut self, text: &str, opts: &TextOptions, mut emit: impl FnMut(&[u8])) {
        self.starts.clear();
        match opts.unit {
            ShingleUnit::Word => self.word_shingles(text, opts, &mut emit),
            ShingleUnit::Char => self.char_shingles(text, opts, &mut emit),
        }
    }

    fn word_shingles(&mut self, text: &str, opts: &TextOptions, emit: &mut impl FnMut(&[u8])) {
        let n = opts.ngram;
        // Start offsets of the last `n` tokens in a ring: after a token is written at `slot` and
        // `slot` advances, `slot` holds the oldest of them, where the shingle ending here starts.
        // (A slice and a wrapping index, not a VecDeque: this runs once per token.)
        self.ring.clear();
        self.ring.resize(n.max(1), 0);
        let ring = &mut self.ring;
        let mut slot = 0usize;
        let mut count = 0usize;
        let mut last_end = 0;
        self.normalizer.tokenize(text, opts, |buf, token: Token| {
            ring[slot] = token.norm_start;
            slot += 1;
            if slot == n {
                slot = 0;
            }
            count += 1;
            last_end = token.norm_end;
            if count >= n {
                emit(&buf.as_bytes()[ring[slot]..token.norm_end]);
            }
        });
        if count > 0 && count < n {
            emit(&self.normalizer.normalized().as_bytes()[..last_end]);
        }
    }

    fn char_shingles(&mut self, text: &str, opts: &TextOptions, emit: &mut impl FnMut(&[u8])) {
        let n = opts.ngram;
        let chars = &mut self.chars;
        let starts = &mut self.starts;
        chars.clear();
        let mut count = 0usize;
        let mut previous_no_space = false;
        self.normalizer.tokenize(text, opts, |buf, token: Token| {
            // Two adjacent characters of a no-space script are joined directly: a space there would
            // be an artefact of tokenizing them one by one.
            let joined_directly = previous_no_space && token.no_space;
            if !chars.is_empty() && !joined_directly {
                push_char(' ', chars, starts, &mut count, n, emit);
            }
            previous_no_space = token.no_space;
            for c in buf[token.norm_start..token.norm_end].chars() {
                push_char(c, chars, starts, &mut count, n, emit);
            }
        });
        if count > 0 && count < n {
            emit(self.chars.as_bytes());
        }
    }
}

fn push_char(
    c: char,
    chars: &mut String,
    starts: &mut VecDeque<usize>,
    count: &mut usize,
    n: usize,
    emit: &mut impl FnMut(&[u8]),
) {
    if starts.len() == n {
        starts.pop_front();
    }
    starts.push_back(chars.len());
    chars.push(c);
    *count += 1;
    if *count >= n {
        emit(&chars.as_bytes()[starts[0]..]);
    }
}

/// All shingles of `text` as strings (for inspection and tests; the hot path streams them).
pub fn shingles(text: &str, opts: &TextOptions) -> Vec<String> {
    let mut out = Vec::new();
    Shingler::new().shingles(text, opts, |bytes| {
        out.push(String::from_utf8_lossy(bytes).into_owned());
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(ngram: usize, unit: ShingleUnit) -> TextOptions {
        TextOptions { ngram, unit, ..TextOptions::default() }
    }

    #[test]
    fn word_shingles_slide_over_tokens() {
        let got = shingles("The quick, brown FOX jumps", &opts(3, ShingleUnit::Word));
        assert_eq!(got, ["the quick brown", "quick brown fox", "brown fox jumps"]);
    }

    #[test]
    fn short_documents_get_one_shingle() {
        assert_eq!(shingles("Only two", &opts(5, ShingleUnit::Word)), ["only two"]);
        assert!(shingles("  ...  ", &opts(5, ShingleUnit::Word)).is_empty());
        assert_eq!(shingles("ab", &opts(3, ShingleUnit::Char)), ["ab"]);
    }

    #[test]
    fn char_shingles_fold_separators() {
        let got = shingles("Ab, c", &opts(3, ShingleUnit::Char));
        assert_eq!(got, ["ab ", "b c"]);
        // CJK characters are tokens of their own but are not spaced apart in the char stream.
        assert_eq!(shingles("中文字", &opts(2, ShingleUnit::Char)), ["中文", "文字"]);
        assert_eq!(shingles("中x", &opts(2, ShingleUnit::Char)), ["中 ", " x"]);
    }

    #[test]
    fn shingler_is_reusable_across_documents() {
        let mut shingler = Shingler::new();
        let o = opts(2, ShingleUnit::Word);
        let mut first = Vec::new();
        shingler.shingles("a b c", &o, |s| first.push(s.to_vec()));
        let mut second = Vec::new();
        shingler.shingles("x y", &o, |s| second.push(s.to_vec()));
        assert_eq!(first, [b"a b".to_vec(), b"b c".to_vec()]);
        assert_eq!(second, [b"x y".to_vec()]);
    }
}
