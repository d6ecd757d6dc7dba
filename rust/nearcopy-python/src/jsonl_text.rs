//! Binding of the JSON Lines text splitter (`nearcopy_core::jsonl_text`) for the index build: the
//! texts stay Rust strings ([`HeldText`]) until the kernel fingerprints them, the other fields go
//! to Python as one JSON array.

use crate::errors::to_py_err;
use crate::thread_count;
use nearcopy_core::jsonl_text::{line_spans, split_lines, TextLine};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::borrow::Cow;

/// A document's text read from JSON Lines and held in Rust: `build_segment`, `licence_notices` and
/// the other functions that take a list of texts accept it in place of a str. `len()` is the
/// str's, `str()` makes the str.
#[pyclass(frozen, module = "nearcopy._core")]
pub struct HeldText {
    text: String,
    chars: usize,
}

impl HeldText {
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

#[pymethods]
impl HeldText {
    fn __len__(&self) -> usize {
        self.chars
    }

    fn __str__(&self) -> &str {
        &self.text
    }
}

/// What a buffer of lines gives: per document line (blank lines skipped) its text (None for a
/// line the caller parses itself: slow or overlong), the JSON array of the documents' other
/// fields (`null` for those lines), each line's number (0-based, blank lines counted) and byte
/// span in `pending + chunk`, then the lines and the bytes of `chunk` consumed.
type Split<'py> =
    (Vec<Option<Py<HeldText>>>, Bound<'py, PyBytes>, Vec<usize>, Vec<(usize, usize)>, usize, usize);

/// The documents of the whole lines of `pending + chunk` (`pending`: the start of a line the
/// chunk before left unfinished): all of it when `last`, else up to the chunk's last newline.
#[pyfunction]
#[pyo3(signature = (pending, chunk, text_field, max_line_bytes, last, num_threads=None))]
pub fn jsonl_texts<'py>(
    py: Python<'py>,
    pending: &Bound<'py, PyBytes>,
    chunk: &Bound<'py, PyBytes>,
    text_field: &str,
    max_line_bytes: usize,
    last: bool,
    num_threads: Option<usize>,
) -> PyResult<Split<'py>> {
    let (pending, chunk) = (pending.as_bytes(), chunk.as_bytes());
    let consumed =
        if last { chunk.len() } else { chunk.iter().rposition(|&b| b == b'\n').map_or(0, |at| at + 1) };
    if consumed == 0 && (!last || pending.is_empty()) {
        // No line ends in the chunk (the caller keeps it as pending), or nothing at all is left.
        return Ok((Vec::new(), PyBytes::new(py, b"[]"), Vec::new(), Vec::new(), 0, consumed));
    }
    let threads = thread_count(num_threads, consumed).map_err(to_py_err)?;
    let (lines, spans, split) = py
        .detach(|| -> nearcopy_core::Result<_> {
            let (lines, spans) = whole_lines(pending, &chunk[..consumed]);
            let borrowed: Vec<&[u8]> = lines.iter().map(|l| l.as_ref()).collect();
            let split = split_lines(&borrowed, text_field, max_line_bytes, threads)?;
            Ok((lines.len(), spans, split))
        })
        .map_err(to_py_err)?;
    let mut texts = Vec::with_capacity(split.len());
    let (mut numbers, mut kept_spans) = (Vec::with_capacity(split.len()), Vec::with_capacity(split.len()));
    let mut rests = Vec::with_capacity(split.len() * 64);
    rests.push(b'[');
    for (number, (line, span)) in split.into_iter().zip(spans).enumerate() {
        let (text, rest) = match line {
            TextLine::Blank => continue,
            TextLine::Fast { text, rest } => {
                let chars = text.chars().count();
                (Some(Py::new(py, HeldText { text, chars })?), Cow::Owned(rest))
            }
            TextLine::Slow | TextLine::Overlong => (None, Cow::Borrowed("null")),
        };
        if rests.len() > 1 {
            rests.push(b',');
        }
        rests.extend_from_slice(rest.as_bytes());
        texts.push(text);
        numbers.push(number);
        kept_spans.push(span);
    }
    rests.push(b']');
    Ok((texts, PyBytes::new(py, &rests), numbers, kept_spans, lines, consumed))
}

/// Byte ranges (start, end) of lines.
type Spans = Vec<(usize, usize)>;

/// The lines of `pending + body` (each with its newline) and their spans there; only the first
/// line is copied, when `pending` is not empty.
fn whole_lines<'a>(pending: &[u8], body: &'a [u8]) -> (Vec<Cow<'a, [u8]>>, Spans) {
    let mut spans = line_spans(body);
    let mut lines: Vec<Cow<'a, [u8]>> = spans.iter().map(|&(s, e)| Cow::Borrowed(&body[s..e])).collect();
    if pending.is_empty() {
        return (lines, spans);
    }
    for span in &mut spans {
        *span = (span.0 + pending.len(), span.1 + pending.len());
    }
    match lines.first_mut() {
        Some(first) => {
            *first = Cow::Owned([pending, first.as_ref()].concat());
            spans[0].0 = 0;
        }
        None => {
            lines.push(Cow::Owned(pending.to_vec()));
            spans.push((0, pending.len()));
        }
    }
    (lines, spans)
}
