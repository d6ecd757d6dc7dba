//! MinHash over many documents at once, in parallel.
//!
//! Each document's signature depends only on the document, so results are identical for any number of
//! threads. Output goes into one caller-provided row-major buffer (`docs × num_perm`), which the
//! Python layer hands to numpy without a copy.

use crate::code::{CodeNormalizer, CodeOptions};
use crate::error::{Error, Result};
use crate::invalid;
use crate::minhash::{FinishScratch, MinHasher, SigWord};
use crate::pool;
use crate::shingle::Shingler;
use crate::text::TextOptions;
use rayon::prelude::*;
use std::sync::Mutex;

/// Token hashes are folded into the signature in blocks: memory stays bounded on a 100 MB document
/// and the permutation loop runs over a cache-resident block.
const HASH_BLOCK: usize = 2048;

/// Per-worker buffers, reused from one document to the next.
#[derive(Default)]
struct Scratch {
    shingler: Shingler,
    code: CodeNormalizer,
    hashes: Vec<u64>,
    finish: FinishScratch,
}

/// A flat batch of pre-tokenized documents, in three arrays so that building it from Python is
/// one copy of the token bytes and no per-token allocation: token `t` is
/// `bytes[token_bounds[t]..token_bounds[t + 1]]`, and document `d` holds tokens
/// `doc_bounds[d]..doc_bounds[d + 1]`.
pub struct TokenLists<'a> {
    pub bytes: &'a [u8],
    pub token_bounds: &'a [usize],
    pub doc_bounds: &'a [usize],
}

impl TokenLists<'_> {
    pub fn len(&self) -> usize {
        self.doc_bounds.len().saturating_sub(1)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn validate(&self) -> Result<()> {
        let rising_to = |bounds: &[usize], end: usize| {
            bounds.first() == Some(&0)
                && bounds.windows(2).all(|w| w[0] <= w[1])
                && bounds.last() == Some(&end)
        };
        let tokens = self.token_bounds.len().saturating_sub(1);
        if !rising_to(self.token_bounds, self.bytes.len()) || !rising_to(self.doc_bounds, tokens) {
            return Err(invalid!("token list bounds must rise from 0 to the number of bytes and tokens"));
        }
        Ok(())
    }

    fn tokens(&self, d: usize) -> impl Iterator<Item = &[u8]> + '_ {
        (self.doc_bounds[d]..self.doc_bounds[d + 1])
            .map(|t| &self.bytes[self.token_bounds[t]..self.token_bounds[t + 1]])
    }
}

/// Signatures of raw texts (normalized and shingled per `opts`) into `out`.
pub fn minhash_texts<W: SigWord>(
    texts: &[&str],
    hasher: &MinHasher,
    opts: &TextOptions,
    num_threads: usize,
    out: &mut [W],
) -> Result<()> {
    opts.validate()?;
    check_output::<W>(hasher, texts.len(), out.len())?;
    for_each_doc(
        hasher,
        num_threads,
        out,
        |d| texts[d].len(),
        |d, sig, scratch| {
            let Scratch { shingler, hashes, finish, .. } = scratch;
            start_signature(hasher, sig, hashes);
            shingler.shingles(texts[d], opts, |shingle| {
                push_hash(hasher, hasher.token_hash(shingle), hashes, sig);
            });
            finish_signature(hasher, sig, hashes, finish);
        },
    )
}

/// Signatures of source code, normalized per `opts` (tree-sitter) and shingled over its symbols.
pub fn minhash_code<W: SigWord>(
    sources: &[&str],
    hasher: &MinHasher,
    opts: &CodeOptions,
    num_threads: usize,
    out: &mut [W],
) -> Result<()> {
    opts.validate()?;
    check_output::<W>(hasher, sources.len(), out.len())?;
    let failure: Mutex<Option<Error>> = Mutex::new(None);
    for_each_doc(
        hasher,
        num_threads,
        out,
        |d| sources[d].len(),
        |d, sig, scratch| {
            let Scratch { code, hashes, finish, .. } = scratch;
            start_signature(hasher, sig, hashes);
            let parsed = code.shingles(sources[d], opts, |shingle| {
                push_hash(hasher, hasher.token_hash(shingle), hashes, sig);
            });
            if let Err(err) = parsed {
                *failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(err);
            }
            finish_signature(hasher, sig, hashes, finish);
        },
    )?;
    match failure.into_inner().unwrap_or_else(|p| p.into_inner()) {
        Some(err) => Err(err),
        None => Ok(()),
    }
}

/// Signatures of pre-tokenized documents, each token hashed as given (as datasketch does).
pub fn minhash_token_lists<W: SigWord>(
    docs: &TokenLists<'_>,
    hasher: &MinHasher,
    num_threads: usize,
    out: &mut [W],
) -> Result<()> {
    docs.validate()?;
    check_output::<W>(hasher, docs.len(), out.len())?;
    let cost = |d: usize| docs.token_bounds[docs.doc_bounds[d + 1]] - docs.token_bounds[docs.doc_bounds[d]];
    for_each_doc(hasher, num_threads, out, cost, |d, sig, scratch| {
        start_signature(hasher, sig, &mut scratch.hashes);
        for token in docs.tokens(d) {
            push_hash(hasher, hasher.token_hash(token), &mut scratch.hashes, sig);
        }
        finish_signature(hasher, sig, &mut scratch.hashes, &mut scratch.finish);
    })
}

/// Signatures from token hashes computed beforehand with [`MinHasher::token_hash`]: document `d`
/// holds `hashes[doc_bounds[d]..doc_bounds[d + 1]]`. This is how the Python layer handles the `fast`
/// scheme's pre-tokenized input, hashing each token as it reads it (cheaper than copying it).
pub fn minhash_token_hashes<W: SigWord>(
    hashes: &[u64],
    doc_bounds: &[usize],
    hasher: &MinHasher,
    num_threads: usize,
    out: &mut [W],
) -> Result<()> {
    let rising = doc_bounds.first() == Some(&0)
        && doc_bounds.windows(2).all(|w| w[0] <= w[1])
        && doc_bounds.last() == Some(&hashes.len());
    if !rising {
        return Err(invalid!("document bounds must rise from 0 to the number of token hashes"));
    }
    let docs = doc_bounds.len() - 1;
    check_output::<W>(hasher, docs, out.len())?;
    let cost = |d: usize| doc_bounds[d + 1] - doc_bounds[d];
    for_each_doc(hasher, num_threads, out, cost, |d, sig, scratch| {
        start_signature(hasher, sig, &mut scratch.hashes);
        W::update(hasher, &hashes[doc_bounds[d]..doc_bounds[d + 1]], sig);
        W::finish(hasher, sig, &mut scratch.finish);
    })
}

fn check_output<W: SigWord>(hasher: &MinHasher, docs: usize, out_len: usize) -> Result<()> {
    if !W::fits(hasher.scheme()) {
        return Err(invalid!("wrong signature word size for scheme {:?}", hasher.scheme().name()));
    }
    if docs.checked_mul(hasher.num_perm()) != Some(out_len) {
        return Err(invalid!("output holds {out_len} values, expected {docs} × {}", hasher.num_perm()));
    }
    Ok(())
}

/// Runs `sketch(doc_index, signature_row, scratch)` for every document: in this thread when
/// `num_threads == 1`, else on a pool of that many workers, largest documents (by `cost`) first.
fn for_each_doc<W: SigWord>(
    hasher: &MinHasher,
    num_threads: usize,
    out: &mut [W],
    cost: impl Fn(usize) -> usize,
    sketch: impl Fn(usize, &mut [W], &mut Scratch) + Sync,
) -> Result<()> {
    let k = hasher.num_perm();
    if num_threads <= 1 {
        let mut scratch = Scratch::default();
        out.chunks_mut(k).enumerate().for_each(|(d, sig)| sketch(d, sig, &mut scratch));
        return Ok(());
    }
    let pool = pool::pool(num_threads)?;
    // Largest first: a big document started last would keep one worker busy while the others idle.
    let mut rows: Vec<(usize, &mut [W])> = out.chunks_mut(k).enumerate().collect();
    rows.sort_unstable_by_key(|(d, _)| std::cmp::Reverse(cost(*d)));
    // Pieces of at most `grain` documents, a few hundred per worker, so stealing can even out the end.
    let grain = (rows.len() / (num_threads * 256)).max(1);
    // One scratch per worker, kept for the whole batch: buffers grown on one document serve the next
    // (rayon's `for_each_init` would start a fresh one for every piece of work it splits off).
    let scratches: Vec<Mutex<Scratch>> = (0..num_threads).map(|_| Mutex::default()).collect();
    pool.install(|| {
        rows.into_par_iter().with_max_len(grain).for_each(|(d, sig)| {
            let worker = rayon::current_thread_index().unwrap_or(0) % scratches.len();
            // Only this worker ever locks its own scratch, so the lock is never contended; a poisoned
            // one (a panic elsewhere) holds buffers that are cleared before use anyway.
            let mut scratch = scratches[worker].lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            sketch(d, sig, &mut scratch);
        });
    });
    Ok(())
}

fn start_signature<W: SigWord>(hasher: &MinHasher, sig: &mut [W], hashes: &mut Vec<u64>) {
    sig.fill(W::from_u64(hasher.empty_value()));
    hashes.clear();
}

#[inline]
fn push_hash<W: SigWord>(hasher: &MinHasher, hash: u64, hashes: &mut Vec<u64>, sig: &mut [W]) {
    hashes.push(hash);
    if hashes.len() == HASH_BLOCK {
        W::update(hasher, hashes, sig);
        hashes.clear();
    }
}

fn finish_signature<W: SigWord>(
    hasher: &MinHasher,
    sig: &mut [W],
    hashes: &mut Vec<u64>,
    finish: &mut FinishScratch,
) {
    W::update(hasher, hashes, sig);
    hashes.clear();
    W::finish(hasher, sig, finish);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::minhash::Scheme;

    fn texts() -> Vec<String> {
        (0..300)
            .map(|i| format!("Document {i}: the quick brown fox {} jumps", "word ".repeat(i % 40)))
            .collect()
    }

    #[test]
    fn results_do_not_depend_on_thread_count() {
        let texts = texts();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        for scheme in Scheme::ALL.into_iter().filter(|s| !s.is_u32()) {
            let hasher = MinHasher::new(scheme, 32, 5).unwrap();
            let mut one = vec![0u64; refs.len() * 32];
            let mut three = vec![0u64; refs.len() * 32];
            minhash_texts(&refs, &hasher, &TextOptions::default(), 1, &mut one).unwrap();
            minhash_texts(&refs, &hasher, &TextOptions::default(), 3, &mut three).unwrap();
            assert_eq!(one, three, "{scheme:?}");
        }
    }

    #[test]
    fn text_signature_equals_signature_of_its_shingles() {
        let opts = TextOptions { ngram: 3, ..TextOptions::default() };
        let text = "One two, THREE four five six seven.";
        let shingles = crate::shingle::shingles(text, &opts);
        let bytes: Vec<u8> = shingles.concat().into_bytes();
        let mut token_bounds = vec![0];
        for s in &shingles {
            token_bounds.push(token_bounds.last().unwrap() + s.len());
        }
        let doc_bounds = [0, shingles.len()];
        let lists = TokenLists { bytes: &bytes, token_bounds: &token_bounds, doc_bounds: &doc_bounds };
        for scheme in Scheme::ALL {
            let hasher = MinHasher::new(scheme, 16, 1).unwrap();
            if scheme.is_u32() {
                let (mut a, mut b) = (vec![0u32; 16], vec![0u32; 16]);
                minhash_texts(&[text], &hasher, &opts, 1, &mut a).unwrap();
                minhash_token_lists(&lists, &hasher, 1, &mut b).unwrap();
                assert_eq!(a, b);
            } else {
                let (mut a, mut b) = (vec![0u64; 16], vec![0u64; 16]);
                minhash_texts(&[text], &hasher, &opts, 1, &mut a).unwrap();
                minhash_token_lists(&lists, &hasher, 1, &mut b).unwrap();
                assert_eq!(a, b, "{scheme:?}");
            }
        }
    }

    #[test]
    fn prehashed_tokens_give_the_same_signatures() {
        let tokens: [&[u8]; 5] = [b"a", b"bb", b"", b"ccc", b"a"];
        let bytes = tokens.concat();
        let mut token_bounds = vec![0];
        for t in tokens {
            token_bounds.push(token_bounds.last().unwrap() + t.len());
        }
        let doc_bounds = [0, 2, 2, 5];
        let lists = TokenLists { bytes: &bytes, token_bounds: &token_bounds, doc_bounds: &doc_bounds };
        let hasher = MinHasher::new(Scheme::Fast, 16, 9).unwrap();
        let hashes: Vec<u64> = tokens.iter().map(|t| hasher.token_hash(t)).collect();
        let (mut copied, mut prehashed) = (vec![0u64; 48], vec![0u64; 48]);
        minhash_token_lists(&lists, &hasher, 2, &mut copied).unwrap();
        minhash_token_hashes(&hashes, &doc_bounds, &hasher, 2, &mut prehashed).unwrap();
        assert_eq!(copied, prehashed);
        assert!(minhash_token_hashes(&hashes, &[0, 9], &hasher, 1, &mut [0u64; 16]).is_err());
    }

    #[test]
    fn code_signatures_see_through_renaming() {
        use crate::code::Language;
        let opts = CodeOptions { ngram: 4, ..CodeOptions::new(Language::Python) };
        let sources = ["def f(a):\n    return a + 1\n", "def g(b):  # other\n    return b + 1", "x = [1, 2]"];
        let hasher = MinHasher::new(Scheme::Fast, 16, 1).unwrap();
        let mut sig = vec![0u64; 48];
        minhash_code(&sources, &hasher, &opts, 2, &mut sig).unwrap();
        assert_eq!(sig[..16], sig[16..32]);
        assert_ne!(sig[..16], sig[32..]);
    }

    #[test]
    fn long_document_crosses_hash_blocks() {
        let text = (0..10_000).map(|i| format!("w{i}")).collect::<Vec<_>>().join(" ");
        let hasher = MinHasher::new(Scheme::Legacy, 8, 1).unwrap();
        let mut sig = vec![0u64; 8];
        minhash_texts(&[text.as_str()], &hasher, &TextOptions::default(), 1, &mut sig).unwrap();
        assert!(sig.iter().all(|&v| v < u64::from(u32::MAX)));
    }

    #[test]
    fn mismatched_buffers_are_errors_not_panics() {
        let hasher = MinHasher::new(Scheme::Affine32, 8, 1).unwrap();
        let mut wrong_width = vec![0u64; 8];
        assert!(minhash_texts(&["x"], &hasher, &TextOptions::default(), 1, &mut wrong_width).is_err());
        let mut short = vec![0u32; 7];
        assert!(minhash_texts(&["x"], &hasher, &TextOptions::default(), 1, &mut short).is_err());
        let bad = TokenLists { bytes: b"ab", token_bounds: &[0, 2], doc_bounds: &[0, 2] };
        assert!(minhash_token_lists(&bad, &hasher, 1, &mut [0u32; 8]).is_err());
    }
}
