use nearcopy_core::code::Language;
use std::io::BufRead;
use std::ops::ControlFlow;
use tree_sitter::{ParseOptions, Parser};
fn main() {
    let mut parser = Parser::new();
    for line in std::io::stdin().lock().lines() {
        let line = line.unwrap();
        let (lang, text) = line.split_once('\t').unwrap();
        let text = text.replace("\\n", "\n").replace("\\t", "\t");
        let lang = Language::parse(lang).unwrap();
        parser.set_language(&lang.grammar()).unwrap();
        let calls = std::cell::Cell::new(0u64);
        let mut cb = |_: &tree_sitter::ParseState| {
            calls.set(calls.get() + 1);
            ControlFlow::Continue(())
        };
        let bytes = text.as_bytes();
        let t0 = std::time::Instant::now();
        for _ in 0..5 {
            calls.set(0);
            let _ = parser.parse_with_options(
                &mut |i, _| &bytes[i.min(bytes.len())..],
                None,
                Some(ParseOptions::new().progress_callback(&mut cb)),
            );
        }
        let calls = calls.get();
        let us = t0.elapsed().as_micros() / 5;
        println!(
            "{}\t{}\t{:.2} ops/B\t{} us",
            lang.name(),
            bytes.len(),
            calls as f64 * 100.0 / bytes.len() as f64,
            us
        );
    }
}
