//! Matches of equal coverage name first the document holding more of the span's words.

use super::super::{build_entries, match_answer, IndexContents, MatchSettings};
use crate::code::{Hint, Language};
use crate::fingerprint::document::Content;
use crate::fingerprint::segment::{merge_segments, write_segment_with_words, Segment};
use crate::fingerprint::{FingerprintTable, Winnowings};

/// One architecture's copy of a file: the code is the same for every `arch` once identifiers are
/// abstracted and the header comment dropped.
fn port(arch: &str, name: &str) -> String {
    format!(
        "/* Override generic sotruss-lib.c to define actual functions for {name}.\n   Copyright (C) 2022 Free Software Foundation, Inc. */\n\n#define HAVE_ARCH_PLTENTER\n#include <elf/sotruss-lib.c>\n\nElfW(Addr)\nla_{arch}_gnu_pltenter (ElfW(Sym) *sym, unsigned int ndx, uintptr_t *refcook,\n    uintptr_t *defcook, La_{arch}_regs *regs, unsigned int *flags,\n    const char *symname, long int *framesizep)\n{{\n  print_enter (refcook, defcook, symname, regs->lr_reg[0], regs->lr_reg[1], regs->lr_reg[2], *flags);\n  /* No need to copy anything, we will not need the parameters in any case.  */\n  *framesizep = 0;\n  return sym->st_value;\n}}\n\nunsigned int\nla_{arch}_gnu_pltexit (ElfW(Sym) *sym, unsigned int ndx, uintptr_t *refcook,\n    uintptr_t *defcook, const struct La_{arch}_regs *inregs,\n    struct La_{arch}_retval *outregs, const char *symname)\n{{\n  print_exit (refcook, defcook, symname, outregs->lrv_a0);\n  return 0;\n}}\n"
    )
}

const PORTS: [(&str, &str); 3] = [("hppa", "HP-PARISC"), ("riscv", "RISC-V"), ("nios2", "Nios II")];

fn settings() -> MatchSettings {
    MatchSettings {
        max_doc_frequency: 10,
        ignore_doc_frequency: 10,
        popular_percent: 200,
        min_prose_tokens: 20,
        min_code_tokens: 20,
        contents: IndexContents::default(),
        hint: Hint::Auto,
    }
}

fn winnowings() -> Winnowings {
    Winnowings::new(5, 4, 8, 4, None).unwrap()
}

/// The ports, each a document of its own segment (`per_segment`) or all of one, written to disk.
fn segments(dir: &std::path::Path, per_segment: bool) -> Vec<Segment> {
    let texts: Vec<String> = PORTS.iter().map(|(arch, name)| port(arch, name)).collect();
    let docs: Vec<(&str, Content)> = texts.iter().map(|t| (t.as_str(), Content::Code(Language::C))).collect();
    let groups: Vec<&[(&str, Content)]> = if per_segment { docs.chunks(1).collect() } else { vec![&docs] };
    groups
        .into_iter()
        .enumerate()
        .map(|(i, group)| {
            let built = build_entries(group, &winnowings(), 1).unwrap();
            let path = dir.join(format!("seg-{i}.ncs"));
            write_segment_with_words(&path, &winnowings(), &built.entries, &built.words).unwrap();
            Segment::open(&path).unwrap()
        })
        .collect()
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("nearcopy-attribution-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// (segment, document) of the matches, first to last.
fn sources(answer: &str, segments: &[Segment]) -> Vec<(usize, u32)> {
    let none: &[FingerprintTable] = &[];
    let report = match_answer(answer, segments, none, &winnowings(), &settings()).unwrap();
    report.matches.iter().map(|m| (m.segment, m.doc)).collect()
}

#[test]
fn the_port_whose_words_an_answer_holds_is_named_first_the_others_after() {
    let dir = tempdir("one");
    let one = segments(&dir, false);
    for (d, (arch, name)) in PORTS.iter().enumerate() {
        let answer = format!("Here is the file:\n\n```c\n{}```\n", port(arch, name));
        let found = sources(&answer, &one);
        assert_eq!(found.first(), Some(&(0, d as u32)), "{arch}: {found:?}");
        assert_eq!(found.len(), 3, "every equal source is still reported: {found:?}");
    }
}

#[test]
fn the_rank_is_the_same_over_segments_and_after_their_merge() {
    let dir = tempdir("merge");
    let apart = segments(&dir, true);
    let merged_path = dir.join("merged.ncs");
    merge_segments(&merged_path, &winnowings(), &apart.iter().collect::<Vec<_>>()).unwrap();
    let merged = [Segment::open(&merged_path).unwrap()];
    // Renamed: the words of the code are the answerer's, only the header names the port.
    let answer = port("riscv", "RISC-V").replace("refcook", "ref_cookie").replace("symname", "name");
    assert_eq!(sources(&answer, &apart)[0], (1, 0));
    assert_eq!(sources(&answer, &merged[..])[0], (0, 1));
}

#[test]
fn without_words_equal_matches_keep_the_order_of_indexing() {
    // A table in memory keeps no words: the first indexed is first, as before words were kept.
    let texts: Vec<String> = PORTS.iter().map(|(arch, name)| port(arch, name)).collect();
    let docs: Vec<(&str, Content)> = texts.iter().map(|t| (t.as_str(), Content::Code(Language::C))).collect();
    let table = [FingerprintTable::from_entries(build_entries(&docs, &winnowings(), 1).unwrap().entries)];
    let none: &[FingerprintTable] = &[];
    let report = match_answer(&texts[2], &table, none, &winnowings(), &settings()).unwrap();
    assert_eq!(report.matches.iter().map(|m| m.doc).collect::<Vec<_>>(), [0, 1, 2]);
}
