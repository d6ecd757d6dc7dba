//! Grammars with every parse state's row looked up in O(1).
//!
//! A tree-sitter grammar stores its parse table in two forms: the first `large_state_count` states
//! as dense rows (`parse_table[state * symbol_count + symbol]`), the rest compressed as lists of
//! symbol groups that `ts_language_lookup` scans linearly on every lookup. Kernel C's parse spends
//! about a seventh of its time in that scan (`ts_language_table_entry`, by `perf`). This module
//! copies a grammar's `TSLanguage` once per process with every state expanded into a dense row, so
//! that each lookup is one load. The table holds the same value for every (state, symbol) pair, so
//! the parse, its trees and every node's kind are unchanged (tested on every grammar against the
//! original); the cost is `state_count * symbol_count * 2` bytes per grammar (1.45 MB for C,
//! 9.3 MB for C++, 42 MB for all twelve), paid only for the grammars a process parses.
//!
//! The copy mirrors the `TSLanguage` struct of tree-sitter's `parser.h` for ABI 14 and 15, the
//! only ABIs this runtime loads; a grammar of any other ABI is used as it is.

use std::ffi::c_void;

/// `struct TSLanguage` of `tree_sitter/parser.h`, ABI 15. ABI 14's struct is the prefix that ends at
/// `primary_state_ids`.
#[repr(C)]
#[derive(Clone, Copy)]
struct RawLanguage {
    abi_version: u32,
    symbol_count: u32,
    alias_count: u32,
    token_count: u32,
    external_token_count: u32,
    state_count: u32,
    large_state_count: u32,
    production_id_count: u32,
    field_count: u32,
    max_alias_sequence_length: u16,
    parse_table: *const u16,
    small_parse_table: *const u16,
    small_parse_table_map: *const u32,
    parse_actions: *const c_void,
    symbol_names: *const c_void,
    field_names: *const c_void,
    field_map_slices: *const c_void,
    field_map_entries: *const c_void,
    symbol_metadata: *const c_void,
    public_symbol_map: *const c_void,
    alias_map: *const c_void,
    alias_sequences: *const c_void,
    lex_modes: *const c_void,
    lex_fn: *const c_void,
    keyword_lex_fn: *const c_void,
    keyword_capture_token: u16,
    external_scanner: [*const c_void; 7],
    primary_state_ids: *const c_void,
    // ABI 15 from here on.
    name: *const c_void,
    reserved_words: *const c_void,
    max_reserved_word_set_size: u16,
    supertype_count: u32,
    supertype_symbols: *const c_void,
    supertype_map_slices: *const c_void,
    supertype_map_entries: *const c_void,
    metadata: [u8; 3],
}

/// The bytes of ABI 14's struct: everything up to and including `primary_state_ids`.
const ABI_14_SIZE: usize = std::mem::offset_of!(RawLanguage, name);

/// Writes a small state's values into its dense `row`, as `ts_language_lookup` finds them: a
/// symbol's first group gives its value, a symbol in no group has 0.
///
/// # Safety
/// `language` must be a loaded grammar and `state` one of its small states.
unsafe fn expand_small_state(language: &RawLanguage, state: u32, row: &mut [u16], written: &mut [bool]) {
    written.fill(false);
    let index = *language.small_parse_table_map.add((state - language.large_state_count) as usize);
    let mut data = language.small_parse_table.add(index as usize);
    let group_count = *data;
    data = data.add(1);
    for _ in 0..group_count {
        let value = *data;
        let symbols = *data.add(1) as usize;
        data = data.add(2);
        for &symbol in std::slice::from_raw_parts(data, symbols) {
            let symbol = usize::from(symbol);
            if symbol < row.len() && !written[symbol] {
                written[symbol] = true;
                row[symbol] = value;
            }
        }
        data = data.add(symbols);
    }
}

/// A copy of `language` whose every state is a dense row, or `None` when its ABI is not one this
/// module knows the layout of (or it has no small states to expand).
///
/// # Safety
/// `language` must point to a loaded, static grammar; the copy borrows all its other tables.
unsafe fn densify(language: *const RawLanguage) -> Option<&'static RawLanguage> {
    let abi = (*language).abi_version;
    if abi != 14 && abi != 15 {
        return None;
    }
    let mut copy: RawLanguage = std::mem::zeroed();
    let size = if abi == 14 { ABI_14_SIZE } else { std::mem::size_of::<RawLanguage>() };
    std::ptr::copy_nonoverlapping(language.cast::<u8>(), (&mut copy as *mut RawLanguage).cast::<u8>(), size);
    let (states, symbols, large) = (copy.state_count, copy.symbol_count as usize, copy.large_state_count);
    if large >= states {
        return None;
    }
    let mut table = vec![0u16; states as usize * symbols];
    std::ptr::copy_nonoverlapping(copy.parse_table, table.as_mut_ptr(), large as usize * symbols);
    let mut written = vec![false; symbols];
    for state in large..states {
        expand_small_state(&copy, state, &mut table[state as usize * symbols..][..symbols], &mut written);
    }
    copy.parse_table = Box::leak(table.into_boxed_slice()).as_ptr();
    copy.large_state_count = states;
    // Kept as they were: no state is small any more, so nothing reads them.
    Some(Box::leak(Box::new(copy)))
}

/// `grammar` with dense parse tables: the same grammar, parsed with one load per table lookup. The
/// copy is never freed (trees point at their grammar): callers make one per grammar per process.
pub(crate) fn densified(grammar: tree_sitter::Language) -> tree_sitter::Language {
    let original = grammar.into_raw();
    // SAFETY: `original` came from a grammar crate's static `TSLanguage`.
    match unsafe { densify(original.cast::<RawLanguage>()) } {
        // SAFETY: the copy is a complete `TSLanguage` that lives for the rest of the process.
        Some(copy) => unsafe {
            tree_sitter::Language::from_raw(
                (copy as *const RawLanguage).cast::<tree_sitter::ffi::TSLanguage>(),
            )
        },
        // SAFETY: the grammar as it came.
        None => unsafe { tree_sitter::Language::from_raw(original) },
    }
}

#[cfg(test)]
#[path = "dense_tables/tests.rs"]
mod tests;
