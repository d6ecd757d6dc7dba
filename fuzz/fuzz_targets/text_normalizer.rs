#![no_main]
// The check is in nearcopy-core (src/fuzzing), shared with the short fuzz of `cargo test`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| nearcopy_core::fuzzing::text_normalizer(data));
