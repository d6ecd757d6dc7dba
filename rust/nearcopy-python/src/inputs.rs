//! Borrowing Python inputs for work done without the GIL.
//!
//! Strings and bytes are immutable, so their UTF-8 data may be read from other threads as long as the
//! objects stay alive: each batch first takes a strong reference to every item (`hold`), then lends
//! out plain `&str` / `&[u8]` slices (`borrow`). No text is copied, except lone surrogates, which
//! have no UTF-8 form.

use crate::jsonl_text::HeldText;
use nearcopy_core::batch::TokenLists;
use nearcopy_core::minhash::MinHasher;
use pyo3::exceptions::PyTypeError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};
use std::borrow::Cow;

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".to_string())
}

/// The UTF-8 of a str. Lone surrogates, which have no UTF-8 form, become U+FFFD: both take three
/// bytes, so byte offsets stay equal to those of `text.encode("utf-8", "surrogatepass")`.
pub fn str_lossy<'a>(s: &'a Bound<'_, PyString>) -> PyResult<Cow<'a, str>> {
    if let Ok(borrowed) = s.to_str() {
        return Ok(Cow::Borrowed(borrowed));
    }
    let encoded = s.call_method1("encode", ("utf-8", "surrogatepass"))?;
    let mut bytes = encoded.cast::<PyBytes>()?.as_bytes().to_vec();
    let mut i = 0;
    while i + 2 < bytes.len() {
        // A surrogate's 3-byte encoding is ED A0..BF 80..BF; U+FFFD is EF BF BD.
        if bytes[i] == 0xED && bytes[i + 1] >= 0xA0 {
            bytes[i..i + 3].copy_from_slice(&[0xEF, 0xBF, 0xBD]);
            i += 3;
        } else {
            i += 1;
        }
    }
    Ok(Cow::Owned(
        String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
    ))
}

/// A list of texts (str, or [`HeldText`] read from JSON Lines), each held alive.
pub struct TextBatch<'py> {
    items: Vec<Text<'py>>,
}

enum Text<'py> {
    Str(Bound<'py, PyString>),
    Held(Bound<'py, HeldText>),
}

impl<'py> TextBatch<'py> {
    pub fn hold(list: &Bound<'py, PyList>) -> PyResult<Self> {
        let mut items = Vec::with_capacity(list.len());
        for (i, item) in list.iter().enumerate() {
            match item.cast_into::<PyString>() {
                Ok(s) => items.push(Text::Str(s)),
                Err(e) => {
                    let item = e.into_inner();
                    if let Ok(held) = item.cast::<HeldText>() {
                        items.push(Text::Held(held.clone()));
                        continue;
                    }
                    return Err(PyTypeError::new_err(format!(
                        "docs[{i}] is {}, expected str (or pass every document as a list of tokens)",
                        type_name(&item)
                    )));
                }
            }
        }
        Ok(TextBatch { items })
    }

    pub fn borrow(&self) -> PyResult<Vec<Cow<'_, str>>> {
        self.items
            .iter()
            .map(|item| match item {
                Text::Str(s) => str_lossy(s),
                Text::Held(held) => Ok(Cow::Borrowed(held.get().as_str())),
            })
            .collect()
    }
}

/// Pre-tokenized documents gathered a chunk at a time, under the GIL, for work done without it.
pub trait Arena {
    /// Appends document `d` (a list or tuple of str/bytes tokens).
    fn push_doc(&mut self, doc: &Bound<'_, PyAny>, d: usize) -> PyResult<()>;
    /// Roughly how many bytes the chunk holds.
    fn size(&self) -> usize;
    /// Empties the arena, keeping its memory for the next chunk.
    fn clear(&mut self);
}

/// Token lists copied into one flat buffer (see `nearcopy_core::batch::TokenLists`): one `memcpy`
/// per token instead of a reference count taken and released per token.
pub struct TokenArena {
    pub bytes: Vec<u8>,
    pub token_bounds: Vec<usize>,
    pub doc_bounds: Vec<usize>,
}

impl TokenArena {
    pub fn new() -> Self {
        TokenArena { bytes: Vec::new(), token_bounds: vec![0], doc_bounds: vec![0] }
    }

    pub fn lists(&self) -> TokenLists<'_> {
        TokenLists { bytes: &self.bytes, token_bounds: &self.token_bounds, doc_bounds: &self.doc_bounds }
    }
}

impl Arena for TokenArena {
    fn push_doc(&mut self, doc: &Bound<'_, PyAny>, d: usize) -> PyResult<()> {
        for_each_token(doc, d, |bytes| {
            self.bytes.extend_from_slice(bytes);
            self.token_bounds.push(self.bytes.len());
        })?;
        self.doc_bounds.push(self.token_bounds.len() - 1);
        Ok(())
    }

    fn size(&self) -> usize {
        self.bytes.len() + self.token_bounds.len()
    }

    fn clear(&mut self) {
        self.bytes.clear();
        self.token_bounds.truncate(1);
        self.doc_bounds.truncate(1);
    }
}

/// Token lists reduced to their token hashes as they are read: for a cheap hash (the `fast`
/// scheme's XXH3) hashing costs less than copying the token would.
pub struct HashArena<'h> {
    pub hasher: &'h MinHasher,
    pub hashes: Vec<u64>,
    pub doc_bounds: Vec<usize>,
}

impl<'h> HashArena<'h> {
    pub fn new(hasher: &'h MinHasher) -> Self {
        HashArena { hasher, hashes: Vec::new(), doc_bounds: vec![0] }
    }
}

impl Arena for HashArena<'_> {
    fn push_doc(&mut self, doc: &Bound<'_, PyAny>, d: usize) -> PyResult<()> {
        let hasher = self.hasher;
        for_each_token(doc, d, |bytes| self.hashes.push(hasher.token_hash(bytes)))?;
        self.doc_bounds.push(self.hashes.len());
        Ok(())
    }

    fn size(&self) -> usize {
        self.hashes.len() * 8
    }

    fn clear(&mut self) {
        self.hashes.clear();
        self.doc_bounds.truncate(1);
    }
}

/// Calls `on_token` with the bytes of every token of document `d` (UTF-8 for str).
fn for_each_token(doc: &Bound<'_, PyAny>, d: usize, mut on_token: impl FnMut(&[u8])) -> PyResult<()> {
    // `doc` is a strong reference, so the container outlives the loop below even if Python code
    // (the surrogate fallback) runs in between.
    let is_list = doc.cast::<PyList>().is_ok();
    if !is_list && doc.cast::<PyTuple>().is_err() {
        return Err(PyTypeError::new_err(format!(
            "docs[{d}] is {}, expected a list of str or bytes tokens",
            type_name(doc)
        )));
    }
    let container = doc.as_ptr();
    let mut t = 0;
    loop {
        // SAFETY: `container` is a live list or tuple (checked above, kept alive by `doc`) and the
        // GIL is held; `t` is checked against the current size before every access, and the
        // borrowed item is used before any Python code can run.
        let item = unsafe {
            let size =
                if is_list { ffi::PyList_GET_SIZE(container) } else { ffi::PyTuple_GET_SIZE(container) };
            if t as ffi::Py_ssize_t >= size {
                break;
            }
            if is_list {
                ffi::PyList_GET_ITEM(container, t as ffi::Py_ssize_t)
            } else {
                ffi::PyTuple_GET_ITEM(container, t as ffi::Py_ssize_t)
            }
        };
        // SAFETY: `item` is a borrowed reference to a live object (see above).
        match unsafe { utf8_or_bytes(item) } {
            Some(bytes) => on_token(bytes),
            None => {
                // SAFETY: as above; the new strong reference keeps the item alive from here on.
                let token = unsafe { Bound::from_borrowed_ptr(doc.py(), item) };
                on_token(&slow_token_bytes(&token, d, t)?);
            }
        }
        t += 1;
    }
    Ok(())
}

/// Tokens the fast path does not take: str with lone surrogates (hashed as Python's surrogatepass
/// encoding gives them, since they have no UTF-8 form), and wrong types (an error naming them).
fn slow_token_bytes(token: &Bound<'_, PyAny>, d: usize, t: usize) -> PyResult<Vec<u8>> {
    if let Ok(s) = token.cast::<PyString>() {
        let encoded = s.call_method1("encode", ("utf-8", "surrogatepass"))?;
        return Ok(encoded.cast::<PyBytes>()?.as_bytes().to_vec());
    }
    Err(PyTypeError::new_err(format!("docs[{d}][{t}] is {}, expected str or bytes", type_name(token))))
}

/// The UTF-8 of a str or the content of a bytes object, borrowed; `None` for anything else and for
/// str that cannot be encoded (lone surrogates).
///
/// # Safety
/// `obj` must point to a live object and the GIL must be held for as long as the slice is used.
unsafe fn utf8_or_bytes<'a>(obj: *mut ffi::PyObject) -> Option<&'a [u8]> {
    if ffi::PyUnicode_Check(obj) != 0 {
        if ffi::PyUnicode_IS_COMPACT_ASCII(obj) != 0 {
            // ASCII is its own UTF-8: read it in place, no call into the interpreter.
            let data = ffi::PyUnicode_DATA(obj).cast::<u8>();
            return Some(std::slice::from_raw_parts(data, ffi::PyUnicode_GET_LENGTH(obj) as usize));
        }
        let mut size: ffi::Py_ssize_t = 0;
        let data = ffi::PyUnicode_AsUTF8AndSize(obj, &mut size);
        if data.is_null() {
            ffi::PyErr_Clear();
            return None;
        }
        return Some(std::slice::from_raw_parts(data.cast::<u8>(), size as usize));
    }
    if ffi::PyBytes_Check(obj) != 0 {
        let data = ffi::PyBytes_AsString(obj);
        let size = ffi::PyBytes_Size(obj);
        return Some(std::slice::from_raw_parts(data.cast::<u8>(), size as usize));
    }
    None
}
