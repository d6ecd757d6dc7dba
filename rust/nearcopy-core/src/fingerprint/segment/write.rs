//! Writing segments: from sorted entries, or by merging segments (streamed, bounded memory).

use super::blocks::{BlockHasher, BLOCK_BITS};
use super::{bucket, directory_bits, io, key_check, stored_key, Segment, FORMAT_VERSION, HEADER_LEN, MAGIC};
use crate::error::{Error, Result};
use crate::fingerprint::matching::Posting;
use crate::fingerprint::words::DocumentWords;
use crate::fingerprint::Winnowings;
use crate::hash::xxh3_64;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::Path;

/// Bytes of encoded entries hashed and written at a time.
const CHUNK: usize = 64 * 1024;

/// Writes a segment of `entries` for `documents` documents without words to `path` (see
/// [`write_segment_with_words`]).
pub fn write_segment(
    path: &Path,
    params: &Winnowings,
    documents: u64,
    entries: &[(u64, Posting)],
) -> Result<()> {
    let documents = usize::try_from(documents).map_err(|_| too_many_documents())?;
    write_segment_with_words(path, params, entries, &DocumentWords::none(documents))
}

/// Writes a segment of `entries` for the documents of `words` (each document's words) to `path`,
/// atomically: readers see the old file or the complete new one, never a part. The entries are
/// sorted by (hash, posting), or already in the order the segment stores them (top 32 bits of the
/// hash, then posting, then the rest of the hash: what the index build gives, written without
/// sorting again).
pub fn write_segment_with_words(
    path: &Path,
    params: &Winnowings,
    entries: &[(u64, Posting)],
    words: &DocumentWords,
) -> Result<()> {
    let documents = words.documents() as u64;
    if words.starts[0] != 0 || words.starts.windows(2).any(|w| w[0] > w[1]) {
        return Err(Error::InvalidArgument("document words must start at 0 and in order".into()));
    }
    if (0..words.documents()).any(|d| words.of(d).windows(2).any(|w| w[0] >= w[1])) {
        return Err(Error::InvalidArgument("a document's words must be sorted and distinct".into()));
    }
    let write_words = |part: &mut Part, tmp: &Path| {
        for start in &words.starts {
            part.push(&start.to_le_bytes(), tmp)?;
        }
        for word in &words.hashes {
            part.push(&word.to_le_bytes(), tmp)?;
        }
        Ok(())
    };
    let word_count = words.hashes.len() as u64;
    let stored = |e: &(u64, Posting)| (stored_key(e.0), e.1, e.0 as u32);
    if entries.windows(2).all(|w| stored(&w[0]) <= stored(&w[1])) {
        let keyed = || entries.iter().map(|&(hash, p)| (stored_key(hash), p));
        let keys = || entries.iter().map(|&(hash, _)| stored_key(hash));
        let counts = Counts { documents, entries: entries.len(), words: word_count };
        return write_keyed(path, params, counts, keys, keyed, write_words);
    }
    if entries.windows(2).any(|w| w[0] > w[1]) {
        return Err(Error::InvalidArgument("segment entries must be sorted".into()));
    }
    let mut keyed: Vec<(u32, Posting)> = entries.iter().map(|&(hash, p)| (stored_key(hash), p)).collect();
    // Hashes that share their top 32 bits become one key: their postings are re-sorted under it.
    keyed.sort_unstable();
    let keys = || keyed.iter().map(|&(key, _)| key);
    let counts = Counts { documents, entries: keyed.len(), words: word_count };
    write_keyed(path, params, counts, keys, || keyed.iter().copied(), write_words)
}

/// Merges `segments` into one segment at `path`; the documents of `segments[i]` are renumbered after
/// those of the segments before it. Streams the inputs (one pass over their keys for the directory, one
/// k-way merge of their entries), so memory is bounded by the output's directory, not by the
/// fingerprints.
///
/// Each input is verified first (one more pass): a damaged input would otherwise be rewritten
/// under a fresh, valid checksum, and a posting naming a document past its segment's count would
/// be renumbered into another segment's documents (found by the segment_reader fuzz target).
pub fn merge_segments(path: &Path, params: &Winnowings, segments: &[&Segment]) -> Result<()> {
    for segment in segments {
        segment.verify()?;
    }
    let mut first_doc = Vec::with_capacity(segments.len());
    let mut documents = 0u64;
    for segment in segments {
        first_doc.push(u32::try_from(documents).map_err(|_| too_many_documents())?);
        documents += segment.documents;
    }
    u32::try_from(documents).map_err(|_| too_many_documents())?;
    let entries: usize = segments.iter().map(|s| s.len()).sum();
    let words: u64 = segments.iter().map(|s| s.words()).sum();
    let merged = || MergedEntries::new(segments, &first_doc);
    let keys = || segments.iter().flat_map(|segment| (0..segment.len()).map(|i| segment.key(i)));
    // The words are each input's in turn, their starts shifted by the words before (a format 6
    // input's documents have none).
    let write_words = |part: &mut Part, tmp: &Path| {
        part.push(&0u64.to_le_bytes(), tmp)?;
        let mut base = 0u64;
        for segment in segments {
            for d in 1..=segment.documents as usize {
                part.push(&(base + segment.word_start(d)).to_le_bytes(), tmp)?;
            }
            base += segment.words();
        }
        // A chunk at a time: a gigabyte of code holds some hundred megabytes of words.
        let mut pieces = segments.iter().flat_map(|segment| segment.word_bytes().chunks(CHUNK));
        pieces.try_for_each(|piece| part.push(piece, tmp))
    };
    write_keyed(path, params, Counts { documents, entries, words }, keys, merged, write_words)
}

/// What a segment being written holds.
struct Counts {
    documents: u64,
    entries: usize,
    words: u64,
}

fn too_many_documents() -> Error {
    Error::InvalidArgument("a merged segment holds fewer than 2^32 documents".into())
}

/// Up to this many segments, the merge finds the smallest head by a scan; past it, by a heap. A
/// build merges its 64 MB batches at the end: 16 at a gigabyte, but 16,000 at a terabyte, where a
/// scan per entry would make the merge quadratic.
const SCAN_MAX_SEGMENTS: usize = 8;

/// An entry packed into one integer that orders as (key, document, position) do, so that the
/// smallest head is found by integer comparisons (comparing the tuples cost a third of the merge).
type Packed = u128;
/// A segment with no entry left: greater than any packed entry (whose top 32 bits are zero).
const EXHAUSTED: Packed = Packed::MAX;

fn pack((key, posting): (u32, Posting)) -> Packed {
    (Packed::from(key) << 64) | (Packed::from(posting.doc) << 32) | Packed::from(posting.position)
}

fn unpack(packed: Packed) -> (u32, Posting) {
    let posting = Posting { doc: (packed >> 32) as u32, position: packed as u32 };
    ((packed >> 64) as u32, posting)
}

/// The entries of several segments in (key, posting) order, documents renumbered: a k-way merge
/// over each segment's next entry, read once. Documents are renumbered apart, so no two segments
/// yield the same entry and both ways of finding the smallest head give the same order.
struct MergedEntries<'a> {
    segments: &'a [&'a Segment],
    first_doc: &'a [u32],
    next: Vec<usize>,
    /// Each segment's next entry, packed, or EXHAUSTED (few segments: found by a scan of these).
    heads: Vec<Packed>,
    /// Many segments: the heads in a heap instead.
    heap: Option<BinaryHeap<Head>>,
}

/// A segment's next entry and the segment's number, smallest first in the heap.
type Head = Reverse<(Packed, usize)>;

impl<'a> MergedEntries<'a> {
    fn new(segments: &'a [&'a Segment], first_doc: &'a [u32]) -> Self {
        let mut merged = MergedEntries {
            segments,
            first_doc,
            next: vec![0; segments.len()],
            heads: Vec::new(),
            heap: None,
        };
        merged.heads = (0..segments.len()).map(|s| merged.entry(s)).collect();
        if segments.len() > SCAN_MAX_SEGMENTS {
            let heads = merged.heads.iter().enumerate().filter(|(_, &e)| e != EXHAUSTED);
            merged.heap = Some(heads.map(|(s, &e)| Reverse((e, s))).collect());
        }
        merged
    }

    #[inline]
    fn entry(&self, s: usize) -> Packed {
        let segment = self.segments[s];
        let i = self.next[s];
        if i >= segment.len() {
            return EXHAUSTED;
        }
        let posting = segment.posting(i);
        pack((segment.key(i), Posting { doc: posting.doc + self.first_doc[s], ..posting }))
    }
}

impl Iterator for MergedEntries<'_> {
    type Item = (u32, Posting);

    #[inline]
    fn next(&mut self) -> Option<(u32, Posting)> {
        if self.heap.is_some() {
            let Reverse((entry, s)) = self.heap.as_mut()?.pop()?;
            self.next[s] += 1;
            let following = self.entry(s);
            if following != EXHAUSTED {
                self.heap.as_mut()?.push(Reverse((following, s)));
            }
            return Some(unpack(entry));
        }
        // Few segments: a scan of the heads beats a heap.
        let mut s = 0;
        for (t, &head) in self.heads.iter().enumerate().skip(1) {
            if head < self.heads[s] {
                s = t;
            }
        }
        let entry = *self.heads.get(s)?;
        if entry == EXHAUSTED {
            return None;
        }
        self.next[s] += 1;
        self.heads[s] = self.entry(s);
        Some(unpack(entry))
    }
}

/// One part of a segment's body being written: encoded a chunk at a time, written through its own
/// file handle (so that the keys and the postings, which lie apart in the file, are written in
/// the same pass over the entries) and hashed in blocks. The postings part usually starts inside
/// a block: its first bytes up to the next block boundary (`head`) are hashed with the keys' last
/// ones, once both are known.
struct Part {
    out: BufWriter<File>,
    chunk: Vec<u8>,
    head: Vec<u8>,
    head_len: usize,
    hasher: BlockHasher,
}

impl Part {
    /// A part starting `at` bytes into the body, written at that offset of `file`.
    fn new(mut file: File, at: usize, tmp: &Path) -> Result<Self> {
        let size = 1usize << BLOCK_BITS;
        let head_len = (size - at % size) % size;
        file.seek(SeekFrom::Start((HEADER_LEN + at) as u64)).map_err(|e| io(tmp, "seek", e))?;
        Ok(Part {
            out: BufWriter::with_capacity(1 << 20, file),
            chunk: Vec::with_capacity(CHUNK + 16),
            head: Vec::with_capacity(head_len),
            head_len,
            hasher: BlockHasher::from_block(BLOCK_BITS, ((at + head_len) >> BLOCK_BITS) as u64),
        })
    }

    #[inline(always)]
    fn push(&mut self, bytes: &[u8], tmp: &Path) -> Result<()> {
        self.chunk.extend_from_slice(bytes);
        if self.chunk.len() >= CHUNK {
            self.flush(tmp)?;
        }
        Ok(())
    }

    fn flush(&mut self, tmp: &Path) -> Result<()> {
        let take = (self.head_len - self.head.len()).min(self.chunk.len());
        self.head.extend_from_slice(&self.chunk[..take]);
        self.hasher.update(&self.chunk[take..]);
        self.out.write_all(&self.chunk).map_err(|e| io(tmp, "write", e))?;
        self.chunk.clear();
        Ok(())
    }
}

/// Writes `counts.entries` entries, yielded in (key, posting) order by `entries()`, in one pass:
/// each entry's key and posting go to their own parts of the file at once (a merge made two k-way
/// passes, one for the keys and one for the postings); `keys()` yields the same keys in any order,
/// to count the directory's buckets (a merge counts its inputs' keys without merging them).
/// `words` writes the word starts and the words after the postings.
fn write_keyed<I: Iterator<Item = (u32, Posting)>, K: Iterator<Item = u32>>(
    path: &Path,
    params: &Winnowings,
    counts: Counts,
    keys: impl FnOnce() -> K,
    entries: impl FnOnce() -> I,
    words: impl FnOnce(&mut Part, &Path) -> Result<()>,
) -> Result<()> {
    let Counts { documents, entries: count, words: word_count } = counts;
    if u32::try_from(count).is_err() {
        return Err(Error::InvalidArgument("a segment holds fewer than 2^32 fingerprints".into()));
    }
    let bits = directory_bits(count);
    let mut directory = vec![0u32; (1usize << bits) + 1];
    for key in keys() {
        directory[bucket(key, bits) + 1] += 1;
    }
    for b in 1..directory.len() {
        directory[b] += directory[b - 1];
    }
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("segment");
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let file = File::create(&tmp).map_err(|e| io(&tmp, "create", e))?;
        let second = OpenOptions::new().write(true).open(&tmp).map_err(|e| io(&tmp, "open", e))?;
        // The body: the directory and the keys (one part), then the postings (the other).
        let postings_at = 4 * directory.len() + 4 * count;
        let mut keyed = Part::new(file, 0, &tmp)?;
        let mut postings = Part::new(second, postings_at, &tmp)?;
        for offset in &directory {
            keyed.push(&offset.to_le_bytes(), &tmp)?;
        }
        let mut previous: Option<(u32, Posting)> = None;
        let mut written = 0usize;
        for entry in entries() {
            if previous.is_some_and(|p| p > entry) {
                return Err(Error::InvalidArgument("segment entries must be sorted".into()));
            }
            previous = Some(entry);
            written += 1;
            keyed.push(&entry.0.to_le_bytes(), &tmp)?;
            let posting = (u64::from(entry.1.position) << 32) | u64::from(entry.1.doc);
            postings.push(&posting.to_le_bytes(), &tmp)?;
        }
        if written != count {
            return Err(Error::InvalidArgument(format!("{written} entries given, {count} announced")));
        }
        words(&mut postings, &tmp)?;
        keyed.flush(&tmp)?;
        postings.flush(&tmp)?;
        // The keys' last block is completed by the postings' first bytes.
        let Part { out: mut postings_out, head, hasher: postings_hasher, .. } = postings;
        let Part { out: keys_out, hasher: mut keys_hasher, .. } = keyed;
        keys_hasher.update(&head);
        let mut table = keys_hasher.finish();
        table.extend(postings_hasher.finish());
        postings_out.write_all(&table).map_err(|e| io(&tmp, "write", e))?;
        postings_out.into_inner().map_err(|e| io(&tmp, "write", e.into_error()))?;
        let header = header(params, (documents, count, word_count), xxh3_64(&table, 0), bits);
        let mut file = keys_out.into_inner().map_err(|e| io(&tmp, "write", e.into_error()))?;
        file.seek(SeekFrom::Start(0))
            .and_then(|_| file.write_all(&header))
            .map_err(|e| io(&tmp, "write", e))?;
        file.sync_all().map_err(|e| io(&tmp, "sync", e))?;
        std::fs::rename(&tmp, path).map_err(|e| io(path, "publish", e))?;
        // Make the rename itself durable.
        File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io(dir, "sync", e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The header of a segment of (documents, entries, words).
fn header(params: &Winnowings, sizes: (u64, usize, u64), table_checksum: u64, bits: u32) -> Vec<u8> {
    let (documents, entries, words) = sizes;
    let mut header = Vec::with_capacity(HEADER_LEN);
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    header.extend_from_slice(&u32::from(params.prose.key.is_some()).to_le_bytes());
    header.extend_from_slice(&(params.prose.k as u32).to_le_bytes());
    header.extend_from_slice(&(params.prose.w as u32).to_le_bytes());
    header.extend_from_slice(&key_check(params.prose.key.as_ref()).to_le_bytes());
    header.extend_from_slice(&documents.to_le_bytes());
    header.extend_from_slice(&(entries as u64).to_le_bytes());
    header.extend_from_slice(&table_checksum.to_le_bytes());
    header.extend_from_slice(&(params.code.k as u32).to_le_bytes());
    header.extend_from_slice(&(params.code.w as u32).to_le_bytes());
    header.extend_from_slice(&bits.to_le_bytes());
    header.extend_from_slice(&BLOCK_BITS.to_le_bytes());
    header.extend_from_slice(&words.to_le_bytes());
    let header_sum = xxh3_64(&header, 0);
    header.extend_from_slice(&header_sum.to_le_bytes());
    debug_assert_eq!(header.len(), HEADER_LEN);
    header
}
