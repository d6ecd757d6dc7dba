use super::*;
use crate::hash::splitmix64;
use crate::minhash::Scheme;
use std::collections::BTreeSet;
use std::path::PathBuf;

pub(super) fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nearcopy-lsh-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub(super) fn params(store: Store, key_kind: KeyKind) -> Header {
    Header::new(16, 4, 4, Scheme::Fast, 1, store, key_kind)
}

/// `n` signatures of 16 slots over a small alphabet, so that bands collide often; every fifth is a
/// copy of an earlier one with a few slots changed.
pub(super) fn signatures(n: usize, seed: u64) -> Vec<u64> {
    let mut state = seed;
    let mut sigs: Vec<u64> = (0..n * 16).map(|_| splitmix64(&mut state) % 3).collect();
    for d in (5..n).step_by(5) {
        let from = (splitmix64(&mut state) as usize) % d;
        let copy: Vec<u64> = sigs[from * 16..from * 16 + 16].to_vec();
        sigs[d * 16..d * 16 + 16].copy_from_slice(&copy);
        sigs[d * 16 + (d % 16)] = 99;
    }
    sigs
}

pub(super) fn str_keys(n: usize, prefix: &str) -> (Vec<u8>, Vec<u64>) {
    let mut blob = Vec::new();
    let mut ends = Vec::new();
    for d in 0..n {
        blob.extend_from_slice(format!("{prefix}{d}").as_bytes());
        ends.push(blob.len() as u64);
    }
    (blob, ends)
}

pub(super) fn write(dir: &Path, name: &str, header: &Header, sigs: &[u64], keys: Keys<'_>) -> Segment {
    let path = dir.join(name);
    write_segment(&path, header, &NewDocs { sigs, keys, columns: Columns::default() }, 2).unwrap();
    Segment::open(&path).unwrap()
}

/// The slow reference: (row, equal slots) of every stored row sharing all slots of a band.
fn brute_force(stored: &[u64], query: &[u64]) -> BTreeSet<(u32, u32)> {
    stored
        .chunks_exact(16)
        .enumerate()
        .filter(|(_, row)| (0..4).any(|b| row[b * 4..b * 4 + 4] == query[b * 4..b * 4 + 4]))
        .map(|(d, row)| (d as u32, row.iter().zip(query).filter(|(a, b)| a == b).count() as u32))
        .collect()
}

#[test]
fn candidates_are_the_documents_sharing_a_band_and_full_stores_count_exactly() {
    let dir = tempdir("candidates");
    let sigs = signatures(300, 1);
    let (blob, ends) = str_keys(300, "doc");
    let segment = write(
        &dir,
        "a.ncl",
        &params(Store::Full, KeyKind::Str),
        &sigs,
        Keys::Str { blob: &blob, ends: &ends },
    );
    segment.verify().unwrap();
    segment.warm().unwrap();
    let none = Tombstones::none();
    let sources = [Source { segment: &segment, removed: &none }];
    let queries = signatures(40, 2);
    let all = QuerySettings { threshold: 0.0, verify: true, top_k: 0 };
    for threads in [1, 2] {
        let (bounds, hits) = query(&sources, &segment.header, &queries, &all, threads).unwrap();
        for (q, row) in queries.chunks_exact(16).enumerate() {
            let found: BTreeSet<(u32, u32)> =
                hits[bounds[q] as usize..bounds[q + 1] as usize].iter().map(|h| (h.doc, h.equal)).collect();
            assert_eq!(found, brute_force(&sigs, row), "query {q}, {threads} threads");
        }
    }
    // Verification keeps those with at least ceil(0.75 * 16) = 12 equal slots, most similar first.
    let strict = QuerySettings { threshold: 0.75, verify: true, top_k: 3 };
    let (bounds, hits) = query(&sources, &segment.header, &sigs, &strict, 1).unwrap();
    for q in 0..300 {
        let found = &hits[bounds[q] as usize..bounds[q + 1] as usize];
        assert!(found.len() <= 3 && found.iter().all(|h| h.equal >= 12));
        assert!(found.windows(2).all(|w| w[0].equal >= w[1].equal));
        assert_eq!(found[0].equal, 16, "a document finds itself first (or a tie at 16)");
    }
}

#[test]
fn keys_are_found_exactly_in_every_segment() {
    let dir = tempdir("keys");
    let sigs = signatures(100, 3);
    let (blob, ends) = str_keys(100, "k");
    let a = write(
        &dir,
        "a.ncl",
        &params(Store::Bits(8), KeyKind::Str),
        &sigs,
        Keys::Str { blob: &blob, ends: &ends },
    );
    assert_eq!(a.str_key(42), b"k42");
    let ints: Vec<i64> = (0..100).map(|i| i * 1_000_003 - 7).collect();
    let b = write(&dir, "b.ncl", &params(Store::Bits(16), KeyKind::Int), &sigs, Keys::Int(&ints));
    assert_eq!(b.int_key(3), 3 * 1_000_003 - 7);
    let none = Tombstones::none();
    let (qblob, qends) = (b"k7k99nok0".to_vec(), vec![2u64, 5, 7, 9]);
    let found = find_keys(
        &[Source { segment: &a, removed: &none }],
        &Keys::Str { blob: &qblob, ends: &qends },
        false,
    )
    .unwrap();
    assert_eq!(found, vec![(0, 0, 7), (1, 0, 99), (3, 0, 0)]);
    let found =
        find_keys(&[Source { segment: &b, removed: &none }], &Keys::Int(&[-7, 5, 99 * 1_000_003 - 7]), false)
            .unwrap();
    assert_eq!(found, vec![(0, 0, 0), (2, 0, 99)]);
    let removed = Tombstones::from_sorted(vec![99], 100);
    let found =
        find_keys(&[Source { segment: &b, removed: &removed }], &Keys::Int(&[99 * 1_000_003 - 7]), false)
            .unwrap();
    assert!(found.is_empty());
}

#[test]
fn a_merge_equals_its_inputs_without_their_removed_documents() {
    let dir = tempdir("merge");
    for (store, kind) in
        [(Store::Full, KeyKind::Str), (Store::Bits(8), KeyKind::Int), (Store::Bits(16), KeyKind::Str)]
    {
        let header = params(store, kind);
        let (s1, s2) = (signatures(200, 4), signatures(150, 5));
        let (b1, e1) = str_keys(200, "a");
        let (b2, e2) = str_keys(150, "b");
        let (i1, i2): (Vec<i64>, Vec<i64>) = ((0..200).collect(), (1000..1150).collect());
        let keys = |blob: &'static [u8], ends: &'static [u64], ints: &'static [i64]| match kind {
            KeyKind::Str => Keys::Str { blob, ends },
            KeyKind::Int => Keys::Int(ints),
        };
        let leak = |v: Vec<u8>| -> &'static [u8] { Box::leak(v.into_boxed_slice()) };
        let leak64 = |v: Vec<u64>| -> &'static [u64] { Box::leak(v.into_boxed_slice()) };
        let leaki = |v: Vec<i64>| -> &'static [i64] { Box::leak(v.into_boxed_slice()) };
        let a = write(&dir, "a.ncl", &header, &s1, keys(leak(b1), leak64(e1), leaki(i1)));
        let b = write(&dir, "b.ncl", &header, &s2, keys(leak(b2), leak64(e2), leaki(i2)));
        let path = dir.join("removed.ncd");
        write_tombstones(&path, &a, &[0, 17, 199]).unwrap();
        let removed_a = Tombstones::open(&path, &a).unwrap();
        let removed_b = Tombstones::from_sorted((0..150).step_by(3).collect(), 150);
        let sources =
            [Source { segment: &a, removed: &removed_a }, Source { segment: &b, removed: &removed_b }];
        let merged_header = merge_segments(&dir.join("m.ncl"), &sources).unwrap();
        let merged = Segment::open(&dir.join("m.ncl")).unwrap();
        merged.verify().unwrap();
        assert_eq!((merged.len(), merged_header.documents), (197 + 100, 297));
        let none = Tombstones::none();
        let settings = QuerySettings { threshold: 0.0, verify: true, top_k: 0 };
        let queries = signatures(30, 6);
        let key_of = |segment: &Segment, doc: u32| segment.key_bytes_of(doc as usize).into_owned();
        let (bounds, hits) = query(&sources, &header, &queries, &settings, 1).unwrap();
        let (mbounds, mhits) =
            query(&[Source { segment: &merged, removed: &none }], &header, &queries, &settings, 1).unwrap();
        for q in 0..30 {
            let before: BTreeSet<(Vec<u8>, u32)> = hits[bounds[q] as usize..bounds[q + 1] as usize]
                .iter()
                .map(|h| (key_of(sources[h.source as usize].segment, h.doc), h.equal))
                .collect();
            let after: BTreeSet<(Vec<u8>, u32)> = mhits[mbounds[q] as usize..mbounds[q + 1] as usize]
                .iter()
                .map(|h| (key_of(&merged, h.doc), h.equal))
                .collect();
            assert_eq!(before, after, "{store:?} query {q}");
        }
    }
}

#[test]
fn damaged_files_are_refused_with_a_reason() {
    let dir = tempdir("damage");
    let sigs = signatures(500, 7);
    let (blob, ends) = str_keys(500, "doc");
    let segment = write(
        &dir,
        "good.ncl",
        &params(Store::Bits(8), KeyKind::Str),
        &sigs,
        Keys::Str { blob: &blob, ends: &ends },
    );
    let good = std::fs::read(dir.join("good.ncl")).unwrap();
    drop(segment);
    let open = |bytes: &[u8]| {
        let path = dir.join("bad.ncl");
        std::fs::write(&path, bytes).unwrap();
        Segment::open(&path).and_then(|s| s.verify().map(|_| s))
    };
    let mut flipped_header = good.clone();
    flipped_header[50] ^= 1;
    let mut other_version = good.clone();
    other_version[8] = 9;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("truncated", good[..good.len() - 8].to_vec(), "truncated"),
        ("padded", [good.clone(), vec![0; 8]].concat(), "truncated or padded"),
        ("header bit", flipped_header, "header checksum"),
        ("version", other_version, "format version"),
        ("foreign", b"PK\x03\x04 a zip file, not a segment at all............................................................................................".to_vec(), "magic"),
        ("empty", Vec::new(), "magic"),
    ];
    for (name, bytes, reason) in cases {
        let err = open(&bytes).err().unwrap_or_else(|| panic!("{name} was accepted"));
        assert!(matches!(err, Error::Corrupt(_)) && err.to_string().contains(reason), "{name}: {err}");
    }
    // A bit flipped anywhere after the header: refused by verify (or at open, in the block table),
    // and never a panic on the way.
    let mut state = 9u64;
    for _ in 0..200 {
        let mut bytes = good.clone();
        let at = 128 + (splitmix64(&mut state) as usize) % (good.len() - 128);
        bytes[at] ^= 1 << (splitmix64(&mut state) % 8);
        let path = dir.join("flip.ncl");
        std::fs::write(&path, &bytes).unwrap();
        let flipped = match Segment::open(&path) {
            Ok(segment) => segment,
            Err(err) => {
                assert!(err.to_string().contains("block checksum table"), "{err}");
                continue;
            }
        };
        let err = flipped.verify().unwrap_err();
        assert!(err.to_string().contains("checksum"), "{err}");
        // warm() checks only the blocks, but the blocks cover every byte past the header.
        let err = flipped.warm().unwrap_err();
        assert!(err.to_string().contains("block checksum mismatch"), "{err}");
        let none = Tombstones::none();
        let sources = [Source { segment: &flipped, removed: &none }];
        let settings = QuerySettings { threshold: 0.5, verify: true, top_k: 0 };
        // A query answers, or refuses when it read the damaged block: never a panic.
        let corrupt = |e: Error| assert!(matches!(e, Error::Corrupt(_)), "{e}");
        let _ = query(&sources, &flipped.header, &sigs[..160], &settings, 1).map_err(corrupt);
        let _ = find_keys(&sources, &Keys::Str { blob: b"doc1", ends: &[4] }, true).map_err(corrupt);
        assert!(
            merge_segments(&dir.join("never.ncl"), &sources).is_err(),
            "a damaged segment is never merged"
        );
        assert!(!dir.join("never.ncl").exists());
    }
}

#[test]
fn tombstones_belong_to_their_segment() {
    let dir = tempdir("tombstones");
    let header = params(Store::Bits(8), KeyKind::Int);
    let a = write(&dir, "a.ncl", &header, &signatures(50, 1), Keys::Int(&(0..50).collect::<Vec<i64>>()));
    let b = write(&dir, "b.ncl", &header, &signatures(50, 2), Keys::Int(&(0..50).collect::<Vec<i64>>()));
    let path = dir.join("a.ncd");
    write_tombstones(&path, &a, &[3, 9]).unwrap();
    let t = Tombstones::open(&path, &a).unwrap();
    assert!(t.is_removed(3) && t.is_removed(9) && !t.is_removed(4) && t.count() == 2 && t.before(10) == 2);
    assert!(Tombstones::open(&path, &b).unwrap_err().to_string().contains("another segment"));
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[41] ^= 4;
    std::fs::write(&path, &bytes).unwrap();
    assert!(Tombstones::open(&path, &a).unwrap_err().to_string().contains("checksum"));
    assert!(write_tombstones(&path, &a, &[9, 3]).is_err() && write_tombstones(&path, &a, &[50]).is_err());
}

#[test]
fn eight_bit_stores_estimate_like_full_signatures() {
    // 2,000 pairs at known slot agreement: the corrected 8-bit estimate is unbiased.
    let dir = tempdir("estimate");
    let mut header = params(Store::Bits(8), KeyKind::Int);
    header.num_perm = 128;
    header.bands = 8;
    let mut state = 11u64;
    let n = 2000;
    let stored: Vec<u64> = (0..n * 128).map(|_| splitmix64(&mut state)).collect();
    let mut queries = stored.clone();
    for (i, v) in queries.iter_mut().enumerate() {
        if i % 128 >= 64 {
            *v = splitmix64(&mut state); // half the slots differ: J = 0.5
        }
    }
    let segment = write(&dir, "e.ncl", &header, &stored, Keys::Int(&(0..n as i64).collect::<Vec<_>>()));
    let mean: f64 = (0..n)
        .map(|d| {
            let mut row = Vec::new();
            header.store.encode(&queries[d * 128..(d + 1) * 128], 8, &mut row);
            header.store.estimate(store::equal_count(&row, segment.store_row(d), 1), 128)
        })
        .sum::<f64>()
        / n as f64;
    assert!((mean - 0.5).abs() < 0.005, "mean estimate {mean}");
}

#[test]
fn a_flipped_bit_anywhere_in_the_body_fails_the_queries_that_read_it_never_answers_them() {
    let dir = tempdir("blocks");
    let sigs = signatures(4000, 3);
    let (blob, ends) = str_keys(4000, "document-");
    let good = dir.join("good.ncl");
    let docs =
        NewDocs { sigs: &sigs, keys: Keys::Str { blob: &blob, ends: &ends }, columns: Columns::default() };
    write_segment(&good, &params(Store::Full, KeyKind::Str), &docs, 1).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let layout = header::Layout::of(&Segment::open(&good).unwrap().header);
    let all = QuerySettings { threshold: 0.0, verify: true, top_k: 0 };
    let none = Tombstones::none();
    // A byte in a band table, the key table, the key bytes and the store, each in a block of its
    // own: a query of every signature, finding every key and reading every key read them all.
    for at in [header::HEADER_LEN + 40, layout.key_table_at + 100, layout.blob_at + 7, layout.store_at + 300]
    {
        let mut damaged = bytes.clone();
        damaged[at] ^= 0x04;
        let path = dir.join(format!("damaged-{at}.ncl"));
        std::fs::write(&path, &damaged).unwrap();
        let segment = Segment::open(&path).expect("opening reads the header and the block table only");
        let sources = [Source { segment: &segment, removed: &none }];
        let queried = query(&sources, &segment.header, &sigs, &all, 1).err();
        let found = find_keys(&sources, &Keys::Str { blob: &blob, ends: &ends }, false).err();
        (0..4000).for_each(|d| assert!(segment.str_key(d).len() <= blob.len()));
        let failures = [queried, found, segment.checked().err()];
        let corrupt = |e: &Error| matches!(e, Error::Corrupt(m) if m.contains("checksum"));
        assert!(failures.iter().flatten().any(corrupt), "byte {at}: {failures:?}");
        assert!(segment.verify().is_err(), "verify reads everything");
    }
    // The block table itself is checked at open.
    let mut damaged = bytes.clone();
    let last = damaged.len() - 3;
    damaged[last] ^= 0x01;
    std::fs::write(dir.join("table.ncl"), &damaged).unwrap();
    assert!(matches!(Segment::open(&dir.join("table.ncl")), Err(Error::Corrupt(m)) if m.contains("block")));
    // The undamaged file answers every query.
    let segment = Segment::open(&good).unwrap();
    query(&[Source { segment: &segment, removed: &none }], &segment.header, &sigs, &all, 1).unwrap();
    segment.checked().unwrap();
}

#[test]
fn segments_of_16_kib_checksum_blocks_written_before_read_and_answer_as_the_new_ones() {
    let dir = tempdir("old-blocks");
    let sigs = signatures(3000, 5);
    let ints: Vec<i64> = (0..3000).map(|d| d * 3).collect();
    let new = write(&dir, "new.ncl", &params(Store::Bits(8), KeyKind::Int), &sigs, Keys::Int(&ints));
    assert_eq!(u32::from_le_bytes(new.bytes()[96..100].try_into().unwrap()), BLOCK_BITS);
    // The same segment as the previous writer made it: the body with a table of 16 KiB blocks.
    let total = header::Layout::of(&new.header).total as usize;
    let mut blocks = BlockHasher::new(14);
    blocks.update(&new.bytes()[header::HEADER_LEN..total]);
    let table = blocks.finish();
    let body_checksum = u64::from_le_bytes(new.bytes()[72..80].try_into().unwrap());
    let mut old = new.header.encode(body_checksum, 14, xxh3_64(&table, 0));
    old.extend_from_slice(&new.bytes()[header::HEADER_LEN..total]);
    old.extend_from_slice(&table);
    std::fs::write(dir.join("old.ncl"), &old).unwrap();
    let old = Segment::open(&dir.join("old.ncl")).unwrap();
    old.verify().unwrap();
    let none = Tombstones::none();
    let all = QuerySettings { threshold: 0.0, verify: true, top_k: 0 };
    let answer =
        |s: &Segment| query(&[Source { segment: s, removed: &none }], &s.header, &sigs, &all, 1).unwrap();
    assert_eq!(answer(&old), answer(&new));
    assert!(new.bytes().len() > old.bytes().len(), "four times the table entries");
}
