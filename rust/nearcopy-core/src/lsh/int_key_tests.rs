//! Int keys: packed as offsets from the smallest, or not stored at all when they are the
//! document numbers plus a base (keys in order).

use super::header::FLAG_KEYS_IN_ORDER;
use super::tests::{params, signatures, tempdir, write};
use super::write::in_order;
use super::*;

#[test]
fn int_keys_of_any_range_round_trip_and_merge() {
    let dir = tempdir("intkeys");
    let header = params(Store::Bits(8), KeyKind::Int);
    let narrow: Vec<i64> = (0..60).map(|i| 1_000_000 + 3 * i).collect();
    let wide: Vec<i64> = (0..60).map(|i| if i % 2 == 0 { i64::MIN + i } else { i64::MAX - i }).collect();
    let a = write(&dir, "a.ncl", &header, &signatures(60, 1), Keys::Int(&narrow));
    let b = write(&dir, "b.ncl", &header, &signatures(60, 2), Keys::Int(&wide));
    assert!(a.bytes().len() < b.bytes().len(), "a narrow span packs its keys");
    assert!((0..60).all(|d| a.int_key(d) == narrow[d] && b.int_key(d) == wide[d]));
    // Once every block is checked, keys are read without a check each: the same keys.
    a.warm().unwrap();
    b.warm().unwrap();
    assert!((0..60).all(|d| a.int_key(d) == narrow[d] && b.int_key(d) == wide[d]));
    let none = Tombstones::none();
    let sources = [Source { segment: &a, removed: &none }, Source { segment: &b, removed: &none }];
    merge_segments(&dir.join("m.ncl"), &sources).unwrap();
    let merged = Segment::open(&dir.join("m.ncl")).unwrap();
    merged.verify().unwrap();
    let all: Vec<i64> = narrow.iter().chain(&wide).copied().collect();
    assert_eq!((0..120).map(|d| merged.int_key(d)).collect::<Vec<_>>(), all);
    let found = find_keys(
        &[Source { segment: &merged, removed: &none }],
        &Keys::Int(&[i64::MAX - 1, 1_000_003]),
        false,
    );
    assert_eq!(found.unwrap(), vec![(0, 0, 61), (1, 0, 1)]);
}

#[test]
fn keys_in_order_are_computed_not_stored_and_read_back_the_same() {
    let dir = tempdir("inorder");
    let header = params(Store::Bits(8), KeyKind::Int);
    let ordered: Vec<i64> = (100..160).collect();
    let mut swapped = ordered.clone();
    swapped.swap(3, 4);
    let a = write(&dir, "a.ncl", &header, &signatures(60, 1), Keys::Int(&ordered));
    let s = write(&dir, "s.ncl", &header, &signatures(60, 1), Keys::Int(&swapped));
    assert!(a.header.keys_in_order() && !s.header.keys_in_order());
    assert!(a.bytes().len() < s.bytes().len(), "no key column is stored");
    a.verify().unwrap();
    assert!((0..60).all(|d| a.int_key(d) == ordered[d] && s.int_key(d) == swapped[d]));
    let none = Tombstones::none();
    let found = find_keys(&[Source { segment: &a, removed: &none }], &Keys::Int(&[159, 100, 99]), false);
    assert_eq!(found.unwrap(), vec![(0, 0, 59), (1, 0, 0)]);
    // The same candidates as the segment with a key column, whatever the keys.
    let probe = &signatures(60, 1)[5 * 16..6 * 16];
    let settings = QuerySettings { threshold: 0.5, verify: true, top_k: 0 };
    let run = |segment: &Segment| {
        let (_, hits) = query(&[Source { segment, removed: &none }], &header, probe, &settings, 1).unwrap();
        hits.iter().map(|h| (h.doc, h.equal)).collect::<Vec<_>>()
    };
    assert_eq!(run(&a), run(&s));
}

#[test]
fn a_merge_keeps_keys_in_order_only_when_the_live_keys_still_are() {
    let dir = tempdir("inorder-merge");
    let header = params(Store::Bits(8), KeyKind::Int);
    let keys = |r: std::ops::Range<i64>| r.collect::<Vec<i64>>();
    let (k1, k2, k0) = (keys(100..160), keys(160..220), keys(0..60));
    let a = write(&dir, "a.ncl", &header, &signatures(60, 1), Keys::Int(&k1));
    let b = write(&dir, "b.ncl", &header, &signatures(60, 2), Keys::Int(&k2));
    let c = write(&dir, "c.ncl", &header, &signatures(60, 3), Keys::Int(&k0));
    let none = Tombstones::none();
    let gap = Tombstones::from_sorted(vec![10], 60);
    let cases: [(&str, [Source<'_>; 2], bool); 3] = [
        ("ab", [Source { segment: &a, removed: &none }, Source { segment: &b, removed: &none }], true),
        ("gap", [Source { segment: &a, removed: &gap }, Source { segment: &b, removed: &none }], false),
        ("ac", [Source { segment: &a, removed: &none }, Source { segment: &c, removed: &none }], false),
    ];
    for (name, sources, ordered) in cases {
        let path = dir.join(format!("{name}.ncl"));
        let merged_header = merge_segments(&path, &sources).unwrap();
        let merged = Segment::open(&path).unwrap();
        merged.verify().unwrap();
        assert_eq!(merged_header.keys_in_order(), ordered, "{name}");
        assert!(merged.header.same_index(&a.header), "{name}: still one index's segment");
        let want: Vec<i64> = sources
            .iter()
            .flat_map(|s| (0..60).filter(|&d| !s.removed.is_removed(d as u32)).map(|d| s.segment.int_key(d)))
            .collect();
        assert_eq!((0..merged.len()).map(|d| merged.int_key(d)).collect::<Vec<_>>(), want, "{name}");
    }
}

#[test]
fn keys_are_in_order_when_each_is_one_more_than_the_last_without_wrapping() {
    assert!(in_order([5].into_iter()) && in_order([i64::MAX].into_iter()));
    assert!(in_order([i64::MAX - 1, i64::MAX].into_iter()) && in_order([-2, -1, 0, 1].into_iter()));
    assert!(!in_order([].into_iter()) && !in_order([i64::MAX, i64::MIN].into_iter()));
    assert!(!in_order([1, 3].into_iter()) && !in_order([2, 1].into_iter()) && !in_order([1, 1].into_iter()));
    let mut str_keys = params(Store::Bits(8), KeyKind::Str);
    str_keys.flags = FLAG_KEYS_IN_ORDER;
    assert!(str_keys.check().is_err(), "only int keys can be in order");
    let mut wrong_span = Header { documents: 10, key_span: 10, ..params(Store::Bits(8), KeyKind::Int) };
    wrong_span.flags = FLAG_KEYS_IN_ORDER;
    assert!(wrong_span.check().is_err(), "in-order keys span the documents");
}
