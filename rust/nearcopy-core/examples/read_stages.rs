//! What reading a JSONL corpus for the index build costs in Rust, stage by stage, on one thread:
//! the UTF-8 check of each line, the split of its text from its other fields
//! (`jsonl_text::split_line`), the licence notices' screen and the notices themselves. Each
//! figure is the best of several rounds (the machine may be shared).
//!
//!     cargo run --release -p nearcopy-core --example read_stages -- FILE.jsonl [rounds]

use nearcopy_core::index::notices::{licence_notices, may_hold_notice};
use nearcopy_core::jsonl_text::{line_spans, split_line, TextLine};
use std::time::{Duration, Instant};

fn best<T>(rounds: usize, mut run: impl FnMut() -> T) -> (Duration, T) {
    let mut fastest = Duration::MAX;
    let mut out = None;
    for _ in 0..rounds {
        let started = Instant::now();
        let value = run();
        fastest = fastest.min(started.elapsed());
        out = Some(value);
    }
    (fastest, out.expect("at least one round"))
}

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: read_stages FILE.jsonl [rounds]");
    let rounds = args.next().map_or(3, |r| r.parse().expect("rounds is a number"));
    let data = std::fs::read(&path).expect("the JSONL file reads");
    let lines: Vec<&[u8]> = line_spans(&data).iter().map(|&(s, e)| &data[s..e]).collect();
    let mb = data.len() as f64 / 1e6;
    let report = |stage: &str, took: Duration| {
        println!("{stage:<24} {:>8.1} ms {:>8.1} MB/s", took.as_secs_f64() * 1e3, mb / took.as_secs_f64());
    };
    let (took, valid) = best(rounds, || lines.iter().filter(|l| std::str::from_utf8(l).is_ok()).count());
    report("UTF-8 check", took);
    let (took, texts) = best(rounds, || {
        let split = lines.iter().map(|l| split_line(l, "text", usize::MAX));
        split
            .filter_map(|l| if let TextLine::Fast { text, .. } = l { Some(text) } else { None })
            .collect::<Vec<_>>()
    });
    report("split (text, rest)", took);
    let (took, screened) = best(rounds, || texts.iter().filter(|t| may_hold_notice(t.as_bytes())).count());
    report("notices' screen", took);
    let (took, notices) = best(rounds, || texts.iter().map(|t| licence_notices(t).len()).sum::<usize>());
    report("licence notices", took);
    println!(
        "{} lines ({valid} UTF-8), {} texts read, {screened} past the screen, {notices} notices",
        lines.len(),
        texts.len()
    );
}
