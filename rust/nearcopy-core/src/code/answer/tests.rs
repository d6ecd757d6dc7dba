use super::*;
use crate::code::lexid::LanguageSet;

fn split(text: &str) -> Vec<(bool, String, Option<Language>, bool)> {
    split_answer(text, &mut Parser::new())
        .into_iter()
        .map(|s| (s.code, text[s.start..s.end].to_string(), s.language, s.fenced))
        .collect()
}

fn code_segments(text: &str) -> Vec<(String, Option<Language>)> {
    split(text).into_iter().filter(|s| s.0).map(|s| (s.1, s.2)).collect()
}

#[test]
fn fenced_blocks_with_and_without_tags() {
    let answer =
        "Here is how:\n\n```py\nx = 1\n```\n\nAnd in C:\n~~~\nint main(void) { return 0; }\n~~~\nDone.";
    let got = split(answer);
    assert_eq!(got.len(), 5, "{got:?}");
    assert_eq!(got[1], (true, "x = 1\n".to_string(), Some(Language::Python), true));
    assert!(got[3].0);
    assert_eq!(got[3].2, Some(Language::C));
    assert_eq!(got[4].1, "Done.");
    let covered: usize = split_answer(answer, &mut Parser::new()).iter().map(|s| s.end - s.start).sum();
    let fence_lines = ["```py\n", "```\n", "~~~\n", "~~~\n"].iter().map(|f| f.len()).sum::<usize>();
    assert_eq!(covered, answer.len() - fence_lines, "segments cover all but the fence lines");
}

#[test]
fn indented_and_unclosed_fences() {
    let answer = "1. First:\n   ```rust\n   fn f() {}\n   ```\n2. Then:\n```python\ndef f(\n    return";
    let got = split(answer);
    assert_eq!(got[1], (true, "   fn f() {}\n".to_string(), Some(Language::Rust), true));
    assert_eq!(got.last().unwrap().1, "def f(\n    return");
    assert_eq!(got.last().unwrap().2, Some(Language::Python));
}

#[test]
fn tags_of_text_stay_code_without_language_and_other_tags_are_detected() {
    let got = split("```bash\nls -la\n```\n");
    assert_eq!(got[0], (true, "ls -la\n".to_string(), None, true));
    // `kotlin` for Java (nearcopy has no Kotlin grammar): the content says Java.
    let got = split(&format!("```kotlin\n{JAVA_METHOD}```\n"));
    assert_eq!(got[0].2, Some(Language::Java));
    assert_eq!(language_of_tag("{.python}"), Some(Language::Python));
    assert_eq!(language_of_tag("c++ title=\"a.cpp\""), Some(Language::Cpp));
}

#[test]
fn unfenced_code_in_prose() {
    let answer = "You can write it like this.\n\ndef add(a, b):\n    total = a + b\n    return total\n\nThat returns the sum of both numbers, as you would expect.";
    let got = split(answer);
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(got[1].0 && got[1].1.starts_with("def add") && got[1].2 == Some(Language::Python));
    assert!(!got[1].3);
}

const PYTHON_FUNCTION: &str = r#"# Copyright 2001 Example Corp.
# Licensed under the Example License.

import os


@functools.lru_cache(maxsize=None)
def copy_tree(src, dst, symlinks=False):
    """Recursively copy a directory tree.

    The destination directory must not already exist. If the optional
    symlinks flag is true, symbolic links in the source tree result in
    symbolic links in the destination tree.
    """
    names = os.listdir(src)

    # Make the target first, then fill it.
    os.makedirs(dst)
    for name in names:
        srcname = os.path.join(src, name)
        dstname = os.path.join(dst, name)
        if symlinks and os.path.islink(srcname):
            os.symlink(os.readlink(srcname), dstname)
        else:
            copy2(srcname, dstname)
    return dst
"#;

const JAVA_METHOD: &str = r#"/**
 * Copies the bytes of one stream to another.
 *
 * @param in the stream to read from
 * @param out the stream to write to
 * @return the number of bytes copied
 */
@Override
public long copy(InputStream in, OutputStream out) throws IOException {
    byte[] buffer = new byte[8192];
    long total = 0;

    int n;
    while ((n = in.read(buffer)) > 0) {
        out.write(buffer, 0, n);
        total += n;
    }
    return total;
}
"#;

const GO_FUNCTION: &str = r#"// CopyFile copies a file from src to dst. If src and dst files exist, and are
// the same, then return success. Otherwise, copy the file contents.
func CopyFile(src, dst string) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return
	}
	defer in.Close()

	out, err := os.Create(dst)
	if err != nil {
		return
	}
	_, err = io.Copy(out, in)
	return
}
"#;

const C_FUNCTION: &str = r#"#include <stdio.h>
#include <stdlib.h>

/* Copy the file at SRC to DST; return 0 on success, -1 on error
   with errno set.  */
static int
copy_file (const char *src, const char *dst)
{
  FILE *in = fopen (src, "rb");
  if (in == NULL)
    return -1;

  char buf[4096];
  size_t n;
  while ((n = fread (buf, 1, sizeof buf, in)) > 0)
    fwrite (buf, 1, n, stdout);
  fclose (in);
  return 0;
}
"#;

#[test]
fn bare_functions_are_one_code_segment_in_their_language() {
    for (source, language) in [
        (PYTHON_FUNCTION, Language::Python),
        (JAVA_METHOD, Language::Java),
        (GO_FUNCTION, Language::Go),
        (C_FUNCTION, Language::C),
    ] {
        let got = split(source);
        assert_eq!(got.len(), 1, "{language:?}: {got:?}");
        assert_eq!(got[0], (true, source.to_string(), Some(language), false), "{language:?}");
    }
}

#[test]
fn a_line_of_prose_before_and_after_bare_code_stays_prose() {
    for (source, language) in [(PYTHON_FUNCTION, Language::Python), (GO_FUNCTION, Language::Go)] {
        let answer = format!("Here you go:\n{source}\nThis copies every file and returns the destination.\n");
        let got = code_segments(&answer);
        assert_eq!(got, vec![(source.to_string(), Some(language))], "{answer}");
        let tight = format!("Here you go:\n{source}This copies every file and returns the destination.\n");
        assert_eq!(code_segments(&tight), vec![(source.to_string(), Some(language))], "{tight}");
    }
}

#[test]
fn code_interleaved_with_short_prose_lines_is_split_there() {
    let answer = "First import the module:\n\nimport os\nimport shutil\n\nThen copy the tree:\n\nshutil.copytree(src, dst)\nif os.path.exists(src):\n    os.remove(src)\n";
    let got = code_segments(answer);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].0, "import os\nimport shutil\n");
    assert_eq!(got[1].0, "shutil.copytree(src, dst)\nif os.path.exists(src):\n    os.remove(src)\n");
    // Two lines that could be any language hold no evidence worth a parse: prose.
    assert!(code_segments("Then:\n\nshutil.copytree(src, dst)\nos.remove(src)\n").is_empty());
}

/// A runner-up close on points is checked too, but only when its grammar reads the stretch's
/// start: C whose `const`s make JavaScript a close second, with designated initializers, is not
/// also read, at length, as JavaScript (the checker would parse all of it again for nothing). A
/// short stretch the runner-up reads keeps that tree: it is not parsed twice.
#[test]
fn a_close_runner_up_is_checked_only_where_its_grammar_reads_the_start() {
    let head = "CFLOAT\nM_DECL_FUNC (__ctanh) (CFLOAT x)\n{\n  CFLOAT res;\n  static int n = 0;\n  const int t = (int) ((M_MAX_EXP - 1) * M_MLIT (M_LN2) / 2);\n";
    let body: String = (0..10).map(|i| format!("  FLOAT v{i}[2] = {{ [0] = 1, [1] = {i} }};\n")).collect();
    let long = format!("{head}{body}  return res;\n}}\n");
    let short = format!("{head}  return res;\n}}\n");
    for c in [&long, &short] {
        let ranked = rank(c, LanguageSet::ALL);
        assert_eq!(
            (ranked[0].language, ranked[1].language),
            (Language::C, Language::JavaScript),
            "{ranked:?}"
        );
        assert!(ranked[1].score >= CLOSE_RUNNER_UP * ranked[0].score, "a close call: {ranked:?}");
    }
    let options = SplitOptions::default();
    let long = split_answer_with(&long, &mut Parser::new(), &options);
    assert_eq!(long.len(), 1);
    assert_eq!(long[0].segment.language, Some(Language::C));
    assert!(long[0].segment.alternatives.is_empty(), "{:?}", long[0].segment);
    let short = split_answer_with(&short, &mut Parser::new(), &options);
    assert_eq!(short[0].segment.alternatives, vec![Some(Language::JavaScript)]);
    assert!(short[0].tree(Language::JavaScript).is_some(), "the runner-up's tree is kept");
}

#[test]
fn uncertain_stretches_are_read_both_ways() {
    // Clean code is code; code that parses badly in its language is also read as prose.
    assert!(split_answer(GO_FUNCTION, &mut Parser::new())[0].alternatives.is_empty());
    let broken =
        GO_FUNCTION.replace("if err != nil {", "if err != nil { {{ ((").replace("return\n", "return ;;)\n");
    let segments = split_answer(&broken, &mut Parser::new());
    assert!(segments.iter().any(|s| !s.alternatives.is_empty()), "{segments:?}");
    // Reads as code line by line and has evidence of a language, but does not parse as it: prose,
    // also read as code in that language.
    let fake = "func call(this) and that;\nfunc then (more) of it := 3;\nand so on, forever, {\n";
    let segments = split_answer(fake, &mut Parser::new());
    assert!(segments.iter().all(|s| s.code || s.alternatives == vec![Some(Language::Go)]), "{segments:?}");
    // A close second language is checked too.
    let method = "public int count(Item a) {\n    int total = 0;\n    for (int i = 0; i < n; i++) {\n        total += a.size(i);\n    }\n    return total;\n}\n";
    let segments = split_answer(method, &mut Parser::new());
    let readings: Vec<Option<Language>> =
        segments[0].alternatives.iter().copied().chain([segments[0].language]).collect();
    assert!(readings.contains(&Some(Language::Java)), "{segments:?}");
}

#[test]
fn allowed_languages_and_hints_decide_without_detection() {
    let java_only = SplitOptions { languages: LanguageSet::only(Language::Java), hint: None };
    let got = split_answer_with(GO_FUNCTION, &mut Parser::new(), &java_only);
    assert!(got.iter().all(|p| p.segment.language.is_none_or(|l| l == Language::Java)));
    let prose_only = SplitOptions { languages: LanguageSet::NONE, hint: None };
    let got = split_answer_with(PYTHON_FUNCTION, &mut Parser::new(), &prose_only);
    assert_eq!(got.len(), 1);
    assert!(!got[0].segment.code);
    // With a hint, code is in that language, and only sentences end it (not lines that merely read
    // as prose, such as `first line of the docstring`); sentences stay prose.
    let hinted = SplitOptions { languages: LanguageSet::ALL, hint: Some(Language::Python) };
    let completion = "if n < 2:\n    return n\nreturn fib(n - 1) + fib(n - 2)  # all of it, at once\nThat is the whole function, and it is slow for large numbers.\n";
    let got = split_answer_with(completion, &mut Parser::new(), &hinted);
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].segment.language, Some(Language::Python));
    assert!(completion[got[0].segment.start..got[0].segment.end].ends_with("at once\n"));
    assert!(!got[1].segment.code);
    // A completion that begins inside a docstring: the code after it is code, not string.
    let mid_docstring = "the list, in order.\n    \"\"\"\n    result = []\n    for x in xs:\n        result.append(x)\n    return result\n";
    let got = split_answer_with(mid_docstring, &mut Parser::new(), &hinted);
    let code: Vec<&Segment> = got.iter().map(|p| &p.segment).filter(|s| s.code).collect();
    assert_eq!(code.len(), 1);
    assert!(
        mid_docstring[code[0].start..].starts_with("    result = []") && code[0].end == mid_docstring.len()
    );
    // With fences, the hint names the language of untagged blocks.
    let got = split_answer_with("Try:\n```\nx = 1\n```\n", &mut Parser::new(), &hinted);
    assert_eq!(got[1].segment.language, Some(Language::Python));
}

#[test]
fn kept_trees_are_of_exactly_the_segment() {
    let answer = format!("Here you go:\n\n{PYTHON_FUNCTION}\nThat is all.\n");
    let parsed = split_answer_with(&answer, &mut Parser::new(), &SplitOptions::default());
    assert!(parsed.iter().any(|p| p.tree(Language::Python).is_some()));
    for p in parsed {
        for (_, tree) in &p.trees {
            assert_eq!(tree.root_node().end_byte(), p.segment.end - p.segment.start);
        }
    }
}

#[test]
fn untagged_fences_around_text_that_is_not_code_have_no_language() {
    // A quotation, and roff markup: fenced, so code segments, but checked as prose (no language).
    let quote = "```\nIt was the best of times, it was the worst of times, it was the age of wisdom.\n```\n";
    assert_eq!(split(quote)[0].2, None);
    let roff = format!(
        "~~~\n{}~~~\n",
        ".\\\" http://bugs.example.org/507673\n.TH GROFF 1 \"2009\"\n.SH NAME\n".repeat(40)
    );
    assert_eq!(split(&roff)[0].2, None);
    assert!(prefix(&roff, 1024).len() <= 1024 && prefix(&roff, 1024).ends_with('\n'));
}

#[test]
fn a_fenced_block_without_a_line_of_code_needs_the_evidence_unfenced_text_needs() {
    // A man page's roff under a tilde fence: Ruby's grammar found a little evidence in it and spent
    // 6 ms of error recovery on 2 KB. No line of it reads as code, so it is prose, unparsed.
    let page = r#".ie \n(.g .ds Aq \(aq
.el       .ds Aq '
.\" -----------------------------------------------------------------
.\" * set default formatting
.\" -----------------------------------------------------------------
.\" disable hyphenation
.nh
.\" disable justification (adjust text to left margin only)
.ad l
.\" -----------------------------------------------------------------
.\" * MAIN CONTENT STARTS HERE *
.\" -----------------------------------------------------------------
.SH "NAME"
pam_mkhomedir \- PAM module to create users home directory
.SH "SYNOPSIS"
.HP \w'\fBpam_mkhomedir\&.so\fR\ 'u
\fBpam_mkhomedir\&.so\fR [silent] [debug] [umask=\fImode\fR] [skel=\fIskeldir\fR]
.SH "DESCRIPTION"
.PP
The pam_mkhomedir PAM module will create a users home directory if it does not exist when the session begins\&. This allows users to be present in central database (such as NIS, kerberos or LDAP) without using a distributed file system or pre\-creating a large number of directories\&. "#;
    let answer = format!("~~~~~~~~~~~~\n{page}\n");
    let parts = split_answer_with(&answer, &mut Parser::new(), &SplitOptions::default());
    let block = parts.iter().find(|p| p.segment.fenced).expect("the fenced block is a segment");
    assert_eq!(block.segment.language, None);
    assert!(block.segment.alternatives.is_empty(), "{:?}", block.segment.alternatives);
    assert!(block.trees.is_empty(), "nothing was parsed");
    // A block of real code with no line the scan calls code still needs only a fence's evidence.
    assert_eq!(code_segments("```\nint main(void) { return 0; }\n```\n")[0].1, Some(Language::C));
}

#[test]
fn prose_stays_prose() {
    let answer = "The function returns a value. It is called twice, once for each input.\n\nIn short: yes.";
    assert!(split(answer).iter().all(|s| !s.0));
    let wrapped = "If the caller passes a path that does not exist, the function\nreturns None instead of raising, which keeps the loop going; the\nlog records it (once per run) for later.\n";
    assert!(split(wrapped).iter().all(|s| !s.0), "{:?}", split(wrapped));
    assert!(split_answer("", &mut Parser::new()).is_empty());
}

#[test]
fn a_fenced_block_that_begins_inside_a_docstring_is_code_after_it() {
    let tail = "    converted to lowercase, with underscores replaced by dashes.\n    \"\"\"\n";
    let code = "    if cls is None:\n        cls = Command\n    return cls(name)\n";
    let answer = format!("```python\n{tail}{code}```\n");
    let got = split(&answer);
    assert_eq!(got.iter().filter(|s| s.0).map(|s| s.1.as_str()).collect::<Vec<_>>(), vec![code]);
    assert_eq!(got.iter().find(|s| s.0).unwrap().2, Some(Language::Python));
}

#[test]
fn a_go_raw_string_of_prose_stays_inside_its_code() {
    // A doc string in backticks holds sentences; the code after its closing backtick is still code.
    let text = "package main\n\nimport \"fmt\"\n\nconst Doc = `check for string(int) conversions\n\nThis checker flags conversions of the form string(x) where x is an integer\n(but not byte or rune) type. Such conversions are discouraged because they\nreturn the UTF-8 representation of the Unicode code point x.\n`\n\nvar Analyzer = &Thing{\n\tName: \"stringintconv\",\n\tDoc:  Doc,\n}\n\nfunc run(pass int) (interface{}, error) {\n\tfor i := 0; i < pass; i++ {\n\t\tfmt.Println(i)\n\t}\n\treturn nil, nil\n}\n";
    let segments = split_answer(text, &mut Parser::new());
    assert_eq!(segments.len(), 1, "{segments:?}");
    assert!(segments[0].code && segments[0].language == Some(Language::Go), "{segments:?}");
}

#[test]
fn a_fenced_block_of_comments_alone_is_read_as_prose_without_a_parse() {
    let header = "/*\n * Copyright (C) 2008 The Example Open Source Project\n *\n * Licensed under the Apache License, Version 2.0 (the \"License\"); you may not use\n * this file except in compliance with the License, and you may obtain a copy of it.\n */\n";
    for info in ["", "kotlin"] {
        let answer = format!("The header:\n```{info}\n{header}```\nThat is all.");
        let parts = split_answer_with(&answer, &mut Parser::new(), &SplitOptions::default());
        let block = parts.iter().find(|p| p.segment.fenced).expect("the fenced block is a segment");
        assert_eq!(block.segment.language, None, "{info:?}");
        assert!(block.segment.alternatives.is_empty(), "{info:?}: {:?}", block.segment.alternatives);
        assert!(block.trees.is_empty(), "{info:?}: nothing was parsed");
    }
    // The same header above code: the block is code, in the code's language.
    let answer = format!("```\n{header}#include <stdio.h>\nint main(void) {{\n    printf(\"hi\\n\");\n    return 0;\n}}\n```\n");
    let code = code_segments(&answer);
    assert_eq!(code.len(), 1);
    assert_eq!(code[0].1, Some(Language::C));
}

#[test]
fn a_badly_parsing_tagged_block_is_read_in_another_language_only_on_stronger_evidence() {
    let alternatives = |answer: &str| {
        let block = split_answer(answer, &mut Parser::new()).into_iter().find(|s| s.fenced).unwrap();
        (block.language, block.alternatives)
    };
    // JavaScript under a python tag: what the text says for JavaScript outweighs the tag.
    let js = "```python\nconst total = items.reduce((sum, item) => sum + item.price, 0);\nif (total === 0) {\n  console.log('empty');\n}\nmodule.exports = { total };\n```\n";
    let (language, others) = alternatives(js);
    assert_eq!(language, Some(Language::Python));
    assert_eq!(others, vec![Some(Language::JavaScript), None]);
    // Python cut off mid-statement under its own tag: read as prose too, not in a second grammar.
    let broken = "```python\n    if value is None:\n        snippet = \"function check(x) { return typeof x === 'undefined'; }\"\n  return {key: value for key, value in self.items() if value is not None\n        except KeyError:\n    pass\n```\n";
    let (language, others) = alternatives(broken);
    assert_eq!(language, Some(Language::Python));
    assert_eq!(others, vec![None], "{broken}");
}

#[test]
fn a_failed_favourite_is_retried_only_in_a_language_with_a_fair_share_of_its_evidence() {
    // Python broken in a signature (its grammar leaves much of it in errors), rendering a line of
    // JavaScript: JavaScript, far outscored, is not parsed after Python fails.
    let cut = "                 key=None, reverse=False:\n        \"\"\"Sort the items.\"\"\"\n        if key is None:\n            raise ValueError(\"no key\")\n        elif self.items is not None:\n            self.items.sort(key=lambda item: item.rank, reverse=reverse)\n        try:\n            self.render(\"function(x) { return x === y }\")\n        except KeyError:\n            pass\n    return self\n";
    let parses = std::rc::Rc::new(std::cell::Cell::new(0));
    let counted = parses.clone();
    let mut parser = Parser::new();
    parser.set_logger(Some(Box::new(move |_, message: &str| {
        if message.starts_with("new_parse") {
            counted.set(counted.get() + 1);
        }
    })));
    let parts = split_answer_with(cut, &mut parser, &SplitOptions::default());
    assert_eq!(parses.get(), 1, "only the favourite is parsed");
    assert_eq!(parts.len(), 1);
    let segment = &parts[0].segment;
    assert!(!segment.code && segment.language.is_none(), "{segment:?}");
    assert_eq!(segment.alternatives, vec![Some(Language::Python)]);
    assert!(parts[0].tree(Language::Python).is_some(), "the favourite's tree is kept for that reading");
}

#[test]
fn python_cut_in_its_signature_is_read_as_python_from_the_line_after() {
    // The signature's tail closes a bracket it never opened: parsed from the next line on (that
    // line's tokens from a parse of its own), the body is Python with few errors, not prose.
    let cut = "                 key=None, reverse=False):\n        \"\"\"Sort the items.\"\"\"\n        if key is None:\n            raise ValueError(\"no key\")\n        elif self.items is not None:\n            self.items.sort(key=lambda item: item.rank, reverse=reverse)\n    return self\n";
    let parts = split_answer_with(cut, &mut Parser::new(), &SplitOptions::default());
    assert_eq!(parts.len(), 1);
    let segment = &parts[0].segment;
    assert_eq!((segment.code, segment.language), (true, Some(Language::Python)), "{segment:?}");
    assert!(segment.alternatives.is_empty(), "it parses cleanly: no other reading");
    let tree = parts[0].tree(Language::Python).unwrap();
    assert_eq!(tree.root_node().start_byte(), cut.find('\n').unwrap() + 1 + 8);
}

#[test]
fn release_notes_with_underlined_headings_are_prose() {
    let notes = "Git v2.3.7 Release Notes\n========================\n\nFixes since v2.3.6\n------------------\n\n * An earlier update to the parser that dissects a URL broke an\n   address, followed by a colon, followed by an empty string (instead\n   of the port number), e.g. ssh://example.com:/path/to/repo.\n\n * The completion script (in contrib/) contaminated global namespace\n   and clobbered on a shell variable $x.\n";
    let parts = split_answer_with(notes, &mut Parser::new(), &SplitOptions::default());
    assert!(parts.iter().all(|p| !p.segment.code && p.segment.alternatives.is_empty()), "{:?}", split(notes));
    assert!(parts.iter().all(|p| p.trees.is_empty()), "nothing was parsed");
}
