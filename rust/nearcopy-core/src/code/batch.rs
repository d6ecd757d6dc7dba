//! Normalized code tokens of many sources at once, in parallel, as flat arrays.

use super::{CodeNormalizer, CodeOptions};
use crate::error::Result;
use crate::pool;
use rayon::prelude::*;

/// One token as the flat arrays hold it: kind, symbol id, start, end.
type FlatToken = (u8, u64, usize, usize);

/// The normalized code tokens of many sources, flattened: source `d` holds tokens
/// `doc_bounds[d]..doc_bounds[d + 1]`; `symbols` are 64-bit ids of the normalized symbols.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CodeTokenBatch {
    pub doc_bounds: Vec<usize>,
    pub kinds: Vec<u8>,
    pub symbols: Vec<u64>,
    pub starts: Vec<usize>,
    pub ends: Vec<usize>,
}

/// Normalized code tokens of many sources, in parallel.
pub fn code_token_batch(sources: &[&str], opts: &CodeOptions, num_threads: usize) -> Result<CodeTokenBatch> {
    opts.validate()?;
    let normalize_one = |code: &mut CodeNormalizer, source: &str| -> Result<Vec<FlatToken>> {
        let tokens = code.normalize(source, opts)?.to_vec();
        let buf = code.normalized().as_bytes();
        Ok(tokens
            .iter()
            .map(|t| (t.kind as u8, symbol_id(&buf[t.norm_start..t.norm_end]), t.start, t.end))
            .collect())
    };
    let per_doc: Vec<Result<Vec<FlatToken>>> = if num_threads <= 1 {
        let mut code = CodeNormalizer::new();
        sources.iter().map(|s| normalize_one(&mut code, s)).collect()
    } else {
        pool::pool(num_threads)?.install(|| {
            sources.par_iter().map_init(CodeNormalizer::new, |code, s| normalize_one(code, s)).collect()
        })
    };
    let mut batch = CodeTokenBatch { doc_bounds: vec![0], ..CodeTokenBatch::default() };
    for doc in per_doc {
        for (kind, symbol, start, end) in doc? {
            batch.kinds.push(kind);
            batch.symbols.push(symbol);
            batch.starts.push(start);
            batch.ends.push(end);
        }
        batch.doc_bounds.push(batch.kinds.len());
    }
    Ok(batch)
}

/// The 64-bit id of a normalized symbol: stable across runs, processes and machines.
pub fn symbol_id(symbol: &[u8]) -> u64 {
    crate::hash::xxh3_64(symbol, 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::code::Language;

    #[test]
    fn batches_do_not_depend_on_threads() {
        let opts = CodeOptions::new(Language::Python);
        let sources = ["def f(a):\n    return a + 1\n", "def g(b):  # other\n    return b + 1", "x = [1, 2]"];
        let one = code_token_batch(&sources, &opts, 1).unwrap();
        assert_eq!(one, code_token_batch(&sources, &opts, 2).unwrap());
        assert_eq!(one.doc_bounds.len(), 4);
        let second = one.doc_bounds[1];
        assert_eq!(one.symbols[..7], one.symbols[second..second + 7]);
        assert_eq!(symbol_id(b"$id"), symbol_id(b"$id"));
        assert_ne!(symbol_id(b"$id"), symbol_id(b"$str"));
    }
}
