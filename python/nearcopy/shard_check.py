"""A check fanned out over the shards of a sharded index, each served on its own (a shard server),
with the verdicts of the whole index: what ``nearcopy serve --shard I`` and ``--route-to`` run.

The matcher couples shards in two ways only (``rust/nearcopy-core/src/index/fanout.rs``): a
fingerprint's document frequency, which decides the boilerplate rule, is counted over every shard,
and a fingerprint any shard allowlists is never reported. So a check has two phases:

1. every shard says, for the fingerprints its matcher looks up in the answer, how many of its
   documents hold each (capped past the largest threshold) and which its allowlist holds
   (:meth:`ShardChecker.frequencies`);
2. the router sums the counts (:func:`other_shards`), and every shard that holds any of the
   fingerprints matches with the other shards' counts added and their allowlists applied
   (:meth:`ShardChecker.matches`); :func:`merged_verdict` puts the shards' matches in the order one
   index gives them (longest first, then by position, then by segment over all shards in order).

Both phases split the answer as the whole index would: by the contents of every shard
(:func:`union_contents`), not this shard's alone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nearcopy import _core
from nearcopy.filter import Located, OutputFilter, Policy, Verdict, verdict_of
from nearcopy.index import ProtectedIndex
from nearcopy.index_shards import ShardError, check_top, is_sharded
from nearcopy.index_store import IndexError_, derived_key, load_manifest, read_manifest
from nearcopy.protected_documents import index_contents

# (max_doc_frequency, min_tokens, min_code_tokens, (popular_doc_frequency, percent) or None)
Thresholds = tuple[int, int, int, "tuple[int, int] | None"]
# (hash, documents holding it)
Counts = list[tuple[int, int]]
# What the whole index holds: languages of its code (None: any) and whether it holds prose.
Contents = tuple["list[str] | None", bool]


def thresholds_of(output_filter: OutputFilter) -> Thresholds:
    """The thresholds the router sends with every phase (shard servers keep none of their own)."""
    f = output_filter
    return (f.max_doc_frequency, f.min_tokens, f.min_code_tokens, f._popular)


class ShardIndex(ProtectedIndex):
    """One shard of a sharded index opened alone, knowing which it is: ``number`` of ``count`` in
    generation ``top_generation`` of the sharded index (its own ``info()["generation"]`` is the
    shard's)."""

    top_generation = 0
    number = 0
    count = 1


def open_shard(path: str | Path, shard: int, *, key: bytes | None = None) -> ShardIndex:
    """Shard ``shard`` of the sharded index at ``path``, opened alone (the others need not be on
    this machine). Refuses, naming the shard, one out of range or built unlike the sharded index."""
    root = Path(path)
    loaded = load_manifest(root)
    if not is_sharded(loaded):
        raise IndexError_(f"{root}: --shard needs a sharded index; this is an index of one directory")
    top = check_top(root, loaded)
    entries = top["shards"]
    if not 0 <= shard < len(entries):
        raise ShardError(f"{root}: --shard {shard}: the index has shards 0 to {len(entries) - 1}")
    shard_root = root / entries[shard]["path"]
    where = f"{root}: shard {shard} of {len(entries)} ({entries[shard]['path']})"
    try:
        manifest = read_manifest(shard_root)
    except (OSError, IndexError_) as err:
        raise ShardError(f"{where}: {err}") from None
    if any(manifest.get(f) != top.get(f) for f in ("params", "keyed", "key_check")):
        raise ShardError(f"{where}: built with other parameters or another key than the sharded index")
    index = ShardIndex(shard_root, manifest, derived_key(root, top, key))
    index.top_generation, index.number, index.count = int(top["generation"]), shard, len(entries)
    return index


def contents_of(index: ProtectedIndex) -> Contents:
    """What one shard holds, as :func:`union_contents` combines it."""
    contents = index_contents(index._manifest)
    if contents is None:
        return (None, True)
    return (sorted(c for c in contents if c != "prose"), "prose" in contents)


def union_contents(parts: Sequence[Contents]) -> Contents:
    """What the whole index holds, from what each shard does (as ``ProtectedIndex`` opens them)."""
    if any(languages is None for languages, _ in parts):
        return (None, True)
    languages = sorted({name for names, _ in parts for name in names or ()})
    return (languages, any(prose for _, prose in parts))


@dataclass(frozen=True)
class ShardChecker:
    """The two phases over one shard (an index opened by :func:`open_shard`)."""

    index: ProtectedIndex

    def frequencies(
        self, texts: list[str], hints: list[str | None], thresholds: Thresholds, contents: Contents
    ) -> list[tuple[Counts, list[int]]]:
        """Phase one: per text, ``(hash, documents here)`` and the allowlisted hashes."""
        languages, prose = contents
        try:
            return _core.shard_frequencies(self.index._reader, texts, hints, thresholds, languages, prose)
        except IndexError_:
            raise
        except OSError as err:  # a damaged segment block met by these lookups
            raise IndexError_(str(err)) from None

    def matches(
        self, texts: list[str], hints: list[str | None], thresholds: Thresholds, contents: Contents,
        others: list[Counts], allowlisted: list[list[int]],
    ) -> list[tuple[list[list[Any]], int]]:  # fmt: skip
        """Phase two: per text, its matches here as the whole index finds them, each
        ``[segment, doc, start, end, covered, language, metadata, shared words]``, and the text's
        token count."""
        pairs = [[(int(h), int(n)) for h, n in counts] for counts in others]  # JSON gives lists
        languages, prose = contents
        try:
            found = _core.shard_match_answers(
                self.index._reader, texts, hints, thresholds, languages, prose, pairs, allowlisted
            )
        except IndexError_:
            raise
        except OSError as err:
            raise IndexError_(str(err)) from None
        metadata = self.index.metadata
        return [
            ([[s, d, a, b, c, lang, metadata(s, d), words] for s, d, a, b, c, _, lang, words in rows], tokens)
            for rows, tokens in found
        ]


def other_shards(
    replies: Sequence[Counts], allowlists: Sequence[list[int]], max_doc_frequency: int
) -> tuple[list[Counts], list[int]]:
    """For each shard, the documents of the other shards per fingerprint, for the fingerprints
    that are common over all of them (a fingerprint in at most ``max_doc_frequency`` documents in
    all is rare in each shard too, so its count needs no correction); and every allowlisted one."""
    totals: Counter[int] = Counter()
    for counts in replies:
        for fingerprint, documents in counts:
            totals[fingerprint] += documents
    common = {h: n for h, n in totals.items() if n > max_doc_frequency}
    others = []
    for counts in replies:
        own = {h: n for h, n in counts if h in common}
        others.append([(h, n - own.get(h, 0)) for h, n in common.items() if n > own.get(h, 0)])
    return others, sorted({h for hashes in allowlists for h in hashes})


def merged_verdict(
    text: str, shard_matches: Sequence[list[list[Any]]], segment_offsets: Sequence[int], tokens: int,
    policy: Policy,
) -> Verdict:  # fmt: skip
    """The verdict of one index over every shard, from each shard's matches (in its own order, the
    matcher's) and the number of segments before each shard. One index orders matches by covered
    tokens (most first), shared words (most first: each match's own count, the same in a shard as
    in one index), start, segment, document, keeping the matcher's order among equals, and equals
    are of one document, so of one shard: a stable sort of the shards' lists concatenated gives the
    same order."""
    rows = [(offset + m[0], m) for offset, matches in zip(segment_offsets, shard_matches) for m in matches]
    rows.sort(key=lambda r: (-r[1][4], -r[1][7], r[1][2], r[0], r[1][1]))
    located: list[Located] = [(m[6], m[2], m[3], m[4], m[5]) for _, m in rows]
    return verdict_of(text, located, tokens, policy)
