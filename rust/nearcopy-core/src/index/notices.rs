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
//!
//! Most texts hold no phrase at all, and the automaton (a DFA, one table lookup per byte) costs
//! as much on them as on those that do: a text is first screened, ASCII-lowercased 16 KiB at a
//! time, for a few pieces of the phrases ([`SCREEN`]) by a SIMD multi-pattern search (Teddy), and
//! only a text holding one of them is searched by the automaton. Each phrase contains a piece, so
//! the screen never drops a notice; it only spares the search of texts that have none.

use aho_corasick::packed;
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

/// Pieces of the phrases, lowercase, each phrase holding one (a test checks it), chosen to start
/// with three letters rare in prose: the screen's search stops to check its candidates less often.
pub const SCREEN: &[&str] = &[
    "yright",
    "hts reserved",
    "nsed under",
    "spdx-",
    "free software",
    "reby gr",
    "binary forms",
    "\"as is\"",
    "'as is'",
    "rranty of",
    "public license",
    "apache lic",
];
/// The longest piece of [`SCREEN`]: consecutive screened chunks overlap by one byte less.
const SCREEN_MAX_LEN: usize = 14;
const SCREEN_CHUNK: usize = 16 * 1024;

/// The screen's searcher; None where the CPU lacks the SIMD it needs (every text is then searched).
fn screen() -> Option<&'static packed::Searcher> {
    static SEARCHER: OnceLock<Option<packed::Searcher>> = OnceLock::new();
    SEARCHER.get_or_init(|| packed::Searcher::new(SCREEN.iter())).as_ref()
}

/// Whether `bytes` may hold a phrase: false only when, ASCII-lowercased, it holds no piece of
/// [`SCREEN`] (and so, ASCII-case-insensitively, no phrase).
pub fn may_hold_notice(bytes: &[u8]) -> bool {
    let mut found = false;
    screened(bytes, |_| {
        found = true;
        false
    });
    found
}

/// Calls `found` with the position of pieces of [`SCREEN`] in `bytes` (ASCII-lowercased), in
/// order (a piece in the overlap of two chunks may be given twice, one hidden by an overlapping
/// piece not at all), until it returns false; with every position when the screen is missing.
fn screened(bytes: &[u8], mut found: impl FnMut(usize) -> bool) {
    let Some(searcher) = screen() else {
        (0..bytes.len()).all(found);
        return;
    };
    let mut folded = [0u8; SCREEN_CHUNK + SCREEN_MAX_LEN - 1];
    let mut start = 0;
    loop {
        // A piece starting in this chunk ends within its overlap with the next one.
        let end = (start + folded.len()).min(bytes.len());
        let piece = &bytes[start..end];
        for (to, from) in folded.iter_mut().zip(piece) {
            *to = from.to_ascii_lowercase();
        }
        for candidate in searcher.find_iter(&folded[..piece.len()]) {
            if !found(start + candidate.start()) {
                return;
            }
        }
        if end == bytes.len() {
            return;
        }
        start += SCREEN_CHUNK;
    }
}

/// The longest phrase of [`LICENCE_MARKERS`].
const MARKER_MAX_LEN: usize = 50;

/// Where phrases start in `bytes`: at least one on every line that holds one (what the notices
/// depend on; a phrase overlapping another one found may be left out, it is on the same line).
/// The automaton searches only around the screen's pieces: a phrase holds a piece, and a piece
/// the screen does not give overlaps one it gives, so the phrase lies within the longest phrase
/// plus the longest piece of a piece given, on either side.
fn phrase_starts(bytes: &[u8]) -> Vec<usize> {
    const REACH: usize = MARKER_MAX_LEN + SCREEN_MAX_LEN;
    let mut starts = Vec::new();
    let search = |from: usize, to: usize, starts: &mut Vec<usize>| {
        starts.extend(markers().find_iter(&bytes[from..to]).map(|m| from + m.start()));
    };
    let mut window: Option<(usize, usize)> = None;
    screened(bytes, |at| {
        let (from, to) = (at.saturating_sub(REACH), (at + REACH).min(bytes.len()));
        match window {
            Some((start, end)) if from <= end => window = Some((start, end.max(to))),
            Some((start, end)) => {
                search(start, end, &mut starts);
                window = Some((from, to));
            }
            None => window = Some((from, to)),
        }
        true
    });
    if let Some((start, end)) = window {
        search(start, end, &mut starts);
    }
    starts
}

/// The licence notices of `text`, in order (a notice held twice is given twice).
pub fn licence_notices(text: &str) -> Vec<String> {
    notices_at(text, phrase_starts(text.as_bytes()))
}

/// The notices of the phrases starting at `positions` (in order) in `text`.
fn notices_at(text: &str, positions: impl IntoIterator<Item = usize>) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut notices = Vec::new();
    let mut end = 0;
    // A notice depends only on the line of the first phrase past the block before (its block is
    // that line's paragraph): a phrase left out for overlapping another one, on the same line, or
    // one of several on a line, changes nothing.
    for position in positions {
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
    fn every_phrase_holds_a_piece_of_the_screen() {
        for marker in LICENCE_MARKERS {
            assert!(SCREEN.iter().any(|piece| marker.contains(piece)), "{marker}");
        }
        assert!(SCREEN.iter().all(|piece| piece.len() <= SCREEN_MAX_LEN));
    }

    #[test]
    fn the_screen_finds_phrases_in_any_case_and_across_its_chunks() {
        assert!(!may_hold_notice(b""));
        assert!(!may_hold_notice("no notice h\u{e9}re".as_bytes()));
        assert!(may_hold_notice(b"ALL RIGHTS RESERVED"));
        for at in [0, SCREEN_CHUNK - 7, SCREEN_CHUNK - 1, SCREEN_CHUNK, 3 * SCREEN_CHUNK - 5] {
            let mut text = vec![b'x'; at];
            text.extend_from_slice(b"Licensed Under the MIT licence");
            text.extend(std::iter::repeat_n(b'y', 100));
            assert!(may_hold_notice(&text), "at {at}");
            assert_eq!(licence_notices(std::str::from_utf8(&text).unwrap()).len(), 1, "at {at}");
        }
    }

    /// The notices of every phrase the automaton finds in the whole text (as before the screen).
    fn unscreened(text: &str) -> Vec<String> {
        notices_at(text, markers().find_iter(text.as_bytes()).map(|m| m.start()))
    }

    #[test]
    fn the_screened_search_finds_the_notices_of_the_whole_search() {
        // Pieces of phrases, phrases in odd cases, overlapping phrases, lines and blank lines, in
        // random order: every text's notices as the automaton over the whole text finds them.
        let parts = [
            "Copyright (C) 1999",
            "ALL RIGHTS reserved",
            "rights",
            "yright",
            "free software",
            "this Program IS ",
            "gnu GENERAL public license",
            "public licence",
            "\n",
            "\n\n",
            "\n \t\n",
            "\r\n",
            " ",
            "word ",
            "provided \"AS IS\"",
            "'as is'",
            "Apache License, Version 2",
            "spdx-",
            "SPDX-License-Identifier: MIT",
            "redistribution and use in source and binary forms",
            "binary forms",
            "caf\u{e9} \u{a9} ",
            "copyright \u{a9}",
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for round in 0..1000 {
            let mut text = String::new();
            let length = 1 + round % 60;
            for _ in 0..length {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                text.push_str(parts[(state % parts.len() as u64) as usize]);
                if state % 97 == 0 {
                    text.push_str(&"x".repeat(SCREEN_CHUNK - 20));
                }
            }
            assert_eq!(licence_notices(&text), unscreened(&text), "{text:?}");
        }
    }

    #[test]
    fn python_line_boundaries_and_white_space() {
        assert_eq!(python_lines("a\r\nb\rc\u{2028}d\n"), vec!["a", "b", "c", "d"]);
        assert_eq!(collapsed_lowercase(&["  A\u{a0}B\x1fC  ", "", "D"]), "a b c d");
    }
}
