//! Binding of the LSH index's containment queries (`nearcopy_core::lsh::query_containment`): the
//! documents holding most of each query, estimated from the single-slot bands they share and the
//! set sizes their segments record. `LshReader.query_containment` in `lsh.rs` calls it.

use crate::errors::to_py_err;
use crate::lsh::LshReader;
use crate::lsh_write::{contiguous, signatures, Signatures};
use crate::thread_count;
use nearcopy_core::dedup::Slot;
use nearcopy_core::lsh::{query_containment, ContainmentHit, ContainmentSettings, Hit, Source};
use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// Bounds, keys (list of str or int64 array) and estimated containment of each result.
pub(crate) type ContainmentResult<'py> =
    (Bound<'py, PyArray1<u64>>, Bound<'py, PyAny>, Bound<'py, PyArray1<f64>>);

/// `(threshold, verify, top_k, boundary_recall)`: see `ContainmentSettings`.
pub(crate) fn query<'py>(
    reader: &LshReader,
    py: Python<'py>,
    sigs: &Bound<'py, PyAny>,
    sizes: PyReadonlyArray1<'py, u64>,
    (threshold, verify, top_k, boundary_recall): (f64, bool, usize, f64),
    num_threads: Option<usize>,
) -> PyResult<ContainmentResult<'py>> {
    if threshold.is_nan() || boundary_recall.is_nan() {
        return Err(PyValueError::new_err("threshold and boundary_recall must be numbers"));
    }
    let settings = ContainmentSettings { threshold, verify, top_k, boundary_recall };
    let sizes = sizes.as_slice().map_err(|_| PyValueError::new_err("sizes must be a contiguous array"))?;
    let sources = reader.sources();
    let (bounds, hits) = match &signatures(sigs)? {
        Signatures::U32(a) => {
            run(reader, py, &sources, contiguous(a, "signatures")?, a.shape(), sizes, &settings, num_threads)
        }
        Signatures::U64(a) => {
            run(reader, py, &sources, contiguous(a, "signatures")?, a.shape(), sizes, &settings, num_threads)
        }
    }?;
    let as_hits: Vec<Hit> =
        hits.iter().map(|h| Hit { source: h.source, doc: h.doc, equal: h.shared }).collect();
    let keys = reader.keys_of_hits(py, &as_hits)?;
    let containment: Vec<f64> = hits.iter().map(|h| h.containment).collect();
    Ok((bounds.into_pyarray(py), keys, containment.into_pyarray(py)))
}

#[allow(clippy::too_many_arguments)]
fn run<W: Slot>(
    reader: &LshReader,
    py: Python<'_>,
    sources: &[Source<'_>],
    sigs: &[W],
    shape: &[usize],
    sizes: &[u64],
    settings: &ContainmentSettings,
    num_threads: Option<usize>,
) -> PyResult<(Vec<u64>, Vec<ContainmentHit>)> {
    let params = &reader.params;
    if shape[1] != params.num_perm {
        return Err(PyValueError::new_err(format!(
            "query signatures have {} slots, the index {}",
            shape[1], params.num_perm
        )));
    }
    if (std::mem::size_of::<W>() == 4) != params.scheme.is_u32() {
        return Err(PyValueError::new_err(format!(
            "signatures of scheme {:?} have another dtype",
            params.scheme.name()
        )));
    }
    if shape[0] < 16 && num_threads.is_none() {
        return query_containment(sources, params, sigs, sizes, settings, 1).map_err(to_py_err);
    }
    let threads = thread_count(num_threads, shape[0] * 4096).map_err(to_py_err)?;
    py.detach(|| query_containment(sources, params, sigs, sizes, settings, threads)).map_err(to_py_err)
}
