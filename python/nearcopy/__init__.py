"""nearcopy: near-copy detection for language-model serving and training data.

The fingerprinting core: text normalization with byte spans, shingling, and batch MinHash signatures
that are bit-identical to datasketch's when asked (``scheme="legacy" | "affine32" | "affine64"``) or
much faster when not (``scheme="fast"``). Corpus dedup: ``dedup(inputs, output, ...)`` over files,
``dedup_texts(texts)`` in memory (the stages are in ``nearcopy.neardup``). A persistent MinHash-LSH
index: ``LSHIndex`` (insert, query, remove signatures on disk, from many processes).
"""

from nearcopy._core import UNICODE_VERSION, __version__
from nearcopy.answer import Segment, detect_language, split_answer
from nearcopy.code import (
    CodeOptions,
    CodeTokenBatch,
    CodeTokens,
    TokenKind,
    code_tokens,
    code_tokens_batch,
    language_for_extension,
    languages,
)
from nearcopy.datasketch_compat import from_datasketch, to_datasketch
from nearcopy.file_metadata import FileMetadata
from nearcopy.file_metadata import documents_with_metadata as read_documents
from nearcopy.filter import Match, OutputFilter, OutputTooLarge, Policy, Verdict
from nearcopy.index import Document, ProtectedIndex
from nearcopy.input_blocks import InputFiles
from nearcopy.lsh_containment import ContainmentUnsupportedError
from nearcopy.lsh_index import LSHIndex
from nearcopy.lsh_results import Neighbors, NeighborsBatch
from nearcopy.lsh_store import DuplicateKeyError, LSHIndexError, MissingKeyError
from nearcopy.minhash import (
    COMPATIBLE_SCHEMES,
    SCHEMES,
    Scheme,
    empty_value,
    jaccard,
    minhash,
    signature_dtype,
)
from nearcopy.neardup import Decisions as DedupDecisions
from nearcopy.neardup import DedupReport, KeepFieldError, ReferenceIndexError, dedup
from nearcopy.neardup import Params as DedupParams
from nearcopy.neardup import cluster as dedup_texts
from nearcopy.options import TextOptions
from nearcopy.text import Tokens, normalize, shingles

__all__ = [
    "COMPATIBLE_SCHEMES",
    "SCHEMES",
    "UNICODE_VERSION",
    "CodeOptions",
    "CodeTokenBatch",
    "CodeTokens",
    "ContainmentUnsupportedError",
    "DedupDecisions",
    "DedupParams",
    "DedupReport",
    "Document",
    "DuplicateKeyError",
    "FileMetadata",
    "InputFiles",
    "KeepFieldError",
    "LSHIndex",
    "LSHIndexError",
    "Match",
    "MissingKeyError",
    "Neighbors",
    "NeighborsBatch",
    "OutputFilter",
    "OutputTooLarge",
    "Policy",
    "ProtectedIndex",
    "ReferenceIndexError",
    "Scheme",
    "Segment",
    "TextOptions",
    "TokenKind",
    "Tokens",
    "Verdict",
    "__version__",
    "code_tokens",
    "code_tokens_batch",
    "dedup",
    "dedup_texts",
    "detect_language",
    "empty_value",
    "from_datasketch",
    "jaccard",
    "language_for_extension",
    "languages",
    "minhash",
    "normalize",
    "read_documents",
    "shingles",
    "signature_dtype",
    "split_answer",
    "to_datasketch",
]
