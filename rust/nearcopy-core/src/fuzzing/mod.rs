//! Property checks run on arbitrary bytes: the bodies of the cargo-fuzz targets (`fuzz/`) and of the
//! short fuzz that `cargo test` runs (`tests.rs`), so both exercise exactly the same code.
//!
//! Each check panics when a property fails; a panic is what libFuzzer reports as a crash. The
//! properties are the cheap ones that hold for every input: determinism (a reused and a fresh
//! normalizer agree), spans inside the input and on character boundaries, segments in order, and
//! for the segment reader, an error instead of a panic or a read out of bounds on corrupted bytes.
//! Compiled only for tests and with the `fuzzing` feature: it is not part of the library's surface.

use crate::code::{split_answer, CodeNormalizer, CodeOptions, IdentifierMode, Language, LiteralMode};
use crate::fingerprint::segment::{merge_segments, Segment};
use crate::fingerprint::{Posting, Winnowing, Winnowings};
use crate::hash::xxh3_64;
use crate::jsonl::{extract_line, extract_lines, select_lines, Fields, Line};
use crate::jsonl_text::{line_spans, split_line, TextLine};
use crate::text::{Normalizer, ShingleUnit, TextOptions};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Inputs are cut to this size: longer ones only slow the fuzzer down without new paths.
const MAX_INPUT: usize = 64 * 1024;

/// The first byte of the input chooses options; the rest, read as UTF-8 (invalid sequences as
/// U+FFFD, as the bindings read lone surrogates), is the text.
fn split(data: &[u8]) -> (u8, String) {
    let data = &data[..data.len().min(MAX_INPUT)];
    match data.split_first() {
        Some((&first, rest)) => (first, String::from_utf8_lossy(rest).into_owned()),
        None => (0, String::new()),
    }
}

fn assert_span(text: &str, start: usize, end: usize, what: &str) {
    assert!(start <= end && end <= text.len(), "{what} span {start}..{end} outside 0..{}", text.len());
    assert!(
        text.is_char_boundary(start) && text.is_char_boundary(end),
        "{what} span {start}..{end} splits a character"
    );
}

/// The text normalizer: spans in order and on boundaries, symbols are slices of the normalized
/// buffer joined by single spaces, and the result does not depend on what the normalizer saw before.
pub fn text_normalizer(data: &[u8]) {
    let (flags, text) = split(data);
    let opts = TextOptions {
        ngram: 1 + usize::from(flags >> 4),
        unit: if flags & 4 == 0 { ShingleUnit::Word } else { ShingleUnit::Char },
        nfkc: flags & 1 == 0,
        casefold: flags & 2 == 0,
    };
    let mut reused = Normalizer::new();
    reused.tokens("warm-up text, ÅNGSTRÖM ﬁ 東京", &opts);
    let tokens = reused.tokens(&text, &opts);
    let normalized = reused.normalized().to_owned();
    let mut previous = (0, 0);
    for token in &tokens {
        assert_span(&text, token.orig_start, token.orig_end, "original");
        assert!(token.orig_start < token.orig_end, "empty token at {}", token.orig_start);
        // Spans are unions of clusters (a character and the marks after it), and the characters of
        // one cluster can go to two tokens (a Thai letter is a token of its own; a foreign mark
        // after it starts a word), which then share that cluster: spans go forward, not disjoint.
        assert!(token.orig_start >= previous.0 && token.orig_end >= previous.1, "tokens go backwards");
        previous = (token.orig_start, token.orig_end);
        assert_span(&normalized, token.norm_start, token.norm_end, "normalized");
        let symbol = &normalized[token.norm_start..token.norm_end];
        assert!(!symbol.is_empty() && !symbol.contains(' '), "symbol {symbol:?}");
    }
    let joined: Vec<&str> = tokens.iter().map(|t| &normalized[t.norm_start..t.norm_end]).collect();
    assert_eq!(joined.join(" "), normalized, "the normalized buffer is the symbols joined by spaces");
    let mut fresh = Normalizer::new();
    assert_eq!(fresh.tokens(&text, &opts), tokens, "a fresh normalizer disagrees");
    assert_eq!(fresh.normalized(), normalized);
}

/// One code normalizer, chosen by the first byte (12 languages; the other bits choose the modes).
pub fn code_normalizer(data: &[u8]) {
    let (flags, source) = split(data);
    let language = Language::ALL[usize::from(flags) % Language::ALL.len()];
    let identifiers = [
        IdentifierMode::Placeholder,
        IdentifierMode::Consistent,
        IdentifierMode::Members,
        IdentifierMode::Keep,
    ][usize::from(flags >> 4) % 4];
    let literals = if flags & 0x40 == 0 { LiteralMode::Abstract } else { LiteralMode::Keep };
    let opts = CodeOptions { language, ngram: 1 + usize::from(flags >> 5), identifiers, literals };
    let mut reused = CodeNormalizer::new();
    reused
        .normalize(
            "int main() { return 0; }\n",
            &CodeOptions::new(Language::ALL[(usize::from(flags) + 1) % 12]),
        )
        .expect("warm-up");
    let Ok(tokens) = reused.normalize(&source, &opts) else { return };
    let tokens = tokens.to_vec();
    let normalized = reused.normalized().to_owned();
    let mut previous_start = 0;
    for token in &tokens {
        assert_span(&source, token.start, token.end, "source");
        assert!(token.start >= previous_start, "tokens out of order");
        previous_start = token.start;
        assert_span(&normalized, token.norm_start, token.norm_end, "normalized");
        assert!(token.norm_start < token.norm_end, "empty symbol");
    }
    let mut fresh = CodeNormalizer::new();
    let again = fresh.normalize(&source, &opts).expect("parsed once, parses again").to_vec();
    assert_eq!(again, tokens, "a fresh normalizer disagrees");
    assert_eq!(fresh.normalized(), normalized);
    let mut shingles = 0usize;
    fresh.shingles(&source, &opts, |s| shingles += usize::from(!s.is_empty())).expect("shingles");
    assert_eq!(shingles, tokens.len().saturating_sub(opts.ngram - 1).max(usize::from(!tokens.is_empty())));
}

/// The answer splitter: segments in order, not overlapping, inside the answer and on boundaries;
/// prose segments have no language, and the split is deterministic.
pub fn answer_splitter(data: &[u8]) {
    let (_, text) = split(data);
    let text = &text[..text.len().min(8 * 1024)]; // detection parses with every grammar: keep it quick
    let text = &text[..(0..=text.len()).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0)];
    let mut parser = tree_sitter::Parser::new();
    let segments = split_answer(text, &mut parser);
    let mut previous_end = 0;
    for segment in &segments {
        assert_span(text, segment.start, segment.end, "segment");
        assert!(segment.start >= previous_end, "segments overlap or go backwards");
        previous_end = segment.end;
        assert!(segment.code || segment.language.is_none(), "prose with a language");
        assert!(segment.code || !segment.fenced, "fenced prose");
    }
    assert_eq!(split_answer(text, &mut tree_sitter::Parser::new()), segments, "not deterministic");
}

/// The JSON Lines reader: a line it reads itself has the text `serde_json` finds in it, the lines
/// cover the buffer in order, and the result does not depend on the number of threads.
pub fn jsonl_reader(data: &[u8]) {
    let data = &data[..data.len().min(MAX_INPUT)];
    let fields = Fields { text: "text", id: "id", language: Some("lang"), keep: Some("keep") };
    let lines = extract_lines(data, fields, 1).expect("one thread");
    let mut previous_end = 0;
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line.number, i);
        assert!(line.start >= previous_end && line.start <= line.end && line.end <= data.len());
        assert!(!data[line.start..line.end].contains(&b'\n'));
        previous_end = line.end;
        let again = extract_line(&data[line.start..line.end], fields);
        assert_eq!(format!("{again:?}"), format!("{:?}", line.line), "a line read alone reads otherwise");
        if let Line::Fast(record) = &line.line {
            // Python's json.loads decodes the whole line: a line it refuses must not be read here.
            assert!(
                std::str::from_utf8(&data[line.start..line.end]).is_ok(),
                "a fast line that is not UTF-8"
            );
            // serde_json's own value parser refuses lone surrogate escapes, which Python accepts.
            if let Ok(value) = serde_json::from_slice::<serde_json::Value>(&data[line.start..line.end]) {
                assert_eq!(
                    value["text"].as_str(),
                    Some(record.text.as_str()),
                    "text differs from serde_json's"
                );
            }
        }
    }
    let documents = lines.iter().filter(|l| l.line != Line::Blank).count();
    let (kept, seen) = select_lines(data, |_| true);
    assert_eq!(seen, documents, "select_lines counts other documents than extract_lines");
    assert!(kept.len() <= data.len() + documents);
    let (none, _) = select_lines(data, |_| false);
    assert!(none.is_empty());
}

/// The index build's split of each line (`jsonl_text`): never a panic; a line it takes is UTF-8,
/// and when serde_json reads it as an object, the text is serde_json's and the rest, read as JSON,
/// is the object without its text (Python's json.loads then reads the metadata as it reads the line).
pub fn jsonl_text(data: &[u8]) {
    let data = &data[..data.len().min(MAX_INPUT)];
    for (start, end) in line_spans(data) {
        let line = &data[start..end];
        let TextLine::Fast { text, rest } = split_line(line, "text", MAX_INPUT) else {
            continue;
        };
        assert!(std::str::from_utf8(line).is_ok(), "a fast line that is not UTF-8");
        let rest: serde_json::Value = serde_json::from_str(&rest).expect("the rest is JSON");
        if let Ok(serde_json::Value::Object(mut whole)) = serde_json::from_slice::<serde_json::Value>(line) {
            assert_eq!(whole.remove("text").as_ref().and_then(|t| t.as_str()), Some(text.as_str()));
            assert_eq!(
                rest,
                serde_json::Value::Object(whole),
                "the rest differs from the line's other fields"
            );
        }
    }
}

/// As [`jsonl_reader`], and the threaded path agrees with the single-threaded one.
pub fn jsonl_threads(data: &[u8]) {
    let fields = Fields { text: "text", id: "id", language: None, keep: None };
    // Many short lines, so the parallel path (256 lines or more) is taken.
    let mut buffer = Vec::new();
    for _ in 0..300 {
        buffer.extend_from_slice(&data[..data.len().min(256)]);
        buffer.push(b'\n');
    }
    let one = extract_lines(&buffer, fields, 1).expect("one thread");
    let two = extract_lines(&buffer, fields, 2).expect("two threads");
    // Compared as text: a missing keep value is NaN, which is not equal to itself.
    assert_eq!(format!("{one:?}"), format!("{two:?}"), "the result depends on the number of threads");
}

static FILES: AtomicUsize = AtomicUsize::new(0);

fn scratch_file(tag: &str) -> PathBuf {
    let n = FILES.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("nearcopy-fuzz-{}-{n}-{tag}.ncs", std::process::id()))
}

/// Removes the file when dropped, also when a check panics.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Rewrites the checksums of segment bytes to match their content: the block table (when the
/// length fits the counts the header gives) and the header checksum, so that a forged segment gets
/// past them to the counts, directory and body. For the fuzz target and the tests.
pub fn reseal_segment(bytes: &mut [u8]) {
    use crate::fingerprint::segment::blocks::{block_checksum, block_count, BLOCK_BITS_RANGE};
    if bytes.len() < 80 {
        return;
    }
    let read = |at: usize, n: usize| bytes[at..at + n].iter().rev().fold(0u64, |v, &b| v << 8 | u64::from(b));
    // Format 7 has an 88-byte header and the documents' words after the postings; 6 neither.
    let with_words = read(8, 4) == 7 && bytes.len() >= 88;
    let header = if with_words { 88 } else { 80 };
    let (documents, entries, bits, block_bits) = (read(32, 8), read(40, 8), read(64, 4), read(68, 4) as u32);
    let words = if with_words {
        documents.checked_add(1).and_then(|d| d.checked_mul(8)).zip(read(72, 8).checked_mul(2))
    } else {
        Some((0, 0))
    };
    let body = entries.checked_mul(12).zip((bits <= 24).then(|| 4 * ((1u64 << bits) + 1)));
    let body = body.and_then(|(e, d)| e.checked_add(d)).filter(|_| BLOCK_BITS_RANGE.contains(&block_bits));
    let body = body.zip(words).and_then(|(b, (starts, words))| b.checked_add(starts)?.checked_add(words));
    let fits = |b: u64| {
        block_count(b, block_bits).checked_mul(8).and_then(|t| t.checked_add(b + header as u64))
            == Some(bytes.len() as u64)
    };
    if let Some(body) = body.filter(|&b| b < bytes.len() as u64 && fits(b)) {
        let table_at = header + body as usize;
        let size = 1usize << block_bits;
        for i in 0..block_count(body, block_bits) as usize {
            let block = &bytes[header + i * size..(header + (i + 1) * size).min(table_at)];
            let sum = block_checksum(block, i as u64);
            bytes[table_at + 8 * i..table_at + 8 * i + 8].copy_from_slice(&sum.to_le_bytes());
        }
        let table_sum = xxh3_64(&bytes[table_at..], 0);
        bytes[48..56].copy_from_slice(&table_sum.to_le_bytes());
    }
    let sum = xxh3_64(&bytes[..header - 8], 0);
    bytes[header - 8..header].copy_from_slice(&sum.to_le_bytes());
}

/// The segment reader on arbitrary bytes. When the first byte is odd, the checksums are rewritten
/// to match ([`reseal_segment`]), so the fuzzer gets past them to the counts, directory and body.
/// A segment that opens must answer lookups without panicking; one that also verifies must name
/// only its own documents and survive a merge.
pub fn segment_reader(data: &[u8]) {
    let Some((&flags, bytes)) = data.split_first() else { return };
    let mut bytes = bytes[..bytes.len().min(MAX_INPUT)].to_vec();
    if flags & 1 == 1 && bytes.len() >= 80 {
        bytes[..8].copy_from_slice(b"NCSEG\0\r\n");
        reseal_segment(&mut bytes);
    }
    let input = Scratch(scratch_file("in"));
    std::fs::write(&input.0, &bytes).expect("scratch file");
    let Ok(segment) = Segment::open(&input.0) else { return };
    let mut postings = Vec::new();
    let probes = bytes.chunks_exact(8).take(16).map(|c| u64::from_le_bytes(c.try_into().unwrap()));
    for hash in probes.chain([0, u64::MAX]) {
        segment.lookup(hash, &mut postings);
        segment.lookup_limited(hash, 1, &mut postings);
    }
    let verified = segment.verify().is_ok();
    let params =
        Winnowings { prose: Winnowing::new(5, 8, None).unwrap(), code: Winnowing::new(12, 6, None).unwrap() };
    let output = Scratch(scratch_file("merged"));
    let merged = merge_segments(&output.0, &params, &[&segment, &segment]);
    if verified {
        segment.damage().expect("a verified segment has no damaged block");
        for hash in bytes.chunks_exact(8).take(16).map(|c| u64::from_le_bytes(c.try_into().unwrap())) {
            segment.lookup(hash, &mut postings);
            assert!(postings.iter().all(|p: &Posting| u64::from(p.doc) < segment.documents));
        }
        merged.expect("a verified segment merges");
        let reopened = Segment::open(&output.0).expect("a merged segment opens");
        reopened.verify().expect("a merged segment verifies");
        assert_eq!(reopened.len(), 2 * segment.len());
    }
}

#[cfg(test)]
mod tests;
