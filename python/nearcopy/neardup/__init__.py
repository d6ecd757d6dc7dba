"""Corpus deduplication: near-duplicate clusters by MinHash-LSH with every candidate verified.

``dedup(inputs, output, ...)`` (``nearcopy.dedup``) runs over JSONL/Parquet files in bounded memory;
``cluster(texts)`` (``nearcopy.dedup_texts``) runs the same stages in memory over a list of texts.
The stages themselves (``stages``) are plain functions over numpy arrays, for other drivers. The
package is not called ``dedup`` so that ``nearcopy.dedup`` can be the function.
"""

from nearcopy.neardup.formats import KeepFieldError
from nearcopy.neardup.pipeline import KEEP_POLICIES, dedup
from nearcopy.neardup.reference_index import ReferenceIndexError
from nearcopy.neardup.report import DedupReport
from nearcopy.neardup.stages import Decisions, Params, cluster

__all__ = [
    "KEEP_POLICIES",
    "Decisions",
    "DedupReport",
    "KeepFieldError",
    "Params",
    "ReferenceIndexError",
    "cluster",
    "dedup",
]
