# Type stub of the Rust extension (rust/nearcopy-python). Checked against the built module by
# `python -m mypy.stubtest nearcopy._core` in `make test`.

from typing import Any, final

import numpy as np
import numpy.typing as npt

__all__ = [
    "MAX_NGRAM",
    "MAX_NUM_PERM",
    "UNICODE_VERSION",
    "HeldText",
    "IndexReader",
    "LshReader",
    "__version__",
    "build_segment",
    "canonical_language",
    "code_shingles",
    "code_tokens",
    "code_tokens_batch",
    "dedup_band_keys",
    "dedup_bucket_records",
    "dedup_candidate_pairs",
    "dedup_content_hashes",
    "dedup_decide",
    "dedup_equal_slots",
    "dedup_exact_groups",
    "dedup_exact_jaccard",
    "dedup_roots",
    "dedup_shingle_sets",
    "dedup_sort_records",
    "dedup_unconnected",
    "dedup_union",
    "default_threads",
    "detect_language",
    "fingerprint_key_check",
    "generated_spans",
    "jsonl_extract",
    "jsonl_select",
    "jsonl_texts",
    "language_for_extension",
    "languages",
    "licence_notices",
    "lsh_write_segment",
    "merge_segments",
    "minhash_code",
    "minhash_texts",
    "minhash_tokens",
    "normalize",
    "permutations",
    "shard_frequencies",
    "shard_match_answers",
    "shingles",
    "split_answer",
]

__version__: str
UNICODE_VERSION: str
MAX_NUM_PERM: int
MAX_NGRAM: int

def minhash_texts(
    texts: list[str],
    num_perm: int,
    scheme: str,
    seed: int,
    ngram: int,
    unit: str,
    nfkc: bool,
    casefold: bool,
    num_threads: int | None = None,
) -> npt.NDArray[Any]: ...
def minhash_tokens(
    docs: list[Any],
    num_perm: int,
    scheme: str,
    seed: int,
    num_threads: int | None = None,
) -> npt.NDArray[Any]: ...
def default_threads() -> int: ...
def normalize(
    text: str, nfkc: bool, casefold: bool
) -> tuple[list[str], npt.NDArray[np.int64], npt.NDArray[np.int64]]: ...
def shingles(text: str, ngram: int, unit: str, nfkc: bool, casefold: bool) -> list[str]: ...
def permutations(
    scheme: str, num_perm: int, seed: int
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]: ...

_TokenArrays = tuple[
    npt.NDArray[np.uint8], npt.NDArray[np.uint64], npt.NDArray[np.int64], npt.NDArray[np.int64]
]

def languages() -> list[str]: ...
def canonical_language(name: str) -> str: ...
def language_for_extension(extension: str) -> str | None: ...
def code_tokens(
    source: str, language: str, identifiers: str, literals: str
) -> tuple[list[str], _TokenArrays]: ...
def code_tokens_batch(
    sources: list[str], language: str, identifiers: str, literals: str, num_threads: int | None = None
) -> tuple[npt.NDArray[np.int64], _TokenArrays]: ...
def code_shingles(source: str, language: str, ngram: int, identifiers: str, literals: str) -> list[str]: ...
def minhash_code(
    sources: list[str],
    num_perm: int,
    scheme: str,
    seed: int,
    language: str,
    ngram: int,
    identifiers: str,
    literals: str,
    num_threads: int | None = None,
) -> npt.NDArray[Any]: ...
def split_answer(
    text: str, language: str | None = None
) -> list[tuple[bool, int, int, str | None, bool, str, list[str | None]]]: ...
def detect_language(source: str) -> tuple[str | None, float]: ...
def generated_spans(
    texts: _Texts, languages: list[str | None]
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64], npt.NDArray[np.uint64]]: ...
def build_segment(
    path: str,
    texts: _Texts,
    languages: list[str | None],
    k: int,
    w: int,
    code_k: int,
    code_w: int,
    key: bytes | None,
    num_threads: int | None = None,
) -> tuple[int, int, int, int, int]: ...
def merge_segments(
    path: str, paths: list[str], k: int, w: int, code_k: int, code_w: int, key: bytes | None
) -> tuple[int, int, int]: ...
def fingerprint_key_check(key: bytes) -> int: ...
def licence_notices(texts: _Texts) -> list[str]: ...

@final
class IndexReader:
    def __new__(
        cls,
        paths: list[str],
        allowlist: list[str],
        k: int,
        w: int,
        code_k: int,
        code_w: int,
        key: bytes | None,
        languages: list[str] | None = None,
        prose: bool = True,
    ) -> IndexReader: ...
    def sizes(self) -> list[tuple[int, int]]: ...
    def warm(self, num_threads: int | None = None) -> None: ...
    def presence_bytes(self) -> int: ...
    def verify(self) -> None: ...
    def match_answer(
        self,
        answer: str,
        max_doc_frequency: int,
        min_prose_tokens: int,
        min_code_tokens: int,
        language: str | None = None,
        popular: tuple[int, int] | None = None,
    ) -> tuple[list[tuple[int, int, int, int, int, int, str | None, int]], int]: ...
    def match_answers(
        self,
        answers: list[str],
        max_doc_frequency: int,
        min_prose_tokens: int,
        min_code_tokens: int,
        num_threads: int | None = None,
        languages: list[str | None] | None = None,
        popular: tuple[int, int] | None = None,
    ) -> list[tuple[list[tuple[int, int, int, int, int, int, str | None, int]], int]]: ...

# A check fanned out over shard servers (rust/nearcopy-python/src/index_fanout.rs): thresholds are
# (max_doc_frequency, min_prose_tokens, min_code_tokens, popular or None).
_Thresholds = tuple[int, int, int, tuple[int, int] | None]

def shard_frequencies(
    reader: IndexReader,
    answers: list[str],
    hints: list[str | None],
    thresholds: _Thresholds,
    languages: list[str] | None,
    prose: bool,
) -> list[tuple[list[tuple[int, int]], list[int]]]: ...
def shard_match_answers(
    reader: IndexReader,
    answers: list[str],
    hints: list[str | None],
    thresholds: _Thresholds,
    languages: list[str] | None,
    prose: bool,
    others: list[list[tuple[int, int]]],
    allowlisted: list[list[int]],
) -> list[tuple[list[tuple[int, int, int, int, int, int, str | None, int]], int]]: ...

# Dedup kernels (rust/nearcopy-python/src/dedup.rs): pairs and records are (n, 2) uint64 arrays.
_U64 = npt.NDArray[np.uint64]

def dedup_band_keys(
    signatures: npt.NDArray[Any], bands: int, rows: int, num_threads: int | None = None
) -> _U64: ...
def dedup_bucket_records(
    keys: _U64, first_doc: int, buckets: int, include: npt.NDArray[np.bool_] | None = None
) -> tuple[_U64, _U64]: ...
def dedup_candidate_pairs(records: _U64, max_group: int, num_threads: int | None = None) -> _U64: ...
def dedup_exact_groups(
    hashes: _U64, prefer: npt.NDArray[np.bool_] | None = None, num_threads: int | None = None
) -> tuple[_U64, npt.NDArray[np.bool_]]: ...
def dedup_decide(
    roots: _U64,
    priority: npt.NDArray[np.float64],
    max_copies: int,
    reference_match: npt.NDArray[np.int64] | None = None,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_], npt.NDArray[np.int64]]: ...
def dedup_sort_records(records: _U64, num_threads: int | None = None) -> _U64: ...
def dedup_equal_slots(
    signatures: npt.NDArray[Any], pairs: _U64, num_threads: int | None = None
) -> npt.NDArray[np.uint32]: ...
def dedup_union(parent: _U64, pairs: _U64) -> int: ...
def dedup_unconnected(parent: _U64, pairs: _U64) -> _U64: ...
def dedup_roots(parent: _U64) -> _U64: ...
def dedup_content_hashes(texts: list[str], num_threads: int | None = None) -> _U64: ...
def dedup_shingle_sets(
    texts: list[str],
    languages: list[str | None],
    ngram: int,
    unit: str,
    nfkc: bool,
    casefold: bool,
    code_ngram: int,
    identifiers: str,
    literals: str,
    num_threads: int | None = None,
) -> tuple[_U64, _U64]: ...
def dedup_exact_jaccard(
    values: _U64, bounds: _U64, pairs: _U64, num_threads: int | None = None
) -> npt.NDArray[np.float64]: ...

# Texts as the kernels take them: str, or held in Rust (a list of either, or of both).
_Texts = list[str] | list[HeldText] | list[str | HeldText]

# A text read from JSON Lines, held in Rust (rust/nearcopy-python/src/jsonl_text.rs): taken in place
# of a str by build_segment, licence_notices and generated_spans.
@final
class HeldText:
    def __len__(self) -> int: ...

def jsonl_texts(
    pending: bytes,
    chunk: bytes,
    text_field: str,
    max_line_bytes: int,
    last: bool,
    num_threads: int | None = None,
) -> tuple[list[HeldText | None], bytes, list[int], list[tuple[int, int]], int, int]: ...

# JSON Lines (rust/nearcopy-python/src/jsonl.rs): buffers of whole lines, blank lines skipped.
def jsonl_extract(
    buffer: bytes,
    text_field: str,
    id_field: str,
    language_field: str | None = None,
    keep_field: str | None = None,
    num_threads: int | None = None,
) -> tuple[
    list[str | None],
    list[str | None],
    list[str | None],
    npt.NDArray[np.float64],
    _U64,
    _U64,
    _U64,
    npt.NDArray[np.bool_],
    int,
]: ...
def jsonl_select(buffer: bytes, keep: npt.NDArray[np.bool_]) -> tuple[bytes, int]: ...

# LSH index (rust/nearcopy-python/src/lsh.rs): str keys as a list of str, int keys as int64 arrays.
_U32 = npt.NDArray[np.uint32]

def lsh_write_segment(
    path: str,
    signatures: npt.NDArray[Any],
    keys: list[str] | npt.NDArray[np.int64],
    num_perm: int,
    bands: int,
    rows: int,
    scheme: str,
    seed: int,
    store: int,
    key_kind: str,
    content_hashes: _U64 | None = None,
    set_values: _U64 | None = None,
    set_bounds: _U64 | None = None,
    set_sizes: _U32 | None = None,
    num_threads: int | None = None,
) -> tuple[int, int]: ...

@final
class LshReader:
    def __new__(
        cls,
        paths: list[str],
        tombstones: list[str | None],
        num_perm: int,
        bands: int,
        rows: int,
        scheme: str,
        seed: int,
        store: int,
        key_kind: str,
    ) -> LshReader: ...
    def sizes(self) -> list[tuple[int, int, int]]: ...
    def columns(self) -> tuple[bool, bool]: ...
    def verify(self) -> None: ...
    def warm(self, num_threads: int | None = None) -> None: ...
    def query(
        self,
        signatures: npt.NDArray[Any],
        threshold: float,
        verify: bool,
        top_k: int,
        num_threads: int | None = None,
    ) -> tuple[_U64, Any, npt.NDArray[np.float64], _U32, _U32]: ...
    def query_containment(
        self,
        signatures: npt.NDArray[Any],
        sizes: _U64,
        threshold: float,
        verify: bool,
        top_k: int,
        boundary_recall: float,
        num_threads: int | None = None,
    ) -> tuple[_U64, Any, npt.NDArray[np.float64]]: ...
    def query_one(
        self, signature: object, threshold: float, verify: bool, top_k: int
    ) -> tuple[Any, npt.NDArray[np.float64]] | None: ...
    def find(
        self, keys: list[str] | npt.NDArray[np.int64], removed: bool = False
    ) -> tuple[_U64, _U32, _U32]: ...
    def keys(self, segment: int, docs: _U32) -> Any: ...
    def removed(self, segment: int) -> _U32: ...
    def write_tombstones(self, path: str, segment: int, docs: _U32) -> None: ...
    def merge(self, path: str, which: list[int]) -> tuple[int, int]: ...
    def export(
        self, segment: int, start: int, end: int
    ) -> tuple[npt.NDArray[Any], _U64, bytes, npt.NDArray[np.int64], _U64, _U64]: ...
