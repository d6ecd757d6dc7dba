//! Which language is this code, without parsing it? Weighted lexical evidence per language.
//!
//! Parsing text with the wrong grammar is the slowest thing a check can do (tree-sitter's error
//! recovery: 2 KB of Python read as JavaScript takes ~3 ms, as Python ~0.1 ms), so the answer
//! splitter ranks languages by tell-tale substrings and line shapes first and parses only the best
//! one or two. The evidence is deliberately about what a grammar would tokenize differently (`def`
//! and a colon-ended header, `:=`, `->` after `)`, `#include`), not about names.

use super::languages::Language;
use aho_corasick::AhoCorasick;
use std::sync::OnceLock;

/// A set of languages, as a bit per [`Language::index`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LanguageSet(u16);

impl LanguageSet {
    pub const ALL: LanguageSet = LanguageSet((1 << Language::ALL.len()) - 1);
    pub const NONE: LanguageSet = LanguageSet(0);

    pub fn only(language: Language) -> Self {
        LanguageSet(1 << language.index())
    }

    pub fn contains(self, language: Language) -> bool {
        self.0 & (1 << language.index()) != 0
    }

    pub fn insert(&mut self, language: Language) {
        self.0 |= 1 << language.index();
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Language> {
        Language::ALL.into_iter().filter(move |&l| self.contains(l))
    }
}

impl FromIterator<Language> for LanguageSet {
    fn from_iter<I: IntoIterator<Item = Language>>(iter: I) -> Self {
        let mut set = LanguageSet::NONE;
        iter.into_iter().for_each(|l| set.insert(l));
        set
    }
}

/// Substrings and what each is worth per occurrence (at most three occurrences count).
#[rustfmt::skip]
fn evidence(language: Language) -> &'static [(&'static str, f64)] {
    match language {
        Language::Python => &[
            ("def ", 3.0), ("elif ", 4.0), ("self.", 2.0), ("self,", 2.0), ("None", 1.5), ("import ", 1.0),
            ("):\n", 3.0), ("lambda ", 2.0), ("\"\"\"", 2.0), ("'''", 2.0), ("except ", 3.0),
            ("raise ", 2.0), (" not in ", 2.0), (" is not ", 2.0), ("True", 1.0), ("False", 1.0),
            ("print(", 1.0), ("__", 1.0), (" pass\n", 2.0), ("yield ", 1.0), ("with open(", 2.0),
            ("else:\n", 3.0), ("try:\n", 3.0), (" and ", 0.5), (" or ", 0.5), ("f\"", 1.0),
        ],
        Language::JavaScript => &[
            ("function ", 2.5), ("function(", 2.5), ("const ", 3.0), ("let ", 2.0), ("var ", 1.5),
            ("=> ", 1.5), ("===", 3.0), ("!==", 3.0), ("console.", 2.0), ("require(", 3.0),
            ("module.exports", 4.0), ("undefined", 2.0), ("this.", 1.0), ("async ", 1.0), ("await ", 1.0),
            ("typeof ", 2.0), (".prototype", 3.0), ("exports.", 2.0), ("${", 1.0), ("null", 0.5),
            ("new Promise", 2.0), ("});", 2.0), ("'use strict'", 4.0), ("_1.", 2.0),
            // what JavaScript does not have, C does: `const wchar_t *s1` gave JavaScript the `const`s
            // of a C function, which its grammar then read with few errors
            ("->", -1.5), ("struct ", -1.5), ("#include", -3.0), ("#define", -3.0), ("NULL", -2.0),
            ("sizeof", -2.0), ("size_t", -2.0), ("unsigned ", -2.0), ("char *", -2.0), ("void *", -2.0),
            ("typedef ", -2.0),
        ],
        Language::TypeScript => &[
            (": string", 3.0), (": number", 3.0), (": boolean", 3.0), ("interface ", 2.0), ("type ", 0.5),
            ("<T>", 2.0), ("readonly ", 2.0), (": void", 3.0), ("as any", 3.0), ("export type ", 3.0),
            ("implements ", 1.0), ("private ", 0.5), (": any", 3.0), ("const ", 1.0), ("=> ", 1.0),
            ("===", 1.5), ("!==", 1.5), ("function ", 1.0), ("let ", 1.0), ("import {", 1.0),
            ("export ", 0.5), ("): ", 1.5), ("?: ", 2.0),
            ("->", -1.5), ("struct ", -1.5), ("#include", -3.0), ("#define", -3.0), ("NULL", -2.0),
            ("sizeof", -2.0), ("size_t", -2.0), ("char *", -2.0), ("void *", -2.0), ("typedef ", -2.0),
        ],
        Language::Tsx => &[
            ("/>", 2.0), ("</", 2.0), ("props", 1.5), ("React", 2.0), ("useState", 3.0),
        ],
        Language::Java => &[
            ("public ", 1.5), ("private ", 1.5), ("protected ", 1.5), ("static ", 0.5), ("void ", 1.0),
            ("final ", 1.5), ("String ", 2.0), ("System.", 3.0), ("@Override", 4.0), ("extends ", 1.5),
            ("implements ", 1.5), ("throws ", 3.0), ("import java", 4.0), ("new ", 0.5), ("boolean ", 2.0),
            ("null", 1.0), ("instanceof ", 3.0), ("this.", 1.0), (" = new ", 1.0), ("@param", 1.0),
            ("catch (", 1.5), ("int ", 0.5), ("<String>", 2.0), ("List<", 1.0), ("throw new ", 1.5),
            // array types: `int[] a` is Java's (C writes `int a[]`)
            ("int[]", 2.0), ("byte[]", 2.0), ("char[]", 2.0), ("long[]", 2.0), ("String[]", 2.0),
            ("Object[]", 2.0),
        ],
        Language::C => &[
            ("#include", 3.0), ("#define", 3.0), ("->", 1.5), ("NULL", 2.0), ("sizeof", 2.0),
            ("struct ", 1.5), ("unsigned ", 2.0), ("char *", 2.0), ("void *", 2.0), ("static ", 1.0),
            ("malloc(", 2.0), ("free(", 1.5), ("printf(", 1.5), ("int ", 1.0), ("#if", 2.0),
            ("#endif", 2.0), ("typedef ", 2.0), ("const char", 2.0), ("size_t", 2.0), ("goto ", 2.0),
            ("__", 0.5), ("&&", 0.3), ("return ", 0.3), ("*)", 1.5), ("uint", 1.0), ("errno", 1.5),
            // what C does not have: access modifiers, `this`, method calls on objects
            ("public ", -2.0), ("private ", -2.0), ("protected ", -2.0), ("this.", -2.0),
            (").", -0.5), ("int[]", -2.0), ("byte[]", -2.0), ("char[]", -2.0), ("long[]", -2.0),
        ],
        Language::Cpp => &[
            ("std::", 4.0), ("::", 1.5), ("template", 3.0), ("typename ", 3.0), ("nullptr", 4.0),
            ("namespace ", 2.0), ("cout", 3.0), ("auto ", 1.5), ("const&", 2.0), ("virtual ", 2.0),
            ("override", 1.0), ("class ", 1.0), ("public:", 3.0), ("private:", 3.0), ("#include <", 1.0),
            ("->", 0.8), ("int ", 0.5), ("::iterator", 2.0), ("operator", 2.0), ("new ", 0.5),
            ("noexcept", 4.0), ("this->", 3.0), ("explicit ", 2.0), ("[[", 1.0), ("const_iterator", 3.0),
            ("_M_", 2.0), ("std::move", 2.0), ("&&", 0.3), ("constexpr", 3.0),
        ],
        Language::Go => &[
            ("func ", 4.0), (":= ", 3.0), ("package ", 2.0), ("err != nil", 4.0), ("nil", 1.5),
            ("defer ", 3.0), ("go func", 3.0), ("chan ", 3.0), ("fmt.", 2.0), ("range ", 1.5),
            ("struct {", 1.5), ("interface {", 2.0), (") error", 3.0), ("[]byte", 3.0), ("[]string", 3.0),
            ("var ", 0.5), ("type ", 0.5), ("int64", 1.0), ("errors.", 1.0), ("return nil", 1.5),
        ],
        Language::Rust => &[
            ("fn ", 3.0), ("let mut ", 4.0), ("impl ", 3.0), ("pub ", 1.5), ("-> ", 1.0), ("&self", 4.0),
            ("match ", 1.5), ("Some(", 2.0), ("Ok(", 2.0), ("Err(", 2.0), ("unwrap()", 3.0),
            ("println!", 3.0), ("use std", 4.0), ("Vec<", 2.0), ("#[derive", 4.0), ("&mut ", 3.0),
            ("::new(", 1.0), ("let ", 0.5), ("usize", 2.0), ("&str", 3.0), ("Option<", 2.0),
            ("Result<", 2.0), ("mut ", 1.0), ("?;", 2.0),
            // C's, never Rust's (Rust's words in a C comment, `match` and `let`, made C read as Rust)
            ("#include", -3.0), ("#define", -3.0), ("NULL", -2.0), ("sizeof", -2.0), ("unsigned ", -2.0),
            ("char *", -2.0), ("void *", -2.0), ("typedef ", -2.0),
        ],
        Language::CSharp => &[
            ("using System", 4.0), ("namespace ", 1.0), ("Console.", 3.0), ("public ", 1.0),
            ("string ", 1.5), ("var ", 1.0), ("get;", 4.0), ("set;", 4.0), ("async Task", 4.0),
            ("bool ", 1.5), ("override ", 1.0), ("readonly ", 1.5), ("void ", 0.5), ("=> ", 0.5),
            ("new ", 0.5), ("null", 0.5), ("foreach (", 3.0), ("<summary>", 3.0), ("IEnumerable<", 3.0),
            ("[Test", 2.0), ("Task<", 2.0),
        ],
        Language::Ruby => &[
            ("\nend", 2.5), ("def ", 1.5), ("do |", 4.0), ("puts ", 3.0), ("require '", 3.0),
            ("attr_", 3.0), (".each", 2.0), ("elsif ", 4.0), ("unless ", 3.0), ("nil", 1.5), ("@", 0.5),
            (" :", 0.5), ("module ", 1.0), ("raise ", 0.5), (".nil?", 3.0), ("end\n", 1.0), ("=> ", 0.5),
        ],
        Language::Php => &[
            ("<?php", 8.0), ("$this->", 4.0), ("echo ", 2.0), ("function ", 1.0), ("array(", 3.0),
            ("=> ", 0.5), ("$", 0.5), ("public function", 2.0), ("namespace ", 0.5), ("->", 0.5),
        ],
    }
}

/// Line shapes: the share of lines ending with a semicolon, with a brace, or with a colon that
/// opens a block, and lines that are only `end` — what separates the families.
struct Shape {
    semicolons: f64,
    braces: f64,
    colons: f64,
    ends: f64,
}

fn shape(source: &str) -> Shape {
    let (mut lines, mut semicolons, mut braces, mut colons, mut ends) = (0usize, 0, 0, 0, 0);
    for line in source.lines().map(str::trim_end).filter(|l| !l.trim().is_empty()) {
        lines += 1;
        match line.chars().last() {
            Some(';') => semicolons += 1,
            Some('{' | '}') => braces += 1,
            Some(':') => colons += 1,
            _ => {}
        }
        if line.trim() == "end" {
            ends += 1;
        }
    }
    let share = |n: usize| n as f64 / lines.max(1) as f64;
    Shape { semicolons: share(semicolons), braces: share(braces), colons: share(colons), ends: share(ends) }
}

fn shape_score(language: Language, shape: &Shape) -> f64 {
    let curly = 4.0 * shape.braces;
    match language {
        Language::Python => {
            8.0 * shape.colons - 10.0 * shape.semicolons - 8.0 * shape.braces - 6.0 * shape.ends
        }
        Language::Ruby => {
            12.0 * shape.ends - 6.0 * shape.semicolons - 4.0 * shape.braces - 4.0 * shape.colons
        }
        Language::Go => curly - 8.0 * shape.semicolons - 4.0 * shape.colons,
        Language::Php => curly + 2.0 * shape.semicolons,
        _ => curly + 4.0 * shape.semicolons - 4.0 * shape.colons - 6.0 * shape.ends,
    }
}

/// A line `if`/`for`/`switch`/`match` + a condition not in parentheses + `{`.
fn bare_condition(line: &str) -> bool {
    let trimmed = line.trim();
    let rest = ["if ", "for ", "switch ", "} else if "].iter().find_map(|k| trimmed.strip_prefix(k));
    rest.is_some_and(|rest| !rest.starts_with('(') && rest.len() > 1 && trimmed.ends_with('{'))
}

/// What `source` says for one language: the tell-tale constructs found (`lexical`), and that plus
/// how its line shapes fit the language (`score`, what languages are ranked by).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evidence {
    pub language: Language,
    pub score: f64,
    pub lexical: f64,
}

/// Every language's constructs in one automaton: counting them needle by needle scanned a block
/// some three hundred times (a tenth of a check's time); one pass finds them all.
struct Needles {
    automaton: AhoCorasick,
    /// For each pattern, the languages it is evidence for and its weight in each.
    weights: Vec<Vec<(Language, f64)>>,
    /// For each pattern, whether it counts only with a name right after it ([`NAME_AFTER`]).
    name_after: Vec<bool>,
}

/// Constructs that are code only with a name right after them: C++'s `Foo::bar` and `[[nodiscard]]`,
/// not reStructuredText's `.. tab:: Unix`, Perl's `CORE::%s` or a release note's `\[[`1c87ce6`]`,
/// which read as C++ and cost 1 to 5 ms each of its grammar's error recovery per 2 KB cut.
const NAME_AFTER: &[&str] = &["::", "[["];

/// Whether a needle found ending at `end` of `source` has a name right after it.
fn name_follows(source: &str, end: usize) -> bool {
    source[end..].bytes().next().is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'~')
}

fn needles() -> &'static Needles {
    static NEEDLES: OnceLock<Needles> = OnceLock::new();
    NEEDLES.get_or_init(|| {
        let mut patterns: Vec<&'static str> = Vec::new();
        let mut weights: Vec<Vec<(Language, f64)>> = Vec::new();
        for language in Language::ALL {
            for &(needle, weight) in evidence(language) {
                let at = patterns.iter().position(|&p| p == needle).unwrap_or_else(|| {
                    patterns.push(needle);
                    weights.push(Vec::new());
                    patterns.len() - 1
                });
                weights[at].push((language, weight));
            }
        }
        // The patterns are fixed and few: building cannot fail short of a bug the tests would see.
        let automaton = AhoCorasick::new(&patterns).expect("the evidence patterns build an automaton");
        let name_after = patterns.iter().map(|p| NAME_AFTER.contains(p)).collect();
        Needles { automaton, weights, name_after }
    })
}

/// What the constructs of [`evidence`] found in `source` are worth, per language (by index).
fn constructs(source: &str) -> [f64; Language::ALL.len()] {
    let needles = needles();
    let mut counts = vec![0u8; needles.weights.len()];
    for found in needles.automaton.find_overlapping_iter(source) {
        let pattern = found.pattern().as_usize();
        if needles.name_after[pattern] && !name_follows(source, found.end()) {
            continue;
        }
        let count = &mut counts[pattern];
        *count = (*count + 1).min(3); // each construct counts at most three times
    }
    let mut lexical = [0.0f64; Language::ALL.len()];
    for (pattern, &count) in counts.iter().enumerate().filter(|(_, &c)| c > 0) {
        for &(language, weight) in &needles.weights[pattern] {
            lexical[language.index()] += weight * f64::from(count);
        }
    }
    lexical
}

/// A line `if`/`elif`/`while`/`with` + a condition, or `for` + a name + ` in `, ended by `:`.
fn python_header(line: &str) -> bool {
    let trimmed = line.trim();
    let Some(rest) = ["if ", "elif ", "while ", "with ", "for "].iter().find_map(|k| trimmed.strip_prefix(k))
    else {
        return false;
    };
    let is_for = trimmed.starts_with("for ");
    trimmed.ends_with(':')
        && !trimmed.contains(['{', '}', ';'])
        && rest.len() > 1
        && (!is_for || rest.contains(" in "))
}

/// `package name`, as only Go writes it.
fn go_package_line(line: &str) -> bool {
    line.strip_prefix("package ")
        .is_some_and(|name| !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
}

/// Languages of `allowed` ranked by the evidence in `source`, best first. PHP takes part only with
/// an open tag: its grammar reads anything else as HTML without an error.
pub fn rank(source: &str, allowed: LanguageSet) -> Vec<Evidence> {
    let php = source.contains("<?php") || source.contains("<?=");
    let mut lexical = constructs(source);
    // `if x {`, `for k, v := range m {`, `switch x {`: a condition without parentheses before a
    // brace is Go's or Rust's, never C's, Java's or JavaScript's (partial Go often shows nothing else).
    let bare_conditions = source.lines().filter(|l| bare_condition(l)).take(3).count() as f64;
    if bare_conditions > 0.0 {
        for (language, weight) in [(Language::Go, 3.0), (Language::Rust, 2.0)] {
            lexical[language.index()] += weight * bare_conditions;
        }
        for language in [Language::C, Language::Cpp, Language::Java, Language::JavaScript, Language::CSharp] {
            lexical[language.index()] -= bare_conditions;
        }
    }
    // `package name` with no semicolon (Java's ends with one) and `import "fmt"` / `import (` open
    // every Go file, and `const (` / `var (` group Go's declarations (JavaScript writes neither): a
    // file of declarations alone (constants, tables) shows nothing else of Go, and JavaScript's
    // `const` and `var` then outrank it.
    let go_header = source
        .lines()
        .map(str::trim)
        .filter(|l| {
            go_package_line(l) || l.starts_with("import \"") || ["import (", "const (", "var ("].contains(l)
        })
        .take(3)
        .count() as f64;
    lexical[Language::Go.index()] += 6.0 * go_header;
    // `for item in items:`, `if ready:`, `while queue:`: a header ended by a colon, with no brace, is
    // Python's alone. Part of a function often shows nothing else of Python (no `def`, no `self.`):
    // 545 bytes of loops and calls cut from a function had no construct of any language, and were
    // read as prose without a parse.
    let headers = source.lines().filter(|l| python_header(l)).take(3).count() as f64;
    lexical[Language::Python.index()] += 2.0 * headers;
    let shape = shape(source);
    let mut ranked: Vec<Evidence> = allowed
        .iter()
        .filter(|&l| l != Language::Php || php)
        .map(|language| {
            let lexical = lexical[language.index()];
            Evidence { language, score: lexical + shape_score(language, &shape), lexical }
        })
        .collect();
    // Highest score first; equal scores keep the order of Language::ALL (the more common first).
    ranked.sort_by(|a, b| b.score.total_cmp(&a.score));
    ranked
}

#[cfg(test)]
mod tests;
