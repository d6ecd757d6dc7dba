//! Bindings that write an LSH segment (`nearcopy_core::lsh::write_segment`) from a batch of
//! signatures and keys, and the conversions of Python inputs (parameters, keys, signatures) that
//! the reader's bindings (`lsh.rs`) share.

use crate::errors::to_py_err;
use crate::thread_count;
use nearcopy_core::dedup::Slot;
use nearcopy_core::lsh::{write_segment, Columns, Header, KeyKind, Keys, NewDocs, Store};
use nearcopy_core::minhash::Scheme;
use numpy::{PyArray2, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString};
use std::path::{Path, PathBuf};

/// The parameters of an index, as its manifest gives them.
pub(crate) fn header(
    num_perm: usize,
    bands: usize,
    rows: usize,
    scheme: &str,
    seed: u64,
    store: u32,
    key_kind: &str,
) -> PyResult<Header> {
    let key_kind = match key_kind {
        "str" => KeyKind::Str,
        "int" => KeyKind::Int,
        other => {
            return Err(PyValueError::new_err(format!("key_kind must be 'str' or 'int', got {other:?}")))
        }
    };
    let (scheme, store) =
        (Scheme::parse(scheme).map_err(to_py_err)?, Store::from_code(store).map_err(to_py_err)?);
    let header = Header::new(num_perm, bands, rows, scheme, seed, store, key_kind);
    header.check().map_err(to_py_err)?;
    Ok(header)
}

/// Owned keys taken from Python: str keys as UTF-8 (lone surrogates as `surrogatepass` bytes, so
/// every str key round-trips), int keys as i64.
pub(crate) enum OwnedKeys {
    Str { blob: Vec<u8>, ends: Vec<u64> },
    Int(Vec<i64>),
}

impl OwnedKeys {
    pub(crate) fn take(keys: &Bound<'_, PyAny>, kind: KeyKind) -> PyResult<Self> {
        match kind {
            KeyKind::Int => {
                let array: PyReadonlyArray1<'_, i64> = keys.extract().map_err(|_| {
                    PyTypeError::new_err("keys of an int-keyed index must be a 1-D int64 array")
                })?;
                Ok(OwnedKeys::Int(array.as_array().to_vec()))
            }
            KeyKind::Str => {
                let list =
                    keys.cast::<PyList>().map_err(|_| PyTypeError::new_err("keys must be a list of str"))?;
                let (mut blob, mut ends) = (Vec::new(), Vec::with_capacity(list.len()));
                for (i, item) in list.iter().enumerate() {
                    let text = item.cast::<PyString>().map_err(|_| {
                        PyTypeError::new_err(format!("keys[{i}] is not a str (this index has str keys)"))
                    })?;
                    match text.to_str() {
                        Ok(s) => blob.extend_from_slice(s.as_bytes()),
                        Err(_) => {
                            let encoded = text.call_method1("encode", ("utf-8", "surrogatepass"))?;
                            blob.extend_from_slice(encoded.cast::<PyBytes>()?.as_bytes());
                        }
                    }
                    ends.push(blob.len() as u64);
                }
                Ok(OwnedKeys::Str { blob, ends })
            }
        }
    }

    pub(crate) fn view(&self) -> Keys<'_> {
        match self {
            OwnedKeys::Str { blob, ends } => Keys::Str { blob, ends },
            OwnedKeys::Int(ints) => Keys::Int(ints),
        }
    }
}

/// Signatures of either word size. Checked by type, not by trying one extraction then the other: a
/// failed extraction builds an error message, which cost more than a whole single-row query.
pub(crate) enum Signatures<'py> {
    U32(PyReadonlyArray2<'py, u32>),
    U64(PyReadonlyArray2<'py, u64>),
}

pub(crate) fn signatures<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Signatures<'py>> {
    if let Ok(array) = obj.cast::<PyArray2<u64>>() {
        return Ok(Signatures::U64(array.readonly()));
    }
    if let Ok(array) = obj.cast::<PyArray2<u32>>() {
        return Ok(Signatures::U32(array.readonly()));
    }
    Err(PyTypeError::new_err("signatures must be a 2-D uint32 (affine32) or uint64 array"))
}

pub(crate) fn contiguous<'a, T: numpy::Element>(
    array: &'a PyReadonlyArray2<'_, T>,
    what: &str,
) -> PyResult<&'a [T]> {
    array.as_slice().map_err(|_| PyValueError::new_err(format!("{what} must be a C-contiguous array")))
}

/// Writes a segment of `signatures` (`(n, num_perm)`, uint32 for affine32, else uint64) and their
/// `keys`, with optional `content_hashes` (`(n, 2)` uint64) and shingle sets (`set_values`,
/// `set_bounds`) and set sizes (`set_sizes`, uint32: each document's shingle count, for
/// containment queries). Returns (documents, file bytes).
#[pyfunction]
#[pyo3(signature = (path, signatures, keys, num_perm, bands, rows, scheme, seed, store, key_kind, content_hashes=None, set_values=None, set_bounds=None, set_sizes=None, num_threads=None))]
#[allow(clippy::too_many_arguments)]
pub fn lsh_write_segment(
    py: Python<'_>,
    path: PathBuf,
    signatures: &Bound<'_, PyAny>,
    keys: &Bound<'_, PyAny>,
    num_perm: usize,
    bands: usize,
    rows: usize,
    scheme: &str,
    seed: u64,
    store: u32,
    key_kind: &str,
    content_hashes: Option<PyReadonlyArray2<'_, u64>>,
    set_values: Option<PyReadonlyArray1<'_, u64>>,
    set_bounds: Option<PyReadonlyArray1<'_, u64>>,
    set_sizes: Option<PyReadonlyArray1<'_, u32>>,
    num_threads: Option<usize>,
) -> PyResult<(u64, u64)> {
    let params = header(num_perm, bands, rows, scheme, seed, store, key_kind)?;
    let signatures = self::signatures(signatures)?;
    let keys = OwnedKeys::take(keys, params.key_kind)?;
    let hashes = content_hashes.as_ref().map(|a| contiguous(a, "content_hashes")).transpose()?;
    let sets = match (&set_values, &set_bounds) {
        (Some(v), Some(b)) => Some((
            v.as_slice().map_err(|_| PyValueError::new_err("set_values must be contiguous"))?,
            b.as_slice().map_err(|_| PyValueError::new_err("set_bounds must be contiguous"))?,
        )),
        (None, None) => None,
        _ => return Err(PyValueError::new_err("give both set_values and set_bounds, or neither")),
    };
    let set_sizes = set_sizes
        .as_ref()
        .map(|a| a.as_slice().map_err(|_| PyValueError::new_err("set_sizes must be contiguous")))
        .transpose()?;
    let columns = Columns { content_hashes: hashes, sets, set_sizes };
    let written = match &signatures {
        Signatures::U32(a) => {
            write(py, &path, &params, contiguous(a, "signatures")?, &keys, columns, num_threads)
        }
        Signatures::U64(a) => {
            write(py, &path, &params, contiguous(a, "signatures")?, &keys, columns, num_threads)
        }
    }
    .map_err(to_py_err)?;
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    Ok((written.documents, bytes))
}

/// Writes the segment without the GIL, on as many threads as the batch is worth.
fn write<W: Slot + Sync>(
    py: Python<'_>,
    path: &Path,
    params: &Header,
    sigs: &[W],
    keys: &OwnedKeys,
    columns: Columns<'_>,
    num_threads: Option<usize>,
) -> nearcopy_core::Result<Header> {
    let threads = thread_count(num_threads, std::mem::size_of_val(sigs))?;
    py.detach(|| write_segment(path, params, &NewDocs { sigs, keys: keys.view(), columns }, threads))
}
