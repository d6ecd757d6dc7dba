//! The JSONL text split's tests: fast lines against serde_json, the lines left to Python.

use super::*;

const MAX: usize = 1 << 20;

fn fast(line: &str) -> (String, String) {
    match split_line(line.as_bytes(), "text", MAX) {
        TextLine::Fast { text, rest } => (text, rest),
        other => panic!("{line}: {other:?}"),
    }
}

#[test]
fn the_text_is_decoded_and_the_rest_kept_raw_in_order() {
    let line = "{\"id\": 7, \"text\": \"h\\u00e9llo\\n\\ud83d\\ude00\", \"meta\": {\"a\": [1.50, 2e300]}}\n";
    let (text, rest) = fast(line);
    assert_eq!(text, "héllo\n😀");
    assert_eq!(rest, r#"{"id":7,"meta":{"a": [1.50, 2e300]}}"#);
}

#[test]
fn repeated_other_keys_are_kept_for_python_to_resolve() {
    let (_, rest) = fast(r#"{"id": 1, "text": "", "id": "two", "k\"ey": null}"#);
    assert_eq!(rest, r#"{"id":1,"id":"two","k\"ey":null}"#);
}

#[test]
fn anything_python_might_read_differently_is_slow() {
    let own = [r#"{"text": "a", "x": NaN}"#, r#"{"text": "a", "x": 2e400}"#, r#"{"text": "a", "x": "\u12"}"#];
    for line in crate::jsonl::LINES_LEFT_TO_PYTHON.iter().chain(&own) {
        assert_eq!(split_line(line.as_bytes(), "text", MAX), TextLine::Slow, "{line}");
    }
    assert_eq!(split_line(b"{\"text\": \"a\", \"x\": \"\xff\"}", "text", MAX), TextLine::Slow);
}

#[test]
fn blank_overlong_and_other_text_fields() {
    assert_eq!(split_line(b" \t\x0b\x0c\r\n", "text", MAX), TextLine::Blank);
    assert_eq!(split_line(b"", "text", MAX), TextLine::Blank);
    assert_eq!(split_line(b"{\"text\": \"abc\"}\n", "text", 15), TextLine::Overlong);
    assert!(matches!(split_line(b"{\"text\": \"abc\"}\n", "text", 16), TextLine::Fast { .. }));
    let (text, rest) = match split_line(br#"{"text": 1, "body": "b"}"#, "body", MAX) {
        TextLine::Fast { text, rest } => (text, rest),
        other => panic!("{other:?}"),
    };
    assert_eq!((text.as_str(), rest.as_str()), ("b", r#"{"text":1}"#));
}

#[test]
fn spans_include_newlines_and_a_last_line_without_one() {
    assert_eq!(line_spans(b"a\n\nbc"), [(0, 2), (2, 3), (3, 5)]);
    assert_eq!(line_spans(b"a\n"), [(0, 2)]);
    assert!(line_spans(b"").is_empty());
}

/// The reading this module had first, by serde_json: the reference the hand-written parser is
/// checked against (it was 1.5 times as slow on prose, whose texts are full of escapes).
fn serde_split(line: &[u8], text_field: &str) -> Option<(String, String)> {
    use serde::de::{DeserializeSeed, Deserializer, MapAccess, Visitor};
    use std::borrow::Cow;
    struct Seed<'f>(&'f str);
    impl<'de> DeserializeSeed<'de> for Seed<'_> {
        type Value = (Option<String>, String);
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_map(self)
        }
    }
    impl<'de> Visitor<'de> for Seed<'_> {
        type Value = (Option<String>, String);
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            use serde::de::Error;
            let (mut text, mut rest) = (None, String::from("{"));
            while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                if key == self.0 {
                    let value: Cow<'de, str> = map.next_value()?;
                    if text.replace(value.into_owned()).is_some() {
                        return Err(A::Error::custom("repeated"));
                    }
                    continue;
                }
                let value: &'de RawValue = map.next_value()?;
                serde_json::from_str::<serde_json::Value>(value.get()).map_err(A::Error::custom)?;
                if rest.len() > 1 {
                    rest.push(',');
                }
                rest.push_str(&serde_json::to_string(key.as_ref()).unwrap());
                rest.push(':');
                rest.push_str(value.get());
            }
            Ok((text, rest + "}"))
        }
    }
    std::str::from_utf8(line).ok()?;
    let mut de = serde_json::Deserializer::from_slice(line);
    let (text, rest) = Seed(text_field).deserialize(&mut de).ok()?;
    de.end().ok()?;
    Some((text?, rest))
}

#[test]
fn the_parser_reads_what_serde_json_reads() {
    // Objects of random members, some bytes then changed: every line is fast exactly when
    // serde_json reads it, with the same text and (as JSON values) the same other fields.
    let keys = ["\"text\"", "\"id\"", "\"t\\u0065xt\"", "\"k\\\"\"", "\"\u{e9}\""];
    let values = [
        "\"plain\"",
        "\"a\\nb\\t\\\"q\\\\ \\/ \\b\\f\\r\"",
        "\"\\u00e9\\ud83d\\ude00\"",
        "\"caf\u{e9} \u{1f600}\"",
        "\"\\ud800\"",
        "\"\\udc00x\"",
        "\"\\ud83dx\"",
        "\"\\u12\"",
        "\"\\x\"",
        "\"tab\tin\"",
        "12",
        "-0.5e3",
        "01",
        "true",
        "null",
        "NaN",
        "[1, {\"a\": [null]}]",
        "{}",
        "{\"text\": 1}",
        "\"\"",
    ];
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    for _ in 0..20_000 {
        let members: Vec<String> = (0..next(5))
            .map(|_| {
                format!("{}{}:{}", keys[next(keys.len())], [" ", ""][next(2)], values[next(values.len())])
            })
            .collect();
        let mut line = format!(
            "{}{{{}}}{}",
            [" ", "", "\t"][next(3)],
            members.join([",", ", "][next(2)]),
            [" ", "", "\r\n"][next(3)]
        )
        .into_bytes();
        if next(4) == 0 && !line.is_empty() {
            let at = next(line.len());
            line[at] = b"{}[]\":,\\ x\x01\xff"[next(12)];
        }
        let ours = match split_line(&line, "text", MAX) {
            TextLine::Fast { text, rest } => Some((text, rest)),
            TextLine::Blank => continue,
            _ => None,
        };
        let theirs = serde_split(&line, "text");
        let as_value = |rest: &str| serde_json::from_str::<serde_json::Value>(rest).unwrap();
        let line = String::from_utf8_lossy(&line);
        match (ours, theirs) {
            (Some((a, rest_a)), Some((b, rest_b))) => {
                assert_eq!(a, b, "{line}");
                assert_eq!(as_value(&rest_a), as_value(&rest_b), "{line}");
            }
            (None, None) => {}
            (ours, theirs) => panic!("{line}: ours {ours:?}, serde_json's {theirs:?}"),
        }
    }
}

#[test]
fn parallel_splitting_matches_serial() {
    let lines: Vec<String> = (0..500).map(|i| format!("{{\"text\": \"doc {i}\", \"id\": {i}}}\n")).collect();
    let lines: Vec<&[u8]> = lines.iter().map(|l| l.as_bytes()).collect();
    assert_eq!(split_lines(&lines, "text", MAX, 1).unwrap(), split_lines(&lines, "text", MAX, 2).unwrap());
}
