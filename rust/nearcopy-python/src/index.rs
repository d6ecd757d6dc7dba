//! Bindings of the protected index's kernels: write a segment from documents, and a reader holding
//! memory-mapped segments that matches answers. Manifests and metadata live in Python.

use crate::errors::to_py_err;
use crate::inputs::{str_lossy, TextBatch};
use crate::thread_count;
use nearcopy_core::code::Language;
use nearcopy_core::code::{Hint, LanguageSet};
use nearcopy_core::fingerprint::document::Content;
use nearcopy_core::fingerprint::presence::{Presence, Screened};
use nearcopy_core::fingerprint::segment::{
    self as segment_file, key_check, write_segment_with_words, Segment,
};
use nearcopy_core::fingerprint::{FingerprintKey, Winnowings};
use nearcopy_core::index::{build_entries, match_answer, AnswerReport, IndexContents, MatchSettings};
use nearcopy_core::pool;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString};
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn content(language: Option<&str>) -> PyResult<Content> {
    match language {
        None => Ok(Content::Prose),
        Some(name) => Ok(Content::Code(Language::parse(name).map_err(to_py_err)?)),
    }
}

/// Fingerprints `texts` (prose, or code where `languages[i]` names a language) into a segment file.
/// Returns (documents, fingerprints, normalized tokens, file bytes, code documents also
/// fingerprinted as prose because their code is repetitive).
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
    key: Option<&[u8]>,
    num_threads: Option<usize>,
) -> PyResult<(u64, u64, u64, u64, u64)> {
    let key = fingerprint_key(key)?;
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
        write_segment_with_words(&path, &winnowing, &built.entries, &built.words)?;
        let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        Ok((documents, built.entries.len() as u64, built.tokens, bytes, built.also_prose))
    })
    .map_err(to_py_err)
}

/// The licence notices of `texts` (each lowercased, its white space collapsed), all texts' in order,
/// for the index's allowlist (`nearcopy.generated.collect_notices`).
#[pyfunction]
pub fn licence_notices(py: Python<'_>, texts: &Bound<'_, PyList>) -> PyResult<Vec<String>> {
    let held = TextBatch::hold(texts)?;
    let owned = held.borrow()?;
    Ok(py.detach(|| {
        owned.iter().flat_map(|t| nearcopy_core::index::notices::licence_notices(t.as_ref())).collect()
    }))
}

/// Merges the segment files at `paths` (documents renumbered in that order) into one at `path`.
/// Returns (documents, fingerprints, file bytes).
#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub fn merge_segments(
    py: Python<'_>,
    path: PathBuf,
    paths: Vec<PathBuf>,
    k: usize,
    w: usize,
    code_k: usize,
    code_w: usize,
    key: Option<&[u8]>,
) -> PyResult<(u64, u64, u64)> {
    let key = fingerprint_key(key)?;
    let winnowing = Winnowings::new(k, w, code_k, code_w, key).map_err(to_py_err)?;
    let segments =
        paths.iter().map(|p| open_segment(p, (k, w, code_k, code_w), key)).collect::<PyResult<Vec<_>>>()?;
    py.detach(|| {
        segment_file::merge_segments(&path, &winnowing, &segments.iter().collect::<Vec<_>>())?;
        let merged = Segment::open(&path)?;
        Ok((merged.documents, merged.len() as u64, merged.bytes() as u64))
    })
    .map_err(to_py_err)
}

/// The 16 bytes of a fingerprint key (derived from the user's secret in Python), or None.
fn fingerprint_key(key: Option<&[u8]>) -> PyResult<Option<FingerprintKey>> {
    key.map(|bytes| {
        let bytes: &[u8; 16] = bytes.try_into().map_err(|_| {
            PyValueError::new_err(format!("a fingerprint key is 16 bytes, got {}", bytes.len()))
        })?;
        Ok(FingerprintKey::from_bytes(bytes))
    })
    .transpose()
}

/// The value stored in segment headers (and the manifest) that identifies a 16-byte fingerprint
/// key without revealing it.
#[pyfunction]
pub fn fingerprint_key_check(key: &[u8]) -> PyResult<u64> {
    Ok(key_check(fingerprint_key(Some(key))?.as_ref()))
}

/// (max_doc_frequency, min_prose_tokens, min_code_tokens, (popular_doc_frequency, popular_percent)).
pub(crate) type Thresholds = (usize, u32, u32, Option<(usize, u32)>);

/// One match: (segment, document, start, end, covered tokens, span tokens, language or None).
/// (segment, document, start, end, covered tokens, span tokens, language, shared words).
pub(crate) type MatchTuple = (usize, u32, usize, usize, u32, u32, Option<&'static str>, u32);

/// Memory-mapped segments of one index, opened together.
#[pyclass(frozen, module = "nearcopy._core")]
pub struct IndexReader {
    pub(crate) segments: Vec<Segment>,
    pub(crate) allowlist: Vec<Segment>,
    /// The allowlist segments' [`Presence`] bits, made by `warm()` (a server's start): a check then
    /// asks an allowlist's file only about fingerprints its bits let through.
    allowlist_presence: OnceLock<Vec<Presence>>,
    pub(crate) winnowing: Winnowings,
    pub(crate) contents: IndexContents,
}

/// What the caller says of an answer: None or "auto" (detect), "text" (prose only), or a language.
pub(crate) fn hint(language: Option<&str>) -> PyResult<Hint> {
    Hint::parse(language).map_err(to_py_err)
}

/// Opens a segment and checks that it was built with `expected` (k, w, code_k, code_w) and `key`.
fn open_segment(
    path: &Path,
    expected: (usize, usize, usize, usize),
    key: Option<FingerprintKey>,
) -> PyResult<Segment> {
    let segment = Segment::open(path).map_err(to_py_err)?;
    let built = (segment.k, segment.w, segment.code_k, segment.code_w);
    if built != expected {
        return Err(PyValueError::new_err(format!(
            "{}: built with (k, w, code_k, code_w) = {built:?}, the manifest says {expected:?}",
            path.display()
        )));
    }
    if segment.key_check != key_check(key.as_ref()) {
        return Err(PyValueError::new_err(format!(
            "{}: the index was built with a different key (or none); give the key it was built with",
            path.display()
        )));
    }
    Ok(segment)
}

#[pymethods]
impl IndexReader {
    /// Opens the segment files; each must have been built with the same parameters and key.
    /// `allowlist` segments hold every k-gram (a window of 1) of passages never to report.
    ///
    /// `languages` (None: all) are the languages of the protected code documents and `prose` whether
    /// there are prose documents: answers are split and looked up only for what the index can match.
    #[new]
    #[pyo3(signature = (paths, allowlist, k, w, code_k, code_w, key, languages=None, prose=true))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        paths: Vec<PathBuf>,
        allowlist: Vec<PathBuf>,
        k: usize,
        w: usize,
        code_k: usize,
        code_w: usize,
        key: Option<&[u8]>,
        languages: Option<Vec<String>>,
        prose: bool,
    ) -> PyResult<Self> {
        let key = fingerprint_key(key)?;
        let winnowing = Winnowings::new(k, w, code_k, code_w, key).map_err(to_py_err)?;
        let segments =
            paths.iter().map(|p| open_segment(p, (k, w, code_k, code_w), key)).collect::<PyResult<_>>()?;
        let allowlist =
            allowlist.iter().map(|p| open_segment(p, (k, 1, code_k, 1), key)).collect::<PyResult<_>>()?;
        let languages = match languages {
            None => LanguageSet::ALL,
            Some(names) => names
                .iter()
                .map(|n| Language::parse(n))
                .collect::<nearcopy_core::Result<_>>()
                .map_err(to_py_err)?,
        };
        let contents = IndexContents { prose, languages };
        Ok(IndexReader { segments, allowlist, allowlist_presence: OnceLock::new(), winnowing, contents })
    }

    /// Fingerprints and file bytes of every segment.
    fn sizes(&self) -> Vec<(usize, usize)> {
        self.segments.iter().map(|s| (s.len(), s.bytes())).collect()
    }

    /// Reads every segment through (checksums, order); raises OSError naming the damage.
    fn verify(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.segments.iter().chain(&self.allowlist).try_for_each(Segment::verify))
            .map_err(to_py_err)
    }

    /// Reads every block of every segment once and checks it, in parallel on `num_threads` (default:
    /// all cores), so that no check pays a page's first mapping or a block's checksum, and makes the
    /// allowlists' presence bits; raises OSError naming a damaged block.
    #[pyo3(signature = (num_threads=None))]
    fn warm(&self, py: Python<'_>, num_threads: Option<usize>) -> PyResult<()> {
        let segments: Vec<&Segment> = self.segments.iter().chain(&self.allowlist).collect();
        let bytes = segments.iter().map(|s| s.bytes()).sum();
        let threads = thread_count(num_threads, bytes).map_err(to_py_err)?;
        py.detach(|| -> nearcopy_core::Result<()> {
            pool::pool(threads)?.install(|| segments.par_iter().try_for_each(|s| s.warm()))?;
            // Every block was just checked, so every allowlist has its bits.
            let presence: Option<Vec<Presence>> = self.allowlist.iter().map(Presence::of).collect();
            if let Some(presence) = presence {
                let _ = self.allowlist_presence.set(presence);
            }
            Ok(())
        })
        .map_err(to_py_err)
    }

    /// Bytes of memory the allowlists' presence bits take (0 before `warm()`).
    fn presence_bytes(&self) -> usize {
        self.allowlist_presence.get().map_or(0, |p| p.iter().map(Presence::bytes).sum())
    }

    /// Matches of an answer, longest first, and the answer's normalized token count. `language` is
    /// the caller's hint (see [`hint`]).
    /// `popular` is (popular_doc_frequency, popular_percent), see [`MatchSettings`]; None: common
    /// fingerprints are ignored.
    #[pyo3(signature = (answer, max_doc_frequency, min_prose_tokens, min_code_tokens, language=None, popular=None))]
    #[allow(clippy::too_many_arguments)]
    fn match_answer(
        &self,
        py: Python<'_>,
        answer: &Bound<'_, PyString>,
        max_doc_frequency: usize,
        min_prose_tokens: u32,
        min_code_tokens: u32,
        language: Option<&str>,
        popular: Option<(usize, u32)>,
    ) -> PyResult<(Vec<MatchTuple>, usize)> {
        let answer = str_lossy(answer)?;
        let thresholds = (max_doc_frequency, min_prose_tokens, min_code_tokens, popular);
        let settings = self.settings(thresholds, hint(language)?);
        let report = py.detach(|| self.matches(&answer, &settings)).map_err(to_py_err)?;
        Ok(report)
    }

    /// `match_answer` of every answer, on `num_threads` threads (default: all cores) without the GIL;
    /// the results are in the answers' order and do not depend on the thread count.
    /// `languages`: one hint per answer (see [`hint`]), or None for no hints.
    #[pyo3(signature = (answers, max_doc_frequency, min_prose_tokens, min_code_tokens, num_threads=None, languages=None, popular=None))]
    #[allow(clippy::too_many_arguments)]
    fn match_answers(
        &self,
        py: Python<'_>,
        answers: &Bound<'_, PyList>,
        max_doc_frequency: usize,
        min_prose_tokens: u32,
        min_code_tokens: u32,
        num_threads: Option<usize>,
        languages: Option<Vec<Option<String>>>,
        popular: Option<(usize, u32)>,
    ) -> PyResult<Vec<(Vec<MatchTuple>, usize)>> {
        let held = TextBatch::hold(answers)?;
        let texts = held.borrow()?;
        let hints: Vec<Hint> = match languages {
            None => vec![Hint::Auto; texts.len()],
            Some(names) if names.len() == texts.len() => {
                names.iter().map(|n| hint(n.as_deref())).collect::<PyResult<_>>()?
            }
            Some(names) => {
                return Err(PyValueError::new_err(format!(
                    "{} answers but {} language hints",
                    texts.len(),
                    names.len()
                )))
            }
        };
        let settings: Vec<MatchSettings> = hints
            .into_iter()
            .map(|h| self.settings((max_doc_frequency, min_prose_tokens, min_code_tokens, popular), h))
            .collect();
        let threads = thread_count(num_threads, texts.iter().map(|t| t.len()).sum()).map_err(to_py_err)?;
        py.detach(|| -> nearcopy_core::Result<Vec<_>> {
            if threads <= 1 {
                return texts.iter().zip(&settings).map(|(t, s)| self.matches(t, s)).collect();
            }
            pool::pool(threads)?
                .install(|| texts.par_iter().zip(&settings).map(|(t, s)| self.matches(t, s)).collect())
        })
        .map_err(to_py_err)
    }
}

impl IndexReader {
    pub(crate) fn settings(&self, thresholds: Thresholds, hint: Hint) -> MatchSettings {
        let (max_doc_frequency, min_prose, min_code, popular) = thresholds;
        let (ignore_doc_frequency, popular_percent) = popular.unwrap_or((max_doc_frequency, u32::MAX));
        MatchSettings {
            max_doc_frequency,
            ignore_doc_frequency: ignore_doc_frequency.max(max_doc_frequency),
            popular_percent: popular_percent.max(100),
            min_prose_tokens: min_prose,
            min_code_tokens: min_code,
            contents: self.contents,
            hint,
        }
    }

    fn matches(
        &self,
        answer: &str,
        settings: &MatchSettings,
    ) -> nearcopy_core::Result<(Vec<MatchTuple>, usize)> {
        let report = match self.allowlist_presence.get() {
            Some(presence) => {
                let screened: Vec<Screened<'_>> = (self.allowlist.iter().zip(presence))
                    .map(|(segment, presence)| Screened { segment, presence })
                    .collect();
                match_answer(answer, &self.segments, &screened, &self.winnowing, settings)?
            }
            None => match_answer(answer, &self.segments, &self.allowlist, &self.winnowing, settings)?,
        };
        self.undamaged()?;
        Ok(Self::tuples(report))
    }

    /// A lookup that read a damaged block found nothing there: its report must not be used.
    pub(crate) fn undamaged(&self) -> nearcopy_core::Result<()> {
        self.segments.iter().chain(&self.allowlist).try_for_each(Segment::damage)
    }

    pub(crate) fn tuples(report: AnswerReport) -> (Vec<MatchTuple>, usize) {
        let matches = report
            .matches
            .into_iter()
            .map(|m| {
                let language = match m.content {
                    Content::Code(language) | Content::CodeWords(language) => Some(language.name()),
                    Content::Prose => None,
                };
                (m.segment, m.doc, m.start, m.end, m.covered, m.span_tokens, language, m.shared_words)
            })
            .collect();
        (matches, report.answer_tokens)
    }
}
