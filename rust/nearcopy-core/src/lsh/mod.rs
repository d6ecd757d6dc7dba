//! A persistent, incremental MinHash-LSH index: immutable memory-mapped segments, queried one
//! signature or a batch at a time, from any number of processes.
//!
//! * [`header`], [`mod@write`], [`segment`]: the file of one batch of documents (its layout, its
//!   writer, its reader): per band a sorted table of band keys
//!   (the dedup kernels' keys, [`crate::dedup::band_keys`]), a table of key hashes, the keys
//!   themselves, a verification store ([`store`]) and optional columns (content hashes, shingle
//!   sets) for `dedup --reference`.
//! * [`tombstones`]: removed documents of a segment, in a file of their own (segments are never
//!   modified); [`merge`] writes one segment from several, leaving removed documents out.
//! * [`query`]: candidates sharing a band with a query, verified against the store, ranked.
//! * [`containment`]: the documents holding most of a query, on single-slot bands and the
//!   documents' set sizes (LSH Ensemble's question).
//!
//! The manifest that lists the segments, and the locking of writers, live in Python
//! (`nearcopy/lsh_store.py`), as for the protected index.

mod build;
pub mod containment;
pub mod header;
pub mod merge;
pub mod packed;
pub mod query;
mod rank;
pub mod segment;
pub mod store;
pub mod table;
pub mod tombstones;
pub mod write;

pub use containment::{
    binomial_cdf, estimate_containment, jaccard_at, query_containment, ContainmentHit, ContainmentSettings,
};
pub use header::{Header, KeyKind};
pub use merge::merge_segments;
pub use query::{find_keys, query, query_one, Hit, QuerySettings, Source};
pub use segment::{IntKeys, Segment};
pub use store::Store;
pub use tombstones::{write_tombstones, Tombstones};
pub use write::{write_segment, Columns, Keys, NewDocs};

use crate::error::{Error, Result};
use crate::fingerprint::segment::blocks::BlockHasher;
use crate::hash::xxh3_64;
use crate::minhash::Scheme;
use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// log2 of the checksum blocks of the segments written: 4 KiB, a page. A query's candidates are
/// scattered through the verification store, so a query soon after opening reads mostly blocks not
/// checked yet, each hashed whole on that first read: a 16 KiB block (the protected index's size)
/// cost four pages' faults and hashing per candidate, most of a slow query's time. The table is
/// then 0.2% of the file (8 bytes per block), read at open. Readers take any size the header names
/// (segments written with 16 KiB blocks read as before).
pub(crate) const BLOCK_BITS: u32 = 12;

/// The seed of key hashes, so that a key's hash differs from any band key.
const KEY_SEED: u64 = 0x6B65_795F_6873_6831;

/// The 32 bits a table keeps of a 64-bit hash: its top bits.
#[inline]
pub fn stored_key(hash: u64) -> u32 {
    (hash >> 32) as u32
}

/// The table key of a document key's bytes (a str key's UTF-8, an int key's 8 little-endian bytes).
#[inline]
pub fn key_hash(bytes: &[u8]) -> u32 {
    stored_key(xxh3_64(bytes, KEY_SEED))
}

/// The header's code of a scheme.
pub fn scheme_code(scheme: Scheme) -> u32 {
    match scheme {
        Scheme::Fast => 0,
        Scheme::Legacy => 1,
        Scheme::Affine32 => 2,
        Scheme::Affine64 => 3,
    }
}

pub fn scheme_from_code(code: u32) -> Option<Scheme> {
    Scheme::ALL.into_iter().find(|&s| scheme_code(s) == code)
}

fn io(path: &Path, what: &str, err: std::io::Error) -> Error {
    Error::Io(format!("{}: cannot {what}: {err}", path.display()))
}

/// A file written beside its final name and renamed into place by [`AtomicFile::commit`]: readers
/// see no file or the complete one, and a failed or dropped write leaves nothing behind.
pub(crate) struct AtomicFile {
    path: PathBuf,
    tmp: PathBuf,
    out: Option<BufWriter<WriteBehind>>,
}

/// Bytes written after which the file's writeback is started (while the writer goes on).
const WRITE_BEHIND: u64 = 4 << 20;

/// A file that asks the kernel to start writing each few megabytes out as soon as they are
/// written, so that the `fsync` that publishes the segment waits for its tail only (it waited for
/// the whole file, a fifth of an insert).
pub(crate) struct WriteBehind {
    file: File,
    written: u64,
    started: u64,
}

impl Write for WriteBehind {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.written += n as u64;
        if self.written - self.started >= WRITE_BEHIND {
            #[cfg(target_os = "linux")]
            // SAFETY: a hint on a file descriptor this struct owns; it reads or writes no memory.
            // Its failure only means the final fsync does all the work, so it is ignored.
            unsafe {
                use std::os::fd::AsRawFd;
                let len = (self.written - self.started) as libc::off64_t;
                let _ = libc::sync_file_range(
                    self.file.as_raw_fd(),
                    self.started as libc::off64_t,
                    len,
                    libc::SYNC_FILE_RANGE_WRITE,
                );
            }
            self.started = self.written;
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

impl Seek for WriteBehind {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.file.seek(pos)
    }
}

impl AtomicFile {
    pub(crate) fn create(path: &Path) -> Result<Self> {
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("lsh");
        let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
        let file = File::create(&tmp).map_err(|e| io(&tmp, "create", e))?;
        let file = WriteBehind { file, written: 0, started: 0 };
        Ok(AtomicFile { path: path.to_path_buf(), tmp, out: Some(BufWriter::with_capacity(1 << 20, file)) })
    }

    pub(crate) fn writer(&mut self) -> &mut BufWriter<WriteBehind> {
        self.out.as_mut().expect("writer used after commit")
    }

    /// Writes `header` at offset 0 (over the placeholder the body was written after), syncs the
    /// file, renames it into place and syncs the directory.
    pub(crate) fn commit(mut self, header: &[u8]) -> Result<()> {
        let tmp = self.tmp.clone();
        let out = self.out.take().expect("committed twice");
        let mut file = out.into_inner().map_err(|e| io(&tmp, "write", e.into_error()))?;
        file.seek(SeekFrom::Start(0))
            .and_then(|_| file.write_all(header))
            .map_err(|e| io(&tmp, "write", e))?;
        let file = file.file;
        file.sync_all().map_err(|e| io(&tmp, "sync", e))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| io(&self.path, "publish", e))?;
        let dir = self.path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io(dir, "sync", e))
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.out.is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// A writer that hashes what passes through it (the body checksum and each block's) and counts it.
pub(crate) struct Hashing<'a, W: Write> {
    pub(crate) inner: &'a mut W,
    pub(crate) hasher: crate::hash::Xxh3,
    pub(crate) blocks: BlockHasher,
    pub(crate) written: u64,
}

impl<'a, W: Write> Hashing<'a, W> {
    pub(crate) fn new(inner: &'a mut W) -> Self {
        Hashing { inner, hasher: crate::hash::Xxh3::new(), blocks: BlockHasher::new(BLOCK_BITS), written: 0 }
    }
}

impl<W: Write> Write for Hashing<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.blocks.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod int_key_tests;
#[cfg(test)]
mod query_tests;
#[cfg(test)]
mod tests;
