//! Where a check's parsing goes, answer by answer: reads JSON lines `{"text": ...}` on stdin,
//! splits each answer as a check does (the languages given as arguments, e.g. `python java go c
//! javascript`; none: all), and prints per answer: CPU µs of the split (best of 3), the parses the
//! splitter made (count and bytes, from tree-sitter's log), and each segment's readings with the
//! bytes a check parses again (a reading without a kept tree) and the kept trees' error shares.
//!
//!     cargo run --release -p nearcopy-core --example split_profile -- python java < answers.jsonl
use nearcopy_core::code::{split_answer_with, Language, LanguageSet, Parser, SplitOptions};
use std::cell::Cell;
use std::io::BufRead;
use std::rc::Rc;
use std::time::Instant;

fn main() {
    let languages: LanguageSet = {
        let named: Vec<Language> = std::env::args().skip(1).map(|a| Language::parse(&a).unwrap()).collect();
        if named.is_empty() {
            LanguageSet::ALL
        } else {
            named.into_iter().collect()
        }
    };
    let options = SplitOptions { languages, hint: None };
    let mut timed = Parser::new();
    let mut logged = Parser::new();
    let parses = Rc::new(Cell::new(0usize));
    let counter = parses.clone();
    logged.set_logger(Some(Box::new(move |_, message: &str| {
        if message.starts_with("new_parse") {
            counter.set(counter.get() + 1);
        }
    })));
    // DUMP=path: also writes every kept tree's language and text (a JSON string), one a line.
    let mut dump = std::env::var("DUMP").ok().map(|p| std::fs::File::create(p).unwrap());
    for line in std::io::stdin().lock().lines() {
        let record: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
        let text = record["text"].as_str().unwrap();
        let mut best = u128::MAX;
        for _ in 0..3 {
            let started = Instant::now();
            let _ = split_answer_with(text, &mut timed, &options);
            best = best.min(started.elapsed().as_micros());
        }
        parses.set(0);
        let parts = split_answer_with(text, &mut logged, &options);
        let mut reparsed = 0usize;
        let mut detail = String::new();
        for part in &parts {
            let s = &part.segment;
            let mut readings: Vec<Option<Language>> = Vec::new();
            if s.code {
                readings.push(s.language);
            }
            readings.extend(s.alternatives.iter().copied());
            if readings.iter().all(Option::is_none) {
                continue;
            }
            detail.push_str(&format!(
                " [{}{} {}B",
                if s.code { "C" } else { "P" },
                if s.fenced { "f" } else { "" },
                s.end - s.start
            ));
            for reading in readings.iter().flatten() {
                match part.tree(*reading) {
                    Some(tree) => {
                        let share = nearcopy_core::code::tree_error_share(tree, s.end - s.start);
                        detail.push_str(&format!(" {}:kept:{share:.2}", reading.name()));
                        if let Some(out) = dump.as_mut() {
                            use std::io::Write;
                            let body = serde_json::to_string(&text[s.start..s.end]).unwrap();
                            writeln!(out, "{}\t{body}", reading.name()).unwrap();
                        }
                    }
                    None => {
                        reparsed += s.end - s.start;
                        detail.push_str(&format!(" {}:REPARSE", reading.name()));
                    }
                }
            }
            detail.push(']');
        }
        println!("{}\t{best}\t{}\t{reparsed}\t{}", text.len(), parses.get(), detail.trim());
    }
}
