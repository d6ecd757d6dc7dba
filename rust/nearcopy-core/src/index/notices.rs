//! Licence notices found in protected documents, for the index's allowlist: text many files carry
//! and no output copies *from* them (a header's comment block, a paragraph quoting the GPL).
//!
//! A notice is found by a phrase only notices use; the notice is the run of non-blank lines around
//! it, at most [`MAX_NOTICE_LINES`] of them, lowercased with its white space collapsed (the allowlist
//! is matched after case folding anyway). This was Python (`str.find` per phrase over the
//! lowercased text) and cost as much as fingerprinting prose; here one automaton finds every phrase,
//! ASCII-case-insensitively in the original text, and only the notices are lowercased. The result is
//! the Python one's (tests/test_generated.py compares them) except for a text whose phrase is
//! spelt with a non-ASCII letter that lowercases to an ASCII one (the Kelvin sign for `k`).

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use std::sync::OnceLock;

/// Phrases that only licence notices use (lowercase); a paragraph or comment block holding one is
/// a notice.
pub const LICENCE_MARKERS: &[&str] = &[
    "copyright (c)",
    "copyright ©",
    "all rights reserved",
    "licensed under the",
    "spdx-license-identifier",
    "this program is free software",
    "this library is free software",
    "this file is free software",
    "this code is free software",
    "permission is hereby granted",
    "redistribution and use in source and binary forms",
    "provided \"as is\"",
    "provided 'as is'",
    "without warranty of any kind",
    "gnu general public license",
    "gnu lesser general public license",
    "mozilla public license",
    "apache license, version",
];

/// A notice is at most this many lines (a whole licence text is longer, and is the document itself).
pub const MAX_NOTICE_LINES: usize = 40;

/// A DFA: three times as fast as the automaton chosen by default on 30 MB of prose (545 MB/s).
fn markers() -> &'static AhoCorasick {
    static AUTOMATON: OnceLock<AhoCorasick> = OnceLock::new();
    AUTOMATON.get_or_init(|| {
        AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostFirst)
            .kind(Some(AhoCorasickKind::DFA))
            .build(LICENCE_MARKERS)
            .expect("the licence markers build an automaton")
    })
}

/// The licence notices of `text`, in order (a notice held twice is given twice).
pub fn licence_notices(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut notices = Vec::new();
    let mut end = 0;
    // Phrases are found left to right without overlaps: a phrase skipped for overlapping the one
    // before lies on the same line, so in the same block, which is taken once either way.
    for found in markers().find_iter(bytes) {
        let position = found.start();
        if position < end {
            continue; // inside the block just taken
        }
        let start = memchr::memmem::rfind(&bytes[..position], b"\n\n").map_or(0, |at| at + 2);
        end = blank_line_after(bytes, position).unwrap_or(bytes.len());
        let block = &text[start..end];
        let lines = python_lines(block);
        let kept = if lines.len() > MAX_NOTICE_LINES {
            // A long block: only the lines around the phrase.
            let at = memchr::memchr_iter(b'\n', &bytes[start..position]).count();
            let from = at.saturating_sub(MAX_NOTICE_LINES / 2).min(lines.len());
            &lines[from..(at + MAX_NOTICE_LINES / 2).min(lines.len()).max(from)]
        } else {
            &lines[..]
        };
        notices.push(collapsed_lowercase(kept));
    }
    notices
}

/// Where the first blank line (`\n`, spaces and tabs, `\n`) at or after `from` starts.
fn blank_line_after(bytes: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    while let Some(newline) = memchr::memchr(b'\n', &bytes[at..]) {
        let first = at + newline;
        let mut next = first + 1;
        while next < bytes.len() && (bytes[next] == b' ' || bytes[next] == b'\t') {
            next += 1;
        }
        if next < bytes.len() && bytes[next] == b'\n' {
            return Some(first);
        }
        at = first + 1;
    }
    None
}

/// The lines of `block` as Python's `str.splitlines` gives them (its line boundaries include
/// `\r`, `\x0b`, `\x0c`, `\x1c`-`\x1e`, `\x85`, U+2028 and U+2029 beside `\n`; `\r\n` is one).
fn python_lines(block: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut chars = block.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let boundary = matches!(
            c,
            '\n' | '\r' | '\x0b' | '\x0c' | '\x1c' | '\x1d' | '\x1e' | '\u{85}' | '\u{2028}' | '\u{2029}'
        );
        if !boundary {
            continue;
        }
        lines.push(&block[start..i]);
        start = i + c.len_utf8();
        if c == '\r' && chars.peek().is_some_and(|&(_, n)| n == '\n') {
            chars.next();
            start += 1;
        }
    }
    if start < block.len() {
        lines.push(&block[start..]);
    }
    lines
}

/// The lines lowercased and joined, every run of white space (as Python's `str.split` sees it)
/// one space, none at either end.
fn collapsed_lowercase(lines: &[&str]) -> String {
    let mut out = String::new();
    for line in lines {
        for word in line.split(|c: char| c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)) {
            if word.is_empty() {
                continue;
            }
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(&word.to_lowercase());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_comment_block_is_one_notice_and_the_code_after_it_is_not() {
        let text = "/*\n * Copyright (C) 2006 Someone\n *\tAll rights reserved.\n */\n\nint main(void) { return 0; }\n";
        assert_eq!(licence_notices(text), vec!["/* * copyright (c) 2006 someone * all rights reserved. */"]);
    }

    #[test]
    fn each_block_is_taken_once_and_blank_lines_of_spaces_end_it() {
        let text = "Licensed under the MIT licence. Copyright (c) me.\n  \t\nprose\n\nGNU General Public License v2\n";
        assert_eq!(
            licence_notices(text),
            vec!["licensed under the mit licence. copyright (c) me.", "gnu general public license v2"]
        );
        assert!(licence_notices("nothing to see here\n\nat all").is_empty());
    }

    #[test]
    fn a_long_block_keeps_the_lines_around_its_phrase() {
        let mut lines: Vec<String> = (0..100).map(|i| format!("line {i}")).collect();
        lines[60] = "All Rights Reserved".into();
        let notices = licence_notices(&lines.join("\n"));
        let words: Vec<&str> = notices[0].split(' ').collect();
        assert_eq!((words[0], words[1]), ("line", "40"));
        assert!(notices[0].ends_with("line 79"), "{}", notices[0]);
        assert!(notices[0].contains("all rights reserved"));
    }

    #[test]
    fn python_line_boundaries_and_white_space() {
        assert_eq!(python_lines("a\r\nb\rc\u{2028}d\n"), vec!["a", "b", "c", "d"]);
        assert_eq!(collapsed_lowercase(&["  A\u{a0}B\x1fC  ", "", "D"]), "a b c d");
    }
}
