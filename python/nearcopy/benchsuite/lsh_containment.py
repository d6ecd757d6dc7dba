"""Containment (a short passage inside a long document), measured for the LSH benchmark: the LSH
index's containment mode beside datasketch's LSH Ensemble, the protected index and a Jaccard index.

A passage of 60 words inside a document of about 3,000 has Jaccard similarity near 0.02 with it: no
Jaccard LSH finds it. datasketch's ``MinHashLSHEnsemble`` (LSH Ensemble: sets partitioned by size,
each partition's bands tuned for containment) finds sets that *contain* the query; so does an
``LSHIndex`` created with ``containment=True`` (single-slot bands, set sizes stored, candidates
verified by estimated containment: ``nearcopy/lsh_containment.py``); the protected index (winnowed
k-gram fingerprints, ``OutputFilter.check``) finds any shared run of 25 or more words.

Queries: passages cut from indexed documents with 5% of their words changed, and as many of
held-out text. Truth: the documents holding at least half of a passage's shingles (exactly, by set
intersection). Each method's recall and precision of those (passage, document) pairs, and its time
per query (signing the query included).
"""

from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from nearcopy import OutputFilter, ProtectedIndex, minhash, shingles, to_datasketch
from nearcopy.lsh_index import LSHIndex

from . import corpus

PASSAGE_WORDS = 60
# A document contains a passage when it holds at least this share of the passage's shingles (truth).
CONTAINED = 0.5


def _passage(text: str, rng: random.Random, vocab: list[str], edit: float) -> str:
    words = text.split()
    start = rng.randrange(max(1, len(words) - PASSAGE_WORDS))
    cut = words[start : start + PASSAGE_WORDS]
    return " ".join(rng.choice(vocab) if rng.random() < edit else w for w in cut)


def measure(documents: int, passages: int, seed: int, source_mb: int) -> dict[str, Any]:
    """``documents`` long documents, ``passages`` passages cut from them and as many from held-out
    documents; each method's recall, precision and milliseconds per query."""
    from datasketch import MinHashLSHEnsemble

    # Whole documents of this machine's text (distinct files, cut to 3,000 words), not the LSH
    # benchmark's windows: those overlap each other, so a passage would be in dozens of documents.
    texts = [
        " ".join(t.split()[:3000]) for t in corpus.load_corpus(source_mb, seed) if len(t.split()) >= 1000
    ]
    random.Random(seed).shuffle(texts)
    if len(texts) < documents + passages:
        raise SystemExit(f"the corpus holds {len(texts)} documents of 1,000 words or more")
    docs, held_out = texts[:documents], texts[documents : documents + passages]
    rng = random.Random(seed)
    vocab = sorted({w for d in docs[:20] for w in d.split()})
    owners = [rng.randrange(documents) for _ in range(passages)]
    positives = [_passage(docs[o], rng, vocab, 0.05) for o in owners]
    negatives = [_passage(t, rng, vocab, 0.0) for t in held_out]
    rows = []

    sigs = minhash(docs, scheme="affine32")
    sizes = [len(set(shingles(d))) for d in docs]
    ensemble = MinHashLSHEnsemble(threshold=CONTAINED, num_perm=128, num_part=16)
    ensemble.index(list(zip(range(documents), to_datasketch(sigs, scheme="affine32"), sizes)))

    def ensemble_query(texts: list[str]) -> list[set[int]]:
        q_sigs = to_datasketch(minhash(texts, scheme="affine32"), scheme="affine32")
        return [set(ensemble.query(m, len(set(shingles(t))))) for m, t in zip(q_sigs, texts)]

    with tempfile.TemporaryDirectory() as tmp:
        protected = OutputFilter(
            ProtectedIndex.build(
                [{"id": str(i), "text": d} for i, d in enumerate(docs)], Path(tmp) / "protected"
            )
        )
        doc_sigs = minhash(docs)
        lsh = LSHIndex.create(Path(tmp) / "lsh", threshold=0.3, key_type="int")
        lsh.insert(np.arange(documents), doc_sigs, check_duplicates=False)
        within = LSHIndex.create(Path(tmp) / "within", threshold=CONTAINED, key_type="int", containment=True)
        within.insert(np.arange(documents), doc_sigs, sizes=sizes)

        # The filter's defaults flag a shared run of 25 words; 12 is closer to "half of a passage".
        shorter = OutputFilter(protected.index, min_tokens=12)

        def protected_query(texts: list[str]) -> list[set[int]]:
            return [{int(m.doc_id) for m in protected.check(t).matches} for t in texts]

        def shorter_query(texts: list[str]) -> list[set[int]]:
            return [{int(m.doc_id) for m in shorter.check(t).matches} for t in texts]

        def lsh_query(texts: list[str]) -> list[set[int]]:
            return [set(lsh.query(sig).keys.tolist()) for sig in minhash(texts)]

        def containment_query(texts: list[str], verify: bool = True, keep: float = 0.5) -> list[set[int]]:
            # Signed as a batch (as for LSH Ensemble), then each query alone, on one thread.
            q_sigs, q_sizes = minhash(texts), [len(set(shingles(t))) for t in texts]
            return [
                set(within.query_containment(sig, size, verify=verify, boundary_recall=keep).keys.tolist())
                for sig, size in zip(q_sigs, q_sizes)
            ]

        methods = (
            ("datasketch MinHashLSHEnsemble, containment 0.5", ensemble_query),
            ("nearcopy LSH index, containment 0.5", containment_query),
            (
                "nearcopy LSH index, containment 0.5, boundary_recall 0.7",
                lambda t: containment_query(t, keep=0.7),
            ),
            (
                "nearcopy LSH index, containment candidates (unverified)",
                lambda t: containment_query(t, False),
            ),
            ("nearcopy protected index (OutputFilter.check)", protected_query),
            ("nearcopy protected index, min_tokens 12", shorter_query),
            ("nearcopy LSH index, Jaccard 0.3", lsh_query),
        )
        doc_sets = [set(shingles(d)) for d in docs]
        queries = positives + negatives
        truth = []
        for q in queries:
            wanted = set(shingles(q))
            truth.append({i for i, d in enumerate(doc_sets) if len(wanted & d) >= CONTAINED * len(wanted)})
        for name, run in methods:
            started = time.perf_counter()
            found = run(queries)
            seconds = time.perf_counter() - started
            right = sum(len(f & t) for f, t in zip(found, truth))
            rows.append(
                {
                    "method": name,
                    "recall": right / max(1, sum(len(t) for t in truth)),
                    "precision": right / max(1, sum(len(f) for f in found)),
                    "ms_per_query": seconds / len(queries) * 1000,
                }
            )
        index_bytes = within.info()["bytes_per_document"]
    words = sum(len(d.split()) for d in docs) / documents
    pairs = sum(len(t) for t in truth)
    return {
        "documents": documents,
        "words_per_document": words,
        "passages": 2 * passages,
        "pairs": pairs,
        "containment_index_bytes_per_document": index_bytes,
        "rows": rows,
    }
