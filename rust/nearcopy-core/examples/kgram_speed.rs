//! What keying costs on the check hot path: k-gram hashing and winnowing of a token stream, unkeyed
//! (fmix64) and keyed (SipHash-2-4), in ns per token.
//!
//!     cargo run --release -p nearcopy-core --example kgram_speed [tokens] [rounds]

use nearcopy_core::fingerprint::{FingerprintKey, Winnowing};
use nearcopy_core::hash::splitmix64;
use std::hint::black_box;
use std::time::Instant;

fn ns_per_token(winnowing: &Winnowing, tokens: &[u64], rounds: usize, winnow: bool) -> f64 {
    let (mut scratch, mut out) = (Vec::new(), Vec::new());
    let mut best = f64::INFINITY;
    // Best of several rounds: the machine is shared, the minimum is the cost without interference.
    for _ in 0..rounds {
        let started = Instant::now();
        if winnow {
            winnowing.fingerprints(black_box(tokens), &mut scratch, &mut out);
        } else {
            winnowing.kgram_hashes(black_box(tokens), &mut scratch);
        }
        black_box((&scratch, &out));
        best = best.min(started.elapsed().as_secs_f64());
    }
    best * 1e9 / tokens.len() as f64
}

fn main() {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>().expect("a number"));
    let n = args.next().unwrap_or(1 << 20);
    let rounds = args.next().unwrap_or(30);
    let mut state = 7u64;
    let tokens: Vec<u64> = (0..n).map(|_| splitmix64(&mut state)).collect();
    let key = FingerprintKey { k0: 0x0123_4567_89ab_cdef, k1: 0x0f1e_2d3c_4b5a_6978 };
    for (k, w) in [(4, 6), (20, 10)] {
        let plain = Winnowing::new(k, w, None).unwrap();
        let keyed = Winnowing::new(k, w, Some(key)).unwrap();
        for (what, winnow) in [("k-gram hashes", false), ("winnowed fingerprints", true)] {
            let a = ns_per_token(&plain, &tokens, rounds, winnow);
            let b = ns_per_token(&keyed, &tokens, rounds, winnow);
            println!(
                "k={k:2} w={w:2} {what:22}: unkeyed {a:5.2} ns/token, keyed {b:5.2} ns/token (+{:.2} ns, x{:.2})",
                b - a,
                b / a
            );
        }
    }
}
