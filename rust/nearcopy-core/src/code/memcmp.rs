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

#[cfg(test)]
mod tests {
    use super::__wrap_memcmp;

    fn compare(left: &[u8], right: &[u8], len: usize) -> i32 {
        // SAFETY: both slices hold at least `len` bytes.
        unsafe { __wrap_memcmp(left.as_ptr().cast(), right.as_ptr().cast(), len) }.signum()
    }

    #[test]
    fn the_wrapped_memcmp_orders_bytes_as_memcmp_does() {
        assert_eq!(compare(b"abc", b"abd", 0), 0);
        assert_eq!(compare(b"abc", b"abd", 2), 0);
        assert_eq!(compare(b"abc", b"abd", 3), -1);
        assert_eq!(compare(b"abd", b"abc", 3), 1);
        assert_eq!(compare(b"\xffa", b"\x01a", 2), 1, "bytes compare unsigned");
    }
}
