//! Normalized code tokens of many sources at once, in parallel, as flat arrays.

use super::{CodeNormalizer, CodeOptions};
use crate::error::Result;
use crate::pool;
use rayon::prelude::*;

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
    let mut batch = CodeTokenBatch { doc_bounds: vec![0], ..CodeTokenBatch::default() };
    if num_threads <= 1 {
        let mut code = CodeNormalizer::new();
        for source in sources {
            code.normalize(source, opts)?;
            batch.append(&code);
        }
        return Ok(batch);
    }
    // In parallel each source gets its own small batch; they are concatenated in order afterwards.
    let parts: Vec<Result<CodeTokenBatch>> = pool::pool(num_threads)?.install(|| {
        sources
            .par_iter()
            .map_init(CodeNormalizer::new, |code, source| {
                code.normalize(source, opts)?;
                let mut one = CodeTokenBatch { doc_bounds: vec![0], ..CodeTokenBatch::default() };
                one.append(code);
                Ok(one)
            })
            .collect()
    });
    for part in parts {
        let part = part?;
        batch.kinds.extend_from_slice(&part.kinds);
        batch.symbols.extend_from_slice(&part.symbols);
        batch.starts.extend_from_slice(&part.starts);
        batch.ends.extend_from_slice(&part.ends);
        batch.doc_bounds.push(batch.kinds.len());
    }
    Ok(batch)
}

impl CodeTokenBatch {
    /// Appends the last source `code` normalized as one more document.
    fn append(&mut self, code: &CodeNormalizer) {
        let buf = code.normalized().as_bytes();
        for token in code.tokens() {
            self.kinds.push(token.kind as u8);
            self.symbols.push(symbol_id(&buf[token.norm_start..token.norm_end]));
            self.starts.push(token.start);
            self.ends.push(token.end);
        }
        self.doc_bounds.push(self.kinds.len());
    }
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
