//! `memcmp` of zero bytes answered without calling glibc's (the linker sends the crate's and the
//! tree-sitter runtime's `memcmp` calls here: `-Wl,--wrap=memcmp`, given by the build scripts).
//!
//! Why: tree-sitter's GLR stack asks, for every pair of stack versions it might merge, whether their
//! external scanner states are equal (`ts_subtree_external_scanner_state_eq`), and for a grammar
//! without an external scanner, as C's, that is `memcmp(empty, empty, 0)`: about 57,000 calls per
//! MB of kernel C. On this machine's AMD EPYC (AVX-512) glibc picks `__memcmp_evex_movbe`, whose
//! masked load made those calls 10-12% of the parse inside nearcopy (against a fraction of a percent
//! in a small C program making the same calls; the Python wheels' GCC 14 inlines the call away
//! where our GCC 12 does not): the parse ran 1.10 s per 10 MB here against 0.96 s with glibc's
//! AVX-512 string functions turned off (`GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX512VL,-AVX512BW`).
//! A zero-length comparison is equal by definition, so this changes no result; any other length
//! goes to glibc's `memcmp` as before.

use std::ffi::{c_int, c_void};

extern "C" {
    fn __real_memcmp(left: *const c_void, right: *const c_void, len: usize) -> c_int;
}

/// # Safety
/// As `memcmp`: `left` and `right` are readable for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn __wrap_memcmp(left: *const c_void, right: *const c_void, len: usize) -> c_int {
    if len == 0 {
        return 0;
    }
    __real_memcmp(left, right, len)
}
