use super::*;

fn words(text: &str) -> Vec<String> {
    words_with(text, &TextOptions::default())
}

fn words_with(text: &str, opts: &TextOptions) -> Vec<String> {
    let mut normalizer = Normalizer::new();
    let tokens = normalizer.tokens(text, opts);
    tokens.iter().map(|t| normalizer.normalized()[t.norm_start..t.norm_end].to_string()).collect()
}

#[test]
fn folds_case_punctuation_and_spacing() {
    assert_eq!(words("Hello,   WORLD!\n\tIt's  fine."), ["hello", "world", "it", "s", "fine"]);
    assert_eq!(words("snake_case-name"), ["snake", "case", "name"]);
}

#[test]
fn applies_nfkc_and_full_casefold() {
    assert_eq!(words("ＦＵＬＬｗｉｄｔｈ"), ["fullwidth"]);
    assert_eq!(words("ﬁnd STRASSE Straße"), ["find", "strasse", "strasse"]);
    assert_eq!(words("e\u{301}te\u{301}"), ["été"]);
    assert_eq!(words("½"), ["1", "2"]);
}

#[test]
fn no_space_scripts_are_one_token_per_character() {
    assert_eq!(words("中文abc日本"), ["中", "文", "abc", "日", "本"]);
    assert_eq!(words("ภาษาไทย"), ["ภ", "า", "ษ", "า", "ไ", "ท", "ย"]);
    assert_eq!(words("한국어 텍스트"), ["한국어", "텍스트"]);
}

#[test]
fn spans_point_into_the_original() {
    let text = "  Déjà-VU ½ 中x";
    let mut normalizer = Normalizer::new();
    let tokens = normalizer.tokens(text, &TextOptions::default());
    let originals: Vec<&str> = tokens.iter().map(|t| &text[t.orig_start..t.orig_end]).collect();
    assert_eq!(originals, ["Déjà", "VU", "½", "½", "中", "x"]);
}

#[test]
fn tokens_are_joined_by_single_spaces() {
    let mut normalizer = Normalizer::new();
    normalizer.tokens("A -- b,c", &TextOptions::default());
    assert_eq!(normalizer.normalized(), "a b c");
}

#[test]
fn options_turn_steps_off() {
    let raw = TextOptions { nfkc: false, casefold: false, ..TextOptions::default() };
    assert_eq!(words_with("ＡBc ﬁ", &raw), ["ＡBc", "ﬁ"]);
    let fold_only = TextOptions { nfkc: false, ..TextOptions::default() };
    assert_eq!(words_with("ＡBc", &fold_only), ["ａbc"]);
}

#[test]
fn odd_input_does_not_break() {
    assert!(words("").is_empty());
    assert!(words("\0\0 \u{FFFD} ...").is_empty());
    assert_eq!(words("a\0b"), ["a", "b"]);
    // A combining mark with nothing before it is a cluster of its own.
    assert_eq!(words("\u{301}x"), ["\u{301}x"]);
}

#[test]
fn long_input_is_linear() {
    let text = "word ".repeat(200_000);
    assert_eq!(words(&text).len(), 200_000);
    let marks = format!("a{}", "\u{301}".repeat(100_000));
    assert_eq!(words(&marks).len(), 1);
}
