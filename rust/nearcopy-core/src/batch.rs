//! MinHash over many documents at once, in parallel.
//!
//! Each document's signature depends only on the document, so results are identical for any number of
//! threads. Output goes into one caller-provided row-major buffer (`docs × num_perm`), which the
//! Python layer hands to numpy without a copy.

use crate::error::Result;
use crate::invalid;
use crate::minhash::{FinishScratch, MinHasher, SigWord};
use crate::pool;
use crate::shingle::Shingler;
use crate::text::TextOptions;
use rayon::prelude::*;

/// Token hashes are folded into the signature in blocks: memory stays bounded on a 100 MB document
/// and the permutation loop runs over a cache-resident block.
const HASH_BLOCK: usize = 2048;

/// Per-worker buffers, reused from one document to the next.
#[derive(Default)]
struct Scratch {
    shingler: Shingler,
    hashes: Vec<u64>,
    finish: FinishScratch,
}

/// A flat batch of pre-tokenized documents: document `d` is `tokens[offsets[d]..offsets[d + 1]]`.
pub struct TokenLists<'a> {
    pub tokens: &'a [&'a [u8]],
    pub offsets: &'a [usize],
}

impl TokenLists<'_> {
    pub fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn doc(&self, d: usize) -> &[&[u8]] {
        &self.tokens[self.offsets[d]..self.offsets[d + 1]]
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
    for_each_doc(hasher, num_threads, out, |d, sig, scratch| {
        let Scratch {
            shingler,
            hashes,
            finish,
        } = scratch;
        start_signature(hasher, sig, hashes);
        shingler.shingles(texts[d], opts, |shingle| {
            push_hash(hasher, hasher.token_hash(shingle), hashes, sig);
        });
        finish_signature(hasher, sig, hashes, finish);
    })
}

/// Signatures of pre-tokenized documents, each token hashed as given (as datasketch does).
pub fn minhash_token_lists<W: SigWord>(
    docs: &TokenLists<'_>,
    hasher: &MinHasher,
    num_threads: usize,
    out: &mut [W],
) -> Result<()> {
    let offsets_ok = docs.offsets.first() == Some(&0)
        && docs.offsets.windows(2).all(|w| w[0] <= w[1])
        && docs.offsets.last() == Some(&docs.tokens.len());
    if !offsets_ok {
        return Err(invalid!(
            "token list offsets must rise from 0 to the number of tokens"
        ));
    }
    check_output::<W>(hasher, docs.len(), out.len())?;
    for_each_doc(hasher, num_threads, out, |d, sig, scratch| {
        start_signature(hasher, sig, &mut scratch.hashes);
        for token in docs.doc(d) {
            push_hash(hasher, hasher.token_hash(token), &mut scratch.hashes, sig);
        }
        finish_signature(hasher, sig, &mut scratch.hashes, &mut scratch.finish);
    })
}

fn check_output<W: SigWord>(hasher: &MinHasher, docs: usize, out_len: usize) -> Result<()> {
    if !W::fits(hasher.scheme()) {
        return Err(invalid!(
            "wrong signature word size for scheme {:?}",
            hasher.scheme().name()
        ));
    }
    if docs.checked_mul(hasher.num_perm()) != Some(out_len) {
        return Err(invalid!(
            "output holds {out_len} values, expected {docs} × {}",
            hasher.num_perm()
        ));
    }
    Ok(())
}

/// Runs `sketch(doc_index, signature_row, scratch)` for every document: in this thread when
/// `num_threads == 1`, else on a pool of that many workers.
fn for_each_doc<W: SigWord>(
    hasher: &MinHasher,
    num_threads: usize,
    out: &mut [W],
    sketch: impl Fn(usize, &mut [W], &mut Scratch) + Sync,
) -> Result<()> {
    let k = hasher.num_perm();
    if num_threads <= 1 {
        let mut scratch = Scratch::default();
        out.chunks_mut(k)
            .enumerate()
            .for_each(|(d, sig)| sketch(d, sig, &mut scratch));
        return Ok(());
    }
    let pool = pool::pool(num_threads)?;
    pool.install(|| {
        out.par_chunks_mut(k)
            .enumerate()
            .for_each_init(Scratch::default, |scratch, (d, sig)| {
                sketch(d, sig, scratch)
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
            .map(|i| {
                format!(
                    "Document {i}: the quick brown fox {} jumps",
                    "word ".repeat(i % 40)
                )
            })
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
        let opts = TextOptions {
            ngram: 3,
            ..TextOptions::default()
        };
        let text = "One two, THREE four five six seven.";
        let shingles = crate::shingle::shingles(text, &opts);
        let tokens: Vec<&[u8]> = shingles.iter().map(|s| s.as_bytes()).collect();
        let offsets = [0, tokens.len()];
        let lists = TokenLists {
            tokens: &tokens,
            offsets: &offsets,
        };
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
    fn long_document_crosses_hash_blocks() {
        let text = (0..10_000)
            .map(|i| format!("w{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        let hasher = MinHasher::new(Scheme::Legacy, 8, 1).unwrap();
        let mut sig = vec![0u64; 8];
        minhash_texts(
            &[text.as_str()],
            &hasher,
            &TextOptions::default(),
            1,
            &mut sig,
        )
        .unwrap();
        assert!(sig.iter().all(|&v| v < u64::from(u32::MAX)));
    }

    #[test]
    fn mismatched_buffers_are_errors_not_panics() {
        let hasher = MinHasher::new(Scheme::Affine32, 8, 1).unwrap();
        let mut wrong_width = vec![0u64; 8];
        assert!(minhash_texts(
            &["x"],
            &hasher,
            &TextOptions::default(),
            1,
            &mut wrong_width
        )
        .is_err());
        let mut short = vec![0u32; 7];
        assert!(minhash_texts(&["x"], &hasher, &TextOptions::default(), 1, &mut short).is_err());
        let bad = TokenLists {
            tokens: &[],
            offsets: &[0, 2],
        };
        assert!(minhash_token_lists(&bad, &hasher, 1, &mut vec![0u32; 8]).is_err());
    }
}
