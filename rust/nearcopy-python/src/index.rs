//! Bindings of the protected index's kernels: write a segment from documents, and a reader holding
//! memory-mapped segments that matches answers. Manifests and metadata live in Python.

use crate::errors::to_py_err;
use crate::inputs::{str_lossy, TextBatch};
use crate::thread_count;
use nearcopy_core::code::Language;
use nearcopy_core::fingerprint::document::Content;
use nearcopy_core::fingerprint::segment::{key_check, write_segment, Segment};
use nearcopy_core::fingerprint::Winnowings;
use nearcopy_core::index::{build_entries, match_answer};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString};
use std::path::PathBuf;

fn content(language: Option<&str>) -> PyResult<Content> {
    match language {
        None => Ok(Content::Prose),
        Some(name) => Ok(Content::Code(Language::parse(name).map_err(to_py_err)?)),
    }
}

/// Fingerprints `texts` (prose, or code where `languages[i]` names a language) into a segment file.
/// Returns (documents, fingerprints, normalized tokens, file bytes).
#[pyfunction]
#[pyo3(signature = (path, texts, languages, k, w, code_k, code_w, key, num_threads=None))]
#[allow(clippy::too_many_arguments)]
pub fn build_segment(
    py: Python<'_>,
    path: PathBuf,
    texts: &Bound<'_, PyList>,
    languages: Vec<Option<String>>,
    k: usize,
    w: usize,
    code_k: usize,
    code_w: usize,
    key: u64,
    num_threads: Option<usize>,
) -> PyResult<(u64, u64, u64, u64)> {
    let winnowing = Winnowings::new(k, w, code_k, code_w, key).map_err(to_py_err)?;
    if languages.len() != texts.len() {
        return Err(PyValueError::new_err("texts and languages must have the same length"));
    }
    let contents: Vec<Content> = languages.iter().map(|l| content(l.as_deref())).collect::<PyResult<_>>()?;
    let held = TextBatch::hold(texts)?;
    let owned = held.borrow()?;
    let docs: Vec<(&str, Content)> = owned.iter().map(|t| t.as_ref()).zip(contents).collect();
    let threads = thread_count(num_threads, docs.iter().map(|(t, _)| t.len()).sum()).map_err(to_py_err)?;
    let documents = docs.len() as u64;
    py.detach(|| {
        let built = build_entries(&docs, &winnowing, threads)?;
        write_segment(&path, &winnowing, documents, &built.entries)?;
        let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        Ok((documents, built.entries.len() as u64, built.tokens, bytes))
    })
    .map_err(to_py_err)
}

/// One match: (segment, document, start, end, covered tokens, span tokens, language or None).
type MatchTuple = (usize, u32, usize, usize, u32, u32, Option<&'static str>);

/// Memory-mapped segments of one index, opened together.
#[pyclass(frozen, module = "nearcopy._core")]
pub struct IndexReader {
    segments: Vec<Segment>,
    winnowing: Winnowings,
}

#[pymethods]
impl IndexReader {
    /// Opens the segment files; each must have been built with the same parameters and key.
    #[new]
    fn new(
        paths: Vec<PathBuf>,
        k: usize,
        w: usize,
        code_k: usize,
        code_w: usize,
        key: u64,
    ) -> PyResult<Self> {
        let winnowing = Winnowings::new(k, w, code_k, code_w, key).map_err(to_py_err)?;
        let mut segments = Vec::with_capacity(paths.len());
        for path in paths {
            let segment = Segment::open(&path).map_err(to_py_err)?;
            let built = (segment.k, segment.w, segment.code_k, segment.code_w);
            if built != (k, w, code_k, code_w) {
                return Err(PyValueError::new_err(format!(
                    "{}: built with (k, w, code_k, code_w) = {built:?}, the manifest says {:?}",
                    path.display(),
                    (k, w, code_k, code_w)
                )));
            }
            if segment.key_check != key_check(winnowing.prose.key) {
                return Err(PyValueError::new_err(format!(
                    "{}: the index was built with a different key (or none); give the key it was built with",
                    path.display()
                )));
            }
            segments.push(segment);
        }
        Ok(IndexReader { segments, winnowing })
    }

    /// Fingerprints and file bytes of every segment.
    fn sizes(&self) -> Vec<(usize, usize)> {
        self.segments.iter().map(|s| (s.len(), s.bytes())).collect()
    }

    /// Reads every segment through (checksums, order); raises OSError naming the damage.
    fn verify(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.segments.iter().try_for_each(Segment::verify)).map_err(to_py_err)
    }

    /// Matches of an answer, longest first, and the answer's normalized token count.
    fn match_answer(
        &self,
        py: Python<'_>,
        answer: &Bound<'_, PyString>,
        max_doc_frequency: usize,
        min_tokens: u32,
    ) -> PyResult<(Vec<MatchTuple>, usize)> {
        let answer = str_lossy(answer)?;
        let report = py
            .detach(|| match_answer(&answer, &self.segments, &self.winnowing, max_doc_frequency, min_tokens))
            .map_err(to_py_err)?;
        let matches = report
            .matches
            .into_iter()
            .map(|m| {
                let language = match m.content {
                    Content::Code(language) => Some(language.name()),
                    Content::Prose => None,
                };
                (m.segment, m.doc, m.start, m.end, m.covered, m.span_tokens, language)
            })
            .collect();
        Ok((matches, report.answer_tokens))
    }
}
