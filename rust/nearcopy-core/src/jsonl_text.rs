//! The text of each JSON Lines record split from the rest of it, for the protected-index build.
//!
//! `nearcopy index build FILE.jsonl` spent most of its reading in Python's `json.loads` and in
//! the Python strings it makes of each text, only for the texts to be handed back to the kernel.
//! Here each line is scanned once by serde_json: the text field is decoded into a Rust string (the
//! kernel fingerprints it from there) and every other field is kept as its raw JSON, rewritten as
//! a smaller object (`{"id": ..., "url": ...}`), which the caller decodes with `json.loads` so
//! that the metadata reads exactly as before, however odd its values (big integers, NaN, repeated
//! keys). A line whose text could read differently from Python's (invalid JSON or UTF-8, not an
//! object, a missing, repeated or non-string text, a lone surrogate) is [`TextLine::Slow`]: the
//! caller parses it the old way, so its errors stay the Python reader's.

use crate::error::Result as CoreResult;
use crate::pool;
use rayon::prelude::*;
use serde_json::value::RawValue;

/// One line of input (its newline included), classified.
#[derive(Debug, Clone, PartialEq)]
pub enum TextLine {
    /// Only white space (Python's `bytes.isspace()`), or empty: not a document.
    Blank,
    /// The text, and the other fields as a JSON object.
    Fast { text: String, rest: String },
    /// To be parsed by the caller.
    Slow,
    /// Longer than the reader accepts (the caller reports it).
    Overlong,
}

/// Python's `bytes.isspace()` set.
fn is_python_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// JSON's white space (Python's json module takes the same four bytes).
fn skip_space(line: &[u8], mut at: usize) -> usize {
    while at < line.len() && matches!(line[at], b' ' | b'\t' | b'\n' | b'\r') {
        at += 1;
    }
    at
}

/// Bytes that end a run of plain string content: the quote, the backslash, control characters.
const fn string_specials() -> [bool; 256] {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
}
static STRING_SPECIALS: [bool; 256] = string_specials();

/// Copies the run of plain string content from `line[at]` to `out`; returns where it ends.
/// Eight bytes at a time (a byte loop was most of the reading): each word is copied whole, then
/// cut at its first quote, backslash or control byte, found by the usual SWAR tests (a zero byte
/// of `word ^ pattern`, a byte below 0x20), whose lowest flagged byte is exact.
fn copy_plain_run(line: &[u8], mut at: usize, out: &mut Vec<u8>) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    while let Some(&bytes) = line.get(at..at + 8).and_then(|b| <&[u8; 8]>::try_from(b).ok()) {
        let word = u64::from_le_bytes(bytes);
        let zero_of = |pattern: u64| {
            let x = word ^ (ONES * pattern);
            x.wrapping_sub(ONES) & !x & HIGH
        };
        let special =
            zero_of(b'"' as u64) | zero_of(b'\\' as u64) | (word.wrapping_sub(ONES * 0x20) & !word & HIGH);
        out.extend_from_slice(&bytes);
        if special != 0 {
            let plain = (special.trailing_zeros() / 8) as usize;
            out.truncate(out.len() - 8 + plain);
            return at + plain;
        }
        at += 8;
    }
    while at < line.len() && !STRING_SPECIALS[line[at] as usize] {
        out.push(line[at]);
        at += 1;
    }
    at
}

fn hex4(line: &[u8], at: usize) -> Option<u32> {
    let digits = line.get(at..at + 4)?;
    digits.iter().try_fold(0u32, |value, &d| Some(value * 16 + (d as char).to_digit(16)?))
}

/// Decodes the JSON string whose opening quote is at `line[at]` into `out` (UTF-8, since `line`
/// is: it is cut at ASCII bytes only); returns where it ends (past its closing quote). None for
/// what JSON refuses (a control character, a bad escape, no closing quote) and for lone
/// surrogates, which a Rust string cannot hold (Python reads them; the slow path does).
fn string_at(line: &[u8], at: usize, out: &mut Vec<u8>) -> Option<usize> {
    let mut i = at + 1;
    loop {
        i = copy_plain_run(line, i, out);
        match line.get(i)? {
            b'"' => return Some(i + 1),
            b'\\' => {}
            _ => return None, // a control character
        }
        let plain = match line.get(i + 1)? {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let (decoded, end) = unicode_escape(line, i)?;
                out.extend_from_slice(decoded.encode_utf8(&mut [0; 4]).as_bytes());
                i = end;
                continue;
            }
            _ => return None,
        };
        out.push(plain);
        i += 2;
    }
}

/// The character of the `\u` escape (four hex digits) at `line[at]` (with the low surrogate after
/// it, for a high one) and where it ends; None for a lone surrogate or bad hex.
fn unicode_escape(line: &[u8], at: usize) -> Option<(char, usize)> {
    let unit = hex4(line, at + 2)?;
    if (0xDC00..0xE000).contains(&unit) {
        return None; // a lone low surrogate
    }
    if !(0xD800..0xDC00).contains(&unit) {
        return Some((char::from_u32(unit)?, at + 6));
    }
    // A high surrogate: only with a low one after it is it a character.
    if line.get(at + 6..at + 8)? != b"\\u" {
        return None;
    }
    let low = hex4(line, at + 8)?;
    if !(0xDC00..0xE000).contains(&low) {
        return None;
    }
    Some((char::from_u32(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))?, at + 12))
}

/// Where the JSON value starting at `line[at]` ends, as serde_json reads it (any value JSON
/// allows; None for anything else). serde_json skips a raw value without checking its escapes
/// (`"\u12"`), which the caller's `json.loads` would refuse: the value is read whole, too.
fn value_end(line: &[u8], at: usize) -> Option<usize> {
    let mut values = serde_json::Deserializer::from_slice(&line[at..]).into_iter::<&RawValue>();
    let raw = values.next()?.ok()?;
    serde_json::from_str::<serde_json::Value>(raw.get()).ok()?;
    Some(at + values.byte_offset())
}

/// The text field decoded and the other members (raw) as an object, of the JSON object that is
/// the whole line; None when the line is not one, or its text is missing, repeated or not a
/// string JSON and Rust both read.
fn split_object(line: &[u8], text: &str, text_field: &str) -> Option<(String, String)> {
    let field = text_field.as_bytes();
    let mut at = skip_space(line, 0);
    if line.get(at) != Some(&b'{') {
        return None;
    }
    let (mut found, mut rest) = (None, String::from("{"));
    let mut key = Vec::new();
    at = skip_space(line, at + 1);
    if line.get(at) == Some(&b'}') {
        at += 1;
    } else {
        loop {
            if line.get(at) != Some(&b'"') {
                return None;
            }
            key.clear();
            let key_end = string_at(line, at, &mut key)?;
            let key_start = at;
            at = skip_space(line, key_end);
            if line.get(at) != Some(&b':') {
                return None;
            }
            at = skip_space(line, at + 1);
            if key == field {
                if found.is_some() || line.get(at) != Some(&b'"') {
                    return None; // repeated (Python keeps the last), or not a string
                }
                let mut value = Vec::with_capacity(line.len() - at);
                at = string_at(line, at, &mut value)?;
                found = Some(String::from_utf8(value).ok()?);
            } else {
                let end = value_end(line, at)?;
                if rest.len() > 1 {
                    rest.push(',');
                }
                rest.push_str(&text[key_start..key_end]);
                rest.push(':');
                rest.push_str(&text[at..end]);
                at = end;
            }
            at = skip_space(line, at);
            match line.get(at) {
                Some(b',') => at = skip_space(line, at + 1),
                Some(b'}') => {
                    at += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    if skip_space(line, at) != line.len() {
        return None;
    }
    rest.push('}');
    Some((found?, rest))
}

/// Classifies one line (its newline, if any, included); a line longer than `max_line_bytes` is
/// [`TextLine::Overlong`].
pub fn split_line(line: &[u8], text_field: &str, max_line_bytes: usize) -> TextLine {
    if line.len() > max_line_bytes {
        return TextLine::Overlong;
    }
    if line.iter().all(|&b| is_python_space(b)) {
        return TextLine::Blank;
    }
    // Python decodes the whole line before parsing, and serde_json does not check the UTF-8 of
    // the strings it skips (jsonl.rs found this by fuzzing): a line that is not UTF-8 is slow.
    let Ok(text) = std::str::from_utf8(line) else {
        return TextLine::Slow;
    };
    match split_object(line, text, text_field) {
        Some((text, rest)) => TextLine::Fast { text, rest },
        None => TextLine::Slow,
    }
}

/// The lines of a buffer: each line's number (0-based, blank lines counted) and bytes (newline
/// included), for [`split_lines`].
pub fn line_spans(buffer: &[u8]) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = 0;
    for i in memchr::memchr_iter(b'\n', buffer) {
        spans.push((start, i + 1));
        start = i + 1;
    }
    if start < buffer.len() {
        spans.push((start, buffer.len()));
    }
    spans
}

/// [`split_line`] of every line (`lines`: their bytes, in order), in parallel over `threads` when
/// there are many; the result is in the lines' order whatever the thread count.
pub fn split_lines(
    lines: &[&[u8]],
    text_field: &str,
    max_line_bytes: usize,
    threads: usize,
) -> CoreResult<Vec<TextLine>> {
    let split = |line: &&[u8]| split_line(line, text_field, max_line_bytes);
    if threads <= 1 || lines.len() < 64 {
        return Ok(lines.iter().map(split).collect());
    }
    Ok(pool::pool(threads)?.install(|| lines.par_iter().with_min_len(16).map(split).collect()))
}

#[cfg(test)]
mod tests;
