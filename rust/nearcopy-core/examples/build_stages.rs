//! Where the protected index's build spends its time, stage by stage, on one thread: normalize
//! (prose tokenizer, or tree-sitter parse and walk for code), winnow, sort the entries, write the
//! segment file. For code, the raw tree-sitter parse of the same texts is timed too: the build's
//! target is a share of it. Each stage's figure is the best of several rounds (the machine may be
//! shared; the minimum is the cost without interference).
//!
//!     cargo run --release -p nearcopy-core --example build_stages -- FILE.jsonl [rounds]
//!
//! FILE.jsonl holds one `{"text": ..., "language": ...}` per line; no language means prose.

use nearcopy_core::code::Language;
use nearcopy_core::fingerprint::document::{Content, Fingerprinter, TokenStream};
use nearcopy_core::fingerprint::segment::write_segment_with_words;
use nearcopy_core::fingerprint::{Fingerprint, Winnowings};
use nearcopy_core::index::build_entries;
use std::io::BufRead;
use std::time::Instant;

fn read(path: &str) -> Vec<(String, Content)> {
    let file = std::fs::File::open(path).expect("the JSONL file opens");
    std::io::BufReader::new(file)
        .lines()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(&line.expect("a line")).expect("JSON");
            let text = value["text"].as_str().expect("a text field").to_owned();
            let content = match value["language"].as_str() {
                Some(name) => Content::Code(Language::parse(name).expect("a known language")),
                None => Content::Prose,
            };
            (text, content)
        })
        .collect()
}

fn best<T>(rounds: usize, mut run: impl FnMut() -> T) -> (f64, T) {
    let mut seconds = f64::INFINITY;
    let mut last = None;
    for _ in 0..rounds {
        let started = Instant::now();
        let out = run();
        seconds = seconds.min(started.elapsed().as_secs_f64());
        last = Some(out);
    }
    (seconds, last.expect("at least one round"))
}

fn main() {
    // SAFETY: no tree-sitter object exists yet. The Python module allocates the same way.
    unsafe { nearcopy_core::code::route_tree_sitter_to_mimalloc() };
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: build_stages FILE.jsonl [rounds]");
    let rounds = args.next().map_or(3, |r| r.parse().expect("a number of rounds"));
    let docs = read(&path);
    let megabytes = docs.iter().map(|(t, _)| t.len()).sum::<usize>() as f64 / 1e6;
    let winnowings = Winnowings::new(4, 6, 20, 10, None).unwrap();
    let report = |stage: &str, seconds: f64| {
        println!("{stage:<28} {:>8.1} ms  {:>8.1} MB/s", seconds * 1e3, megabytes / seconds);
    };
    println!("{} documents, {megabytes:.1} MB", docs.len());

    let mut f = Fingerprinter::new();
    let mut stream = TokenStream::default();
    let (normalize, tokens) = best(rounds, || {
        let mut tokens = 0usize;
        for (text, content) in &docs {
            f.tokens(text, *content, 0, &mut stream).unwrap();
            tokens += stream.ids.len();
        }
        tokens
    });
    report("normalize", normalize);
    let mut fps: Vec<Fingerprint> = Vec::new();
    let streams: Vec<(TokenStream, Content)> = docs
        .iter()
        .map(|(text, content)| {
            let mut s = TokenStream::default();
            f.tokens(text, *content, 0, &mut s).unwrap();
            (s, *content)
        })
        .collect();
    let (winnow, _) = best(rounds, || {
        for (s, content) in &streams {
            f.fingerprints(s, winnowings.for_content(*content), &mut fps);
        }
    });
    report("winnow", winnow);

    let views: Vec<(&str, Content)> = docs.iter().map(|(t, c)| (t.as_str(), *c)).collect();
    let (entries_seconds, built) = best(rounds, || build_entries(&views, &winnowings, 1).unwrap());
    report("build_entries (all of it)", entries_seconds);
    let dir = std::env::temp_dir().join(format!("build-stages-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("segment.ncs");
    let (write, _) =
        best(rounds, || write_segment_with_words(&file, &winnowings, &built.entries, &built.words).unwrap());
    report("write_segment", write);
    report("build (entries + write)", entries_seconds + write);
    let bytes = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
    std::fs::remove_dir_all(&dir).ok();
    println!("{tokens} tokens, {} entries, {bytes} bytes", built.entries.len());

    let code: Vec<(&str, Language)> = docs
        .iter()
        .filter_map(|(t, c)| match c {
            Content::Code(language) => Some((t.as_str(), *language)),
            _ => None,
        })
        .collect();
    if !code.is_empty() {
        let mut parser = tree_sitter::Parser::new();
        let (parse, _) = best(rounds, || {
            for (text, language) in &code {
                parser.set_language(&language.grammar()).unwrap();
                std::hint::black_box(parser.parse(text, None));
            }
        });
        report("raw tree-sitter parse", parse);
        println!("build at {:.0}% of the raw parse", 100.0 * parse / (entries_seconds + write));
    }
}
