"""The independent reference that labels the answers of ``filter-real``, and the two peers that run
beside nearcopy on the same answers. None of them calls nearcopy.

* ``CodeReference`` (per language, tree-sitter leaves of the Python binding):
  - ``copies(code)``: does the code share a run of ``RAW_RUN`` raw leaves (names and literals kept)
    with the protected split? That decides which held-out functions are negatives: real corpora copy
    themselves, and such copies are set aside and counted, never called false positives;
  - ``renamed_copy(code)``: does the code share a run of ``PEER_RUN`` leaves with one protected
    passage *up to a consistent one-to-one renaming of names* (literals aside): a Type-2 clone, in
    Baker's parameterized-match sense (each name is replaced by the distance back to its previous
    occurrence inside the run, so ``dirent``/``dirent64`` or ``state``/``type`` renamed throughout
    match, while two unrelated functions of the same shape, whose names repeat in other patterns,
    do not). glibc's ``scandirat64`` is ``scandirat`` with ``dirent`` renamed ``dirent64``: a copy
    by any clone benchmark's definition, which a run of 20 raw leaves does not see. Such held-out
    items are set aside too (counted apart), not called false positives;
  - ``longest_run(code)``: the longest run of leaves with identifiers and literals abstracted
    (``$id``, ``$str``, ``$num``) that it shares with the protected split, over k-grams of
    ``PEER_K``: the *tree-sitter k-gram peer*, given the oracle language and the oracle code spans,
    flags a run of ``PEER_RUN`` or more.
* ``WordMatcher``: the *plain exact matcher*, lowercased ``\\w+`` words, flags any shared 8-gram.

N-grams are polynomial hashes over uint64 in numpy of token ids (each distinct token numbered in
order of first appearance, then mixed with splitmix64), kept sorted and unique: reproducible across
processes (no salted ``hash``) and about 8 bytes per protected token.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np

from . import code_reference

RAW_RUN = 20  # raw leaves a held-out function may not share with the protected split
PEER_K = 20
PEER_RUN = 50
WORD_RUN = 8
WORD = re.compile(r"\w+")
_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)


def _mix(ids: np.ndarray) -> np.ndarray:
    z = ids.astype(np.uint64) + _MULTIPLIER
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def gram_hashes(ids: np.ndarray, n: int) -> np.ndarray:
    """The hash of every n-gram of ``ids`` (empty when there are fewer than n)."""
    if len(ids) < n:
        return np.zeros(0, dtype=np.uint64)
    mixed = _mix(ids)
    out = np.zeros(len(ids) - n + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(n):
            out = out * np.uint64(1_000_003) + mixed[j : j + len(out)]
    return out


class Vocabulary:
    def __init__(self) -> None:
        self.ids: dict[str, int] = {}

    def __call__(self, tokens: Iterable[str]) -> np.ndarray:
        ids = self.ids
        return np.fromiter((ids.setdefault(t, len(ids)) for t in tokens), dtype=np.uint64)


class GramSet:
    """A set of n-gram hashes: added per document, frozen once, then asked per query."""

    def __init__(self, n: int) -> None:
        self.n = n
        self._parts: list[np.ndarray] = []
        self._sorted = np.zeros(0, dtype=np.uint64)

    def add(self, ids: np.ndarray) -> None:
        self._parts.append(gram_hashes(ids, self.n))

    def freeze(self) -> None:
        self._sorted = np.unique(np.concatenate([self._sorted, *self._parts]))
        self._parts = []

    def hits(self, ids: np.ndarray) -> np.ndarray:
        """For each n-gram of ``ids``: is it in the set?"""
        grams = gram_hashes(ids, self.n)
        if not len(grams) or not len(self._sorted):
            return np.zeros(len(grams), dtype=bool)
        at = np.minimum(np.searchsorted(self._sorted, grams), len(self._sorted) - 1)
        found: np.ndarray = self._sorted[at] == grams
        return found

    def __len__(self) -> int:
        return len(self._sorted)


def longest_true_run(flags: np.ndarray) -> int:
    if not flags.any():
        return 0
    padded = np.concatenate([[0], flags.astype(np.int8), [0]])
    edges = np.flatnonzero(np.diff(padded))
    return int((edges[1::2] - edges[::2]).max())


def leaf_tokens(code: str, language: str) -> tuple[list[str], list[str]]:
    """The leaves of ``code`` as raw text and with names and literals abstracted."""
    raw, abstract = [], []
    for node in code_reference.token_nodes(code.encode("utf-8", "surrogatepass"), language):
        text = (node.text or b"").decode("utf-8", "replace")
        raw.append(text)
        kind = node.type if node.is_named else ""
        if kind in code_reference.IDENTIFIER_KINDS:
            abstract.append("$id")
        elif kind in code_reference.STRING_KINDS:
            abstract.append("$str")
        elif kind in code_reference.NUMBER_KINDS:
            abstract.append("$num")
        else:
            abstract.append(text)
    return raw, abstract


def previous_same(raw: list[str], abstract: list[str]) -> np.ndarray:
    """For each leaf that is a name (abstracted to ``$id``): how many leaves back the same name last
    occurred (0: not a name, or its first occurrence)."""
    last: dict[str, int] = {}
    out = np.zeros(len(raw), dtype=np.uint64)
    for i, (text, kind) in enumerate(zip(raw, abstract)):
        if kind == "$id":
            if text in last:
                out[i] = i - last[text]
            last[text] = i
    return out


def renamed_gram_hashes(abstract_ids: np.ndarray, previous: np.ndarray, n: int) -> np.ndarray:
    """The hash of every n-leaf run with each name replaced by the distance back to its previous
    occurrence inside the run (0 when that lies before the run): equal for two runs exactly when
    one is the other under a one-to-one renaming of names (Baker's parameterized match)."""
    count = len(abstract_ids) - n + 1
    if count <= 0:
        return np.zeros(0, dtype=np.uint64)
    out = np.zeros(count, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for t in range(n):
            back = previous[t : t + count]
            inside = np.where(back <= np.uint64(t), back, np.uint64(0))
            leaf = abstract_ids[t : t + count] * np.uint64(n + 1) + inside
            out = out * np.uint64(1_000_003) + _mix(leaf)
    return out


class CodeReference:
    """The protected split of one language, as raw-leaf runs and runs up to renaming (labels) and
    abstracted k-grams (peer)."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.vocabulary = Vocabulary()
        self.raw = GramSet(RAW_RUN)
        self.abstract = GramSet(PEER_K)
        self._renamed_parts: list[np.ndarray] = []
        self._renamed = np.zeros(0, dtype=np.uint64)

    def add(self, code: str) -> None:
        raw, abstract = leaf_tokens(code, self.language)
        self.raw.add(self.vocabulary(raw))
        abstract_ids = self.vocabulary(abstract)
        self.abstract.add(abstract_ids)
        self._renamed_parts.append(renamed_gram_hashes(abstract_ids, previous_same(raw, abstract), PEER_RUN))

    def freeze(self) -> None:
        self.raw.freeze()
        self.abstract.freeze()
        self._renamed = np.unique(np.concatenate([self._renamed, *self._renamed_parts]))
        self._renamed_parts = []

    def copies(self, code: str) -> bool:
        """A run of ``RAW_RUN`` raw leaves in common with the protected split."""
        raw, _ = leaf_tokens(code, self.language)
        return bool(self.raw.hits(self.vocabulary(raw)).any())

    def renamed_copy(self, code: str) -> bool:
        """A run of ``PEER_RUN`` leaves in common with one protected passage up to a consistent
        renaming of names (literals aside)."""
        raw, abstract = leaf_tokens(code, self.language)
        grams = renamed_gram_hashes(self.vocabulary(abstract), previous_same(raw, abstract), PEER_RUN)
        if not len(grams) or not len(self._renamed):
            return False
        at = np.minimum(np.searchsorted(self._renamed, grams), len(self._renamed) - 1)
        return bool((self._renamed[at] == grams).any())

    def longest_run(self, code: str) -> int:
        """Tokens of the longest abstracted run shared with the protected split (0: none)."""
        _, abstract = leaf_tokens(code, self.language)
        run = longest_true_run(self.abstract.hits(self.vocabulary(abstract)))
        return run + PEER_K - 1 if run else 0


class WordMatcher:
    """Lowercased words; an answer is flagged when it shares any ``n``-gram of them."""

    def __init__(self, n: int = WORD_RUN) -> None:
        self.vocabulary = Vocabulary()
        self.grams = GramSet(n)

    def _ids(self, text: str) -> np.ndarray:
        return self.vocabulary(WORD.findall(text.lower()))

    def add(self, text: str) -> None:
        self.grams.add(self._ids(text))

    def freeze(self) -> None:
        self.grams.freeze()

    def flags(self, text: str) -> bool:
        return bool(self.grams.hits(self._ids(text)).any())

    def copies(self, text: str) -> bool:
        return self.flags(text)
