//! Index segments on disk: one immutable file of hash-sorted fingerprint postings, memory-mapped.
//!
//! Layout (little-endian; 12 bytes per fingerprint plus a directory of at most half a byte each):
//!
//! | offset | field |
//! |---|---|
//! | 0 | magic `NCSEG\0\r\n` (the `\r\n` shows a text-mode transfer that mangled the file) |
//! | 8 | format version (u32), 12: flags (u32, bit 0: keyed) |
//! | 16 | prose k (u32), 20: prose w (u32) |
//! | 24 | key check (u64): identifies the key without revealing it, 0 when unkeyed |
//! | 32 | documents (u64), 40: fingerprints `n` (u64) |
//! | 48 | checksum of the body (u64, XXH3) |
//! | 56 | code k (u32), 60: code w (u32) |
//! | 64 | directory bits `b` (u32), 68: zero (u32) |
//! | 72 | checksum of bytes 0..72 (u64) |
//! | 80 | directory: `2^b + 1` × u32, where bucket `i` (the keys whose top `b` bits are `i`) starts |
//! |    | then keys: `n` × u32, the top 32 bits of each fingerprint hash, sorted |
//! |    | then postings: `n` × (document u32, position u32), sorted within each key |
//!
//! A fingerprint is looked up by the top 32 bits of its hash: 4 bytes instead of 8. A lookup then
//! finds, besides the true postings, those of another hash with the same top bits, with probability
//! about entries / 2^32 (1% at 40 million fingerprints); such a chance posting is a lone hit in some
//! document, far from the 25 tokens of chained hits a copy needs. Every segment keeps the same 32
//! bits whatever its size, so segments merge by merging their sorted keys. The directory (about
//! eight keys per bucket) narrows the binary search to a bucket.
//!
//! Segments are published by writing a temporary file, syncing it and renaming it into place, and
//! are never modified afterwards, so readers in any number of processes map them without locks.
//! Opening checks the header, the header checksum and that the length fits the counts (O(1), so
//! opening is instant whatever the size); [`Segment::verify`] also checks the body checksum and order.

use super::matching::Posting;
use super::Winnowings;
use crate::error::{Error, Result};
use crate::hash::{xxh3_64, Xxh3};
use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

const MAGIC: &[u8; 8] = b"NCSEG\0\r\n";
/// 5: fingerprints keyed by SipHash-2-4 under a 128-bit key (4 XORed a 64-bit key into fmix64's
/// input, which one known text gave away).
pub const FORMAT_VERSION: u32 = 5;
const HEADER_LEN: usize = 80;
const ENTRY_LEN: usize = 12;
/// About eight entries per directory bucket, at most 2^24 buckets (a 64 MB directory).
const MAX_DIRECTORY_BITS: u32 = 24;

fn directory_bits(entries: usize) -> u32 {
    if entries < 64 {
        0
    } else {
        (entries.ilog2() - 3).min(MAX_DIRECTORY_BITS)
    }
}

#[inline]
fn bucket(key: u32, bits: u32) -> usize {
    if bits == 0 {
        0
    } else {
        (key >> (32 - bits)) as usize
    }
}

/// What a segment stores of a fingerprint hash.
#[inline]
pub fn stored_key(hash: u64) -> u32 {
    (hash >> 32) as u32
}

pub use super::key::key_check;

fn io(path: &Path, what: &str, err: std::io::Error) -> Error {
    Error::Io(format!("{}: cannot {what}: {err}", path.display()))
}

/// Writes a segment of `entries` (sorted by hash, then posting) for `documents` documents to `path`,
/// atomically: readers see the old file or the complete new one, never a part.
pub fn write_segment(
    path: &Path,
    params: &Winnowings,
    documents: u64,
    entries: &[(u64, Posting)],
) -> Result<()> {
    if entries.windows(2).any(|w| w[0] > w[1]) {
        return Err(Error::InvalidArgument("segment entries must be sorted".into()));
    }
    let mut keyed: Vec<(u32, Posting)> = entries.iter().map(|&(hash, p)| (stored_key(hash), p)).collect();
    // Hashes that share their top 32 bits become one key: their postings are re-sorted under it.
    keyed.sort_unstable();
    write_keyed(path, params, documents, keyed.len(), || keyed.iter().copied())
}

/// Merges `segments` into one segment at `path`; the documents of `segments[i]` are renumbered after
/// those of the segments before it. Streams the inputs (two passes over their mapped keys), so memory
/// is bounded by the output's directory, not by the fingerprints.
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
    let merged = || MergedEntries::new(segments, &first_doc);
    write_keyed(path, params, documents, entries, merged)
}

fn too_many_documents() -> Error {
    Error::InvalidArgument("a merged segment holds fewer than 2^32 documents".into())
}

/// The entries of several segments in (key, posting) order, documents renumbered: a k-way merge.
struct MergedEntries<'a> {
    segments: &'a [&'a Segment],
    first_doc: &'a [u32],
    next: Vec<usize>,
}

impl<'a> MergedEntries<'a> {
    fn new(segments: &'a [&'a Segment], first_doc: &'a [u32]) -> Self {
        MergedEntries { segments, first_doc, next: vec![0; segments.len()] }
    }

    fn entry(&self, s: usize) -> Option<(u32, Posting)> {
        let segment = self.segments[s];
        let i = self.next[s];
        (i < segment.len()).then(|| {
            let posting = segment.posting(i);
            (segment.key(i), Posting { doc: posting.doc + self.first_doc[s], ..posting })
        })
    }
}

impl Iterator for MergedEntries<'_> {
    type Item = (u32, Posting);

    fn next(&mut self) -> Option<(u32, Posting)> {
        // Few segments are merged at once, so a scan for the smallest head beats a heap.
        let (s, entry) =
            (0..self.segments.len()).filter_map(|s| self.entry(s).map(|e| (s, e))).min_by_key(|&(_, e)| e)?;
        self.next[s] += 1;
        Some(entry)
    }
}

/// Writes `count` entries, yielded in (key, posting) order by `entries()` (called twice: once to
/// count the directory's buckets, once to write).
fn write_keyed<I: Iterator<Item = (u32, Posting)>>(
    path: &Path,
    params: &Winnowings,
    documents: u64,
    count: usize,
    entries: impl Fn() -> I,
) -> Result<()> {
    if u32::try_from(count).is_err() {
        return Err(Error::InvalidArgument("a segment holds fewer than 2^32 fingerprints".into()));
    }
    let bits = directory_bits(count);
    let mut directory = vec![0u32; (1usize << bits) + 1];
    for (key, _) in entries() {
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
        let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
        let write = |out: &mut std::io::BufWriter<File>, bytes: &[u8]| {
            out.write_all(bytes).map_err(|e| io(&tmp, "write", e))
        };
        // The header is written last, once the body's checksum is known.
        write(&mut out, &[0u8; HEADER_LEN])?;
        let mut hasher = Xxh3::new();
        let mut body = |out: &mut std::io::BufWriter<File>, bytes: &[u8]| {
            hasher.update(bytes);
            write(out, bytes)
        };
        for offset in &directory {
            body(&mut out, &offset.to_le_bytes())?;
        }
        let mut previous: Option<(u32, Posting)> = None;
        let mut written = 0usize;
        for entry in entries() {
            if previous.is_some_and(|p| p > entry) {
                return Err(Error::InvalidArgument("segment entries must be sorted".into()));
            }
            previous = Some(entry);
            body(&mut out, &entry.0.to_le_bytes())?;
            written += 1;
        }
        for (_, posting) in entries() {
            body(&mut out, &posting.doc.to_le_bytes())?;
            body(&mut out, &posting.position.to_le_bytes())?;
        }
        if written != count {
            return Err(Error::InvalidArgument(format!("{written} entries given, {count} announced")));
        }
        let header = header(params, documents, count, hasher.digest(), bits);
        let mut file = out.into_inner().map_err(|e| io(&tmp, "write", e.into_error()))?;
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

fn header(params: &Winnowings, documents: u64, entries: usize, body_checksum: u64, bits: u32) -> Vec<u8> {
    let mut header = Vec::with_capacity(HEADER_LEN);
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    header.extend_from_slice(&u32::from(params.prose.key.is_some()).to_le_bytes());
    header.extend_from_slice(&(params.prose.k as u32).to_le_bytes());
    header.extend_from_slice(&(params.prose.w as u32).to_le_bytes());
    header.extend_from_slice(&key_check(params.prose.key.as_ref()).to_le_bytes());
    header.extend_from_slice(&documents.to_le_bytes());
    header.extend_from_slice(&(entries as u64).to_le_bytes());
    header.extend_from_slice(&body_checksum.to_le_bytes());
    header.extend_from_slice(&(params.code.k as u32).to_le_bytes());
    header.extend_from_slice(&(params.code.w as u32).to_le_bytes());
    header.extend_from_slice(&bits.to_le_bytes());
    header.extend_from_slice(&0u32.to_le_bytes());
    let header_sum = xxh3_64(&header, 0);
    header.extend_from_slice(&header_sum.to_le_bytes());
    debug_assert_eq!(header.len(), HEADER_LEN);
    header
}

/// A memory-mapped, validated segment.
pub struct Segment {
    map: memmap2::Mmap,
    /// Winnowing of prose (k, w) and of code (code_k, code_w).
    pub k: usize,
    pub w: usize,
    pub code_k: usize,
    pub code_w: usize,
    pub key_check: u64,
    pub documents: u64,
    entries: usize,
    bits: u32,
    /// Byte offsets of the keys and of the postings.
    keys_at: usize,
    postings_at: usize,
    body_checksum: u64,
}

fn read_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

fn read_u64(bytes: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(b)
}

impl Segment {
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| io(path, "open", e))?;
        // SAFETY: published segments are never written again (they are replaced by rename, which
        // leaves this mapping on the old file), so the mapped bytes cannot change under the reader.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| io(path, "map", e))?;
        let corrupt = |why: &str| {
            Error::Corrupt(format!("{}: not a valid nearcopy index segment: {why}", path.display()))
        };
        if map.len() < HEADER_LEN || &map[..8] != MAGIC {
            return Err(corrupt("wrong magic bytes (not a segment, or truncated)"));
        }
        let version = read_u32(&map, 8);
        if version != FORMAT_VERSION {
            return Err(corrupt(&format!(
                "format version {version}, this nearcopy reads {FORMAT_VERSION} (rebuild the index)"
            )));
        }
        if read_u64(&map, 72) != xxh3_64(&map[..72], 0) {
            return Err(corrupt("header checksum mismatch (damaged file)"));
        }
        let entries = read_u64(&map, 40);
        let bits = read_u32(&map, 64);
        if bits > MAX_DIRECTORY_BITS {
            return Err(corrupt(&format!("a directory of 2^{bits} buckets")));
        }
        let directory = 4 * ((1u64 << bits) + 1);
        let expected =
            entries.checked_mul(ENTRY_LEN as u64).and_then(|b| b.checked_add(HEADER_LEN as u64 + directory));
        if expected != Some(map.len() as u64) {
            return Err(corrupt(&format!(
                "{} bytes for {entries} fingerprints (truncated or padded)",
                map.len()
            )));
        }
        Ok(Segment {
            k: read_u32(&map, 16) as usize,
            w: read_u32(&map, 20) as usize,
            code_k: read_u32(&map, 56) as usize,
            code_w: read_u32(&map, 60) as usize,
            key_check: read_u64(&map, 24),
            documents: read_u64(&map, 32),
            entries: entries as usize,
            bits,
            keys_at: HEADER_LEN + directory as usize,
            postings_at: HEADER_LEN + directory as usize + 4 * entries as usize,
            body_checksum: read_u64(&map, 48),
            map,
        })
    }

    pub fn len(&self) -> usize {
        self.entries
    }

    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    pub fn bytes(&self) -> usize {
        self.map.len()
    }

    #[inline]
    fn key(&self, i: usize) -> u32 {
        read_u32(&self.map, self.keys_at + 4 * i)
    }

    #[inline]
    fn directory(&self, b: usize) -> usize {
        read_u32(&self.map, HEADER_LEN + 4 * b) as usize
    }

    #[inline]
    fn posting(&self, i: usize) -> Posting {
        let at = self.postings_at + 8 * i;
        Posting { doc: read_u32(&self.map, at), position: read_u32(&self.map, at + 4) }
    }

    /// The postings of `hash` (sorted by document, then position).
    pub fn lookup(&self, hash: u64, out: &mut Vec<Posting>) {
        self.lookup_limited(hash, usize::MAX, out);
    }

    /// The postings of `hash` until they name more than `max_documents` documents; returns how many
    /// documents they name (see [`super::PostingSource::postings`]).
    pub fn lookup_limited(&self, hash: u64, max_documents: usize, out: &mut Vec<Posting>) -> usize {
        let key = stored_key(hash);
        let b = bucket(key, self.bits);
        let (mut lo, end) = (self.directory(b), self.directory(b + 1).min(self.entries));
        let mut hi = end;
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.key(mid) < key {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let run = (lo..end).take_while(|&i| self.key(i) == key).map(|i| self.posting(i));
        super::matching::collect_postings(run, max_documents, out)
    }

    /// Reads the whole body: checksum, sorted hashes, document numbers in range. O(size).
    pub fn verify(&self) -> Result<()> {
        let corrupt = |why: &str| Error::Corrupt(format!("index segment damaged: {why}"));
        if xxh3_64(&self.map[HEADER_LEN..], 0) != self.body_checksum {
            return Err(corrupt("body checksum mismatch"));
        }
        let buckets = 1usize << self.bits;
        if self.directory(0) != 0 || self.directory(buckets) != self.entries {
            return Err(corrupt("directory does not span the fingerprints"));
        }
        for b in 0..buckets {
            let (start, end) = (self.directory(b), self.directory(b + 1));
            if start > end || end > self.entries {
                return Err(corrupt("directory out of order"));
            }
            if (start..end).any(|i| bucket(self.key(i), self.bits) != b) {
                return Err(corrupt("a fingerprint in the wrong directory bucket"));
            }
            let entry = |i: usize| (self.key(i), self.posting(i));
            if (start + 1..end).any(|i| entry(i - 1) > entry(i)) {
                return Err(corrupt("fingerprints out of order"));
            }
        }
        if (0..self.entries).any(|i| u64::from(self.posting(i).doc) >= self.documents) {
            return Err(corrupt("a posting names a document the segment does not have"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
