//! The raw tree-sitter parse of a JSONL corpus's code, alone, as the benchmark's Python reference
//! times it (one reused parser, each tree dropped before the next parse, best of several rounds):
//! to compare the C runtime and grammars as this crate compiles and links them against the Python
//! wheels' (`bench_build_speed`'s `raw_parse_mb_s` times those) on the same files and machine.
//!
//!     cargo run --release -p nearcopy-core --example raw_parse -- FILE.jsonl [rounds] [--crate-tables] [--system-malloc]
//!
//! FILE.jsonl holds one `{"text": ..., "language": ...}` per line; lines without a language are
//! skipped. `--crate-tables` parses with the grammars' parse tables as their crates ship them
//! (compressed), not the dense copies nearcopy parses with (`code/dense_tables.rs`);
//! `--system-malloc` leaves tree-sitter's allocations to the system allocator, not mimalloc
//! (`code/tree_allocator.rs`), as the Python module routes them.

use nearcopy_core::code::Language;
use std::io::BufRead;
use std::time::Instant;

fn main() {
    let crate_tables = std::env::args().any(|a| a == "--crate-tables");
    if !std::env::args().any(|a| a == "--system-malloc") {
        // SAFETY: no tree-sitter object exists yet.
        unsafe { nearcopy_core::code::route_tree_sitter_to_mimalloc() };
    }
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with("--"));
    let path = args.next().expect("usage: raw_parse FILE.jsonl [rounds] [--crate-tables] [--system-malloc]");
    let rounds: usize = args.next().map_or(3, |r| r.parse().expect("a number of rounds"));
    let file = std::fs::File::open(&path).expect("the JSONL file opens");
    let code: Vec<(String, Language)> = std::io::BufReader::new(file)
        .lines()
        .filter_map(|line| {
            let value: serde_json::Value = serde_json::from_str(&line.expect("a line")).expect("JSON");
            let language = Language::parse(value["language"].as_str()?).expect("a known language");
            Some((value["text"].as_str().expect("a text field").to_owned(), language))
        })
        .collect();
    let megabytes = code.iter().map(|(t, _)| t.len()).sum::<usize>() as f64 / 1e6;
    let mut parser = tree_sitter::Parser::new();
    let mut best = f64::INFINITY;
    for _ in 0..rounds {
        let started = Instant::now();
        let mut current = None;
        for (text, language) in &code {
            if current != Some(*language) {
                let grammar = language.grammar();
                let grammar = if crate_tables { language.crate_grammar() } else { grammar };
                parser.set_language(&grammar).expect("the grammar loads");
                current = Some(*language);
            }
            std::hint::black_box(parser.parse(text, None));
        }
        best = best.min(started.elapsed().as_secs_f64());
    }
    println!(
        "raw parse of {} files, {megabytes:.1} MB: {:.0} ms, {:.1} MB/s",
        code.len(),
        best * 1e3,
        megabytes / best
    );
}
