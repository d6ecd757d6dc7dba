//! What a caller tells the splitter: the languages code may be in, and a hint about the answer.

use crate::code::languages::Language;
use crate::code::lexid::LanguageSet;

/// How to split: which languages code may be in, and what the caller knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SplitOptions {
    /// Detection chooses among these (a protected index's languages: code in any other language
    /// cannot match it). Empty: everything is prose.
    pub languages: LanguageSet,
    /// The caller says the code is in this language (a completion, a code assistant's output): no
    /// detection, and only a sentence ends a stretch of code, not a line that merely reads like one.
    pub hint: Option<Language>,
}

impl Default for SplitOptions {
    fn default() -> Self {
        SplitOptions { languages: LanguageSet::ALL, hint: None }
    }
}

/// What the caller knows about an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Hint {
    /// Nothing: prose and code are told apart, and code's language detected.
    #[default]
    Auto,
    /// The answer is prose only.
    Text,
    /// The answer's code is in this language, and its lines are code unless they are sentences.
    Code(Language),
}

impl Hint {
    /// `None` or `"auto"`, `"text"`, or a language name or alias.
    pub fn parse(name: Option<&str>) -> crate::error::Result<Self> {
        match name.map(str::trim) {
            None | Some("auto") => Ok(Hint::Auto),
            Some("text") => Ok(Hint::Text),
            Some(name) => Ok(Hint::Code(Language::parse(name)?)),
        }
    }
}

impl SplitOptions {
    /// Options for code in `languages`, given what the caller knows.
    pub fn new(languages: LanguageSet, hint: Hint) -> Self {
        match hint {
            Hint::Auto => SplitOptions { languages, hint: None },
            Hint::Text => SplitOptions { languages: LanguageSet::NONE, hint: None },
            Hint::Code(language) => SplitOptions { languages, hint: Some(language) },
        }
    }
}
