//! Bindings of the dedup kernels (`nearcopy_core::dedup`): numpy arrays in, numpy arrays out, the
//! GIL released around each kernel. The pipeline that strings them together lives in Python
//! (`nearcopy.dedup`), so another driver (Ray) can call the same stages on its own partitions.

use crate::code::code_options;
use crate::errors::to_py_err;
use crate::inputs::TextBatch;
use crate::{text_options, thread_count};
use nearcopy_core::code::CodeOptions;
use nearcopy_core::dedup::exact::{content_hashes, exact_jaccard, shingle_sets, Shingling};
use nearcopy_core::dedup::{
    band_keys, bucket_records, candidate_pairs, decide, equal_slots, exact_groups, roots, sort_records,
    unconnected, union_pairs,
};
use nearcopy_core::Result as CoreResult;
use numpy::ndarray::Array2;
use numpy::{
    IntoPyArray, PyArray1, PyArray2, PyReadonlyArray1, PyReadonlyArray2, PyReadwriteArray1,
    PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyList;
use std::collections::HashMap;

/// `(m, 2)` records and the count of each bucket.
type Records<'py> = (Bound<'py, PyArray2<u64>>, Bound<'py, PyArray1<u64>>);
/// Representatives and the mask of representatives.
type Groups<'py> = (Bound<'py, PyArray1<u64>>, Bound<'py, PyArray1<bool>>);
/// Cluster sizes, keep flags, and what each document duplicates.
type Kept<'py> = (Bound<'py, PyArray1<i64>>, Bound<'py, PyArray1<bool>>, Bound<'py, PyArray1<i64>>);
/// Flat set values and their bounds.
type Sets<'py> = (Bound<'py, PyArray1<u64>>, Bound<'py, PyArray1<u64>>);

/// Signatures of either word size.
#[derive(FromPyObject)]
pub enum Signatures<'py> {
    U32(PyReadonlyArray2<'py, u32>),
    U64(PyReadonlyArray2<'py, u64>),
}

fn not_contiguous(what: &str) -> PyErr {
    PyValueError::new_err(format!("{what} must be a C-contiguous array"))
}

fn slice2<'a, T: numpy::Element>(array: &'a PyReadonlyArray2<'_, T>, what: &str) -> PyResult<&'a [T]> {
    array.as_slice().map_err(|_| not_contiguous(what))
}

/// An optional 1-D array as a slice (None stays None).
fn optional_slice<'a, T: numpy::Element>(
    array: &'a Option<PyReadonlyArray1<'_, T>>,
    what: &str,
) -> PyResult<Option<&'a [T]>> {
    array.as_ref().map(|a| a.as_slice().map_err(|_| not_contiguous(what))).transpose()
}

/// `(n, 2)` pairs or records as a flat slice.
fn pairs_of<'a>(array: &'a PyReadonlyArray2<'_, u64>, what: &str) -> PyResult<&'a [u64]> {
    if array.shape()[1] != 2 {
        return Err(PyValueError::new_err(format!("{what} must have shape (n, 2), got {:?}", array.shape())));
    }
    slice2(array, what)
}

fn rows<T: numpy::Element>(py: Python<'_>, flat: Vec<T>, width: usize) -> PyResult<Bound<'_, PyArray2<T>>> {
    let n = flat.len().checked_div(width).unwrap_or(0);
    let array =
        Array2::from_shape_vec((n, width), flat).map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
    Ok(array.into_pyarray(py))
}

fn threads_for(num_threads: Option<usize>, items: usize) -> PyResult<usize> {
    thread_count(num_threads, items.saturating_mul(8)).map_err(to_py_err)
}

/// `(docs, bands)` uint64 band keys of a signature matrix.
#[pyfunction]
#[pyo3(signature = (signatures, bands, rows, num_threads=None))]
pub fn dedup_band_keys<'py>(
    py: Python<'py>,
    signatures: Signatures<'py>,
    bands: usize,
    rows: usize,
    num_threads: Option<usize>,
) -> PyResult<Bound<'py, PyArray2<u64>>> {
    let keys = match &signatures {
        Signatures::U32(a) => {
            let (s, k) = (slice2(a, "signatures")?, a.shape()[1]);
            let threads = threads_for(num_threads, s.len())?;
            py.detach(|| band_keys(s, k, bands, rows, threads))
        }
        Signatures::U64(a) => {
            let (s, k) = (slice2(a, "signatures")?, a.shape()[1]);
            let threads = threads_for(num_threads, s.len())?;
            py.detach(|| band_keys(s, k, bands, rows, threads))
        }
    };
    rows_or_err(py, keys, bands)
}

fn rows_or_err<T: numpy::Element>(
    py: Python<'_>,
    flat: CoreResult<Vec<T>>,
    width: usize,
) -> PyResult<Bound<'_, PyArray2<T>>> {
    rows(py, flat.map_err(to_py_err)?, width)
}

/// Records `(key, doc)` ordered by bucket, `(m, 2)` uint64, and the count of each bucket.
#[pyfunction]
#[pyo3(signature = (keys, first_doc, buckets, include=None))]
pub fn dedup_bucket_records<'py>(
    py: Python<'py>,
    keys: PyReadonlyArray2<'py, u64>,
    first_doc: u64,
    buckets: usize,
    include: Option<PyReadonlyArray1<'py, bool>>,
) -> PyResult<Records<'py>> {
    let bands = keys.shape()[1];
    let flat = slice2(&keys, "keys")?;
    let flags = optional_slice(&include, "include")?;
    let (records, counts) =
        py.detach(|| bucket_records(flat, bands, first_doc, flags, buckets)).map_err(to_py_err)?;
    Ok((rows(py, records, 2)?, counts.into_pyarray(py)))
}

/// Each document's representative among those with its content hash (`(n, 2)` uint64; preferred
/// documents first, then the smallest), and whether it is one.
#[pyfunction]
#[pyo3(signature = (hashes, prefer=None, num_threads=None))]
pub fn dedup_exact_groups<'py>(
    py: Python<'py>,
    hashes: PyReadonlyArray2<'py, u64>,
    prefer: Option<PyReadonlyArray1<'py, bool>>,
    num_threads: Option<usize>,
) -> PyResult<Groups<'py>> {
    let flat = pairs_of(&hashes, "hashes")?;
    let flags = optional_slice(&prefer, "prefer")?;
    let threads = threads_for(num_threads, flat.len())?;
    let (rep, is_rep) = py.detach(|| exact_groups(flat, flags, threads)).map_err(to_py_err)?;
    Ok((rep.into_pyarray(py), is_rep.into_pyarray(py)))
}

/// Per document: its cluster's size, whether it is kept, and what it duplicates (see
/// `nearcopy_core::dedup::decide`).
#[pyfunction]
#[pyo3(signature = (roots, priority, max_copies, reference_match=None))]
pub fn dedup_decide<'py>(
    py: Python<'py>,
    roots: PyReadonlyArray1<'py, u64>,
    priority: PyReadonlyArray1<'py, f64>,
    max_copies: usize,
    reference_match: Option<PyReadonlyArray1<'py, i64>>,
) -> PyResult<Kept<'py>> {
    let roots = roots.as_slice().map_err(|_| not_contiguous("roots"))?;
    let priority = priority.as_slice().map_err(|_| not_contiguous("priority"))?;
    let matches = optional_slice(&reference_match, "reference_match")?;
    let out = py.detach(|| decide(roots, priority, max_copies, matches)).map_err(to_py_err)?;
    Ok((out.size.into_pyarray(py), out.keep.into_pyarray(py), out.duplicate_of.into_pyarray(py)))
}

/// Candidate pairs `(i, j)`, `i < j`, of documents sharing a key among `(key, doc)` records.
#[pyfunction]
#[pyo3(signature = (records, max_group, num_threads=None))]
pub fn dedup_candidate_pairs<'py>(
    py: Python<'py>,
    records: PyReadonlyArray2<'py, u64>,
    max_group: usize,
    num_threads: Option<usize>,
) -> PyResult<Bound<'py, PyArray2<u64>>> {
    let flat = pairs_of(&records, "records")?;
    let threads = threads_for(num_threads, flat.len())?;
    rows_or_err(py, py.detach(|| candidate_pairs(flat, max_group, threads)), 2)
}

/// `(key, doc)` records sorted by key, then document.
#[pyfunction]
#[pyo3(signature = (records, num_threads=None))]
pub fn dedup_sort_records<'py>(
    py: Python<'py>,
    records: PyReadonlyArray2<'py, u64>,
    num_threads: Option<usize>,
) -> PyResult<Bound<'py, PyArray2<u64>>> {
    let flat = pairs_of(&records, "records")?;
    let threads = threads_for(num_threads, flat.len())?;
    rows_or_err(py, py.detach(|| sort_records(flat, threads)), 2)
}

/// For each pair, the number of signature slots on which its two documents agree (uint32).
#[pyfunction]
#[pyo3(signature = (signatures, pairs, num_threads=None))]
pub fn dedup_equal_slots<'py>(
    py: Python<'py>,
    signatures: Signatures<'py>,
    pairs: PyReadonlyArray2<'py, u64>,
    num_threads: Option<usize>,
) -> PyResult<Bound<'py, PyArray1<u32>>> {
    let pairs = pairs_of(&pairs, "pairs")?;
    let threads = threads_for(num_threads, pairs.len() * 16)?;
    let counts = match &signatures {
        Signatures::U32(a) => {
            let (s, k) = (slice2(a, "signatures")?, a.shape()[1]);
            py.detach(|| equal_slots(s, k, pairs, threads))
        }
        Signatures::U64(a) => {
            let (s, k) = (slice2(a, "signatures")?, a.shape()[1]);
            py.detach(|| equal_slots(s, k, pairs, threads))
        }
    };
    Ok(counts.map_err(to_py_err)?.into_pyarray(py))
}

fn parent_slice<'a>(parent: &'a mut PyReadwriteArray1<'_, u64>) -> PyResult<&'a mut [u64]> {
    parent.as_slice_mut().map_err(|_| not_contiguous("parent"))
}

/// Joins the union-find components (in the uint64 `parent` array, in place) of every pair;
/// returns the number of merges.
#[pyfunction]
pub fn dedup_union<'py>(
    py: Python<'py>,
    mut parent: PyReadwriteArray1<'py, u64>,
    pairs: PyReadonlyArray2<'py, u64>,
) -> PyResult<u64> {
    let pairs = pairs_of(&pairs, "pairs")?;
    let parent = parent_slice(&mut parent)?;
    py.detach(|| union_pairs(parent, pairs)).map_err(to_py_err)
}

/// The pairs whose documents are not yet in one component of `parent`.
#[pyfunction]
pub fn dedup_unconnected<'py>(
    py: Python<'py>,
    mut parent: PyReadwriteArray1<'py, u64>,
    pairs: PyReadonlyArray2<'py, u64>,
) -> PyResult<Bound<'py, PyArray2<u64>>> {
    let pairs = pairs_of(&pairs, "pairs")?;
    let parent = parent_slice(&mut parent)?;
    rows_or_err(py, py.detach(|| unconnected(parent, pairs)), 2)
}

/// Every document's root (its component's smallest document), `parent` fully compressed.
#[pyfunction]
pub fn dedup_roots<'py>(
    py: Python<'py>,
    mut parent: PyReadwriteArray1<'py, u64>,
) -> PyResult<Bound<'py, PyArray1<u64>>> {
    let parent = parent_slice(&mut parent)?;
    Ok(py.detach(|| roots(parent)).map_err(to_py_err)?.into_pyarray(py))
}

/// XXH3-128 of each text's UTF-8 bytes, `(n, 2)` uint64: equal rows mean equal texts.
#[pyfunction]
#[pyo3(signature = (texts, num_threads=None))]
pub fn dedup_content_hashes<'py>(
    py: Python<'py>,
    texts: &Bound<'py, PyList>,
    num_threads: Option<usize>,
) -> PyResult<Bound<'py, PyArray2<u64>>> {
    let held = TextBatch::hold(texts)?;
    let owned = held.borrow()?;
    let batch: Vec<&str> = owned.iter().map(|t| t.as_ref()).collect();
    let threads = thread_count(num_threads, batch.iter().map(|t| t.len()).sum()).map_err(to_py_err)?;
    rows_or_err(py, py.detach(|| content_hashes(&batch, threads)), 2)
}

/// Each document's shingle set as sorted distinct uint64 hashes: `(values, bounds)`. Documents
/// with a language are shingled as code (`code_ngram`, `identifiers`, `literals`), others as text.
#[pyfunction]
#[pyo3(signature = (texts, languages, ngram, unit, nfkc, casefold, code_ngram, identifiers, literals, num_threads=None))]
#[allow(clippy::too_many_arguments)]
pub fn dedup_shingle_sets<'py>(
    py: Python<'py>,
    texts: &Bound<'py, PyList>,
    languages: Vec<Option<String>>,
    ngram: usize,
    unit: &str,
    nfkc: bool,
    casefold: bool,
    code_ngram: usize,
    identifiers: &str,
    literals: &str,
    num_threads: Option<usize>,
) -> PyResult<Sets<'py>> {
    if languages.len() != texts.len() {
        return Err(PyValueError::new_err("texts and languages must have the same length"));
    }
    let text = text_options(ngram, unit, nfkc, casefold).map_err(to_py_err)?;
    let mut code: HashMap<&str, CodeOptions> = HashMap::new();
    for name in languages.iter().flatten() {
        if !code.contains_key(name.as_str()) {
            code.insert(name, code_options(name, code_ngram, identifiers, literals).map_err(to_py_err)?);
        }
    }
    let held = TextBatch::hold(texts)?;
    let owned = held.borrow()?;
    let docs: Vec<(&str, Shingling<'_>)> = owned
        .iter()
        .zip(&languages)
        .map(|(t, lang)| match lang {
            Some(name) => (t.as_ref(), Shingling::Code(&code[name.as_str()])),
            None => (t.as_ref(), Shingling::Text(&text)),
        })
        .collect();
    let threads = thread_count(num_threads, docs.iter().map(|(t, _)| t.len()).sum()).map_err(to_py_err)?;
    let (values, bounds) = py.detach(|| shingle_sets(&docs, threads)).map_err(to_py_err)?;
    Ok((values.into_pyarray(py), bounds.into_pyarray(py)))
}

/// Exact Jaccard similarity (float64) of each pair over sets from `dedup_shingle_sets`.
#[pyfunction]
#[pyo3(signature = (values, bounds, pairs, num_threads=None))]
pub fn dedup_exact_jaccard<'py>(
    py: Python<'py>,
    values: PyReadonlyArray1<'py, u64>,
    bounds: PyReadonlyArray1<'py, u64>,
    pairs: PyReadonlyArray2<'py, u64>,
    num_threads: Option<usize>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let values = values.as_slice().map_err(|_| not_contiguous("values"))?;
    let bounds = bounds.as_slice().map_err(|_| not_contiguous("bounds"))?;
    let pairs = pairs_of(&pairs, "pairs")?;
    let threads = threads_for(num_threads, pairs.len() * 64)?;
    Ok(py.detach(|| exact_jaccard(values, bounds, pairs, threads)).map_err(to_py_err)?.into_pyarray(py))
}
