//! Links the module with `memcmp` wrapped: nearcopy-core's build script, which its
//! `src/code/memcmp.rs` explains, is this one too.
include!("../nearcopy-core/build.rs");
