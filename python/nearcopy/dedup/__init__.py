"""Corpus deduplication: near-duplicate clusters by MinHash-LSH with every candidate verified.

``dedup(inputs, output, ...)`` runs over JSONL/Parquet files in bounded memory; ``cluster(texts)``
runs the same stages in memory over a list of texts. The stages themselves (``stages``) are plain
functions over numpy arrays, for other drivers.
"""

from nearcopy.dedup.formats import KeepFieldError
from nearcopy.dedup.pipeline import KEEP_POLICIES, dedup
from nearcopy.dedup.report import DedupReport
from nearcopy.dedup.stages import Decisions, Params, cluster

__all__ = ["KEEP_POLICIES", "Decisions", "DedupReport", "KeepFieldError", "Params", "cluster", "dedup"]
