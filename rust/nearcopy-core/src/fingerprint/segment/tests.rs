use super::*;
use crate::fingerprint::{Winnowing, Winnowings};
use std::path::Path;

fn entries() -> Vec<(u64, Posting)> {
    let mut e: Vec<(u64, Posting)> = (0..1000u32)
        .map(|i| (crate::hash::fmix64(u64::from(i % 700)), Posting { doc: i % 7, position: i }))
        .collect();
    e.sort_unstable();
    e
}

fn params() -> Winnowings {
    Winnowings { prose: Winnowing::new(5, 8, None).unwrap(), code: Winnowing::new(12, 6, None).unwrap() }
}

#[test]
fn round_trip() {
    let dir = tempdir();
    let path = dir.join("seg-1.ncs");
    let e = entries();
    write_segment(&path, &params(), 7, &e).unwrap();
    let seg = Segment::open(&path).unwrap();
    assert_eq!((seg.len(), seg.k, seg.w, seg.code_k, seg.code_w), (1000, 5, 8, 12, 6));
    assert_eq!((seg.documents, seg.key_check), (7, 0));
    // 2^6 buckets for 1000 entries, then 7 documents' word starts (and no words).
    let body = 4 * ((1 << 6) + 1) + 12 * 1000 + 8 * (7 + 1);
    assert_eq!(seg.bytes(), 88 + body + 8, "one block of checksums for a body under 16 KiB");
    seg.verify().unwrap();
    let mut found = Vec::new();
    for (hash, posting) in &e {
        seg.lookup(*hash, &mut found);
        assert!(found.contains(posting));
    }
    // (Tiny numbers share their top 38 bits with fmix64(0) = 0, so probe with a real hash.)
    seg.lookup(crate::hash::fmix64(999_999), &mut found);
    assert!(found.is_empty());
}

#[test]
fn lookups_agree_with_a_plain_table_for_every_size() {
    // Sizes around the directory's steps, hashes with shared prefixes among random ones.
    let dir = tempdir();
    for n in [0usize, 1, 63, 64, 65, 500, 4096, 20_000] {
        let mut state = n as u64;
        let mut e: Vec<(u64, Posting)> = (0..n)
            .map(|i| {
                let h = crate::hash::splitmix64(&mut state);
                // Some share their top 16 bits, some their top 32 (one key, postings out of order).
                let h = match i % 5 {
                    0 => h & !0xFFFF_FFFF_FFFF,
                    1 => (h & !0xFFFF_FFFF) | 0xFFFF_FFFF,
                    _ => h,
                };
                (h, Posting { doc: (i % 13) as u32, position: i as u32 })
            })
            .collect();
        e.sort_unstable();
        let path = dir.join(format!("seg-{n}.ncs"));
        write_segment(&path, &params(), 13, &e).unwrap();
        let seg = Segment::open(&path).unwrap();
        seg.verify().unwrap();
        // A segment compares the top 32 bits of a hash: the plain table is given only those.
        let top: Vec<(u64, Posting)> = e.iter().map(|&(h, p)| (h & !0xFFFF_FFFF, p)).collect();
        let table = crate::fingerprint::FingerprintTable::from_entries(top);
        let mut found = Vec::new();
        for probe in e.iter().map(|(h, _)| *h).chain([0, 0xFFFF_FFFF_0000_0000, 0x8000_0000_0000_0000]) {
            seg.lookup(probe, &mut found);
            assert_eq!(found, table.lookup(probe & !0xFFFF_FFFF), "n={n} hash={probe:#x}");
        }
    }
}

#[test]
fn damaged_files_are_refused_with_a_reason() {
    let dir = tempdir();
    let path = dir.join("seg.ncs");
    write_segment(&path, &params(), 7, &entries()).unwrap();
    let good = std::fs::read(&path).unwrap();

    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("truncated", good[..good.len() - 5].to_vec()),
        (
            "magic",
            b"PK\x03\x04 this is a zip file, not an index at all.................................".to_vec(),
        ),
        ("checksum", {
            let mut b = good.clone();
            b[33] ^= 1;
            b
        }),
        ("version", {
            let mut b = good.clone();
            b[8] = 9;
            b
        }),
        ("empty", Vec::new()),
    ];
    for (what, bytes) in cases {
        std::fs::write(&path, &bytes).unwrap();
        let err = Segment::open(&path).err().unwrap_or_else(|| panic!("{what} accepted"));
        assert!(matches!(err, Error::Corrupt(_)), "{what}: {err}");
    }
    // A flipped bit in the block table fails at open; one in the body passes the open, which does
    // not read the body, but not the first lookup that reads its block, nor verify().
    let mut flipped = good.clone();
    let last = flipped.len() - 3;
    flipped[last] ^= 0x10;
    std::fs::write(&path, &flipped).unwrap();
    assert!(matches!(Segment::open(&path), Err(Error::Corrupt(_))), "block table");
    let mut flipped = good.clone();
    let last_posting = flipped.len() - 8 - 3;
    flipped[last_posting] ^= 0x10;
    std::fs::write(&path, &flipped).unwrap();
    assert!(matches!(Segment::open(&path).unwrap().verify(), Err(Error::Corrupt(_))));
    let seg = Segment::open(&path).unwrap();
    seg.damage().expect("nothing read yet");
    let (hash, _) = entries()[0];
    let mut found = Vec::new();
    seg.lookup(hash, &mut found);
    assert!(found.is_empty(), "nothing is answered from a damaged block");
    let err = seg.damage().unwrap_err().to_string();
    assert!(err.contains("seg.ncs") && err.contains("block 0") && err.contains("rebuild"), "{err}");
    assert!(matches!(Segment::open(&dir.join("missing.ncs")), Err(Error::Io(_))));
}

#[test]
fn publishing_replaces_atomically_and_keeps_open_readers_working() {
    let dir = tempdir();
    let path = dir.join("seg.ncs");
    write_segment(&path, &params(), 7, &entries()).unwrap();
    let reader = Segment::open(&path).unwrap();
    write_segment(&path, &params(), 1, &[(1, Posting { doc: 0, position: 0 })]).unwrap();
    reader.verify().unwrap(); // still the old file's mapping
    assert_eq!(reader.len(), 1000);
    assert_eq!(Segment::open(&path).unwrap().len(), 1);
    let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().filter_map(|e| e.ok()).collect();
    assert_eq!(leftovers.len(), 1, "no temporary files left behind");
    assert!(write_segment(
        &path,
        &params(),
        1,
        &[(2, Posting { doc: 0, position: 0 }), (1, Posting { doc: 0, position: 0 })]
    )
    .is_err());
}

#[test]
fn keys_are_checkable_but_not_revealed() {
    use crate::fingerprint::FingerprintKey;
    let key = FingerprintKey { k0: 42, k1: 0 };
    assert_eq!(key_check(None), 0);
    assert_ne!(key_check(Some(&key)), 42);
    assert_ne!(key_check(Some(&key)), key_check(Some(&FingerprintKey { k0: 43, k1: 0 })));
}

/// A fresh directory of this process and thread (the segment tests' and others').
pub(crate) fn tempdir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "nearcopy-seg-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn merged_segments_answer_like_their_union_with_documents_renumbered() {
    let dir = tempdir();
    let mut state = 3u64;
    let mut parts = Vec::new();
    let mut union = Vec::new();
    let mut first_doc = 0u32;
    for (s, (n, documents)) in [(0usize, 1u32), (70, 3), (5000, 40), (1, 1)].into_iter().enumerate() {
        let mut e: Vec<(u64, Posting)> = (0..n)
            .map(|i| {
                let shared = if i % 3 == 0 { 7 } else { crate::hash::splitmix64(&mut state) };
                (shared << 32, Posting { doc: i as u32 % documents, position: i as u32 })
            })
            .collect();
        e.sort_unstable();
        let path = dir.join(format!("part-{s}.ncs"));
        write_segment(&path, &params(), u64::from(documents), &e).unwrap();
        parts.push(Segment::open(&path).unwrap());
        union.extend(e.iter().map(|&(h, p)| (h, Posting { doc: p.doc + first_doc, ..p })));
        first_doc += documents;
    }
    let merged_path = dir.join("merged.ncs");
    merge_segments(&merged_path, &params(), &parts.iter().collect::<Vec<_>>()).unwrap();
    let merged = Segment::open(&merged_path).unwrap();
    merged.verify().unwrap();
    assert_eq!((merged.len(), merged.documents), (union.len(), u64::from(first_doc)));
    let table = crate::fingerprint::FingerprintTable::from_entries(union.clone());
    let mut found = Vec::new();
    for (hash, _) in &union {
        merged.lookup(*hash, &mut found);
        assert_eq!(found, table.lookup(*hash));
    }
}

#[test]
fn a_damaged_segment_is_not_merged() {
    // Found by the segment_reader fuzz target: a posting naming document 2^32 - 1 in a segment whose
    // header checksum was valid overflowed the renumbering of a merge.
    let dir = tempdir();
    let path = dir.join("seg-damaged.ncs");
    write_segment(&path, &params(), 7, &entries()).unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    let postings_at = bytes.len() - 8 - 8 * 8 - 8 * 1000; // before the word starts and the checksum
    bytes[postings_at..postings_at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    crate::fuzzing::reseal_segment(&mut bytes); // the checksums match: only verify() can tell
    std::fs::write(&path, &bytes).unwrap();
    let seg = Segment::open(&path).expect("the header is intact");
    let merged = dir.join("seg-merged.ncs");
    let err = merge_segments(&merged, &params(), &[&seg, &seg]).unwrap_err();
    assert!(matches!(err, Error::Corrupt(_)), "{err:?}");
    assert!(!merged.exists());
}

/// A segment of `n` entries with random hashes over `documents` documents, and its entries.
fn random_segment(path: &Path, n: usize, documents: u32, seed: u64) -> Vec<(u64, Posting)> {
    let mut state = seed;
    let mut e: Vec<(u64, Posting)> = (0..n)
        .map(|i| {
            let doc = (i as u32) % documents;
            (crate::hash::splitmix64(&mut state), Posting { doc, position: i as u32 })
        })
        .collect();
    e.sort_unstable();
    write_segment(path, &params(), u64::from(documents), &e).unwrap();
    e
}

#[test]
fn lookups_check_each_block_they_read_the_first_time_and_refuse_a_damaged_one() {
    // 60,000 entries: a body of 0.7 MB, 45 blocks of 16 KiB. Damage one posting in the middle.
    let dir = tempdir();
    let path = dir.join("seg-blocks.ncs");
    let e = random_segment(&path, 60_000, 100, 11);
    let mut bytes = std::fs::read(&path).unwrap();
    let blocks = (bytes.len() - 88).div_ceil((1 << blocks::BLOCK_BITS) + 8);
    assert!(blocks > 40, "{blocks} blocks");
    let victim = e.len() / 2;
    let postings_at = bytes.len() - 8 * blocks - 8 * 101 - 8 * e.len();
    bytes[postings_at + 8 * victim] ^= 0xFF;
    std::fs::write(&path, &bytes).unwrap();
    let seg = Segment::open(&path).unwrap();
    let mut found = Vec::new();
    // The first entries' blocks are intact: they answer as before, and nothing is reported.
    for (hash, posting) in &e[..100] {
        seg.lookup(*hash, &mut found);
        assert!(found.contains(posting));
    }
    seg.damage().expect("only intact blocks were read");
    seg.lookup(e[victim].0, &mut found);
    assert!(found.is_empty(), "the damaged posting is not answered");
    assert!(matches!(seg.damage(), Err(Error::Corrupt(_))));
    // Once found, the damage stays: every later match on the segment is refused.
    seg.lookup(e[0].0, &mut found);
    assert!(seg.damage().is_err());
    // Warming a damaged segment fails and never marks it whole (a whole one skips the checks).
    let fresh = Segment::open(&path).unwrap();
    assert!(fresh.warm().is_err());
    fresh.lookup(e[victim].0, &mut found);
    assert!(found.is_empty() && fresh.damage().is_err());
}

#[test]
fn checked_lookups_answer_like_a_plain_table_across_many_blocks_and_threads() {
    let dir = tempdir();
    let path = dir.join("seg-many.ncs");
    let e = random_segment(&path, 50_000, 7, 5);
    let seg = Segment::open(&path).unwrap();
    let top: Vec<(u64, Posting)> = e.iter().map(|&(h, p)| (h & !0xFFFF_FFFF, p)).collect();
    let table = crate::fingerprint::FingerprintTable::from_entries(top);
    std::thread::scope(|scope| {
        for part in e.chunks(e.len() / 4 + 1) {
            let (seg, table) = (&seg, &table);
            scope.spawn(move || {
                let mut found = Vec::new();
                for (hash, _) in part {
                    seg.lookup(*hash, &mut found);
                    assert_eq!(found, table.lookup(hash & !0xFFFF_FFFF));
                }
            });
        }
    });
    seg.damage().unwrap();
    seg.verify().unwrap();
    // Every block checked: lookups take the short path and answer the same.
    let mut found = Vec::new();
    for (hash, _) in e.iter().step_by(7) {
        seg.lookup(*hash, &mut found);
        assert_eq!(found, table.lookup(hash & !0xFFFF_FFFF));
    }
}

#[test]
fn block_checksums_depend_on_the_block_number() {
    // Two blocks swapped with their checksums do not pass.
    let block = [7u8; 64];
    assert_ne!(blocks::block_checksum(&block, 0), blocks::block_checksum(&block, 1));
    let mut hasher = blocks::BlockHasher::new(9);
    hasher.update(&[1u8; 700]);
    hasher.update(&[2u8; 400]);
    let table = hasher.finish();
    assert_eq!(table.len(), 8 * 3, "1100 bytes in blocks of 512");
    let mut whole = [1u8; 700].to_vec();
    whole.extend([2u8; 400]);
    let last = u64::from_le_bytes(table[16..24].try_into().unwrap());
    assert_eq!(last, blocks::block_checksum(&whole[1024..], 2));
}

#[test]
fn a_merge_of_many_segments_writes_the_segment_of_their_union() {
    // Past SCAN_MAX_SEGMENTS the merge takes its heads from a heap: the file must be the very one
    // a single write of the renumbered union gives, as it is for a few segments.
    for count in [3usize, 40] {
        let dir = tempdir();
        let mut state = 11u64;
        let (mut parts, mut union, mut first_doc) = (Vec::new(), Vec::new(), 0u32);
        for s in 0..count {
            let documents = 1 + (s as u32 % 4);
            let mut e: Vec<(u64, Posting)> = (0..(s * 37) % 300)
                .map(|i| {
                    let shared = if i % 4 == 0 { 9 } else { crate::hash::splitmix64(&mut state) };
                    (shared, Posting { doc: i as u32 % documents, position: i as u32 })
                })
                .collect();
            e.sort_unstable();
            let path = dir.join(format!("part-{s}.ncs"));
            write_segment(&path, &params(), u64::from(documents), &e).unwrap();
            parts.push(Segment::open(&path).unwrap());
            union.extend(e.iter().map(|&(h, p)| (h, Posting { doc: p.doc + first_doc, ..p })));
            first_doc += documents;
        }
        union.sort_unstable();
        let (merged, whole) = (dir.join("merged.ncs"), dir.join("whole.ncs"));
        merge_segments(&merged, &params(), &parts.iter().collect::<Vec<_>>()).unwrap();
        write_segment(&whole, &params(), u64::from(first_doc), &union).unwrap();
        assert_eq!(std::fs::read(&merged).unwrap(), std::fs::read(&whole).unwrap(), "{count} segments");
    }
}

#[test]
fn keys_and_postings_written_apart_are_checksummed_as_one_body() {
    // The writer writes the keys and the postings in one pass, each through its own handle, and
    // hashes the block they share from both sides: whatever block the postings start in (on a
    // boundary, just before or after one, or a body that ends inside that block), every block's
    // checksum is that of the body read whole, and the entries read back are those written.
    let block = 1usize << blocks::BLOCK_BITS;
    let postings_at = |n: usize| 4 * ((1usize << directory_bits(n)) + 1) + 4 * n;
    let mut sizes: Vec<usize> = (0..8).collect();
    sizes
        .extend((8..40_000).filter(|&n| [0, 4, 8, block - 4, block - 8].contains(&(postings_at(n) % block))));
    assert!(sizes.iter().any(|&n| n > 8 && postings_at(n) % block == 0), "a size on a boundary");
    let dir = tempdir();
    for n in sizes {
        let mut state = n as u64 + 1;
        let mut e: Vec<(u64, Posting)> = (0..n)
            .map(|i| {
                (crate::hash::splitmix64(&mut state), Posting { doc: (i % 3) as u32, position: i as u32 })
            })
            .collect();
        e.sort_unstable_by_key(|&(h, p)| (stored_key(h), p, h as u32));
        let path = dir.join(format!("seg-{n}.ncs"));
        write_segment(&path, &params(), 3, &e).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let (body, table) = bytes[88..].split_at(postings_at(n) + 8 * n + 8 * 4);
        let mut whole = blocks::BlockHasher::new(blocks::BLOCK_BITS);
        whole.update(body);
        assert_eq!(whole.finish(), table, "{n} entries");
        let seg = Segment::open(&path).unwrap();
        seg.verify().unwrap();
        let read: Vec<(u32, Posting)> = (0..seg.len()).map(|i| (seg.key(i), seg.posting(i))).collect();
        let written: Vec<(u32, Posting)> = e.iter().map(|&(h, p)| (stored_key(h), p)).collect();
        assert_eq!(read, written, "{n} entries");
    }
}
