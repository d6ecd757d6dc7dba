use super::*;

fn symbols(source: &str, language: Language, identifiers: IdentifierMode) -> Vec<String> {
    let opts = CodeOptions { identifiers, ..CodeOptions::new(language) };
    let mut normalizer = CodeNormalizer::new();
    let tokens = normalizer.normalize(source, &opts).unwrap().to_vec();
    tokens.iter().map(|t| normalizer.normalized()[t.norm_start..t.norm_end].to_string()).collect()
}

const ORIGINAL: &str = "def total(items):\n    # sum the prices\n    acc = 0\n    for it in items:\n        acc += it.price * 2\n    return acc\n";
const RENAMED: &str =
    "def   grand_sum( xs ) :\n    s = 10   # start\n\n    for x in xs:\n        s += x.price*3\n    return s";

#[test]
fn renaming_reformatting_and_comments_do_not_change_the_stream() {
    for mode in [IdentifierMode::Placeholder, IdentifierMode::Consistent, IdentifierMode::Members] {
        assert_eq!(
            symbols(ORIGINAL, Language::Python, mode),
            symbols(RENAMED, Language::Python, mode),
            "{mode:?}"
        );
    }
    assert_ne!(
        symbols(ORIGINAL, Language::Python, IdentifierMode::Keep),
        symbols(RENAMED, Language::Python, IdentifierMode::Keep)
    );
}

#[test]
fn modes_abstract_as_documented() {
    let src = "x = obj.size + x";
    assert_eq!(
        symbols(src, Language::Python, IdentifierMode::Placeholder),
        ["$id", "=", "$id", ".", "$id", "+", "$id"]
    );
    assert_eq!(
        symbols(src, Language::Python, IdentifierMode::Consistent),
        ["$1", "=", "$2", ".", "$3", "+", "$1"]
    );
    assert_eq!(
        symbols(src, Language::Python, IdentifierMode::Members),
        ["$id", "=", "$id", ".", ".size", "+", "$id"]
    );
    assert_eq!(
        symbols("f('a', 3.5)", Language::Python, IdentifierMode::Keep),
        ["f", "(", "$str", ",", "$num", ")"]
    );
}

#[test]
fn spans_slice_the_source() {
    let src = "int main() { printf(\"hi %d\", 42); /* c */ return 0; }";
    let opts = CodeOptions::new(Language::C);
    let mut normalizer = CodeNormalizer::new();
    let tokens = normalizer.normalize(src, &opts).unwrap().to_vec();
    let originals: Vec<&str> = tokens.iter().map(|t| &src[t.start..t.end]).collect();
    assert_eq!(
        originals,
        [
            "int",
            "main",
            "(",
            ")",
            "{",
            "printf",
            "(",
            "\"hi %d\"",
            ",",
            "42",
            ")",
            ";",
            "return",
            "0",
            ";",
            "}"
        ]
    );
    assert_eq!(tokens[7].kind, TokenKind::String);
    assert_eq!(tokens[9].kind, TokenKind::Number);
}

#[test]
fn every_language_normalizes_a_snippet() {
    let snippets = [
        (Language::Python, "def f(a):\n    return a.b + 1  # c\n"),
        (Language::JavaScript, "function f(a) { return a.b + 1; } // c"),
        (Language::TypeScript, "function f(a: number): number { return a + 1; }"),
        (Language::Tsx, "const C = (p: Props) => <div>{p.x + 1}</div>; // c"),
        (Language::Java, "class A { int f(int a) { return a + 1; } } // c"),
        (Language::C, "int f(int a) { return a + 1; } /* c */"),
        (Language::Cpp, "template<class T> T f(T a) { return a + 1; } // c"),
        (Language::Go, "package p\nfunc f(a int) int { return a + 1 } // c"),
        (Language::Rust, "fn f(a: i32) -> i32 { a + 1 } // c"),
        (Language::CSharp, "class A { int F(int a) { return a + 1; } } // c"),
        (Language::Ruby, "def f(a)\n  a.b + 1 # c\nend"),
        (Language::Php, "<?php function f($a) { return $a + 1; } // c"),
    ];
    for (language, src) in snippets {
        let opts = CodeOptions::new(language);
        let mut normalizer = CodeNormalizer::new();
        let tokens = normalizer.normalize(src, &opts).unwrap().to_vec();
        assert!(tokens.len() >= 8, "{}: {:?}", language.name(), normalizer.normalized());
        assert!(tokens.iter().any(|t| t.kind == TokenKind::Identifier), "{}", language.name());
        assert!(tokens.iter().any(|t| t.kind == TokenKind::Number), "{}", language.name());
        for t in &tokens {
            assert!(t.start <= t.end && t.end <= src.len());
            let original = &src[t.start..t.end];
            assert!(
                !["#", "//", "/*"].iter().any(|c| original.starts_with(c)),
                "{}: comment kept",
                language.name()
            );
        }
    }
}

#[test]
fn broken_code_still_yields_tokens() {
    let truncated = "def f(a, b):\n    if a >\n        return [b for";
    let got = symbols(truncated, Language::Python, IdentifierMode::Placeholder);
    assert!(got.len() >= 10, "{got:?}");
    assert!(got.contains(&"return".to_string()));
}

#[test]
fn deep_nesting_and_big_input_do_not_overflow() {
    let deep = format!("x = {}1{}", "(".repeat(20_000), ")".repeat(20_000));
    let got = symbols(&deep, Language::Python, IdentifierMode::Placeholder);
    assert!(got.len() > 40_000);
    let unbalanced = "[".repeat(100_000);
    symbols(&unbalanced, Language::JavaScript, IdentifierMode::Placeholder);
}

#[test]
fn shingles_join_symbols() {
    let opts = CodeOptions { ngram: 3, ..CodeOptions::new(Language::Python) };
    let mut normalizer = CodeNormalizer::new();
    let mut out = Vec::new();
    normalizer.shingles("a = b", &opts, |s| out.push(String::from_utf8_lossy(s).into_owned())).unwrap();
    assert_eq!(out, ["$id = $id"]);
    out.clear();
    normalizer.shingles("", &opts, |s| out.push(String::from_utf8_lossy(s).into_owned())).unwrap();
    assert!(out.is_empty());
}

#[test]
fn error_leaves_get_a_symbol() {
    // Found by the code_normalizer fuzz target: an unterminated char literal ending in white space
    // became a childless ERROR node with an empty symbol (fuzz/regressions/code_normalizer/).
    let source = "fn main() { v.push(3);,println!(\"{}\", v.len')); }\n";
    let got = symbols(source, Language::Java, IdentifierMode::Placeholder);
    assert!(got.iter().all(|s| !s.is_empty()), "{got:?}");
    assert!(got.contains(&"ERROR".to_string()), "{got:?}");
}
