//! The query paths of the LSH reader's bindings (`lsh.rs`): one signature on this thread, or a
//! batch of rows, checked against the index's parameters.

use crate::errors::to_py_err;
use crate::lsh::{LshReader, OneResult};
use crate::thread_count;
use nearcopy_core::lsh::{query, query_one, Hit, QuerySettings, Source};
use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

impl LshReader {
    /// [`LshReader::query_one`] of a row of the index's dtype (None unless it is contiguous and
    /// of `num_perm` slots).
    pub(crate) fn query_row<'py, W: nearcopy_core::dedup::Slot + numpy::Element>(
        &self,
        py: Python<'py>,
        row: &PyReadonlyArray1<'_, W>,
        settings: &QuerySettings,
    ) -> PyResult<OneResult<'py>> {
        let Ok(slots) = row.as_slice() else { return Ok(None) };
        if slots.len() != self.params.num_perm {
            return Ok(None);
        }
        let answer = |hits: &[Hit]| -> PyResult<_> {
            let similarity = PyArray1::from_iter(py, hits.iter().map(|h| self.similarity(h, settings)));
            Ok((self.keys_of_hits(py, hits)?, similarity))
        };
        query_one(&self.sources(), &self.params, slots, settings, answer).map_err(to_py_err)?.map(Some)
    }

    pub(crate) fn run_query<W: nearcopy_core::dedup::Slot>(
        &self,
        py: Python<'_>,
        sources: &[Source<'_>],
        sigs: &[W],
        settings: &QuerySettings,
        num_threads: Option<usize>,
        shape: &[usize],
    ) -> PyResult<(Vec<u64>, Vec<Hit>)> {
        if shape[1] != self.params.num_perm {
            return Err(PyValueError::new_err(format!(
                "query signatures have {} slots, the index {}",
                shape[1], self.params.num_perm
            )));
        }
        if (std::mem::size_of::<W>() == 4) != self.params.scheme.is_u32() {
            return Err(PyValueError::new_err(format!(
                "signatures of scheme {:?} have another dtype",
                self.params.scheme.name()
            )));
        }
        // A query is a few microseconds: release the GIL and use threads only for batches.
        if shape[0] < 16 && num_threads.is_none() {
            return query(sources, &self.params, sigs, settings, 1).map_err(to_py_err);
        }
        let threads = thread_count(num_threads, shape[0] * 4096).map_err(to_py_err)?;
        py.detach(|| query(sources, &self.params, sigs, settings, threads)).map_err(to_py_err)
    }
}
