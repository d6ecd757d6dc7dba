//! Text normalization: Unicode NFKC, full case folding, punctuation and whitespace folded away, word
//! tokens; characters of scripts written without spaces are tokens by themselves. Every token keeps the
//! byte span it came from in the original string, so a match can be mapped back (and redacted).
//!
//! The algorithm, which `tests/reference_normalizer.py` restates in plain Python:
//! 1. Cut the text into *clusters*: a character with canonical combining class 0 and the combining
//!    marks (class != 0) that follow it. Normalizing per cluster keeps every output character tied to
//!    a span of the input while still composing `e` + `\u{301}` into `é`.
//! 2. Map each cluster `c` to `nfkc(casefold(nfkc(c)))` (each step only when its option is on).
//! 3. Tokens are maximal runs of word characters (letters, marks, numbers) of the mapped text; a
//!    character of a no-space script is a token by itself. A token's span runs from the start of its
//!    first character's cluster to the end of its last one's.
//!
//! Tokens are written to one buffer, separated by a single space, so a run of tokens (a word shingle)
//! is one contiguous slice of it.

mod ascii;
mod char_cache;
mod classify;
mod tables;

pub use classify::{is_no_space_char, is_word_char};
pub use tables::UNICODE_VERSION;

use crate::error::Result;
use crate::invalid;
use char_cache::CharCache;

/// What shingles are made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShingleUnit {
    /// n consecutive word tokens, joined by one space.
    Word,
    /// n consecutive characters of the token stream (tokens joined by one space, except that two
    /// adjacent no-space-script tokens are joined directly).
    Char,
}

/// Every option of the text pipeline, shared by everything that normalizes or shingles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextOptions {
    pub ngram: usize,
    pub unit: ShingleUnit,
    pub nfkc: bool,
    pub casefold: bool,
}

/// The longest shingle, in units, that the options accept.
pub const MAX_NGRAM: usize = 64;

impl Default for TextOptions {
    fn default() -> Self {
        TextOptions { ngram: 5, unit: ShingleUnit::Word, nfkc: true, casefold: true }
    }
}

impl TextOptions {
    pub fn validate(&self) -> Result<()> {
        if self.ngram == 0 || self.ngram > MAX_NGRAM {
            return Err(invalid!("ngram must be between 1 and {MAX_NGRAM}, got {}", self.ngram));
        }
        Ok(())
    }
}

impl ShingleUnit {
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "word" => Ok(ShingleUnit::Word),
            "char" => Ok(ShingleUnit::Char),
            other => Err(invalid!("unit must be 'word' or 'char', got {other:?}")),
        }
    }
}

/// One normalized token: where its text is in the normalized buffer, and where it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub norm_start: usize,
    pub norm_end: usize,
    pub orig_start: usize,
    pub orig_end: usize,
    /// A single character of a script written without spaces.
    pub no_space: bool,
}

/// Reusable normalizer: its buffers are kept between documents to avoid reallocating.
#[derive(Default)]
pub struct Normalizer {
    buf: String,
    cluster: String,
    scratch: String,
    /// One bit per byte of an ASCII run: alphanumeric or not.
    bitmap: Vec<u64>,
    /// What the normalizer does with each non-ASCII character, remembered.
    chars: CharCache,
}

impl Normalizer {
    pub fn new() -> Self {
        Self::default()
    }

    /// The normalized text of the last document: its tokens joined by one space.
    pub fn normalized(&self) -> &str {
        &self.buf
    }

    /// Normalizes `text` and calls `on_token(normalized_so_far, token)` for each token in order.
    pub fn tokenize(&mut self, text: &str, opts: &TextOptions, mut on_token: impl FnMut(&str, Token)) {
        self.buf.clear();
        let bytes = text.as_bytes();
        let mut open: Option<Token> = None;
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] < 0x80 {
                // Fast path: a run of ASCII characters is a run of one-character clusters that NFKC
                // leaves unchanged -- except its last character, when a non-ASCII character follows,
                // since that may be a combining mark belonging to it.
                let mut bitmap = std::mem::take(&mut self.bitmap);
                let run_end = i + ascii::classify_run(&bytes[i..], &mut bitmap);
                let fast_end = if run_end < bytes.len() { run_end - 1 } else { run_end };
                if fast_end > i {
                    ascii::clear_from(&mut bitmap, fast_end - i);
                    self.ascii_run(bytes, i, fast_end, &bitmap, opts.casefold, &mut open, &mut on_token);
                    self.bitmap = bitmap;
                    i = fast_end;
                    continue;
                }
                self.bitmap = bitmap;
            }
            let start = i;
            let first = text[i..].chars().next().unwrap_or_default();
            let info = self.chars.get(first, opts);
            i += first.len_utf8();
            // The cluster goes on over the combining marks that follow (ASCII has none).
            while i < bytes.len() && bytes[i] >= 0x80 {
                let next = text[i..].chars().next().unwrap_or_default();
                if self.chars.get(next, opts).starter {
                    break;
                }
                i += next.len_utf8();
            }
            let single = i == start + first.len_utf8();
            if let (true, Some(mapped)) = (single, info.mapped()) {
                for (k, c) in mapped.chars().enumerate() {
                    if info.word >> k & 1 == 1 {
                        let no_space = info.no_space >> k & 1 == 1;
                        self.push_word_char(c, no_space, start, i, &mut open, &mut on_token);
                    } else if let Some(token) = open.take() {
                        on_token(&self.buf, token);
                    }
                }
                continue;
            }
            let mut mapped = std::mem::take(&mut self.cluster);
            char_cache::normalize_cluster(&text[start..i], opts, &mut mapped, &mut self.scratch);
            for c in mapped.chars() {
                if is_word_char(c) {
                    self.push_word_char(c, is_no_space_char(c), start, i, &mut open, &mut on_token);
                } else if let Some(token) = open.take() {
                    on_token(&self.buf, token);
                }
            }
            self.cluster = mapped;
        }
        if let Some(token) = open.take() {
            on_token(&self.buf, token);
        }
    }

    /// Tokenizes `text[start..end]`, ASCII text whose characters are all clusters by themselves:
    /// alphanumeric runs extend or open tokens, anything else closes the open token. The last word
    /// stays open, since a non-ASCII letter may follow it.
    ///
    /// Word boundaries come from `alnum`, a bitmap of the run (one bit per byte: alphanumeric or not,
    /// no bit set past its end) walked with `trailing_zeros`, so the cost is per word, not a
    /// mispredicted branch per byte.
    #[allow(clippy::too_many_arguments)] // one call site; a struct would only rename them
    fn ascii_run(
        &mut self,
        text: &[u8],
        start: usize,
        end: usize,
        alnum: &[u64],
        casefold: bool,
        open: &mut Option<Token>,
        on_token: &mut impl FnMut(&str, Token),
    ) {
        if alnum[0] & 1 == 0 {
            if let Some(token) = open.take() {
                on_token(&self.buf, token);
            }
        }
        let mut word_start: Option<usize> = None;
        let mut previous_alnum = 0u64;
        for (w, &bits) in alnum.iter().enumerate() {
            // Set where a byte's class differs from the byte before it: word starts and ends.
            let mut changes = bits ^ ((bits << 1) | previous_alnum);
            previous_alnum = bits >> 63;
            while changes != 0 {
                let at = w * 64 + changes.trailing_zeros() as usize;
                changes &= changes - 1;
                if at >= end - start {
                    break; // the run's last word stays open
                }
                match word_start.take() {
                    None => word_start = Some(at),
                    Some(from) => {
                        self.append_ascii_word(text, start + from, start + at, casefold, open);
                        if let Some(token) = open.take() {
                            on_token(&self.buf, token);
                        }
                    }
                }
            }
        }
        if let Some(from) = word_start {
            self.append_ascii_word(text, start + from, end, casefold, open);
        }
    }

    /// Normalizes `text` and returns its tokens (their text is `normalized()[norm_start..norm_end]`).
    pub fn tokens(&mut self, text: &str, opts: &TextOptions) -> Vec<Token> {
        let mut tokens = Vec::new();
        self.tokenize(text, opts, |_, token| tokens.push(token));
        tokens
    }

    /// Appends the ASCII word `text[from..to]` to the open token, or opens one.
    #[inline(always)]
    fn append_ascii_word(
        &mut self,
        text: &[u8],
        from: usize,
        to: usize,
        casefold: bool,
        open: &mut Option<Token>,
    ) {
        let token = open.get_or_insert_with(|| {
            if !self.buf.is_empty() {
                self.buf.push(' ');
            }
            let at = self.buf.len();
            Token { norm_start: at, norm_end: at, orig_start: from, orig_end: 0, no_space: false }
        });
        // SAFETY: only ASCII bytes are appended, so the buffer stays valid UTF-8.
        ascii::append_word(unsafe { self.buf.as_mut_vec() }, text, from, to, casefold);
        token.norm_end = self.buf.len();
        token.orig_end = to;
    }

    fn push_word_char(
        &mut self,
        c: char,
        no_space: bool,
        orig_start: usize,
        orig_end: usize,
        open: &mut Option<Token>,
        on_token: &mut impl FnMut(&str, Token),
    ) {
        if no_space {
            if let Some(token) = open.take() {
                on_token(&self.buf, token);
            }
        }
        match open {
            Some(token) => {
                self.buf.push(c);
                token.norm_end = self.buf.len();
                token.orig_end = orig_end;
            }
            None => {
                if !self.buf.is_empty() {
                    self.buf.push(' ');
                }
                let norm_start = self.buf.len();
                self.buf.push(c);
                let token = Token { norm_start, norm_end: self.buf.len(), orig_start, orig_end, no_space };
                if no_space {
                    on_token(&self.buf, token);
                } else {
                    *open = Some(token);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
