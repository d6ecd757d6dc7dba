//! Which language is this code? Parse it with every grammar and prefer the one that finds the fewest
//! syntax errors; among near-ties, decide by tell-tale constructs (`#include`, `fn main`, `<?php`, ...)
//! and then by a fixed order of how common the languages are in model answers.

use super::languages::Language;
use tree_sitter::Parser;

/// What one tell-tale construct is worth, in share of bytes in error.
const HINT_BONUS: f64 = 0.02;
/// Added to the score of a permissive grammar that finds none of its constructs.
const PERMISSIVE_PENALTY: f64 = 0.05;
/// Code whose best parse leaves more than this share of its bytes in errors is not called code.
pub const MAX_ERROR_SHARE: f64 = 0.15;

/// Tell-tale substrings per language (each found one adds a point), checked only to break ties.
fn hints(language: Language) -> &'static [&'static str] {
    match language {
        Language::Python => &["def ", "elif ", "import ", "self.", "print(", "None", "):\n", "lambda "],
        Language::JavaScript => {
            &["function ", "const ", "let ", "=> ", "console.", "require(", "===", "var "]
        }
        Language::TypeScript => {
            &["interface ", ": string", ": number", ": boolean", "type ", "<T>", "readonly "]
        }
        Language::Tsx => &["/>", "</", "props", "React", "tsx", "useState"],
        Language::Java => {
            &["public class", "System.out", "private ", "import java", "@Override", "extends ", "new "]
        }
        Language::C => &[
            "for (int ",
            "++)",
            "#include",
            "printf(",
            "malloc(",
            "int main",
            "->",
            "NULL",
            "sizeof(",
            "struct ",
            "char *",
            "void *",
            "unsigned ",
            "#define",
            "#if",
            "static inline",
        ],
        Language::Cpp => &["std::", "#include <", "template", "cout", "namespace ", "::", "nullptr", "auto "],
        Language::Go => &["package ", "func ", ":= ", "fmt.", "go ", "chan ", "defer ", "err != nil"],
        Language::Rust => &["fn ", "let mut", "impl ", "-> ", "::new", "pub fn", "match ", "println!"],
        Language::CSharp => {
            &["using System", "namespace ", "Console.", "public class", "var ", "async Task", "get;"]
        }
        Language::Ruby => &["end\n", "puts ", "def ", "do |", "require '", "attr_", ".each", "@"],
        Language::Php => &["<?php", "$", "echo ", "->", "function ", "=> ", "array("],
    }
}

/// Ties are finally broken in this order: roughly how often each language appears in answers.
const PRIORITY: [Language; 12] = [
    Language::Python,
    Language::JavaScript,
    Language::TypeScript,
    Language::Java,
    Language::C,
    Language::Cpp,
    Language::CSharp,
    Language::Go,
    Language::Rust,
    Language::Php,
    Language::Ruby,
    Language::Tsx,
];

/// Bytes covered by ERROR nodes plus one per MISSING node, over the source length.
pub fn error_share(parser: &mut Parser, source: &str, language: Language) -> f64 {
    if parser.set_language(&language.grammar()).is_err() || source.trim().is_empty() {
        return 1.0;
    }
    let Some(tree) = parser.parse(source, None) else { return 1.0 };
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
                return (error_bytes as f64 / source.len().max(1) as f64).min(1.0);
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

fn hint_score(source: &str, language: Language) -> usize {
    hints(language).iter().filter(|hint| source.contains(*hint)).count()
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
    // PHP's grammar reads anything before `<?php` as HTML text, without a single error: it only
    // competes when the code has a PHP open tag.
    let php = source.contains("<?php") || source.contains("<?=");
    let candidates: Vec<Language> = PRIORITY.into_iter().filter(|&l| l != Language::Php || php).collect();
    best_of(parser, source, &candidates)
}

/// Like [`detect`], but only among the few languages whose tell-tale constructs the text shows, and
/// `None` when it shows none. For unfenced paragraphs of an answer, where most text is prose: a few
/// parses instead of one per grammar keeps a check within its latency budget.
pub fn detect_with_hints(
    parser: &mut Parser,
    source: &str,
    max_candidates: usize,
) -> Option<(Language, f64)> {
    let php = source.contains("<?php") || source.contains("<?=");
    let mut hinted: Vec<(usize, Language)> = PRIORITY
        .into_iter()
        .filter(|&l| l != Language::Php || php)
        .map(|l| (hint_score(source, l), l))
        .filter(|&(hints, _)| hints > 0)
        .collect();
    // Most hints first; the sort is stable, so ties keep the priority order.
    hinted.sort_by_key(|&(hints, _)| std::cmp::Reverse(hints));
    let candidates: Vec<Language> = hinted.into_iter().take(max_candidates).map(|(_, l)| l).collect();
    if candidates.is_empty() {
        return None;
    }
    best_of(parser, source, &candidates)
}

fn best_of(parser: &mut Parser, source: &str, candidates: &[Language]) -> Option<(Language, f64)> {
    let mut best: Option<(f64, Language, f64)> = None;
    for &language in candidates {
        let mut errors = error_share(parser, source, language);
        // Answers often show a bare method (it only parses inside a class body) or a few bare
        // statements (they only parse inside a function body in C, C++, Java and C#).
        for wrapper in wrappers(language) {
            if errors == 0.0 {
                break;
            }
            errors = errors.min(error_share(parser, &wrapper.replace("{}", source), language));
        }
        let hints = hint_score(source, language);
        let permissive = matches!(language, Language::Ruby | Language::Tsx) && hints == 0;
        let score =
            errors - HINT_BONUS * hints.min(4) as f64 + if permissive { PERMISSIVE_PENALTY } else { 0.0 };
        // Strictly lower scores win, so on equal scores the earlier (more common) language stays.
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
