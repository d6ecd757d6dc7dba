//! Bindings of the two phases of a check fanned out over shard servers
//! (`nearcopy_core::index::fanout`): one shard's document counts of an answer's fingerprints, then
//! its matches given the other shards' counts. The router (Python) sums the counts between them.

use crate::errors::to_py_err;
use crate::index::{hint, IndexReader, MatchTuple, Thresholds};
use crate::inputs::TextBatch;
use nearcopy_core::code::{Language, LanguageSet};
use nearcopy_core::index::fanout::{
    answer_frequencies, match_answer_with_others, AllowlistedElsewhere, OtherShards,
};
use nearcopy_core::index::{IndexContents, MatchSettings};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyList;

/// (documents per fingerprint `(hash, documents)`, allowlisted fingerprints) of one answer.
type Frequencies = (Vec<(u64, u32)>, Vec<u64>);

/// The settings of each answer: the reader's thresholds and the caller's hint, with the contents of
/// the whole sharded index (`languages`, None for all, and `prose`) rather than this shard's, so the answer is split
/// and read as one index over every shard would.
fn answer_settings(
    reader: &IndexReader,
    count: usize,
    hints: Vec<Option<String>>,
    thresholds: Thresholds,
    languages: Option<Vec<String>>,
    prose: bool,
) -> PyResult<Vec<MatchSettings>> {
    if hints.len() != count {
        return Err(PyValueError::new_err(format!("{count} answers but {} language hints", hints.len())));
    }
    let languages: LanguageSet = match languages {
        None => LanguageSet::ALL,
        Some(names) => names
            .iter()
            .map(|n| Language::parse(n))
            .collect::<nearcopy_core::Result<_>>()
            .map_err(to_py_err)?,
    };
    let contents = IndexContents { prose, languages };
    hints
        .iter()
        .map(|h| Ok(MatchSettings { contents, ..reader.settings(thresholds, hint(h.as_deref())?) }))
        .collect()
}

/// Phase one, for each answer: how many of this shard's documents hold each fingerprint the matcher
/// looks up (capped past the largest threshold), and which of them its allowlist holds.
#[pyfunction]
#[pyo3(signature = (reader, answers, hints, thresholds, languages, prose))]
pub fn shard_frequencies(
    py: Python<'_>,
    reader: &IndexReader,
    answers: &Bound<'_, PyList>,
    hints: Vec<Option<String>>,
    thresholds: Thresholds,
    languages: Option<Vec<String>>,
    prose: bool,
) -> PyResult<Vec<Frequencies>> {
    let held = TextBatch::hold(answers)?;
    let texts = held.borrow()?;
    let settings = answer_settings(reader, texts.len(), hints, thresholds, languages, prose)?;
    py.detach(|| -> nearcopy_core::Result<Vec<Frequencies>> {
        let found = texts
            .iter()
            .zip(&settings)
            .map(|(text, s)| {
                answer_frequencies(text.as_ref(), &reader.segments, &reader.allowlist, &reader.winnowing, s)
                    .map(|f| (f.documents, f.allowlisted))
            })
            .collect::<nearcopy_core::Result<Vec<_>>>()?;
        reader.undamaged()?;
        Ok(found)
    })
    .map_err(to_py_err)
}

/// Phase two, for each answer: its matches in this shard as the whole index finds them, given
/// `others[i]` (`(hash, documents in the other shards)`) and `allowlisted[i]` (fingerprints the
/// other shards allowlist). The same tuples as `IndexReader.match_answer`.
#[pyfunction]
#[pyo3(signature = (reader, answers, hints, thresholds, languages, prose, others, allowlisted))]
#[allow(clippy::too_many_arguments)]
pub fn shard_match_answers(
    py: Python<'_>,
    reader: &IndexReader,
    answers: &Bound<'_, PyList>,
    hints: Vec<Option<String>>,
    thresholds: Thresholds,
    languages: Option<Vec<String>>,
    prose: bool,
    others: Vec<Vec<(u64, u32)>>,
    allowlisted: Vec<Vec<u64>>,
) -> PyResult<Vec<(Vec<MatchTuple>, usize)>> {
    let held = TextBatch::hold(answers)?;
    let texts = held.borrow()?;
    if others.len() != texts.len() || allowlisted.len() != texts.len() {
        return Err(PyValueError::new_err(format!(
            "{} answers but {} counts and {} allowlists from the other shards",
            texts.len(),
            others.len(),
            allowlisted.len()
        )));
    }
    let settings = answer_settings(reader, texts.len(), hints, thresholds, languages, prose)?;
    py.detach(|| -> nearcopy_core::Result<Vec<_>> {
        let mut out = Vec::with_capacity(texts.len());
        for ((text, s), (counts, allowed)) in
            texts.iter().zip(&settings).zip(others.into_iter().zip(allowlisted))
        {
            let report = match_answer_with_others(
                text.as_ref(),
                &reader.segments,
                &reader.allowlist,
                &OtherShards::new(counts),
                &AllowlistedElsewhere::new(allowed),
                &reader.winnowing,
                s,
            )?;
            out.push(IndexReader::tuples(report));
        }
        reader.undamaged()?;
        Ok(out)
    })
    .map_err(to_py_err)
}
