//! The documents' words in a segment: written, read, merged, checked; format 6 still read.

use super::*;
use crate::fingerprint::words::DocumentWords;
use crate::fingerprint::{Winnowing, Winnowings};

fn params() -> Winnowings {
    Winnowings { prose: Winnowing::new(5, 8, None).unwrap(), code: Winnowing::new(12, 6, None).unwrap() }
}

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nearcopy-words-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Entries over `documents` documents, sorted.
fn entries(n: u32, documents: u32) -> Vec<(u64, Posting)> {
    let mut e: Vec<(u64, Posting)> = (0..n)
        .map(|i| (crate::hash::fmix64(u64::from(i) + 1), Posting { doc: i % documents, position: i }))
        .collect();
    e.sort_unstable();
    e
}

/// Document `d` holds the words `d * 1000 + 0..size(d)` (a prose document: none).
fn words(documents: usize, size: impl Fn(usize) -> u16) -> DocumentWords {
    let mut words = DocumentWords::default();
    for d in 0..documents {
        words.push(&(0..size(d)).map(|i| d as u16 * 1000 + i).collect::<Vec<_>>());
    }
    words
}

fn read(seg: &Segment, doc: u32) -> Vec<u16> {
    let bytes = seg.document_words(doc).expect("intact");
    bytes.chunks_exact(2).map(|c| u16::from_le_bytes(c.try_into().unwrap())).collect()
}

#[test]
fn each_documents_words_are_read_back_and_merged_with_its_documents() {
    let dir = tempdir("merge");
    let (a, b) = (dir.join("a.ncs"), dir.join("b.ncs"));
    let (wa, wb) = (words(3, |d| [5, 0, 7000][d]), words(2, |d| d as u16 + 1));
    write_segment_with_words(&a, &params(), &entries(500, 3), &wa).unwrap();
    write_segment_with_words(&b, &params(), &entries(20, 2), &wb).unwrap();
    let (sa, sb) = (Segment::open(&a).unwrap(), Segment::open(&b).unwrap());
    sa.verify().unwrap();
    assert_eq!((sa.words(), sb.words()), (7005, 3));
    for d in 0..3 {
        assert_eq!(read(&sa, d), wa.of(d as usize), "document {d}");
    }
    assert_eq!(sa.document_words(3), None, "past the segment's documents");
    let merged = dir.join("m.ncs");
    merge_segments(&merged, &params(), &[&sa, &sb]).unwrap();
    let m = Segment::open(&merged).unwrap();
    m.verify().unwrap();
    let mut all = wa.clone();
    all.extend(&wb);
    assert_eq!(
        (0..5).map(|d| read(&m, d)).collect::<Vec<_>>(),
        (0..5).map(|d| all.of(d).to_vec()).collect::<Vec<_>>()
    );
}

#[test]
fn words_out_of_order_are_refused_by_the_writer_and_by_verify() {
    let dir = tempdir("order");
    let path = dir.join("s.ncs");
    let mut unsorted = DocumentWords::default();
    unsorted.push(&[3, 2]);
    let err = write_segment_with_words(&path, &params(), &entries(10, 1), &unsorted).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
    assert!(!path.exists());
    // Written sorted, then two words swapped and the checksums made to match: only verify() tells.
    let mut sorted = DocumentWords::default();
    sorted.push(&[2, 3]);
    write_segment_with_words(&path, &params(), &entries(10, 1), &sorted).unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    let words_at = bytes.len() - 8 - 4;
    bytes[words_at..words_at + 4].copy_from_slice(&[3, 0, 2, 0]);
    crate::fuzzing::reseal_segment(&mut bytes);
    std::fs::write(&path, &bytes).unwrap();
    let err = Segment::open(&path).unwrap().verify().unwrap_err();
    assert!(err.to_string().contains("words out of order"), "{err}");
}

#[test]
fn a_damaged_word_is_not_read_and_the_damage_is_reported() {
    let dir = tempdir("damage");
    let path = dir.join("s.ncs");
    write_segment_with_words(&path, &params(), &entries(100, 2), &words(2, |_| 50)).unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    let last_word = bytes.len() - 8 - 2;
    bytes[last_word] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    let seg = Segment::open(&path).unwrap();
    seg.damage().unwrap();
    assert_eq!(seg.document_words(1), None);
    assert!(matches!(seg.damage(), Err(Error::Corrupt(_))));
}

/// The format 6 file of a segment written without words: no word count in the header (80 bytes),
/// no word starts after the postings.
fn as_format_6(bytes: &[u8], documents: usize) -> Vec<u8> {
    let blocks = (bytes.len() - 88).div_ceil((1 << blocks::BLOCK_BITS) + 8);
    let body_end = bytes.len() - 8 * blocks - 8 * (documents + 1);
    let mut old = [&bytes[..72], &bytes[80..88], &bytes[88..body_end]].concat();
    old[8..12].copy_from_slice(&6u32.to_le_bytes());
    let body = old.len() - 80;
    old.resize(old.len() + 8 * body.div_ceil(1 << blocks::BLOCK_BITS), 0);
    crate::fuzzing::reseal_segment(&mut old);
    old
}

#[test]
fn a_format_6_segment_is_read_without_words_and_merges_into_format_7() {
    let dir = tempdir("format6");
    let (new, old) = (dir.join("new.ncs"), dir.join("old.ncs"));
    let e = entries(3000, 4);
    write_segment(&new, &params(), 4, &e).unwrap();
    std::fs::write(&old, as_format_6(&std::fs::read(&new).unwrap(), 4)).unwrap();
    let seg = Segment::open(&old).unwrap();
    seg.verify().unwrap();
    assert_eq!((seg.documents, seg.len(), seg.words(), seg.document_words(2)), (4, 3000, 0, Some(&[][..])));
    let (mut found, mut expected) = (Vec::new(), Vec::new());
    let reference = Segment::open(&new).unwrap();
    for (hash, _) in e.iter().step_by(7) {
        seg.lookup(*hash, &mut found);
        reference.lookup(*hash, &mut expected);
        assert_eq!(found, expected);
    }
    let withwords = dir.join("w.ncs");
    write_segment_with_words(&withwords, &params(), &entries(10, 2), &words(2, |_| 3)).unwrap();
    let merged = dir.join("m.ncs");
    merge_segments(&merged, &params(), &[&seg, &Segment::open(&withwords).unwrap()]).unwrap();
    let m = Segment::open(&merged).unwrap();
    m.verify().unwrap();
    assert_eq!((read(&m, 3), read(&m, 5)), (vec![], vec![1000, 1001, 1002]));
}
