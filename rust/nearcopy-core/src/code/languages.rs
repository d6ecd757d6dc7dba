//! The programming languages nearcopy parses, their names, aliases and file extensions.
//!
//! Every grammar is compiled into the extension from its crate: installing nearcopy installs all of
//! them, nothing is fetched at run time, and the grammar ABI always matches the runtime's.

use super::dense_tables::densified;
use crate::error::Result;
use crate::invalid;
use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Language {
    Python,
    JavaScript,
    TypeScript,
    Tsx,
    Java,
    C,
    Cpp,
    Go,
    Rust,
    CSharp,
    Ruby,
    Php,
}

impl Language {
    pub const ALL: [Language; 12] = [
        Language::Python,
        Language::JavaScript,
        Language::TypeScript,
        Language::Tsx,
        Language::Java,
        Language::C,
        Language::Cpp,
        Language::Go,
        Language::Rust,
        Language::CSharp,
        Language::Ruby,
        Language::Php,
    ];

    /// The canonical name (what `nearcopy.languages()` lists).
    pub fn name(self) -> &'static str {
        match self {
            Language::Python => "python",
            Language::JavaScript => "javascript",
            Language::TypeScript => "typescript",
            Language::Tsx => "tsx",
            Language::Java => "java",
            Language::C => "c",
            Language::Cpp => "cpp",
            Language::Go => "go",
            Language::Rust => "rust",
            Language::CSharp => "csharp",
            Language::Ruby => "ruby",
            Language::Php => "php",
        }
    }

    /// Other names people write, e.g. as a Markdown fence tag.
    fn aliases(self) -> &'static [&'static str] {
        match self {
            Language::Python => &["py", "python3", "py3", "python2", "gyp", "sage"],
            Language::JavaScript => &["js", "node", "nodejs", "jsx", "mjs", "cjs", "ecmascript"],
            Language::TypeScript => &["ts", "mts", "cts"],
            Language::Tsx => &[],
            Language::Java => &["jsp"],
            Language::C => &["h"],
            Language::Cpp => &["c++", "cxx", "cc", "hpp", "hxx", "hh", "h++", "cplusplus", "arduino", "ino"],
            Language::Go => &["golang"],
            Language::Rust => &["rs"],
            Language::CSharp => &["cs", "c#", "c-sharp", "dotnet"],
            Language::Ruby => &["rb", "jruby", "rake", "gemspec"],
            Language::Php => &["php3", "php4", "php5", "php7", "php8", "phtml"],
        }
    }

    /// File extensions (without the dot) that hold this language.
    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            Language::Python => &["py", "pyi", "pyw"],
            Language::JavaScript => &["js", "mjs", "cjs", "jsx"],
            Language::TypeScript => &["ts", "mts", "cts"],
            Language::Tsx => &["tsx"],
            Language::Java => &["java"],
            Language::C => &["c", "h"],
            Language::Cpp => &["cc", "cpp", "cxx", "c++", "hh", "hpp", "hxx", "h++", "ipp", "tcc"],
            Language::Go => &["go"],
            Language::Rust => &["rs"],
            Language::CSharp => &["cs", "csx"],
            Language::Ruby => &["rb", "rake", "gemspec", "ru"],
            Language::Php => &["php", "phtml", "php5", "php7", "php8"],
        }
    }

    /// A language by name or alias, case-insensitively; an unknown name is an error listing the
    /// supported ones.
    pub fn parse(name: &str) -> Result<Self> {
        let wanted = name.trim().to_ascii_lowercase();
        Language::ALL
            .into_iter()
            .find(|lang| lang.name() == wanted || lang.aliases().contains(&wanted.as_str()))
            .ok_or_else(|| {
                let names: Vec<&str> = Language::ALL.iter().map(|l| l.name()).collect();
                invalid!("unknown language {name:?}; supported: {}", names.join(", "))
            })
    }

    /// The language of a file extension (without the dot), if any. `.h` counts as C.
    pub fn from_extension(extension: &str) -> Option<Self> {
        let wanted = extension.to_ascii_lowercase();
        Language::ALL.into_iter().find(|lang| lang.extensions().contains(&wanted.as_str()))
    }

    /// The grammar nearcopy parses with: the crate's, its parse tables expanded once per process
    /// so that every lookup is one load (`dense_tables.rs` says why; the trees are the same).
    pub fn grammar(self) -> tree_sitter::Language {
        static DENSE: [OnceLock<tree_sitter::Language>; Language::ALL.len()] =
            [const { OnceLock::new() }; Language::ALL.len()];
        DENSE[self.index()].get_or_init(|| densified(self.crate_grammar())).clone()
    }

    /// The grammar as its crate ships it, its parse tables compressed.
    pub fn crate_grammar(self) -> tree_sitter::Language {
        match self {
            Language::Python => tree_sitter_python::LANGUAGE.into(),
            Language::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
            Language::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
            Language::Tsx => tree_sitter_typescript::LANGUAGE_TSX.into(),
            Language::Java => tree_sitter_java::LANGUAGE.into(),
            Language::C => tree_sitter_c::LANGUAGE.into(),
            Language::Cpp => tree_sitter_cpp::LANGUAGE.into(),
            Language::Go => tree_sitter_go::LANGUAGE.into(),
            Language::Rust => tree_sitter_rust::LANGUAGE.into(),
            Language::CSharp => tree_sitter_c_sharp::LANGUAGE.into(),
            Language::Ruby => tree_sitter_ruby::LANGUAGE.into(),
            Language::Php => tree_sitter_php::LANGUAGE_PHP.into(),
        }
    }

    pub(crate) fn index(self) -> usize {
        Language::ALL.iter().position(|&l| l == self).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_aliases_resolve() {
        assert_eq!(Language::parse("Python"), Ok(Language::Python));
        assert_eq!(Language::parse("c++"), Ok(Language::Cpp));
        assert_eq!(Language::parse("golang"), Ok(Language::Go));
        assert_eq!(Language::parse(" TS "), Ok(Language::TypeScript));
        assert_eq!(Language::parse("C#"), Ok(Language::CSharp));
        let err = Language::parse("cobol").unwrap_err().to_string();
        assert!(err.contains("cobol") && err.contains("python") && err.contains("php"), "{err}");
    }

    #[test]
    fn extensions_resolve() {
        assert_eq!(Language::from_extension("PY"), Some(Language::Python));
        assert_eq!(Language::from_extension("h"), Some(Language::C));
        assert_eq!(Language::from_extension("tsx"), Some(Language::Tsx));
        assert_eq!(Language::from_extension("txt"), None);
    }

    #[test]
    fn every_grammar_loads_with_a_supported_abi() {
        for lang in Language::ALL {
            let abi = lang.grammar().abi_version();
            assert!((13..=15).contains(&abi), "{} has ABI {abi}", lang.name());
            let mut parser = tree_sitter::Parser::new();
            assert!(parser.set_language(&lang.grammar()).is_ok(), "{}", lang.name());
        }
    }
}
