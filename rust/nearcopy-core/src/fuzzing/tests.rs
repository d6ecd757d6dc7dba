//! The short fuzz of `cargo test`: every check on the committed seeds and regression inputs
//! (`fuzz/seeds/<target>/`, `fuzz/regressions/<target>/`), then on mutations of them from a fixed
//! pseudo-random sequence for a bounded time. `make fuzz` runs the same checks under libFuzzer for
//! longer; this keeps `cargo test` quick and needs neither nightly nor cargo-fuzz.

use super::*;
use std::path::Path;
use std::time::{Duration, Instant};

/// Time given to the mutations of each target (the seeds and regressions always all run).
const BUDGET: Duration = Duration::from_millis(1500);

fn inputs(target: &str) -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut found = Vec::new();
    for kind in ["seeds", "regressions"] {
        let Ok(dir) = std::fs::read_dir(root.join(kind).join(target)) else { continue };
        let mut paths: Vec<_> = dir.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        found.extend(paths.iter().filter_map(|p| std::fs::read(p).ok()));
    }
    assert!(!found.is_empty(), "no seeds for {target}");
    found
}

/// xorshift64*: a fixed sequence, so a failure of the short fuzz reproduces on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// A few libFuzzer-like edits: flip, set to an interesting byte, insert, delete, splice, repeat.
fn mutate(rng: &mut Rng, input: &mut Vec<u8>, other: &[u8]) {
    const INTERESTING: &[u8] = b"\0\n\r\t `~{}[]()\"\\:,;#/*'\xff\xfe\xc3\xa9\xe6\x9d\xb1";
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(input.len() + 1);
        match rng.below(6) {
            0 if at < input.len() => input[at] ^= 1 << rng.below(8),
            1 if at < input.len() => input[at] = INTERESTING[rng.below(INTERESTING.len())],
            2 => input.insert(at, INTERESTING[rng.below(INTERESTING.len())]),
            3 if at < input.len() => {
                let end = (at + 1 + rng.below(16)).min(input.len());
                input.drain(at..end);
            }
            4 if !other.is_empty() => {
                let from = rng.below(other.len());
                let end = (from + 1 + rng.below(64)).min(other.len());
                input.splice(at..at, other[from..end].iter().copied());
            }
            _ if at < input.len() => {
                let end = (at + 1 + rng.below(8)).min(input.len());
                let piece: Vec<u8> = input[at..end].to_vec();
                for _ in 0..rng.below(32) {
                    input.splice(at..at, piece.iter().copied());
                }
            }
            _ => input.push(INTERESTING[rng.below(INTERESTING.len())]),
        }
    }
}

fn short_fuzz(target: &str, check: fn(&[u8])) {
    let seeds = inputs(target);
    for seed in &seeds {
        check(seed);
    }
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ xxh3_64(target.as_bytes(), 0));
    let started = Instant::now();
    let mut runs = 0;
    while started.elapsed() < BUDGET {
        let mut input = seeds[rng.below(seeds.len())].clone();
        let other = &seeds[rng.below(seeds.len())];
        mutate(&mut rng, &mut input, other);
        if std::panic::catch_unwind(|| check(&input)).is_err() {
            // The input, to be saved under fuzz/regressions/ once the cause is fixed.
            panic!("{target} failed on {:?}", String::from_utf8_lossy(&input));
        }
        runs += 1;
    }
    assert!(runs > 0);
}

#[test]
fn short_fuzz_text_normalizer() {
    short_fuzz("text_normalizer", text_normalizer);
}

#[test]
fn short_fuzz_code_normalizer() {
    short_fuzz("code_normalizer", code_normalizer);
}

#[test]
fn short_fuzz_answer_splitter() {
    short_fuzz("answer_splitter", answer_splitter);
}

#[test]
fn short_fuzz_jsonl_reader() {
    short_fuzz("jsonl_reader", jsonl_reader);
    short_fuzz("jsonl_reader", jsonl_threads);
    short_fuzz("jsonl_reader", jsonl_text);
}

#[test]
fn short_fuzz_segment_reader() {
    short_fuzz("segment_reader", segment_reader);
}
