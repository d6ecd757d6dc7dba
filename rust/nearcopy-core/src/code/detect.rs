//! Which language is this code? Parse it with every grammar and prefer the one that finds the fewest
//! syntax errors; among near-ties, decide by tell-tale constructs (`#include`, `fn main`, `<?php`, ...)
//! and then by a fixed order of how common the languages are in model answers.

use super::languages::Language;
use super::lexid::{rank, Evidence, LanguageSet};
use super::python_start::parse_code;
use tree_sitter::{Parser, Tree};

/// What each `LEXICAL_UNIT` of lexical evidence (up to four) is worth, in share of bytes in error.
const LEXICAL_BONUS: f64 = 0.02;
const LEXICAL_UNIT: f64 = 3.0;
/// Added to the score of a permissive grammar that finds none of its constructs.
const PERMISSIVE_PENALTY: f64 = 0.05;
/// How many of the lexically best languages [`detect`] parses.
const DETECT_CANDIDATES: usize = 4;
/// Code whose best parse leaves more than this share of its bytes in errors is not called code.
pub const MAX_ERROR_SHARE: f64 = 0.15;

/// Bytes covered by ERROR nodes plus one per MISSING node, over the source length.
pub fn error_share(parser: &mut Parser, source: &str, language: Language) -> f64 {
    match parse(parser, source, language) {
        Some(tree) => tree_error_share(&tree, source.len()),
        None => 1.0,
    }
}

/// `source` parsed as `language`; None for blank source or a grammar that will not load.
pub fn parse(parser: &mut Parser, source: &str, language: Language) -> Option<Tree> {
    if parser.set_language(&language.grammar()).is_err() || source.trim().is_empty() {
        return None;
    }
    parse_code(parser, source, language)
}

/// The error share of a parsed tree of `source_len` bytes (see [`error_share`]).
pub fn tree_error_share(tree: &Tree, source_len: usize) -> f64 {
    let root = tree.root_node();
    if !root.has_error() {
        return 0.0;
    }
    let mut error_bytes = 0usize;
    let mut cursor = tree.walk();
    loop {
        let node = cursor.node();
        let descend = if node.is_error() {
            error_bytes += node.end_byte() - node.start_byte();
            false
        } else {
            if node.is_missing() {
                error_bytes += 1;
            }
            node.has_error()
        };
        if descend && cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return (error_bytes as f64 / source_len.max(1) as f64).min(1.0);
            }
        }
    }
}

/// Bodies a bare snippet may belong in, per language (`{}` stands for the snippet).
fn wrappers(language: Language) -> &'static [&'static str] {
    match language {
        Language::JavaScript | Language::TypeScript => &["class Snippet {\n{}\n}\n"],
        Language::Java | Language::CSharp => {
            &["class Snippet {\n{}\n}\n", "class Snippet { void snippet() {\n{}\n} }\n"]
        }
        Language::C | Language::Cpp => &["void snippet(void) {\n{}\n}\n"],
        _ => &[],
    }
}

/// The most likely language of `source` and the share of its bytes that language's parse left in
/// errors; `None` for empty input.
///
/// Each grammar's score is its error share, less a small bonus per tell-tale construct found, plus a
/// penalty for the permissive grammars (Ruby, TSX) when none of their constructs appear: they parse
/// fragments of other languages with few errors.
pub fn detect(parser: &mut Parser, source: &str) -> Option<(Language, f64)> {
    if source.trim().is_empty() {
        return None;
    }
    // Only the lexical favourites are parsed: a parse with a wrong grammar costs milliseconds of
    // error recovery, and twelve of them made detection tens of milliseconds per 2 KB. `rank` also
    // leaves PHP out without an open tag (its grammar reads anything else as HTML without an error).
    let mut best: Option<(f64, Language, f64)> = None;
    for Evidence { language, lexical, .. } in
        rank(source, LanguageSet::ALL).into_iter().take(DETECT_CANDIDATES)
    {
        let mut errors = error_share(parser, source, language);
        // Answers often show a bare method (it only parses inside a class body) or a few bare
        // statements (they only parse inside a function body in C, C++, Java and C#).
        for wrapper in wrappers(language) {
            if errors == 0.0 {
                break;
            }
            errors = errors.min(error_share(parser, &wrapper.replace("{}", source), language));
        }
        let permissive = matches!(language, Language::Ruby | Language::Tsx) && lexical <= 0.0;
        let bonus = LEXICAL_BONUS * (lexical / LEXICAL_UNIT).clamp(0.0, 4.0);
        let score = errors - bonus + if permissive { PERMISSIVE_PENALTY } else { 0.0 };
        // Strictly lower scores win, so on equal scores the lexically better language stays.
        if best.is_none_or(|(s, _, _)| score < s) {
            best = Some((score, language, errors));
        }
    }
    best.map(|(_, language, errors)| (language, errors))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detected(source: &str) -> Option<Language> {
        detect(&mut Parser::new(), source).map(|(l, _)| l)
    }

    #[test]
    fn detects_typical_snippets() {
        assert_eq!(detected("def add(a, b):\n    return a + b\n"), Some(Language::Python));
        assert_eq!(
            detected("#include <stdio.h>\nint main(void) { printf(\"hi\\n\"); return 0; }"),
            Some(Language::C)
        );
        assert_eq!(detected("#include <iostream>\nint main() { std::cout << 1; }"), Some(Language::Cpp));
        assert_eq!(
            detected("package main\nimport \"fmt\"\nfunc main() { fmt.Println(1) }"),
            Some(Language::Go)
        );
        assert_eq!(
            detected("fn main() {\n    let mut v = Vec::new();\n    v.push(1);\n}"),
            Some(Language::Rust)
        );
        assert_eq!(detected("<?php\necho $x;\n"), Some(Language::Php));
        assert_eq!(detected("const f = (a) => a + 1;\nconsole.log(f(2));"), Some(Language::JavaScript));
        assert_eq!(
            detected("public class A {\n  public static void main(String[] a) { System.out.println(1); }\n}"),
            Some(Language::Java)
        );
        assert_eq!(detected("   \n"), None);
    }

    #[test]
    fn error_share_is_zero_for_valid_and_high_for_prose() {
        let mut parser = Parser::new();
        assert_eq!(error_share(&mut parser, "x = 1\n", Language::Python), 0.0);
        let prose = "This is a sentence, and it goes on; then it ends! Or does it?";
        assert!(error_share(&mut parser, prose, Language::Java) > MAX_ERROR_SHARE);
    }
}
