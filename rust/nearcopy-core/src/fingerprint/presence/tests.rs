use super::*;
use crate::fingerprint::segment::tests::tempdir as temp_dir;
use crate::fingerprint::segment::write_segment;
use crate::fingerprint::{find_matches, Fingerprint, MatchParams, Winnowing, Winnowings};
use crate::hash::splitmix64;

const K: usize = 5;
const W: usize = 8;

fn winnowings() -> Winnowings {
    Winnowings { prose: Winnowing::new(K, W, None).unwrap(), code: Winnowing::new(12, 6, None).unwrap() }
}

/// A segment at `path` holding `entries` (sorted here).
fn segment(path: &std::path::Path, documents: u64, mut entries: Vec<(u64, Posting)>) -> Segment {
    entries.sort_unstable();
    entries.dedup();
    write_segment(path, &winnowings(), documents, &entries).unwrap();
    Segment::open(path).unwrap()
}

fn fingerprints(tokens: &[u64], window: usize) -> Vec<Fingerprint> {
    let mut out = Vec::new();
    Winnowing::new(K, window, None).unwrap().fingerprints(tokens, &mut Vec::new(), &mut out);
    out
}

#[test]
fn every_key_held_passes_and_few_others_do() {
    let dir = temp_dir();
    let mut state = 3;
    let held: Vec<u64> = (0..5000).map(|_| splitmix64(&mut state)).collect();
    let entries = held.iter().map(|&h| (h, Posting { doc: 0, position: 0 })).collect();
    let seg = segment(&dir.join("allow.ncs"), 1, entries);
    let presence = Presence::of(&seg).unwrap();
    assert_eq!(presence.bytes(), (BITS_PER_KEY * 5000).next_power_of_two() / 8);
    assert!(held.iter().all(|&h| presence.may_hold(h)), "no fingerprint held is ever screened out");
    let passed = (0..20_000).filter(|_| presence.may_hold(splitmix64(&mut state))).count();
    assert!(passed < 20_000 / 6, "{passed} of 20,000 fingerprints not held passed");
    // An empty segment holds nothing.
    let empty = segment(&dir.join("empty.ncs"), 0, Vec::new());
    assert!(!Presence::of(&empty).unwrap().may_hold(held[0]));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_screened_allowlist_gives_the_matches_its_segment_gives() {
    let dir = temp_dir();
    let mut state = 7;
    let docs: Vec<Vec<u64>> =
        (0..6).map(|_| (0..300).map(|_| splitmix64(&mut state) % 5000).collect()).collect();
    let entries = docs
        .iter()
        .enumerate()
        .flat_map(|(d, t)| {
            fingerprints(t, W)
                .into_iter()
                .map(move |f| (f.hash, Posting { doc: d as u32, position: f.position }))
        })
        .collect();
    let main = segment(&dir.join("seg.ncs"), 6, entries);
    // Every k-gram of a licence passage of document 1 is allowlisted.
    let licence = &docs[1][20..120];
    let allowed =
        fingerprints(licence, 1).into_iter().map(|f| (f.hash, Posting { doc: 0, position: f.position }));
    let allowlist = segment(&dir.join("allow.ncs"), 1, allowed.collect());
    let presence = Presence::of(&allowlist).unwrap();
    let noise: Vec<u64> = (0..200).map(|_| splitmix64(&mut state) % 5000).collect();
    let query = fingerprints(&[licence.to_vec(), docs[4][50..150].to_vec(), noise].concat(), W);
    let params = MatchParams { k: K, w: W, max_doc_frequency: 3, ignore_doc_frequency: 3, max_gap: W + K };
    let plain = find_matches(&[&main], &[&allowlist], &query, &params);
    let screened =
        find_matches(&[&main], &[Screened { segment: &allowlist, presence: &presence }], &query, &params);
    assert_eq!(screened, plain);
    assert!(plain.iter().all(|m| m.doc != 1) && plain.iter().any(|m| m.doc == 4), "{plain:?}");
    std::fs::remove_dir_all(dir).unwrap();
}
