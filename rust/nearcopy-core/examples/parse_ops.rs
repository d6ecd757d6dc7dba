//! How much work tree-sitter does per byte, against the share of the text it leaves in errors:
//! reads lines `language<TAB>text` (newlines and tabs escaped as `\n`, `\t`) on stdin and prints per
//! line the language, bytes, progress-callback calls (tree-sitter calls it about every 100 parse
//! operations), their rate per KB, the error share and the parse time (best of 3, µs). Used to set
//! the splitter's parse budget (`detect::PARSE_CALLS_PER_KB`).
//!
//! With an argument `N`, only the first lines of each text up to about N bytes are parsed.
//!
//!     cargo run --release -p nearcopy-core --example parse_ops [N] < segments.tsv
use nearcopy_core::code::{tree_error_share, Language};
use std::cell::Cell;
use std::io::BufRead;
use std::ops::ControlFlow;
use std::time::Instant;
use tree_sitter::{ParseOptions, Parser};

fn main() {
    let mut parser = Parser::new();
    let limit: Option<usize> = std::env::args().nth(1).map(|n| n.parse().expect("N is a byte count"));
    for line in std::io::stdin().lock().lines() {
        let line = line.expect("stdin is text");
        let Some((lang, text)) = line.split_once('\t') else { continue };
        let mut text = text.replace("\\n", "\n").replace("\\t", "\t").replace("\\\\", "\\");
        if let Some(limit) = limit.filter(|&l| l < text.len()) {
            let cut = (0..=limit).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
            let line_end = text[..cut].rfind('\n').map_or(cut, |e| e + 1);
            text.truncate(line_end);
        }
        let language = Language::parse(lang).expect("a language nearcopy knows");
        parser.set_language(&language.grammar()).expect("grammar loads");
        let calls = Cell::new(0u64);
        let mut count = |_: &tree_sitter::ParseState| {
            calls.set(calls.get() + 1);
            ControlFlow::Continue(())
        };
        let bytes = text.as_bytes();
        let mut best = u128::MAX;
        let mut errors = 1.0;
        for _ in 0..3 {
            calls.set(0);
            let started = Instant::now();
            let tree = parser.parse_with_options(
                &mut |i, _| &bytes[i.min(bytes.len())..],
                None,
                Some(ParseOptions::new().progress_callback(&mut count)),
            );
            best = best.min(started.elapsed().as_micros());
            errors = tree.map_or(1.0, |t| tree_error_share(&t, bytes.len()));
        }
        let per_kb = calls.get() as f64 * 1024.0 / bytes.len().max(1) as f64;
        println!("{}\t{}\t{}\t{per_kb:.1}\t{errors:.3}\t{best}", language.name(), bytes.len(), calls.get());
    }
}
