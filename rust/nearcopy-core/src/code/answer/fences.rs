//! Markdown fences: the lines that open and close them, and what their info string names.

use crate::code::languages::Language;

/// `(fence char, run length, info string)` if the line opens or closes a fence.
pub(super) fn fence(line: &str) -> Option<(char, usize, &str)> {
    let trimmed = line.trim_start();
    let first = trimmed.chars().next()?;
    if first != '`' && first != '~' {
        return None;
    }
    let run = trimmed.chars().take_while(|&c| c == first).count();
    if run < 3 {
        return None;
    }
    let info = trimmed[run..].trim();
    if first == '`' && info.contains('`') {
        return None; // inline code spanning a line, not a fence
    }
    Some((first, run, info))
}

/// Fence tags of text that is not code in any language nearcopy parses: the block is prose.
#[rustfmt::skip]
pub(super) const PLAIN_TAGS: &[&str] = &[
    "bash", "sh", "shell", "zsh", "fish", "console", "shell-session", "powershell", "ps1", "bat", "cmd",
    "json", "jsonc", "json5", "yaml", "yml", "toml", "ini", "cfg", "conf", "xml", "html", "svg", "css",
    "scss", "less", "sql", "text", "txt", "plain", "plaintext", "output", "log", "diff", "patch",
    "markdown", "md", "rst", "tex", "latex", "csv", "tsv", "dockerfile", "makefile", "make", "nginx",
    "http", "graphql", "proto", "mermaid", "dot", "regex",
];

/// The first word of a fence's info string, lowercased, without braces or dots.
pub(super) fn tag_word(info: &str) -> String {
    let tag = info.split_whitespace().next().unwrap_or("").trim_matches(|c| c == '{' || c == '}' || c == '.');
    tag.split([',', ':']).next().unwrap_or(tag).to_ascii_lowercase()
}

/// The language a fence tag names (`python`, `py`, `{.rust}`, `c++ title="x"`), if nearcopy knows it.
pub fn language_of_tag(info: &str) -> Option<Language> {
    Language::parse(&tag_word(info)).ok()
}
