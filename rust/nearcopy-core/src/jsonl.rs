//! Pulling the few fields dedup needs out of JSON Lines, without building the whole record.
//!
//! Python's `json.loads` is the slowest step of reading a corpus (about 8 µs for a 1 KB line, more
//! than signing it). Here each line is scanned once by serde_json: the text, id, language and keep
//! fields are taken, every other value is skipped unparsed. A line whose reading could differ from
//! Python's (invalid JSON or UTF-8, not an object, a repeated or missing text field, an id that is
//! neither a string nor a plain integer, a language that is not a string, a keep value that is not
//! a number, NaN/Infinity literals) is returned as [`Line::Slow`]: the caller parses it the slow
//! way, so errors and edge cases stay exactly those of the Python reader.

use crate::error::Result as CoreResult;
use crate::pool;
use rayon::prelude::*;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

/// The field names to extract (`language` and `keep` are optional).
#[derive(Debug, Clone, Copy)]
pub struct Fields<'a> {
    pub text: &'a str,
    pub id: &'a str,
    pub language: Option<&'a str>,
    pub keep: Option<&'a str>,
}

/// What a fast-path line yields.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub text: String,
    /// The id as Python's `str()` of the JSON value would spell it; None when absent or null.
    pub id: Option<String>,
    pub language: Option<String>,
    /// The keep value; NaN when absent or null (or when no keep field is asked for).
    pub keep: f64,
}

/// One line of input, classified.
#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    /// Only whitespace (Python's `bytes.strip()` set): not a document.
    Blank,
    Fast(Record),
    /// To be parsed by the caller.
    Slow,
}

/// A line with its 0-based number in the buffer and its byte range (newline excluded).
#[derive(Debug, Clone, PartialEq)]
pub struct ExtractedLine {
    pub number: usize,
    pub start: usize,
    pub end: usize,
    pub line: Line,
}

fn is_python_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// `str(int(raw))` in Python equals `raw` for JSON integers without a sign on zero.
fn plain_integer(raw: &str) -> bool {
    let digits = raw.strip_prefix('-').unwrap_or(raw);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) && raw != "-0"
}

fn string_or_null(raw: &RawValue) -> Result<Option<String>, ()> {
    let text = raw.get();
    if text == "null" {
        return Ok(None);
    }
    if text.starts_with('"') {
        return serde_json::from_str::<String>(text).map(Some).map_err(|_| ());
    }
    Err(())
}

fn id_value(raw: &RawValue) -> Result<Option<String>, ()> {
    let text = raw.get();
    if plain_integer(text) {
        return Ok(Some(text.to_string()));
    }
    string_or_null(raw)
}

fn keep_value(raw: &RawValue) -> Result<f64, ()> {
    let text = raw.get();
    if text == "null" {
        return Ok(f64::NAN);
    }
    let numeric = text.bytes().next().is_some_and(|b| b == b'-' || b.is_ascii_digit());
    if !numeric {
        return Err(()); // a string, bool, array or object: the Python reader names the bad value
    }
    text.parse::<f64>().map_err(|_| ())
}

struct RecordSeed<'f> {
    fields: Fields<'f>,
}

/// Raw values of the wanted fields; any repeat of one of them sends the line to the slow path
/// (Python keeps the last of repeated keys).
#[derive(Default)]
struct Found<'de> {
    text: Option<Cow<'de, str>>,
    id: Option<&'de RawValue>,
    language: Option<&'de RawValue>,
    keep: Option<&'de RawValue>,
}

fn take_once<T>(slot: &mut Option<T>, value: T) -> Result<(), ()> {
    if slot.is_some() {
        return Err(());
    }
    *slot = Some(value);
    Ok(())
}

impl<'de> DeserializeSeed<'de> for RecordSeed<'_> {
    type Value = Found<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RecordSeed<'_> {
    type Value = Found<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        use serde::de::Error;
        let repeated = || A::Error::custom("repeated field");
        let mut found = Found::default();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            let key = key.as_ref();
            if key == self.fields.text {
                // Not a string: the slow path reports it (the error aborts this parse).
                let text: Cow<'de, str> = map.next_value()?;
                take_once(&mut found.text, text).map_err(|_| repeated())?;
            } else if key == self.fields.id {
                take_once(&mut found.id, map.next_value()?).map_err(|_| repeated())?;
            } else if Some(key) == self.fields.language {
                take_once(&mut found.language, map.next_value()?).map_err(|_| repeated())?;
            } else if Some(key) == self.fields.keep {
                take_once(&mut found.keep, map.next_value()?).map_err(|_| repeated())?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// Classifies one line (newline excluded).
pub fn extract_line(line: &[u8], fields: Fields<'_>) -> Line {
    if line.iter().all(|&b| is_python_space(b)) {
        return Line::Blank;
    }
    // Python's json.loads decodes the whole line first, and serde_json skips the strings of unwanted
    // fields without checking their UTF-8: a line with invalid UTF-8 anywhere goes to the slow path,
    // which reports it (found by the jsonl_reader fuzz target).
    if std::str::from_utf8(line).is_err() {
        return Line::Slow;
    }
    let mut deserializer = serde_json::Deserializer::from_slice(line);
    let Ok(found) = (RecordSeed { fields }).deserialize(&mut deserializer) else {
        return Line::Slow;
    };
    if deserializer.end().is_err() {
        return Line::Slow;
    }
    let record = (|| -> Result<Record, ()> {
        let text = found.text.ok_or(())?.into_owned();
        let id = found.id.map_or(Ok(None), id_value)?;
        let language = found.language.map_or(Ok(None), string_or_null)?;
        let keep = found.keep.map_or(Ok(f64::NAN), keep_value)?;
        Ok(Record { text, id, language, keep })
    })();
    record.map_or(Line::Slow, Line::Fast)
}

/// Every line of `buffer` (split at `\n`; a last line without one counts), classified; in parallel
/// over `threads` when there are many.
pub fn extract_lines(buffer: &[u8], fields: Fields<'_>, threads: usize) -> CoreResult<Vec<ExtractedLine>> {
    let mut spans = Vec::new();
    let mut start = 0;
    for i in memchr::memchr_iter(b'\n', buffer) {
        spans.push((start, i));
        start = i + 1;
    }
    if start < buffer.len() {
        spans.push((start, buffer.len()));
    }
    let classify = |(number, &(start, end)): (usize, &(usize, usize))| ExtractedLine {
        number,
        start,
        end,
        line: extract_line(&buffer[start..end], fields),
    };
    if threads <= 1 || spans.len() < 256 {
        return Ok(spans.iter().enumerate().map(classify).collect());
    }
    Ok(pool::pool(threads)?.install(|| spans.par_iter().enumerate().with_min_len(64).map(classify).collect()))
}

/// The lines of `buffer` that are documents (not blank) and kept: `keep(d)` for the `d`-th document
/// line; each copied as it is, with a newline. Returns the bytes and how many documents were seen.
pub fn select_lines(buffer: &[u8], mut keep: impl FnMut(usize) -> bool) -> (Vec<u8>, usize) {
    let mut out = Vec::with_capacity(buffer.len());
    let mut docs = 0;
    let mut start = 0;
    // The piece after the last newline is a line too (when empty, a blank one).
    for end in memchr::memchr_iter(b'\n', buffer).chain(std::iter::once(buffer.len())) {
        let line = &buffer[start..end];
        start = end + 1;
        if line.iter().all(|&b| is_python_space(b)) {
            continue;
        }
        if keep(docs) {
            out.extend_from_slice(line);
            out.push(b'\n');
        }
        docs += 1;
    }
    (out, docs)
}

/// Lines a fast JSONL reader must leave to the Python reader (which gives their record or their
/// error): not a JSON object, no string text, a repeated text field, a lone surrogate, a byte order
/// mark, trailing bytes. Both readers' tests take them.
#[cfg(test)]
pub(crate) const LINES_LEFT_TO_PYTHON: &[&str] = &[
    "not json",
    "[1, 2]",
    r#"{"id": 1}"#,
    r#"{"text": 5}"#,
    r#"{"text": "a", "text": "b"}"#,
    r#"{"text": "\ud800"}"#,
    "\u{feff}{\"text\": \"bom\"}",
    r#"{"text": "a"} trailing"#,
];

#[cfg(test)]
mod tests {
    use super::*;

    const FIELDS: Fields<'static> =
        Fields { text: "text", id: "id", language: Some("lang"), keep: Some("q") };

    fn fast(line: &str) -> Record {
        match extract_line(line.as_bytes(), FIELDS) {
            Line::Fast(record) => record,
            other => panic!("{line}: {other:?}"),
        }
    }

    #[test]
    fn takes_the_wanted_fields_and_skips_the_rest() {
        let r = fast(
            r#"{"meta": {"a": [1, 2, {"text": "nested"}]}, "text": "h\u00e9llo \"x\"", "id": "d1", "lang": "python", "q": 0.5}"#,
        );
        assert_eq!(
            r,
            Record {
                text: "héllo \"x\"".into(),
                id: Some("d1".into()),
                language: Some("python".into()),
                keep: 0.5
            }
        );
    }

    #[test]
    fn ids_are_spelled_as_python_would() {
        assert_eq!(fast(r#"{"text": "", "id": 42}"#).id.as_deref(), Some("42"));
        assert_eq!(fast(r#"{"text": "", "id": -7}"#).id.as_deref(), Some("-7"));
        assert_eq!(fast(r#"{"text": "", "id": null}"#).id, None);
        assert_eq!(fast(r#"{"text": ""}"#).id, None);
        // str(1.0) == "1.0", str(True) == "True", str(-0) == "0": left to Python.
        for odd in [r#"{"text": "", "id": 1.0}"#, r#"{"text": "", "id": true}"#, r#"{"text": "", "id": -0}"#]
        {
            assert_eq!(extract_line(odd.as_bytes(), FIELDS), Line::Slow, "{odd}");
        }
    }

    #[test]
    fn keep_values() {
        assert!(fast(r#"{"text": ""}"#).keep.is_nan());
        assert!(fast(r#"{"text": "", "q": null}"#).keep.is_nan());
        assert_eq!(fast(r#"{"text": "", "q": -3}"#).keep, -3.0);
        assert_eq!(fast(r#"{"text": "", "q": 2.5e3}"#).keep, 2500.0);
        for odd in [r#"{"text": "", "q": "1"}"#, r#"{"text": "", "q": true}"#, r#"{"text": "", "q": NaN}"#] {
            assert_eq!(extract_line(odd.as_bytes(), FIELDS), Line::Slow, "{odd}");
        }
    }

    #[test]
    fn anything_python_might_read_differently_is_slow() {
        for line in LINES_LEFT_TO_PYTHON.iter().chain(&[r#"{"text": "a", "lang": 3}"#]) {
            assert_eq!(extract_line(line.as_bytes(), FIELDS), Line::Slow, "{line}");
        }
        assert_eq!(extract_line(b"{\"text\": \"\xff\"}", FIELDS), Line::Slow);
    }

    #[test]
    fn lines_blank_lines_and_a_missing_final_newline() {
        let buffer = b"{\"text\": \"a\"}\n \t\x0c\r\n\n{\"text\": \"b\"}";
        for threads in [1, 2] {
            let lines = extract_lines(buffer, FIELDS, threads).unwrap();
            let kinds: Vec<_> = lines.iter().map(|l| matches!(l.line, Line::Fast(_))).collect();
            assert_eq!(kinds, [true, false, false, true]);
            assert_eq!(lines[1].line, Line::Blank);
            assert_eq!((lines[3].number, lines[3].start, lines[3].end), (3, 20, buffer.len()));
        }
    }

    #[test]
    fn selected_lines_are_copied_as_they_are() {
        let buffer = b"{\"a\": 1}\n\n  \n{\"b\":2}\r\n{\"c\": 3}";
        let (out, docs) = select_lines(buffer, |d| d != 1);
        assert_eq!(docs, 3);
        assert_eq!(out, b"{\"a\": 1}\n{\"c\": 3}\n");
        assert_eq!(select_lines(buffer, |d| d == 1).0, b"{\"b\":2}\r\n");
    }

    #[test]
    fn parallel_extraction_matches_serial() {
        let buffer: String = (0..1000).map(|i| format!("{{\"text\": \"doc {i}\", \"id\": {i}}}\n")).collect();
        // Compared as text: a missing keep value is NaN, which is not equal to itself.
        let serial = format!("{:?}", extract_lines(buffer.as_bytes(), FIELDS, 1).unwrap());
        let parallel = format!("{:?}", extract_lines(buffer.as_bytes(), FIELDS, 2).unwrap());
        assert!(serial == parallel, "parallel extraction differs");
    }

    #[test]
    fn invalid_utf8_in_a_skipped_field_goes_to_the_slow_path() {
        // Found by the jsonl_reader fuzz target: Python's json.loads refuses this line.
        let line = b"{\"text\": \"dup\", \"other\": \"a\xffb\"}";
        assert_eq!(extract_line(line, FIELDS), Line::Slow);
    }
}
