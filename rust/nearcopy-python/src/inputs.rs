//! Borrowing Python inputs for work done without the GIL.
//!
//! Strings and bytes are immutable, so their UTF-8 data may be read from other threads as long as the
//! objects stay alive: each batch first takes a strong reference to every item (`hold`), then lends
//! out plain `&str` / `&[u8]` slices (`borrow`). No text is copied, except lone surrogates, which
//! have no UTF-8 form.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};
use std::borrow::Cow;

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".to_string())
}

/// The UTF-8 of a str; lone surrogates become U+FFFD, which keeps byte offsets equal to those of
/// `text.encode("utf-8", "surrogatepass")` (both take three bytes).
pub fn str_lossy<'a>(s: &'a Bound<'_, PyString>) -> PyResult<Cow<'a, str>> {
    match s.to_str() {
        Ok(borrowed) => Ok(Cow::Borrowed(borrowed)),
        Err(_) => Ok(s.to_string_lossy()),
    }
}

/// A list of texts, each held alive.
pub struct TextBatch<'py> {
    items: Vec<Bound<'py, PyString>>,
}

impl<'py> TextBatch<'py> {
    pub fn hold(list: &Bound<'py, PyList>) -> PyResult<Self> {
        let mut items = Vec::with_capacity(list.len());
        for (i, item) in list.iter().enumerate() {
            match item.cast_into::<PyString>() {
                Ok(s) => items.push(s),
                Err(e) => {
                    let item = e.into_inner();
                    return Err(PyTypeError::new_err(format!(
                        "docs[{i}] is {}, expected str (or pass every document as a list of tokens)",
                        type_name(&item)
                    )));
                }
            }
        }
        Ok(TextBatch { items })
    }

    pub fn borrow(&self) -> Vec<Cow<'_, str>> {
        self.items
            .iter()
            .map(|s| str_lossy(s).unwrap_or(Cow::Borrowed("")))
            .collect()
    }
}

/// A list of token lists, flattened, each token held alive.
pub struct TokenBatch<'py> {
    tokens: Vec<Bound<'py, PyAny>>,
    offsets: Vec<usize>,
    /// UTF-8 (surrogatepass) encodings of tokens with lone surrogates, by token index.
    encoded: Vec<(usize, Vec<u8>)>,
}

impl<'py> TokenBatch<'py> {
    pub fn hold(list: &Bound<'py, PyList>) -> PyResult<Self> {
        let mut tokens = Vec::new();
        let mut offsets = Vec::with_capacity(list.len() + 1);
        let mut encoded = Vec::new();
        offsets.push(0);
        for (d, doc) in list.iter().enumerate() {
            let items: Vec<Bound<'py, PyAny>> = if let Ok(l) = doc.cast::<PyList>() {
                l.iter().collect()
            } else if let Ok(t) = doc.cast::<PyTuple>() {
                t.iter().collect()
            } else {
                return Err(PyTypeError::new_err(format!(
                    "docs[{d}] is {}, expected a list of str or bytes tokens",
                    type_name(&doc)
                )));
            };
            for (t, token) in items.into_iter().enumerate() {
                if let Ok(s) = token.cast::<PyString>() {
                    if s.to_str().is_err() {
                        let bytes = s.call_method1("encode", ("utf-8", "surrogatepass"))?;
                        encoded.push((tokens.len(), bytes.cast::<PyBytes>()?.as_bytes().to_vec()));
                    }
                } else if token.cast::<PyBytes>().is_err() {
                    return Err(PyTypeError::new_err(format!(
                        "docs[{d}][{t}] is {}, expected str or bytes",
                        type_name(&token)
                    )));
                }
                tokens.push(token);
            }
            offsets.push(tokens.len());
        }
        Ok(TokenBatch {
            tokens,
            offsets,
            encoded,
        })
    }

    /// Every token's bytes (str as UTF-8) and the per-document offsets into them.
    pub fn borrow(&self) -> (Vec<&[u8]>, &[usize]) {
        let mut encoded = self.encoded.iter().peekable();
        let bytes = self
            .tokens
            .iter()
            .enumerate()
            .map(|(i, token)| {
                if let Some((_, bytes)) = encoded.next_if(|(at, _)| *at == i) {
                    return bytes.as_slice();
                }
                if let Ok(s) = token.cast::<PyString>() {
                    s.to_str().map(str::as_bytes).unwrap_or(&[])
                } else if let Ok(b) = token.cast::<PyBytes>() {
                    b.as_bytes()
                } else {
                    &[]
                }
            })
            .collect();
        (bytes, &self.offsets)
    }
}
