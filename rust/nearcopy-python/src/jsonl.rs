//! Binding of the JSON Lines field reader (`nearcopy_core::jsonl`): a buffer of whole lines in, the
//! fields of every document out, the GIL released while the lines are parsed.

use crate::errors::to_py_err;
use crate::thread_count;
use nearcopy_core::jsonl::{extract_lines, select_lines, Fields, Line};
use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// Texts, ids, languages (None for slow lines), keep values, 0-based line numbers in the buffer, the
/// byte span of each document's line, whether it is slow, and how many newlines the buffer holds.
type Extracted<'py> = (
    Vec<Option<String>>,
    Vec<Option<String>>,
    Vec<Option<String>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<u64>>,
    Bound<'py, PyArray1<u64>>,
    Bound<'py, PyArray1<u64>>,
    Bound<'py, PyArray1<bool>>,
    usize,
);

/// The documents of a buffer of JSON Lines (blank lines skipped). A line whose reading might differ
/// from Python's `json.loads` is flagged `slow` (its text is None): the caller parses it itself.
#[pyfunction]
#[pyo3(signature = (buffer, text_field, id_field, language_field=None, keep_field=None, num_threads=None))]
pub fn jsonl_extract<'py>(
    py: Python<'py>,
    buffer: &Bound<'py, PyBytes>,
    text_field: &str,
    id_field: &str,
    language_field: Option<&str>,
    keep_field: Option<&str>,
    num_threads: Option<usize>,
) -> PyResult<Extracted<'py>> {
    let bytes = buffer.as_bytes();
    let fields = Fields { text: text_field, id: id_field, language: language_field, keep: keep_field };
    let threads = thread_count(num_threads, bytes.len()).map_err(to_py_err)?;
    let lines = py.detach(|| extract_lines(bytes, fields, threads)).map_err(to_py_err)?;
    let docs = lines.iter().filter(|l| l.line != Line::Blank).count();
    // Every newline ends a line; a last line without one is a line too.
    let newlines = lines.len() - usize::from(bytes.last().is_some_and(|&b| b != b'\n'));
    let (mut texts, mut ids, mut languages) =
        (Vec::with_capacity(docs), Vec::with_capacity(docs), Vec::with_capacity(docs));
    let (mut keep, mut numbers, mut starts, mut ends, mut slow) = (
        Vec::with_capacity(docs),
        Vec::with_capacity(docs),
        Vec::with_capacity(docs),
        Vec::with_capacity(docs),
        Vec::with_capacity(docs),
    );
    for extracted in lines {
        match extracted.line {
            Line::Blank => continue,
            Line::Fast(record) => {
                texts.push(Some(record.text));
                ids.push(record.id);
                languages.push(record.language);
                keep.push(record.keep);
                slow.push(false);
            }
            Line::Slow => {
                texts.push(None);
                ids.push(None);
                languages.push(None);
                keep.push(f64::NAN);
                slow.push(true);
            }
        }
        numbers.push(extracted.number as u64);
        starts.push(extracted.start as u64);
        ends.push(extracted.end as u64);
    }
    Ok((
        texts,
        ids,
        languages,
        keep.into_pyarray(py),
        numbers.into_pyarray(py),
        starts.into_pyarray(py),
        ends.into_pyarray(py),
        slow.into_pyarray(py),
        newlines,
    ))
}

/// The document lines of a buffer of whole JSON Lines whose entry in `keep` (one per document line,
/// blank lines not counted) is true, copied unparsed; and how many document lines the buffer held.
/// Fails if `keep` is shorter than that.
#[pyfunction]
pub fn jsonl_select<'py>(
    py: Python<'py>,
    buffer: &Bound<'py, PyBytes>,
    keep: PyReadonlyArray1<'py, bool>,
) -> PyResult<(Bound<'py, PyBytes>, usize)> {
    let bytes = buffer.as_bytes();
    let keep = keep.as_slice().map_err(|_| PyValueError::new_err("keep must be a contiguous array"))?;
    let (out, docs) = py.detach(|| select_lines(bytes, |d| keep.get(d).copied().unwrap_or(false)));
    if docs > keep.len() {
        return Err(PyValueError::new_err(format!(
            "the buffer holds {docs} documents but keep has {} entries",
            keep.len()
        )));
    }
    Ok((PyBytes::new(py, &out), docs))
}
