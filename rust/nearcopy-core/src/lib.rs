//! nearcopy-core: the pure-Rust kernels of nearcopy, with no Python in them.
//!
//! * [`text`] normalizes text into word tokens that keep their byte spans in the original, and
//!   [`shingle`] turns a token stream into the byte strings that get hashed.
//! * [`minhash`] computes MinHash signatures: three schemes bit-identical to datasketch
//!   (`legacy`, `affine32`, `affine64`) and a native one-permutation scheme (`fast`).
//! * [`dedup`] clusters near-duplicate documents: band keys, candidate pairs, verification,
//!   union-find; [`jsonl`] reads the fields it needs out of JSON Lines.
//! * [`lsh`] is a persistent MinHash-LSH index: memory-mapped segments, queries, merges.
//! * [`batch`] runs either over many documents in parallel, with results that do not depend on the
//!   number of threads.

pub mod batch;
pub mod code;
pub mod dedup;
pub mod error;
pub mod fingerprint;
/// Property checks for the fuzz targets (`fuzz/`) and the short fuzz of `cargo test`.
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
pub mod hash;
pub mod index;
pub mod jsonl;
pub mod jsonl_text;
pub mod lsh;
pub mod minhash;
pub mod mt19937;
pub mod pool;
pub mod prefetch;
pub mod shingle;
pub mod text;

pub use error::{Error, Result};
