#![no_main]
// The checks are in nearcopy-core (src/fuzzing), shared with the short fuzz of `cargo test`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    nearcopy_core::fuzzing::jsonl_reader(data);
    nearcopy_core::fuzzing::jsonl_threads(data);
    nearcopy_core::fuzzing::jsonl_text(data);
});
