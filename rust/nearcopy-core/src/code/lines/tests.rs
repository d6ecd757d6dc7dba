use super::*;

fn scan(text: &str, start: usize, end: usize) -> Vec<ScannedLine> {
    scan_noting_start(text, start, end).0
}

fn kinds(text: &str) -> Vec<LineKind> {
    scan(text, 0, text.len()).into_iter().map(|l| l.kind).collect()
}

fn region_texts(text: &str) -> Vec<&str> {
    regions(&scan(text, 0, text.len()), 0, false).into_iter().map(|r| &text[r.start..r.end]).collect()
}

#[test]
fn lines_of_code_prose_and_neither() {
    use LineKind::*;
    let text = "Here you go:\ndef f(x):\n    # add one\n    return x + 1\n\n}\nThat is the whole function, and it returns a number.\n- a list item of prose\n";
    assert_eq!(kinds(text), vec![Prose, Code, Neutral, Code, Blank, Code, Prose, Prose]);
}

#[test]
fn docstrings_and_block_comments_are_neutral_however_they_read() {
    let text = "\"\"\"Summary line.\n\nThis paragraph reads like prose, and it is long enough to be prose.\n\"\"\"\n/*\n * Copyright. All rights reserved. This is a sentence.\n */\n";
    assert!(
        kinds(text).iter().all(|k| matches!(k, LineKind::Neutral | LineKind::Blank)),
        "{:?}",
        kinds(text)
    );
}

#[test]
fn a_region_takes_its_comments_and_indented_lines_and_stops_at_outside_prose() {
    let text = "Some intro text that explains what follows in detail.\n\n// Doc comment of f.\nfunc f() {\n\tx := 1\n}\n\nThis is prose again, after the function, as a sentence.\n";
    assert_eq!(region_texts(text), vec!["// Doc comment of f.\nfunc f() {\n\tx := 1\n}\n"]);
}

#[test]
fn markup_ends_a_region_left_open_but_a_tag_does_not() {
    let text =
        "int f(int a) {\n    int b = a + 1;\n.SH \"NAME\"\n\\fBgcloud\\fR \\fICOMMAND\\fR\n    return b;\n";
    assert_eq!(region_texts(text), vec!["int f(int a) {\n    int b = a + 1;\n", "    return b;\n"]);
    let notes = "def f(a):\n    return g(a,\n* \\[[`1c87ce6a32`](https://github.com/n/n/commit/1c87ce6a32)] - **src**: fix\n";
    assert_eq!(region_texts(notes), vec!["def f(a):\n    return g(a,\n"]);
    let jsx = "return (\n  <div className=\"x\">\n    {items.map(render)}\n  </div>\n);\n";
    assert_eq!(region_texts(jsx), vec![jsx]);
}

#[test]
fn the_tail_of_a_comment_the_text_never_closes_is_left_out_of_a_region() {
    let text = "struct s *open(char *path);\nint close(struct s *log);\n/* Write to the log.  Return zero on success, or\n   minus one on an i/o error of any of the files\n";
    assert_eq!(region_texts(text), vec!["struct s *open(char *path);\nint close(struct s *log);\n"]);
    let closed = format!("{text}*/\nint flush(struct s *log);\n");
    assert_eq!(region_texts(&closed), vec![closed.as_str()]);
}

#[test]
fn a_sentence_ends_a_region_however_deep_it_is_indented() {
    let text = "sort -abst)\n  * Remove ancient Breaks, Conflicts, Replaces that were already satisfied\n    Thanks to Matthias Klose.\n";
    assert_eq!(region_texts(text), vec!["sort -abst)\n"]);
}

#[test]
fn prose_inside_brackets_stays_unless_it_is_a_sentence() {
    let held = "call(a,\n  some words here\n  b)\n";
    assert_eq!(region_texts(held), vec![held]);
    // Code cut off with a bracket open, then a real sentence: the sentence ends the region.
    let cut = "int f(void) {\n    return g(1,\nThe function above was cut off by the model, so it does not compile.\n";
    assert_eq!(region_texts(cut), vec!["int f(void) {\n    return g(1,\n"]);
}

#[test]
fn keywords_alone_do_not_make_prose_code() {
    assert_eq!(kinds("for example, the value can be any string you like\n"), vec![LineKind::Prose]);
    assert_eq!(kinds("import the module first and then call it twice\n"), vec![LineKind::Prose]);
    assert_eq!(kinds("import os\n"), vec![LineKind::Code]);
    assert_eq!(kinds("import os, sys\n"), vec![LineKind::Code]);
}

#[test]
fn a_stretch_that_begins_inside_a_docstring_or_comment_is_read_from_there() {
    // A window of a streamed answer, or a completion of a prompt that opened a docstring.
    let text = "    of the two lists, which this function merges in order.\n    \"\"\"\n    result = []\n    for item in left:\n        result.append(item)\n    return result\n";
    let k = kinds(text);
    assert_eq!(k[..2], [LineKind::Neutral, LineKind::Neutral], "{k:?}");
    assert!(k[2..].iter().all(|&kind| kind == LineKind::Code), "{k:?}");
    let comment = " * @param src the file to read, which must exist.\n */\nint copy(const char *src) {\n    return 0;\n}\n";
    let k = kinds(comment);
    assert_eq!(k[..2], [LineKind::Neutral, LineKind::Neutral], "{k:?}");
    // A docstring cut off at the end keeps the code before it.
    let cut = "def merge(left, right):\n    \"\"\"Merge two sorted lists into one, which is";
    assert_eq!(kinds(cut), vec![LineKind::Code, LineKind::Neutral]);
}

#[test]
fn markup_is_prose_however_many_symbols_it_has() {
    for line in [
        "<li class=\"x\"><a href=\"#y\">z</a></li>",
        ".SH \"DESCRIPTION\"",
        ".\\\" a roff comment",
        "\\fB\\-\\-uri\\fR] [\\fIFLAG\\fR]",
        "\\begin{itemize}",
        "========================",
        "------------------",
        "___",
    ] {
        assert_eq!(kinds(&format!("{line}\n")), vec![LineKind::Prose], "{line}");
    }
    // Code that starts with a dot or an angle bracket is not markup.
    assert_eq!(kinds("    .map(|x| x + 1)\n"), vec![LineKind::Code]);
    assert_eq!(kinds("x = a < b and c > d;\n"), vec![LineKind::Code]);
    assert_eq!(kinds("    x = y--;\n"), vec![LineKind::Code], "dashes in code are not a rule");
}

#[test]
fn evidence_leaves_trailing_comments_out() {
    assert_eq!(without_trailing_comment("    '!'  #  0x21 -> EXCLAMATION MARK\n"), "    '!'  ");
    assert_eq!(without_trailing_comment("x = y; // done -> next\n"), "x = y; ");
    assert_eq!(
        without_trailing_comment("s = \"# not a comment\"  # a comment\n"),
        "s = \"# not a comment\"  "
    );
    assert_eq!(without_trailing_comment("url = 'http://example.org'\n"), "url = 'http://example.org'");
    assert_eq!(without_trailing_comment("#include <stdio.h>\n"), "#include <stdio.h>");
}

#[test]
fn a_paragraph_on_one_line_is_prose_whatever_symbols_it_has() {
    let pod = "=head2 How do I parse C<version()> strings? Use C<version->parse($string)> as in C<{ *CORE::GLOBAL::hex = sub { 1; }; }> and compare the objects that it returns with each other, which is what most modules do when they need to decide.\n";
    assert_eq!(kinds(pod), vec![LineKind::Prose]);
    assert_eq!(
        kinds("    result = compute(alpha, beta, gamma) + offset * scale - bias / count  # done\n"),
        vec![LineKind::Code]
    );
}

#[test]
fn blocks_of_comments_alone_are_told_from_code_with_comments() {
    let licence =
        "/*\n * Copyright (C) 2010 The Example Project\n *\n * Licensed under the Apache License.\n */\n";
    assert!(only_comments(licence));
    assert!(only_comments("# Copyright 2020 Example\n\n# SPDX-License-Identifier: MIT\n"));
    assert!(only_comments("// one\n// two\n/* three */\n<!-- four -->\n"));
    assert!(only_comments("/* a comment cut off before its end\n * goes on"));
    // Code anywhere, even right after a comment closes, is code.
    assert!(!only_comments("/* header */\nint x = 1;\n"));
    assert!(!only_comments("/*\n * doc\n */ int x;\n"));
    assert!(!only_comments("# a comment\nx = 1\n"));
    assert!(!only_comments("#include <stdio.h>\n"), "a preprocessor line is code");
    assert!(!only_comments("#!/bin/sh\n"));
    assert!(!only_comments("  \n\n"), "a blank block is not a comment");
}

#[test]
fn a_line_of_several_sentences_is_prose_whatever_its_symbols() {
    // perlfunc's pod, one paragraph a line: few plain words among its `C<...>` items.
    let pod = "i.e., you cannot use ampersand syntax (C<&foo>) or call them through references. See the C<shove> example above. These subroutines exist for all keywords except the following: C<__DATA__>, C<__END__>, C<and>, C<cmp>, C<default>, C<do>, C<dump>,\n";
    assert_eq!(kinds(pod), vec![LineKind::Prose]);
    // Sentences in a string or a trailing comment leave a line of code code.
    for line in [
        "    fprintf(stderr, \"File not found. Check the path. Then retry.\\n\");\n",
        "    x = compute(y); // Compute it. Then store it. Done.\n",
    ] {
        assert_eq!(kinds(line), vec![LineKind::Code], "{line}");
    }
}
