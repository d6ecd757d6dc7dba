//! Bindings of the code normalizer: languages, normalized tokens (one source or a batch), code
//! shingles and code MinHash. Same shape as the text side: extract under the GIL, work without it.

use crate::errors::to_py_err;
use crate::inputs::{str_lossy, TextBatch};
use crate::{minhash_strs, thread_count, StrKernel};
use nearcopy_core::batch::minhash_code as core_minhash_code;
use nearcopy_core::code::{
    code_token_batch, split_answer_with, symbol_id, CodeNormalizer, CodeOptions, Hint, IdentifierMode,
    Language, LanguageSet, LiteralMode, ParsedSegment, SplitOptions,
};
use nearcopy_core::minhash::{MinHasher, Scheme, SigWord};
use nearcopy_core::Result as CoreResult;
use numpy::ndarray::Array1;
use numpy::{IntoPyArray, PyArray1};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString};

pub(crate) fn code_options(
    language: &str,
    ngram: usize,
    identifiers: &str,
    literals: &str,
) -> CoreResult<CodeOptions> {
    let opts = CodeOptions {
        language: Language::parse(language)?,
        ngram,
        identifiers: IdentifierMode::parse(identifiers)?,
        literals: LiteralMode::parse(literals)?,
    };
    opts.validate()?;
    Ok(opts)
}

/// Kinds, symbol ids, starts and ends of tokens, as numpy arrays.
type TokenArrays<'py> = (
    Bound<'py, PyArray1<u8>>,
    Bound<'py, PyArray1<u64>>,
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyArray1<i64>>,
);

/// The canonical names of the supported languages.
#[pyfunction]
pub fn languages() -> Vec<&'static str> {
    Language::ALL.iter().map(|l| l.name()).collect()
}

/// The canonical name of a language name or alias (`"py"` -> `"python"`).
#[pyfunction]
pub fn canonical_language(name: &str) -> PyResult<&'static str> {
    Language::parse(name).map(Language::name).map_err(to_py_err)
}

/// The language of a file extension (without the dot), or None.
#[pyfunction]
pub fn language_for_extension(extension: &str) -> Option<&'static str> {
    Language::from_extension(extension).map(Language::name)
}

/// Normalized tokens of one source: (symbol texts, kinds, symbol ids, starts, ends).
#[pyfunction]
pub fn code_tokens<'py>(
    py: Python<'py>,
    source: &Bound<'py, PyString>,
    language: &str,
    identifiers: &str,
    literals: &str,
) -> PyResult<(Bound<'py, PyList>, TokenArrays<'py>)> {
    let opts = code_options(language, 1, identifiers, literals).map_err(to_py_err)?;
    let source = str_lossy(source)?;
    let mut normalizer = CodeNormalizer::new();
    let tokens = normalizer.normalize(&source, &opts).map_err(to_py_err)?.to_vec();
    let buf = normalizer.normalized();
    let texts = PyList::new(py, tokens.iter().map(|t| &buf[t.norm_start..t.norm_end]))?;
    let kinds: Array1<u8> = tokens.iter().map(|t| t.kind as u8).collect();
    let symbols: Array1<u64> =
        tokens.iter().map(|t| symbol_id(&buf.as_bytes()[t.norm_start..t.norm_end])).collect();
    let starts: Array1<i64> = tokens.iter().map(|t| t.start as i64).collect();
    let ends: Array1<i64> = tokens.iter().map(|t| t.end as i64).collect();
    Ok((
        texts,
        (kinds.into_pyarray(py), symbols.into_pyarray(py), starts.into_pyarray(py), ends.into_pyarray(py)),
    ))
}

/// Normalized tokens of many sources, in parallel: (doc bounds, kinds, symbol ids, starts, ends).
#[pyfunction]
#[pyo3(signature = (sources, language, identifiers, literals, num_threads=None))]
pub fn code_tokens_batch<'py>(
    py: Python<'py>,
    sources: &Bound<'py, PyList>,
    language: &str,
    identifiers: &str,
    literals: &str,
    num_threads: Option<usize>,
) -> PyResult<(Bound<'py, PyArray1<i64>>, TokenArrays<'py>)> {
    let opts = code_options(language, 1, identifiers, literals).map_err(to_py_err)?;
    let held = TextBatch::hold(sources)?;
    let owned = held.borrow()?;
    let batch: Vec<&str> = owned.iter().map(|t| t.as_ref()).collect();
    let threads = thread_count(num_threads, batch.iter().map(|s| s.len()).sum()).map_err(to_py_err)?;
    let flat = py.detach(|| code_token_batch(&batch, &opts, threads)).map_err(to_py_err)?;
    let as_i64 = |v: Vec<usize>| -> Array1<i64> { v.into_iter().map(|x| x as i64).collect() };
    Ok((
        as_i64(flat.doc_bounds).into_pyarray(py),
        (
            Array1::from(flat.kinds).into_pyarray(py),
            Array1::from(flat.symbols).into_pyarray(py),
            as_i64(flat.starts).into_pyarray(py),
            as_i64(flat.ends).into_pyarray(py),
        ),
    ))
}

/// The shingles `minhash_code` hashes for one source, as strings.
#[pyfunction]
pub fn code_shingles<'py>(
    py: Python<'py>,
    source: &Bound<'py, PyString>,
    language: &str,
    ngram: usize,
    identifiers: &str,
    literals: &str,
) -> PyResult<Bound<'py, PyList>> {
    let opts = code_options(language, ngram, identifiers, literals).map_err(to_py_err)?;
    let source = str_lossy(source)?;
    let mut out = Vec::new();
    CodeNormalizer::new()
        .shingles(&source, &opts, |bytes| out.push(String::from_utf8_lossy(bytes).into_owned()))
        .map_err(to_py_err)?;
    PyList::new(py, out)
}

/// MinHash signatures of source code (normalized with tree-sitter, shingled over its symbols).
#[pyfunction]
#[pyo3(signature = (sources, num_perm, scheme, seed, language, ngram, identifiers, literals, num_threads=None))]
#[allow(clippy::too_many_arguments)]
pub fn minhash_code<'py>(
    py: Python<'py>,
    sources: &Bound<'py, PyList>,
    num_perm: usize,
    scheme: &str,
    seed: u64,
    language: &str,
    ngram: usize,
    identifiers: &str,
    literals: &str,
    num_threads: Option<usize>,
) -> PyResult<Bound<'py, PyAny>> {
    let hasher =
        MinHasher::new(Scheme::parse(scheme).map_err(to_py_err)?, num_perm, seed).map_err(to_py_err)?;
    let opts = code_options(language, ngram, identifiers, literals).map_err(to_py_err)?;
    minhash_strs(py, sources, &hasher, num_threads, &CodeKernel(opts))
}

struct CodeKernel(CodeOptions);

impl StrKernel for CodeKernel {
    fn run<W: SigWord>(
        &self,
        docs: &[&str],
        hasher: &MinHasher,
        threads: usize,
        rows: &mut [W],
    ) -> CoreResult<()> {
        core_minhash_code(docs, hasher, &self.0, threads, rows)
    }
}

/// One segment of an answer: (is code, start, end, language or None, fenced, fence info, other
/// readings worth checking: None as prose, else a language).
type SegmentTuple = (bool, usize, usize, Option<&'static str>, bool, String, Vec<Option<&'static str>>);

/// Splits a model answer into prose and code segments (byte offsets of the UTF-8 text); `language`
/// is the caller's hint: None or "auto", "text", or the language of the answer's code.
#[pyfunction]
#[pyo3(signature = (text, language=None))]
pub fn split_answer(
    py: Python<'_>,
    text: &Bound<'_, PyString>,
    language: Option<&str>,
) -> PyResult<Vec<SegmentTuple>> {
    let text = str_lossy(text)?;
    let options = SplitOptions::new(LanguageSet::ALL, Hint::parse(language).map_err(to_py_err)?);
    let segments = py.detach(|| split_answer_with(&text, &mut tree_sitter_parser(), &options));
    Ok(segments
        .into_iter()
        .map(|ParsedSegment { segment: s, .. }| {
            let alternatives = s.alternatives.iter().map(|a| a.map(Language::name)).collect();
            (s.code, s.start, s.end, s.language.map(Language::name), s.fenced, s.info, alternatives)
        })
        .collect())
}

type U64Array<'py> = Bound<'py, PyArray1<u64>>;

/// The transpiler helpers (TypeScript's `__importStar`..., Babel's `_interopRequireDefault`...)
/// in each text whose language is JavaScript or TypeScript: (text index, start, end) byte spans as
/// three arrays, in order.
#[pyfunction]
pub fn generated_spans<'py>(
    py: Python<'py>,
    texts: &Bound<'py, PyList>,
    languages: Vec<Option<String>>,
) -> PyResult<(U64Array<'py>, U64Array<'py>, U64Array<'py>)> {
    if languages.len() != texts.len() {
        return Err(pyo3::exceptions::PyValueError::new_err("texts and languages must have the same length"));
    }
    let parsed: Vec<Option<Language>> = languages
        .iter()
        .map(|l| l.as_deref().map(Language::parse).transpose())
        .collect::<CoreResult<_>>()
        .map_err(to_py_err)?;
    let held = TextBatch::hold(texts)?;
    let owned = held.borrow()?;
    let (docs, starts, ends) = py.detach(|| {
        let (mut docs, mut starts, mut ends) = (Vec::new(), Vec::new(), Vec::new());
        for (i, (text, language)) in owned.iter().zip(&parsed).enumerate() {
            let Some(language) = language else { continue };
            for (start, end) in nearcopy_core::code::generated_spans(text.as_ref(), *language) {
                docs.push(i as u64);
                starts.push(start as u64);
                ends.push(end as u64);
            }
        }
        (docs, starts, ends)
    });
    Ok((docs.into_pyarray(py), starts.into_pyarray(py), ends.into_pyarray(py)))
}

/// The most likely language of a piece of code and the share of its bytes left in syntax errors.
#[pyfunction]
pub fn detect_language(
    py: Python<'_>,
    source: &Bound<'_, PyString>,
) -> PyResult<(Option<&'static str>, f64)> {
    let source = str_lossy(source)?;
    let found = py.detach(|| nearcopy_core::code::detect(&mut tree_sitter_parser(), &source));
    Ok(found.map_or((None, 1.0), |(language, errors)| (Some(language.name()), errors)))
}

fn tree_sitter_parser() -> nearcopy_core::code::Parser {
    nearcopy_core::code::Parser::new()
}
