//! Corpus deduplication kernels: the stages of near-duplicate clustering over MinHash signatures,
//! each a plain function over flat arrays so that any driver (the local Python pipeline, a Ray
//! task) can run them on a batch or a partition.
//!
//! 1. [`bands::band_keys`]: one 64-bit key per (document, band), hashed from the band's slots.
//! 2. [`bands::bucket_records`]: `(key, doc)` records split into buckets by key, so that each bucket
//!    can be spilled to its own file and grouped on its own (every record of a key is in one bucket).
//! 3. [`candidates::candidate_pairs`]: sort one bucket's records and pair the documents sharing a key.
//! 4. [`verify::equal_slots`] / [`exact::exact_jaccard`]: check each candidate against the full
//!    signature (or the exact shingle sets) before it may join a cluster: unverified band collisions
//!    chained transitively make giant false clusters.
//! 5. [`union_find`]: connected components of the verified pairs.
//! 6. [`decide::decide`]: which copies of each cluster are kept, and what each removed one duplicates.
//!
//! [`exact::content_hashes`] is the exact-duplicate fast path: identical texts are clustered by a
//! 128-bit hash ([`decide::exact_groups`]) without any signature work downstream.

pub mod bands;
pub mod candidates;
pub mod decide;
pub mod exact;
pub mod union_find;
pub mod verify;

pub use bands::{band_keys, bucket_records, row_band_keys, Slot};
pub use candidates::{candidate_pairs, sort_records};
pub use decide::{decide, exact_groups, Decisions};
pub use union_find::{roots, unconnected, union_pairs};
pub use verify::equal_slots;

#[cfg(test)]
mod tests;
