//! Documents and answers as fingerprints: normalize (text or code), id every token, winnow.
//!
//! Prose is normalized by [`crate::text`] and each word is identified by a hash of its normalized
//! form; code by [`crate::code`] and each token by its normalized symbol. Token byte spans are kept,
//! so a match found in token positions maps back to bytes of the original.

use super::{Fingerprint, Winnowing};
use crate::code::{symbol_id, CodeNormalizer, CodeOptions, IdentifierMode, Language, LiteralMode};
use crate::error::Result;
use crate::hash::xxh3_64;
use crate::text::{Normalizer, TextOptions};
use tree_sitter::Tree;

/// How a stretch of text is normalized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    Prose,
    Code(Language),
    /// Code read for its words: the prose words of its tokens (names, strings, keywords; not its
    /// comments), in the prose id space and winnowed as prose. What tells one table of strings (or
    /// one switch of `case X: return "X";`) from another, where the code reading sees the same row
    /// over and over.
    CodeWords(Language),
}

/// The normalized token stream of one stretch: token ids and their byte spans in the original.
#[derive(Debug, Default, Clone)]
pub struct TokenStream {
    pub ids: Vec<u64>,
    pub starts: Vec<usize>,
    pub ends: Vec<usize>,
}

/// Reusable normalizers and buffers.
#[derive(Default)]
pub struct Fingerprinter {
    text: Normalizer,
    code: CodeNormalizer,
    kgrams: Vec<u64>,
}

/// How the index normalizes code: placeholder names, abstract literals, one token at a time.
fn code_options(language: Language) -> CodeOptions {
    CodeOptions {
        language,
        ngram: 1,
        identifiers: IdentifierMode::Placeholder,
        literals: LiteralMode::Abstract,
    }
}

/// Prose words and code symbols live in separate id spaces, so a word never matches a symbol.
const PROSE_SEED: u64 = 0x7072_6f73_6520_6964;

impl Fingerprinter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Normalizes `text` as `content` into `out` (cleared first), with spans offset by `base`.
    pub fn tokens(&mut self, text: &str, content: Content, base: usize, out: &mut TokenStream) -> Result<()> {
        out.ids.clear();
        out.starts.clear();
        out.ends.clear();
        match content {
            Content::Prose => {
                let opts = TextOptions::default();
                self.text.tokenize(text, &opts, |buf, token| {
                    out.ids.push(xxh3_64(&buf.as_bytes()[token.norm_start..token.norm_end], PROSE_SEED));
                    out.starts.push(base + token.orig_start);
                    out.ends.push(base + token.orig_end);
                });
            }
            Content::Code(language) => {
                self.code.normalize(text, &code_options(language))?;
                self.code_stream(base, out);
            }
            Content::CodeWords(language) => {
                let mut code = TokenStream::default();
                self.code.normalize(text, &code_options(language))?;
                self.code_stream(0, &mut code);
                self.words_of(text, &code, 0..code.ids.len(), base, out);
            }
        }
        Ok(())
    }

    /// Appends to `out` the prose words of `code`'s tokens `range` (a code stream of `text`, as
    /// [`Self::tokens`] made it): the [`Content::CodeWords`] reading of that stretch.
    pub fn words_of(
        &mut self,
        text: &str,
        code: &TokenStream,
        range: std::ops::Range<usize>,
        base: usize,
        out: &mut TokenStream,
    ) {
        let opts = TextOptions::default();
        for t in range {
            let (start, end) = (code.starts[t], code.ends[t]);
            self.text.tokenize(&text[start..end], &opts, |buf, word| {
                out.ids.push(xxh3_64(&buf.as_bytes()[word.norm_start..word.norm_end], PROSE_SEED));
                out.starts.push(base + start + word.orig_start);
                out.ends.push(base + start + word.orig_end);
            });
        }
    }

    /// Like [`Self::tokens`] for code in `language`, from a tree parsed from exactly `text`.
    pub fn tokens_parsed(
        &mut self,
        text: &str,
        language: Language,
        tree: &Tree,
        base: usize,
        out: &mut TokenStream,
    ) {
        out.ids.clear();
        out.starts.clear();
        out.ends.clear();
        self.code.normalize_parsed(tree, text, &code_options(language));
        self.code_stream(base, out);
    }

    fn code_stream(&self, base: usize, out: &mut TokenStream) {
        let buf = self.code.normalized().as_bytes();
        for token in self.code.tokens() {
            out.ids.push(symbol_id(&buf[token.norm_start..token.norm_end]));
            out.starts.push(base + token.start);
            out.ends.push(base + token.end);
        }
    }

    /// Winnowed fingerprints of a token stream (positions are token indexes into it).
    pub fn fingerprints(&mut self, tokens: &TokenStream, params: &Winnowing, out: &mut Vec<Fingerprint>) {
        params.fingerprints(&tokens.ids, &mut self.kgrams, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prose_and_code_streams_keep_spans() {
        let mut f = Fingerprinter::new();
        let mut stream = TokenStream::default();
        f.tokens("Hello,  World", Content::Prose, 100, &mut stream).unwrap();
        assert_eq!((stream.starts.clone(), stream.ends.clone()), (vec![100, 108], vec![105, 113]));
        f.tokens("def f(a): return a", Content::Code(Language::Python), 0, &mut stream).unwrap();
        assert_eq!(stream.ids.len(), 8); // def $id ( $id ) : return $id
        assert_eq!(stream.ids[1], stream.ids[3], "identifiers share the placeholder id");
    }

    #[test]
    fn renamed_code_gives_the_same_fingerprints() {
        let params = Winnowing::new(4, 3, None).unwrap();
        let mut f = Fingerprinter::new();
        let (mut a, mut b) = (TokenStream::default(), TokenStream::default());
        let lang = Content::Code(Language::Python);
        f.tokens(
            "def total(xs):\n    s = 0\n    for x in xs:\n        s += x\n    return s\n",
            lang,
            0,
            &mut a,
        )
        .unwrap();
        f.tokens("def f(v):  # c\n  r = 0\n  for i in v:\n    r += i\n  return r\n", lang, 0, &mut b)
            .unwrap();
        let (mut fa, mut fb) = (Vec::new(), Vec::new());
        f.fingerprints(&a, &params, &mut fa);
        f.fingerprints(&b, &params, &mut fb);
        assert_eq!(fa, fb);
    }
}
