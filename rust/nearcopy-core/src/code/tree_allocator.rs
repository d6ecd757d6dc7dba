//! tree-sitter's own allocations (parse stacks, subtrees, trees, cursors) made by mimalloc.
//!
//! A parse allocates and frees a small block for nearly every token and stack node: over 10 MB of
//! kernel C, glibc's `malloc`, `free` and their bookkeeping took about 7% of a build's samples
//! (`_int_malloc`, `malloc_consolidate`, `unlink_chunk`, ...), more inside the build than in a
//! bare parse, since the build's heap also holds a batch's texts and entries. py-tree-sitter, the
//! benchmark's reference, routes the same allocations to Python's small-object allocator; nearcopy
//! parses with the GIL released on several threads, so it routes them to mimalloc, thread-safe and
//! built for this pattern. Only tree-sitter's C runtime is affected: Rust's own allocations stay
//! with the system allocator.

use std::sync::Once;

static ROUTED: Once = Once::new();

/// Makes tree-sitter allocate with mimalloc from now on; later calls do nothing.
///
/// # Safety
/// No tree-sitter object (parser, tree, cursor, query, lookahead iterator) may exist in the process
/// when the first call is made: one allocated by the system allocator would be freed by mimalloc.
/// The Python module calls this when it is imported, before any of its functions can run.
pub unsafe fn route_tree_sitter_to_mimalloc() {
    ROUTED.call_once(|| {
        tree_sitter::set_allocator(
            Some(libmimalloc_sys::mi_malloc),
            Some(libmimalloc_sys::mi_calloc),
            Some(libmimalloc_sys::mi_realloc),
            Some(libmimalloc_sys::mi_free),
        );
    });
}
