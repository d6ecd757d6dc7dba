//! The thin PyO3 layer of nearcopy: extract Python inputs under the GIL, run a `nearcopy-core`
//! kernel with the GIL released, hand the result to numpy without a copy. No logic lives here.

mod code;
mod dedup;
mod errors;
mod index;
mod index_fanout;
mod inputs;
mod jsonl;
mod jsonl_text;
mod lsh;
mod lsh_containment;
mod lsh_query;
mod lsh_write;

use errors::to_py_err;
use inputs::{Arena, HashArena, TextBatch, TokenArena};
use nearcopy_core::batch::{minhash_texts as core_minhash_texts, minhash_token_hashes, minhash_token_lists};
use nearcopy_core::minhash::{MinHasher, Scheme, SigWord};
use nearcopy_core::shingle::Shingler;
use nearcopy_core::text::{Normalizer, ShingleUnit, TextOptions};
use nearcopy_core::{pool, Result as CoreResult};
use numpy::ndarray::{Array1, Array2};
use numpy::{IntoPyArray, PyArray1};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString};

/// Below this many input bytes a batch runs in the calling thread: releasing the GIL and waking
/// workers would cost more than the work.
const SMALL_BATCH_BYTES: usize = 64 * 1024;
/// Batches are cut into chunks of about this many bytes so that Ctrl-C is noticed between them.
const CHUNK_BYTES: usize = 32 * 1024 * 1024;
/// Pre-tokenized input is copied into an arena of about this size at a time (fits in L2/L3 caches).
const TOKEN_CHUNK_BYTES: usize = 4 * 1024 * 1024;

fn text_options(ngram: usize, unit: &str, nfkc: bool, casefold: bool) -> CoreResult<TextOptions> {
    let opts = TextOptions { ngram, unit: ShingleUnit::parse(unit)?, nfkc, casefold };
    opts.validate()?;
    Ok(opts)
}

pub(crate) fn thread_count(num_threads: Option<usize>, total_bytes: usize) -> CoreResult<usize> {
    match num_threads {
        Some(n) => pool::validate_threads(n),
        None if total_bytes < SMALL_BATCH_BYTES => Ok(1),
        None => Ok(pool::default_threads()),
    }
}

/// The zeroed `docs × k` signature buffer, or a `MemoryError` (never an abort) when it cannot be had.
fn output_buffer<W: Default + Clone>(docs: usize, k: usize) -> PyResult<Vec<W>> {
    let too_big = || {
        pyo3::exceptions::PyMemoryError::new_err(format!(
            "cannot allocate signatures for {docs} documents x {k} slots"
        ))
    };
    let len = docs.checked_mul(k).ok_or_else(too_big)?;
    let mut out = Vec::new();
    out.try_reserve_exact(len).map_err(|_| too_big())?;
    out.resize(len, W::default());
    Ok(out)
}

/// Runs `kernel(first_doc, last_doc, out_rows)` over chunks of documents, with the GIL released for
/// large chunks and pending signals (Ctrl-C) checked between chunks; returns the `(docs, k)` array.
pub(crate) fn run_chunked<'py, W>(
    py: Python<'py>,
    hasher: &MinHasher,
    doc_bytes: &[usize],
    kernel: impl Fn(usize, usize, &mut [W]) -> CoreResult<()> + Sync,
) -> PyResult<Bound<'py, PyAny>>
where
    W: SigWord + numpy::Element + Default,
{
    let k = hasher.num_perm();
    let docs = doc_bytes.len();
    let mut out = output_buffer::<W>(docs, k)?;
    let mut start = 0;
    while start < docs {
        let mut end = start;
        let mut bytes = 0usize;
        while end < docs && (end == start || bytes < CHUNK_BYTES) {
            bytes += doc_bytes[end];
            end += 1;
        }
        let rows = &mut out[start * k..end * k];
        if bytes < SMALL_BATCH_BYTES {
            kernel(start, end, rows).map_err(to_py_err)?;
        } else {
            py.detach(|| kernel(start, end, rows)).map_err(to_py_err)?;
        }
        py.check_signals()?;
        start = end;
    }
    into_array(py, out, docs, k)
}

/// MinHash signatures of raw texts (normalized and shingled in Rust).
#[pyfunction]
#[pyo3(signature = (texts, num_perm, scheme, seed, ngram, unit, nfkc, casefold, num_threads=None))]
#[allow(clippy::too_many_arguments)]
fn minhash_texts<'py>(
    py: Python<'py>,
    texts: &Bound<'py, PyList>,
    num_perm: usize,
    scheme: &str,
    seed: u64,
    ngram: usize,
    unit: &str,
    nfkc: bool,
    casefold: bool,
    num_threads: Option<usize>,
) -> PyResult<Bound<'py, PyAny>> {
    let hasher =
        MinHasher::new(Scheme::parse(scheme).map_err(to_py_err)?, num_perm, seed).map_err(to_py_err)?;
    let opts = text_options(ngram, unit, nfkc, casefold).map_err(to_py_err)?;
    minhash_strs(py, texts, &hasher, num_threads, &TextKernel(opts))
}

/// A MinHash kernel over strings, for either signature word size.
pub(crate) trait StrKernel: Sync {
    fn run<W: SigWord>(
        &self,
        docs: &[&str],
        hasher: &MinHasher,
        threads: usize,
        rows: &mut [W],
    ) -> CoreResult<()>;
}

struct TextKernel(TextOptions);

impl StrKernel for TextKernel {
    fn run<W: SigWord>(
        &self,
        docs: &[&str],
        hasher: &MinHasher,
        threads: usize,
        rows: &mut [W],
    ) -> CoreResult<()> {
        core_minhash_texts(docs, hasher, &self.0, threads, rows)
    }
}

/// Signatures of a list of str through `kernel`: the strings borrowed, the work chunked and run
/// without the GIL, the signature word picked by the scheme.
pub(crate) fn minhash_strs<'py>(
    py: Python<'py>,
    texts: &Bound<'py, PyList>,
    hasher: &MinHasher,
    num_threads: Option<usize>,
    kernel: &impl StrKernel,
) -> PyResult<Bound<'py, PyAny>> {
    let held = TextBatch::hold(texts)?;
    let owned = held.borrow()?;
    let batch: Vec<&str> = owned.iter().map(|t| t.as_ref()).collect();
    let doc_bytes: Vec<usize> = batch.iter().map(|t| t.len()).collect();
    let threads = thread_count(num_threads, doc_bytes.iter().sum()).map_err(to_py_err)?;
    if hasher.scheme().is_u32() {
        run_chunked::<u32>(py, hasher, &doc_bytes, |s, e, rows| {
            kernel.run(&batch[s..e], hasher, threads, rows)
        })
    } else {
        run_chunked::<u64>(py, hasher, &doc_bytes, |s, e, rows| {
            kernel.run(&batch[s..e], hasher, threads, rows)
        })
    }
}

/// MinHash signatures of pre-tokenized documents (a list of lists of str or bytes).
#[pyfunction]
#[pyo3(signature = (docs, num_perm, scheme, seed, num_threads=None))]
fn minhash_tokens<'py>(
    py: Python<'py>,
    docs: &Bound<'py, PyList>,
    num_perm: usize,
    scheme: &str,
    seed: u64,
    num_threads: Option<usize>,
) -> PyResult<Bound<'py, PyAny>> {
    let hasher =
        MinHasher::new(Scheme::parse(scheme).map_err(to_py_err)?, num_perm, seed).map_err(to_py_err)?;
    match hasher.scheme() {
        Scheme::Fast => {
            let arena = HashArena::new(&hasher);
            stream_token_chunks::<u64, _>(py, &hasher, docs, num_threads, arena, |arena, threads, rows| {
                minhash_token_hashes(&arena.hashes, &arena.doc_bounds, &hasher, threads, rows)
            })
        }
        Scheme::Affine32 => copied_token_signatures::<u32>(py, &hasher, docs, num_threads),
        Scheme::Legacy | Scheme::Affine64 => copied_token_signatures::<u64>(py, &hasher, docs, num_threads),
    }
}

/// Signatures of pre-tokenized documents whose token bytes are copied out, so that an expensive
/// token hash (SHA-1) runs in parallel without the GIL.
fn copied_token_signatures<'py, W: SigWord + numpy::Element + Default>(
    py: Python<'py>,
    hasher: &MinHasher,
    docs: &Bound<'py, PyList>,
    num_threads: Option<usize>,
) -> PyResult<Bound<'py, PyAny>> {
    stream_token_chunks::<W, _>(py, hasher, docs, num_threads, TokenArena::new(), |arena, threads, rows| {
        minhash_token_lists(&arena.lists(), hasher, threads, rows)
    })
}

/// Reads pre-tokenized documents into `arena` a chunk at a time and runs `kernel` on each chunk: the
/// reading needs the GIL, the kernel does not, and a bounded arena keeps memory flat on huge batches.
fn stream_token_chunks<'py, W: SigWord + numpy::Element + Default, A: Arena + Sync>(
    py: Python<'py>,
    hasher: &MinHasher,
    docs: &Bound<'py, PyList>,
    num_threads: Option<usize>,
    mut arena: A,
    kernel: impl Fn(&A, usize, &mut [W]) -> CoreResult<()> + Sync,
) -> PyResult<Bound<'py, PyAny>> {
    let k = hasher.num_perm();
    let mut out = output_buffer::<W>(docs.len(), k)?;
    let mut first = 0;
    for (d, doc) in docs.iter().enumerate() {
        arena.push_doc(&doc, d)?;
        let size = arena.size();
        if size < TOKEN_CHUNK_BYTES && d + 1 < docs.len() {
            continue;
        }
        let threads = thread_count(num_threads, size).map_err(to_py_err)?;
        let rows = &mut out[first * k..(d + 1) * k];
        if size < SMALL_BATCH_BYTES {
            kernel(&arena, threads, rows).map_err(to_py_err)?;
        } else {
            py.detach(|| kernel(&arena, threads, rows)).map_err(to_py_err)?;
        }
        py.check_signals()?;
        arena.clear();
        first = d + 1;
    }
    into_array(py, out, docs.len(), k)
}

fn into_array<W: numpy::Element>(
    py: Python<'_>,
    out: Vec<W>,
    docs: usize,
    k: usize,
) -> PyResult<Bound<'_, PyAny>> {
    let array = Array2::from_shape_vec((docs, k), out)
        .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.to_string()))?;
    Ok(array.into_pyarray(py).into_any())
}

/// Token texts with their start and end byte offsets.
type Spans<'py> = (Bound<'py, PyList>, Bound<'py, PyArray1<i64>>, Bound<'py, PyArray1<i64>>);

/// Normalized tokens of one text with their byte spans in the original (UTF-8) text.
#[pyfunction]
fn normalize<'py>(
    py: Python<'py>,
    text: &Bound<'py, PyString>,
    nfkc: bool,
    casefold: bool,
) -> PyResult<Spans<'py>> {
    let text = inputs::str_lossy(text)?;
    let opts = TextOptions { nfkc, casefold, ..TextOptions::default() };
    let mut normalizer = Normalizer::new();
    let tokens = normalizer.tokens(&text, &opts);
    let normalized = normalizer.normalized();
    let words = PyList::new(py, tokens.iter().map(|t| &normalized[t.norm_start..t.norm_end]))?;
    let starts: Array1<i64> = tokens.iter().map(|t| t.orig_start as i64).collect();
    let ends: Array1<i64> = tokens.iter().map(|t| t.orig_end as i64).collect();
    Ok((words, starts.into_pyarray(py), ends.into_pyarray(py)))
}

/// The shingles `minhash_texts` hashes for one text, as strings.
#[pyfunction]
fn shingles<'py>(
    py: Python<'py>,
    text: &Bound<'py, PyString>,
    ngram: usize,
    unit: &str,
    nfkc: bool,
    casefold: bool,
) -> PyResult<Bound<'py, PyList>> {
    let text = inputs::str_lossy(text)?;
    let opts = text_options(ngram, unit, nfkc, casefold).map_err(to_py_err)?;
    let mut out = Vec::new();
    Shingler::new().shingles(&text, &opts, |bytes| out.push(String::from_utf8_lossy(bytes).into_owned()));
    PyList::new(py, out)
}

/// Two arrays of the same length.
type Pair<'py> = (Bound<'py, PyArray1<u64>>, Bound<'py, PyArray1<u64>>);

/// The permutation parameters `(a, b)` of a compatible scheme, as uint64 arrays.
#[pyfunction]
fn permutations<'py>(py: Python<'py>, scheme: &str, num_perm: usize, seed: u64) -> PyResult<Pair<'py>> {
    let hasher =
        MinHasher::new(Scheme::parse(scheme).map_err(to_py_err)?, num_perm, seed).map_err(to_py_err)?;
    let (a, b) = hasher.permutations();
    Ok((a.into_pyarray(py), b.into_pyarray(py)))
}

/// The threads a call uses when `num_threads` is None and the batch is not small: the cores this
/// process may run on (its affinity mask and cgroup quota).
#[pyfunction]
fn default_threads() -> usize {
    pool::default_threads()
}

#[pymodule]
mod _core {
    #[pymodule_export]
    use super::{default_threads, minhash_texts, minhash_tokens, normalize, permutations, shingles};

    #[pymodule_export]
    use super::index::{build_segment, fingerprint_key_check, licence_notices, merge_segments, IndexReader};

    #[pymodule_export]
    use super::index_fanout::{shard_frequencies, shard_match_answers};

    #[pymodule_export]
    use super::dedup::{
        dedup_band_keys, dedup_bucket_records, dedup_candidate_pairs, dedup_content_hashes, dedup_decide,
        dedup_equal_slots, dedup_exact_groups, dedup_exact_jaccard, dedup_roots, dedup_shingle_sets,
        dedup_sort_records, dedup_unconnected, dedup_union,
    };

    #[pymodule_export]
    use super::jsonl::{jsonl_extract, jsonl_select};

    #[pymodule_export]
    use super::jsonl_text::{jsonl_texts, HeldText};

    #[pymodule_export]
    use super::lsh::LshReader;

    #[pymodule_export]
    use super::lsh_write::lsh_write_segment;

    #[pymodule_export]
    use super::code::{
        canonical_language, code_shingles, code_tokens, code_tokens_batch, detect_language, generated_spans,
        language_for_extension, languages, minhash_code, split_answer,
    };

    #[pymodule_init]
    fn init(m: &pyo3::Bound<'_, pyo3::types::PyModule>) -> pyo3::PyResult<()> {
        use pyo3::types::PyModuleMethods;
        // SAFETY: nothing of this module has run yet, so no tree-sitter object exists.
        unsafe { nearcopy_core::code::route_tree_sitter_to_mimalloc() };
        m.add("__version__", env!("CARGO_PKG_VERSION"))?;
        m.add("UNICODE_VERSION", nearcopy_core::text::UNICODE_VERSION)?;
        m.add("MAX_NUM_PERM", nearcopy_core::minhash::MAX_NUM_PERM)?;
        m.add("MAX_NGRAM", nearcopy_core::text::MAX_NGRAM)?;
        Ok(())
    }
}
