use super::*;
use crate::code::Hint;
use crate::fingerprint::document::Content;
use crate::fingerprint::FingerprintTable;
use crate::index::{build_entries, IndexContents};

const IDIOM: &str =
    "the quick brown fox jumps over the lazy dog while the farmer sleeps in the barn and the cows \
    wander across the green field toward the river where the children play every summer afternoon";

fn settings() -> MatchSettings {
    MatchSettings {
        max_doc_frequency: 3,
        ignore_doc_frequency: 3,
        popular_percent: u32::MAX,
        min_prose_tokens: 12,
        min_code_tokens: 12,
        contents: IndexContents::default(),
        hint: Hint::Auto,
    }
}

fn winnowings() -> Winnowings {
    Winnowings::new(4, 3, 8, 4, None).unwrap()
}

/// Document `i`: its own sentence, then (for the first `idiom_holders`) the shared idiom.
fn document(i: usize, idiom_holders: usize) -> String {
    let own = format!(
        "document {i} tells of harbour {i} and lighthouse keeper number {i} who counted ships \
         sailing past the rocky cape {i} each foggy morning before the tide turned again"
    );
    if i < idiom_holders {
        format!("{own}. {IDIOM}")
    } else {
        own
    }
}

fn table(docs: &[String]) -> FingerprintTable {
    let docs: Vec<(&str, Content)> = docs.iter().map(|d| (d.as_str(), Content::Prose)).collect();
    FingerprintTable::from_entries(build_entries(&docs, &winnowings(), 1).unwrap().entries)
}

/// Matches of `answer` as (shard, doc, start, end, covered) through the two-phase protocol over
/// `shards` (each a list of documents).
fn routed(answer: &str, shards: &[Vec<String>]) -> Vec<(usize, u32, usize, usize, u32)> {
    let tables: Vec<FingerprintTable> = shards.iter().map(|docs| table(docs)).collect();
    let none: &[FingerprintTable] = &[];
    let phase_one: Vec<ShardFrequencies> = tables
        .iter()
        .map(|t| {
            answer_frequencies(answer, std::slice::from_ref(t), none, &winnowings(), &settings()).unwrap()
        })
        .collect();
    let mut found = Vec::new();
    for (s, t) in tables.iter().enumerate() {
        let others = phase_one
            .iter()
            .enumerate()
            .filter(|&(o, _)| o != s)
            .flat_map(|(_, f)| f.documents.iter().copied())
            .collect();
        let report = match_answer_with_others(
            answer,
            std::slice::from_ref(t),
            none,
            &OtherShards::new(others),
            &AllowlistedElsewhere::default(),
            &winnowings(),
            &settings(),
        )
        .unwrap();
        found.extend(report.matches.iter().map(|m| (s, m.doc, m.start, m.end, m.covered)));
    }
    found
}

/// Even documents in one shard, odd ones in the other.
fn interleaved(docs: &[String]) -> Vec<Vec<String>> {
    (0..2).map(|s| docs.iter().skip(s).step_by(2).cloned().collect()).collect()
}

#[test]
fn an_idiom_common_only_across_shards_is_boilerplate_through_the_router_as_in_one_index() {
    // Six documents hold the idiom (0 to 5), three in each shard: rare in each (3 ≤ 3), common in all (6 > 3).
    let docs: Vec<String> = (0..8).map(|i| document(i, 6)).collect();
    let shards = interleaved(&docs);
    let whole =
        match_answer(IDIOM, &[table(&docs)], &[] as &[FingerprintTable], &winnowings(), &settings()).unwrap();
    assert!(whole.matches.is_empty(), "one index: the idiom is boilerplate");
    let per_shard =
        match_answer(IDIOM, &[table(&shards[0])], &[] as &[FingerprintTable], &winnowings(), &settings())
            .unwrap();
    assert!(!per_shard.matches.is_empty(), "a shard counting alone takes the idiom for a copy");
    assert!(routed(IDIOM, &shards).is_empty());
}

#[test]
fn a_copy_is_found_in_its_shard_with_the_same_span_as_in_one_index() {
    let docs: Vec<String> = (0..8).map(|i| document(i, 6)).collect();
    let shards = interleaved(&docs);
    let answer = format!("As the story goes: {} That is all.", document(5, 6));
    let whole =
        match_answer(&answer, &[table(&docs)], &[] as &[FingerprintTable], &winnowings(), &settings())
            .unwrap();
    let expected: Vec<_> =
        whole.matches.iter().map(|m| (m.doc as usize % 2, m.doc / 2, m.start, m.end, m.covered)).collect();
    assert_eq!(expected.len(), 1);
    assert_eq!(routed(&answer, &shards), expected);
}

#[test]
fn counts_are_capped_past_the_largest_threshold_and_allowlists_are_noted() {
    let docs: Vec<String> = (0..8).map(|i| document(i, 8)).collect();
    let allow = table(&[IDIOM.to_string()]);
    let found = answer_frequencies(IDIOM, &[table(&docs)], &[allow], &winnowings(), &settings()).unwrap();
    assert!(!found.documents.is_empty());
    assert!(found.documents.iter().all(|&(_, n)| n == 4), "8 documents, capped at 3 + 1");
    assert!(!found.allowlisted.is_empty());
    assert!(found.allowlisted.windows(2).all(|p| p[0] < p[1]));
}
