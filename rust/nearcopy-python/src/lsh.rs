//! Bindings of the LSH index's reader (`nearcopy_core::lsh`): memory-mapped segments and their
//! tombstones, opened together, that query, find keys, merge and write tombstones. Writing a
//! segment is in `lsh_write.rs`; manifests, locking and the typed façade live in Python
//! (`nearcopy/lsh_index.py`).

use crate::errors::to_py_err;
use crate::lsh_write::{contiguous, header, signatures, OwnedKeys, Signatures};
use nearcopy_core::lsh::header::{FLAG_CONTENT_HASHES, FLAG_SHINGLE_SETS, INDEX_FLAGS};
use nearcopy_core::lsh::{
    find_keys, merge_segments, write_tombstones, Header, Hit, IntKeys, KeyKind, QuerySettings, Segment,
    Source, Store, Tombstones,
};
use numpy::ndarray::Array2;
use numpy::{IntoPyArray, PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray1, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString};
use rayon::prelude::*;
use std::path::PathBuf;

/// Query results: bounds, keys (list of str or int64 array), estimated similarity, and the
/// (segment, document) of each.
type QueryResult<'py> = (
    Bound<'py, PyArray1<u64>>,
    Bound<'py, PyAny>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<u32>>,
    Bound<'py, PyArray1<u32>>,
);

/// One query's results: keys (list of str or int64 array) and estimated similarity; None when the
/// signature is not in the form the short path takes.
pub(crate) type OneResult<'py> = Option<(Bound<'py, PyAny>, Bound<'py, PyArray1<f64>>)>;

/// (key number, segment, document) of found keys.
type Found<'py> = (Bound<'py, PyArray1<u64>>, Bound<'py, PyArray1<u32>>, Bound<'py, PyArray1<u32>>);

/// Memory-mapped segments of one index with their tombstones, opened together.
#[pyclass(frozen, module = "nearcopy._core")]
pub struct LshReader {
    pub(crate) params: Header,
    pub(crate) segments: Vec<Segment>,
    removed: Vec<Tombstones>,
}

#[pymethods]
impl LshReader {
    /// Opens the segment files (each with its tombstone file, or None); each must have been
    /// written with the given parameters.
    #[new]
    #[pyo3(signature = (paths, tombstones, num_perm, bands, rows, scheme, seed, store, key_kind))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        paths: Vec<PathBuf>,
        tombstones: Vec<Option<PathBuf>>,
        num_perm: usize,
        bands: usize,
        rows: usize,
        scheme: &str,
        seed: u64,
        store: u32,
        key_kind: &str,
    ) -> PyResult<Self> {
        let params = header(num_perm, bands, rows, scheme, seed, store, key_kind)?;
        if tombstones.len() != paths.len() {
            return Err(PyValueError::new_err("one tombstone path (or None) per segment"));
        }
        let mut segments = Vec::with_capacity(paths.len());
        let mut removed = Vec::with_capacity(paths.len());
        for (path, dead) in paths.iter().zip(&tombstones) {
            let segment = Segment::open(path).map_err(to_py_err)?;
            let ours = Header { flags: segment.header.flags, ..params };
            if !segment.header.same_index(&ours) {
                return Err(pyo3::exceptions::PyOSError::new_err(format!(
                    "{}: written with other parameters than the manifest says",
                    path.display()
                )));
            }
            removed.push(match dead {
                Some(p) => Tombstones::open(p, &segment).map_err(to_py_err)?,
                None => Tombstones::none(),
            });
            segments.push(segment);
        }
        // The columns an index keeps (not a segment's own flags, such as keys in order).
        let flags = |s: &Segment| s.header.flags & INDEX_FLAGS;
        let params = Header { flags: segments.first().map_or(0, flags), ..params };
        if segments.iter().any(|s| flags(s) != params.flags) {
            return Err(PyValueError::new_err("segments with different columns cannot be read as one index"));
        }
        Ok(LshReader { params, segments, removed })
    }

    /// (documents, removed, file bytes) of every segment.
    fn sizes(&self) -> Vec<(u64, usize, usize)> {
        self.segments
            .iter()
            .zip(&self.removed)
            .map(|(s, r)| (s.header.documents, r.count(), s.bytes().len()))
            .collect()
    }

    /// Whether the segments carry content hashes and shingle sets (the columns of a dedup reference).
    fn columns(&self) -> (bool, bool) {
        (self.params.flags & FLAG_CONTENT_HASHES != 0, self.params.flags & FLAG_SHINGLE_SETS != 0)
    }

    /// Reads every segment through (checksums, order, keys); raises OSError naming the damage.
    fn verify(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.segments.iter().try_for_each(Segment::verify)).map_err(to_py_err)
    }

    /// Reads every block of every segment once and checks it, in parallel on `num_threads` (default:
    /// all cores), so that no query pays a page's first mapping or a block's checksum; raises
    /// OSError naming a damaged block.
    #[pyo3(signature = (num_threads=None))]
    fn warm(&self, py: Python<'_>, num_threads: Option<usize>) -> PyResult<()> {
        let bytes = self.segments.iter().map(|s| s.bytes().len()).sum();
        let threads = crate::thread_count(num_threads, bytes).map_err(to_py_err)?;
        py.detach(|| {
            nearcopy_core::pool::pool(threads)?
                .install(|| self.segments.par_iter().try_for_each(Segment::warm))
        })
        .map_err(to_py_err)
    }

    /// The documents sharing a band with each query row, verified (`verify`) against `threshold`,
    /// at most `top_k` per query (0: all), most similar first; with neither `verify` nor `top_k`,
    /// the raw candidates in the order found, similarity NaN (no stored row read).
    #[pyo3(signature = (signatures, threshold, verify, top_k, num_threads=None))]
    fn query<'py>(
        &self,
        py: Python<'py>,
        signatures: &Bound<'py, PyAny>,
        threshold: f64,
        verify: bool,
        top_k: usize,
        num_threads: Option<usize>,
    ) -> PyResult<QueryResult<'py>> {
        if threshold.is_nan() {
            return Err(PyValueError::new_err("threshold must be a number"));
        }
        let settings = QuerySettings { threshold, verify, top_k };
        let sources = self.sources();
        let (bounds, hits) = match &self::signatures(signatures)? {
            Signatures::U32(a) => {
                self.run_query(py, &sources, contiguous(a, "signatures")?, &settings, num_threads, a.shape())
            }
            Signatures::U64(a) => {
                self.run_query(py, &sources, contiguous(a, "signatures")?, &settings, num_threads, a.shape())
            }
        }?;
        let keys = self.keys_of_hits(py, &hits)?;
        let similarity: Vec<f64> = hits.iter().map(|h| self.similarity(h, &settings)).collect();
        let segments: Vec<u32> = hits.iter().map(|h| h.source).collect();
        let docs: Vec<u32> = hits.iter().map(|h| h.doc).collect();
        Ok((
            bounds.into_pyarray(py),
            keys,
            similarity.into_pyarray(py),
            segments.into_pyarray(py),
            docs.into_pyarray(py),
        ))
    }

    /// The documents holding at least `threshold` of each query row's shingles (`sizes`: each
    /// row's set size), estimated from the single-slot bands they share and their set sizes:
    /// (bounds, keys, containment), the most contained first. See `lsh_containment.rs`.
    #[pyo3(signature = (signatures, sizes, threshold, verify, top_k, boundary_recall, num_threads=None))]
    #[allow(clippy::too_many_arguments)]
    fn query_containment<'py>(
        &self,
        py: Python<'py>,
        signatures: &Bound<'py, PyAny>,
        sizes: PyReadonlyArray1<'py, u64>,
        threshold: f64,
        verify: bool,
        top_k: usize,
        boundary_recall: f64,
        num_threads: Option<usize>,
    ) -> PyResult<crate::lsh_containment::ContainmentResult<'py>> {
        let (limits, threads) = ((threshold, verify, top_k, boundary_recall), num_threads);
        crate::lsh_containment::query(self, py, signatures, sizes, limits, threads)
    }

    /// `query` of one signature, returning only (keys, similarity): the path of single queries,
    /// whose cost is mostly this call's own overhead. None when `signature` is not a contiguous
    /// 1-D array of the index's dtype and `num_perm` slots (the caller converts it, or says why
    /// it cannot be, and calls again).
    #[pyo3(signature = (signature, threshold, verify, top_k))]
    fn query_one<'py>(
        &self,
        py: Python<'py>,
        signature: &Bound<'py, PyAny>,
        threshold: f64,
        verify: bool,
        top_k: usize,
    ) -> PyResult<OneResult<'py>> {
        if threshold.is_nan() {
            return Err(PyValueError::new_err("threshold must be a number"));
        }
        let settings = QuerySettings { threshold, verify, top_k };
        if self.params.scheme.is_u32() {
            match signature.cast::<PyArray1<u32>>() {
                Ok(array) => self.query_row(py, &array.readonly(), &settings),
                Err(_) => Ok(None),
            }
        } else {
            match signature.cast::<PyArray1<u64>>() {
                Ok(array) => self.query_row(py, &array.readonly(), &settings),
                Err(_) => Ok(None),
            }
        }
    }

    /// (key number, segment, document) of every live document holding one of `keys` (removed ones
    /// too with `removed`).
    #[pyo3(signature = (keys, removed=false))]
    fn find<'py>(&self, py: Python<'py>, keys: &Bound<'py, PyAny>, removed: bool) -> PyResult<Found<'py>> {
        let keys = OwnedKeys::take(keys, self.params.key_kind)?;
        let sources = self.sources();
        let found = py.detach(|| find_keys(&sources, &keys.view(), removed)).map_err(to_py_err)?;
        let query: Vec<u64> = found.iter().map(|f| f.0).collect();
        let segments: Vec<u32> = found.iter().map(|f| f.1).collect();
        let docs: Vec<u32> = found.iter().map(|f| f.2).collect();
        Ok((query.into_pyarray(py), segments.into_pyarray(py), docs.into_pyarray(py)))
    }

    /// The keys of documents `docs` of segment `segment` (str list or int64 array).
    fn keys<'py>(
        &self,
        py: Python<'py>,
        segment: usize,
        docs: PyReadonlyArray1<'py, u32>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.segment(segment)?;
        let hits: Vec<Hit> =
            docs.as_array().iter().map(|&doc| Hit { source: segment as u32, doc, equal: 0 }).collect();
        self.keys_of_hits(py, &hits)
    }

    /// The removed documents of segment `segment`, sorted.
    fn removed<'py>(&self, py: Python<'py>, segment: usize) -> PyResult<Bound<'py, PyArray1<u32>>> {
        self.segment(segment)?;
        Ok(self.removed[segment].docs().to_vec().into_pyarray(py))
    }

    /// Writes the tombstones of segment `segment` (every removed document, sorted) to `path`.
    fn write_tombstones(
        &self,
        py: Python<'_>,
        path: PathBuf,
        segment: usize,
        docs: PyReadonlyArray1<'_, u32>,
    ) -> PyResult<()> {
        let target = self.segment(segment)?;
        let docs = docs.as_array().to_vec();
        py.detach(|| write_tombstones(&path, target, &docs)).map_err(to_py_err)
    }

    /// Merges segments `which` (indexes into this reader's) into one at `path`, leaving their
    /// removed documents out. Returns (documents, file bytes).
    fn merge(&self, py: Python<'_>, path: PathBuf, which: Vec<usize>) -> PyResult<(u64, u64)> {
        let all = self.sources();
        let sources: Vec<Source<'_>> =
            which.iter().map(|&i| self.segment(i).map(|_| all[i])).collect::<PyResult<_>>()?;
        let merged = py.detach(|| merge_segments(&path, &sources)).map_err(to_py_err)?;
        let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        Ok((merged.documents, bytes))
    }

    /// What `dedup --reference` reads of documents `start..end` of segment `segment`, removed ones
    /// left out: (signatures, content hashes, key bytes, key ends, set values, set bounds); the
    /// segment must keep full signatures and content hashes.
    #[allow(clippy::type_complexity)]
    fn export<'py>(
        &self,
        py: Python<'py>,
        segment: usize,
        start: usize,
        end: usize,
    ) -> PyResult<(
        Bound<'py, PyAny>,
        Bound<'py, PyArray2<u64>>,
        Bound<'py, PyBytes>,
        Bound<'py, PyArray1<i64>>,
        Bound<'py, PyArray1<u64>>,
        Bound<'py, PyArray1<u64>>,
    )> {
        let (source, removed) = (self.segment(segment)?, &self.removed[segment]);
        if self.params.store != Store::Full
            || self.params.flags & FLAG_CONTENT_HASHES == 0
            || self.params.key_kind != KeyKind::Str
        {
            return Err(PyValueError::new_err(
                "only an index of full signatures, content hashes and str keys can be exported",
            ));
        }
        let docs: Vec<usize> =
            (start..end.min(source.len())).filter(|&d| !removed.is_removed(d as u32)).collect();
        let k = self.params.num_perm;
        let (mut blob, mut ends, mut hashes) =
            (Vec::new(), Vec::with_capacity(docs.len()), Vec::with_capacity(2 * docs.len()));
        let (mut values, mut bounds) = (Vec::new(), vec![0u64]);
        let mut raw = Vec::with_capacity(docs.len() * k * self.params.slot_bytes());
        for &d in &docs {
            raw.extend_from_slice(source.store_row(d));
            hashes.extend(source.content_hash(d).unwrap_or_default());
            blob.extend_from_slice(source.str_key(d));
            ends.push(blob.len() as i64);
            if let Some(set) = source.shingle_set(d) {
                values.extend(set);
                bounds.push(values.len() as u64);
            }
        }
        source.checked().map_err(to_py_err)?; // every read above touched its blocks first
        let signatures = if self.params.scheme.is_u32() {
            let slots: Vec<u32> =
                raw.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
            matrix(py, slots, k)?.into_any()
        } else {
            let slots: Vec<u64> =
                raw.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().unwrap_or_default())).collect();
            matrix(py, slots, k)?.into_any()
        };
        Ok((
            signatures,
            matrix(py, hashes, 2)?,
            PyBytes::new(py, &blob),
            ends.into_pyarray(py),
            values.into_pyarray(py),
            bounds.into_pyarray(py),
        ))
    }
}

fn matrix<T: numpy::Element>(py: Python<'_>, flat: Vec<T>, width: usize) -> PyResult<Bound<'_, PyArray2<T>>> {
    let rows = flat.len().checked_div(width).unwrap_or(0);
    let array =
        Array2::from_shape_vec((rows, width), flat).map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(array.into_pyarray(py))
}

impl LshReader {
    pub(crate) fn sources(&self) -> Vec<Source<'_>> {
        self.segments
            .iter()
            .zip(&self.removed)
            .map(|(segment, removed)| Source { segment, removed })
            .collect()
    }

    fn segment(&self, i: usize) -> PyResult<&Segment> {
        self.segments.get(i).ok_or_else(|| {
            PyValueError::new_err(format!("no segment {i} (the reader has {})", self.segments.len()))
        })
    }

    /// The estimated Jaccard similarity of `hit`; NaN for a raw candidate (none was estimated).
    #[inline]
    pub(crate) fn similarity(&self, hit: &Hit, settings: &QuerySettings) -> f64 {
        if settings.estimates() {
            self.params.store.estimate(hit.equal, self.params.num_perm)
        } else {
            f64::NAN
        }
    }

    pub(crate) fn keys_of_hits<'py>(&self, py: Python<'py>, hits: &[Hit]) -> PyResult<Bound<'py, PyAny>> {
        let keys = self.read_keys(py, hits)?;
        self.segments.iter().try_for_each(Segment::checked).map_err(to_py_err)?;
        Ok(keys)
    }

    fn read_keys<'py>(&self, py: Python<'py>, hits: &[Hit]) -> PyResult<Bound<'py, PyAny>> {
        const KEYS_AHEAD: usize = 24;
        match self.params.key_kind {
            KeyKind::Int => {
                let readers: Vec<IntKeys<'_>> = self.segments.iter().map(Segment::int_keys).collect();
                let key = |h: &Hit| readers[h.source as usize].get(h.doc as usize);
                if self.segments.iter().all(|s| s.header.keys_in_order()) {
                    // Each key is its segment's base plus the document number: nothing to read.
                    return Ok(hits.iter().map(key).collect::<Vec<i64>>().into_pyarray(py).into_any());
                }
                // The results' keys are scattered through the key column: hinting those a few
                // results ahead lets their cache misses overlap (1M documents at 0.8, 9 x 13 bands,
                // a warmed index, shuffled ids, the heaviest 1% of queries: 8 ahead -> 24 ahead,
                // best-of-5 p99 27 -> 22 us).
                let mut ints = Vec::with_capacity(hits.len());
                for (i, hit) in hits.iter().enumerate() {
                    if let Some(ahead) = hits.get(i + KEYS_AHEAD) {
                        readers[ahead.source as usize].prefetch(ahead.doc as usize);
                    }
                    ints.push(key(hit));
                }
                Ok(ints.into_pyarray(py).into_any())
            }
            KeyKind::Str => {
                let list = PyList::empty(py);
                for hit in hits {
                    let bytes = self.segments[hit.source as usize].str_key(hit.doc as usize);
                    match std::str::from_utf8(bytes) {
                        Ok(s) => list.append(PyString::new(py, s))?,
                        Err(_) => list.append(
                            PyBytes::new(py, bytes).call_method1("decode", ("utf-8", "surrogatepass"))?,
                        )?,
                    }
                }
                Ok(list.into_any())
            }
        }
    }
}
