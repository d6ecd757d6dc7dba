//! Which document a match names first when several match equally: the one holding more of the
//! words of the part of the answer it was found in.
//!
//! Documents that normalize alike (the same file in several architectures' directories, a function
//! under two licence headers, a backend generated from one template) give every copy of either the
//! same coverage in both, since identifiers, literals and comments are abstracted or dropped. The
//! words that were abstracted are what tells the copied one from the others, so the segment keeps
//! each code document's words ([`crate::fingerprint::words`]), and matches of equal coverage are
//! ranked by how many of the answer part's distinct words the document holds; then, as before, by the
//! order of indexing (start in the answer, segment, document). Prose documents keep no words (their
//! build would pay more for them than their ties cost), so their ties keep the order of indexing.

use super::AnswerMatch;
use crate::fingerprint::words::{document_words, shared_words, WordHash};
use crate::fingerprint::PostingSource;

/// Sets `shared_words` of each of `matches`, all found in one part of the answer (`part`, a code
/// block or a stretch of prose): how many of the part's distinct words each match's document
/// holds. The part's, not the match's span: a copy's header comment, its package line and its
/// imports tell one port of a file from another, and they lie outside the span of the code that
/// matched. Counted for every match, not only where another document's is as long: a shard sees
/// only its own documents' matches, and the router ranks the shards' equals by these counts as
/// one index does.
pub(super) fn count_shared_words<S: PostingSource>(part: &str, segments: &[S], matches: &mut [AnswerMatch]) {
    // The part's words are read only if a matched document keeps any (prose keeps none).
    let mut words: Option<Vec<WordHash>> = None;
    for m in matches.iter_mut() {
        let held = segments.get(m.segment).and_then(|s| s.document_words(m.doc)).unwrap_or_default();
        if held.is_empty() {
            continue;
        }
        let words = words.get_or_insert_with(|| {
            let mut words = Vec::new();
            document_words(part.as_bytes(), &mut words);
            words
        });
        m.shared_words = shared_words(words, held);
    }
}

#[cfg(test)]
#[path = "attribution_tests.rs"]
mod tests;
