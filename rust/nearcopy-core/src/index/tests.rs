use super::*;
use crate::code::{Hint, Language};
use crate::fingerprint::{FingerprintTable, Winnowings};

const PROTECTED_CODE: &str = "def merge_sorted(left, right):\n    result = []\n    i = j = 0\n    while i < len(left) and j < len(right):\n        if left[i] <= right[j]:\n            result.append(left[i])\n            i += 1\n        else:\n            result.append(right[j])\n            j += 1\n    result.extend(left[i:])\n    result.extend(right[j:])\n    return result\n";
const PROTECTED_PROSE: &str = "It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife. However little known the feelings or views of such a man may be on his first entering a neighbourhood, this truth is so well fixed in the minds of the surrounding families.";

const NONE: &[FingerprintTable] = &[];

fn settings(min_tokens: u32) -> MatchSettings {
    MatchSettings {
        max_doc_frequency: 10,
        ignore_doc_frequency: 10,
        popular_percent: 200,
        min_prose_tokens: min_tokens,
        min_code_tokens: min_tokens,
        contents: IndexContents::default(),
        hint: Hint::Auto,
    }
}

fn index() -> (FingerprintTable, Winnowings) {
    let winnowing = Winnowings::new(5, 4, 8, 4, None).unwrap();
    let docs = [
        (PROTECTED_PROSE, Content::Prose),
        (PROTECTED_CODE, Content::Code(Language::Python)),
        ("fn unrelated() { let x = 1; }", Content::Code(Language::Rust)),
    ];
    let built = build_entries(&docs, &winnowing, 2).unwrap();
    assert_eq!(built.entries, build_entries(&docs, &winnowing, 1).unwrap().entries);
    (FingerprintTable::from_entries(built.entries), winnowing)
}

#[test]
fn a_renamed_function_inside_a_chatty_answer_is_found_and_located() {
    let (table, winnowing) = index();
    let renamed = "def combine(a, b):\n    out = []\n    p = q = 0\n    while p < len(a) and q < len(b):\n        if a[p] <= b[q]:\n            out.append(a[p])\n            p += 1\n        else:\n            out.append(b[q])\n            q += 1\n    out.extend(a[p:])\n    out.extend(b[q:])\n    return out\n";
    let answer =
        format!("Sure, here is a merge helper:\n\n```python\n{renamed}```\n\nIt runs in linear time.");
    let report = match_answer(&answer, &[table], NONE, &winnowing, &settings(20)).unwrap();
    let best = &report.matches[0];
    assert_eq!((best.doc, best.content), (1, Content::Code(Language::Python)));
    assert!(answer[best.start..best.end].starts_with("def combine"), "{}", &answer[best.start..best.end]);
    assert!(answer[best.start..best.end].ends_with("return out"));
}

#[test]
fn recased_reworded_prose_is_found_and_unrelated_text_is_not() {
    let (table, winnowing) = index();
    let copied = "As everyone knows: IT IS A TRUTH universally acknowledged that a single man in possession of a good fortune must be in want of a wife!";
    let report = match_answer(copied, &[&table], NONE, &winnowing, &settings(10)).unwrap();
    assert_eq!(report.matches[0].doc, 0);
    let original = "Binary search halves the interval at each step, so it finishes in logarithmic time.";
    assert!(match_answer(original, &[&table], NONE, &winnowing, &settings(10)).unwrap().matches.is_empty());
}

/// A Java resource table: the same row over and over once its strings are abstracted.
fn resource_table(words: &[&str]) -> String {
    let rows: String = words
        .iter()
        .enumerate()
        .map(|(i, w)| format!("        {{ \"{w}.label.{i}\", \"{w} text number {i}\" }},\n"))
        .collect();
    format!("protected Object[][] getContents() {{\n    return new Object[][] {{\n{rows}    }};\n}}\n")
}

#[test]
fn tables_are_told_apart_by_their_words() {
    let winnowing = Winnowings::new(4, 6, 20, 10, None).unwrap();
    let a = resource_table(&[
        "open", "save", "close", "print", "quit", "undo", "redo", "copy", "paste", "find", "help", "about",
    ]);
    let b = resource_table(&[
        "north", "south", "east", "west", "up", "down", "left", "right", "front", "back", "in", "out",
    ]);
    let docs = [(a.as_str(), Content::Code(Language::Java)), (b.as_str(), Content::Code(Language::Java))];
    let built = build_entries(&docs, &winnowing, 1).unwrap();
    assert_eq!(built.also_prose, 2, "both tables are repetitive, so also fingerprinted for their words");
    let index = FingerprintTable::from_entries(built.entries);
    let settings = MatchSettings { min_prose_tokens: 25, min_code_tokens: 50, ..settings(0) };
    let report = match_answer(&a, &[&index], NONE, &winnowing, &settings).unwrap();
    let docs_found: Vec<u32> = report.matches.iter().map(|m| m.doc).collect();
    assert_eq!(docs_found, vec![0], "{:?}", report.matches);
    // Another table of the same shape and other words: a table, not a copy of either.
    let c = resource_table(&[
        "red", "green", "blue", "cyan", "pink", "gray", "gold", "teal", "lime", "navy", "plum", "rose",
    ]);
    assert!(match_answer(&c, &[&index], NONE, &winnowing, &settings).unwrap().matches.is_empty());
}

#[test]
fn a_table_inside_a_file_of_other_code_is_found_by_its_words() {
    let winnowing = Winnowings::new(4, 6, 20, 10, None).unwrap();
    let names = [
        "normal",
        "lognormal",
        "vonmises",
        "gamma",
        "beta",
        "pareto",
        "weibull",
        "expo",
        "triangular",
        "binomial",
        "poisson",
        "uniform",
        "gauss",
        "cauchy",
    ];
    let calls: String =
        names.iter().map(|n| format!("    _test_generator(N, {n}variate, (0.0, 1.0))\n")).collect();
    let table_fn = format!("def _test(N=2000):\n{calls}");
    let other: String = (0..6)
        .map(|i| format!("def helper{i}(items, limit):\n    total = 0\n    for item in items[:limit]:\n        if item.size > {i}:\n            total += item.size * {i}\n        else:\n            total -= 1\n    return total\n\n"))
        .collect();
    let file = format!("{other}{table_fn}\n{other}");
    let docs = [(file.as_str(), Content::Code(Language::Python))];
    let built = build_entries(&docs, &winnowing, 1).unwrap();
    assert_eq!(built.also_prose, 1);
    let index = FingerprintTable::from_entries(built.entries);
    let settings = MatchSettings { min_prose_tokens: 25, min_code_tokens: 50, ..settings(0) };
    let report = match_answer(&table_fn, &[&index], NONE, &winnowing, &settings).unwrap();
    assert!(
        report.matches.iter().any(|m| m.content == Content::CodeWords(Language::Python)),
        "{:?}",
        report.matches
    );
}

/// A check reads repetitive code's words from the tokens of its code reading (the code is not
/// parsed again): the same words, at the same spans of the answer, as normalizing the code as
/// [`Content::CodeWords`] afresh.
#[test]
fn the_words_of_a_code_reading_are_those_of_a_fresh_code_words_reading() {
    use crate::fingerprint::document::{Fingerprinter, TokenStream};
    let code = "TABLE = [\n    (\"alpha\", 1),\n    (\"beta\", 2),\n    (\"gamma delta\", 3),\n]\n";
    let answer = format!("Here is the table:\n\n{code}\nThat is all.");
    let base = answer.find("TABLE").unwrap();
    let text = &answer[base..base + code.len()];
    let mut fingerprinter = Fingerprinter::default();
    let mut fresh = TokenStream::default();
    fingerprinter.tokens(text, Content::CodeWords(Language::Python), base, &mut fresh).unwrap();
    let mut stream = TokenStream::default();
    fingerprinter.tokens(text, Content::Code(Language::Python), base, &mut stream).unwrap();
    let mut words = TokenStream::default();
    fingerprinter.words_of(&answer, &stream, 0..stream.ids.len(), 0, &mut words);
    assert!(!fresh.ids.is_empty());
    assert_eq!((&words.ids, &words.starts, &words.ends), (&fresh.ids, &fresh.starts, &fresh.ends));
}

/// JDK's DataFlavor constructor and ImageReaderWriterSpi's (filter-real, a held-out negative):
/// written alike, argument checks one after another, copied from neither.
const DATA_FLAVOR: &str = r#"private DataFlavor(String primaryType, String subType, MimeTypeParameterList params, Class<?> representationClass, String humanPresentableName) {
    super();
    if (primaryType == null) {
        throw new NullPointerException("primaryType");
    }
    if (subType == null) {
        throw new NullPointerException("subType");
    }
    if (representationClass == null) {
        throw new NullPointerException("representationClass");
    }
    if (params == null) params = new MimeTypeParameterList();
    params.set("class", representationClass.getName());
    if (humanPresentableName == null) {
        humanPresentableName = params.get("humanPresentableName");
        if (humanPresentableName == null)
            humanPresentableName = primaryType + "/" + subType;
    }
    try {
        mimeType = new MimeType(primaryType, subType, params);
    } catch (MimeTypeParseException mtpe) {
        throw new IllegalArgumentException("MimeType Parse Exception: " + mtpe.getMessage());
    }
    this.representationClass  = representationClass;
    this.humanPresentableName = humanPresentableName;
    mimeType.removeParameter("humanPresentableName");
}
"#;

const READER_WRITER_SPI: &str = r#"public ImageReaderWriterSpi(String vendorName, String version, String[] names, String[] suffixes, String[] MIMETypes, String pluginClassName) {
    super(vendorName, version);
    if (names == null) {
        throw new IllegalArgumentException("names == null!");
    }
    if (names.length == 0) {
        throw new IllegalArgumentException("names.length == 0!");
    }
    if (pluginClassName == null) {
        throw new IllegalArgumentException("pluginClassName == null!");
    }
    this.names = names.clone();
    if (suffixes != null && suffixes.length > 0) {
        this.suffixes = suffixes.clone();
    }
    if (MIMETypes != null && MIMETypes.length > 0) {
        this.MIMETypes = MIMETypes.clone();
    }
    this.pluginClassName = pluginClassName;
}
"#;

#[test]
fn code_written_alike_statement_by_statement_is_not_a_copy_and_an_edited_copy_still_is() {
    let winnowing = Winnowings::new(4, 6, 20, 10, None).unwrap();
    let docs = [(DATA_FLAVOR, Content::Code(Language::Java))];
    let index = FingerprintTable::from_entries(build_entries(&docs, &winnowing, 1).unwrap().entries);
    let settings = MatchSettings { min_prose_tokens: 25, min_code_tokens: 50, ..settings(0) };
    let alike = match_answer(READER_WRITER_SPI, &[&index], NONE, &winnowing, &settings).unwrap();
    assert!(alike.matches.is_empty(), "{:?}", alike.matches);
    // The protected constructor with a statement changed: still one long run on each side of it.
    let edited = DATA_FLAVOR.replace("params.set(\"class\", representationClass.getName());", "log(params);");
    let copy = match_answer(&edited, &[&index], NONE, &winnowing, &settings).unwrap();
    assert_eq!(copy.matches.first().map(|m| m.doc), Some(0), "{:?}", copy.matches);
}
