"""The `minhash` API: shapes and dtypes, thread-count invariance, bad input, and odd or huge input."""

from __future__ import annotations

import multiprocessing
import multiprocessing.queues
import pickle
import random

import nearcopy
import numpy as np
import pytest

WORDS = ["alpha", "beta", "gamma", "delta"]
TEXTS = [f"Document {i}: {' '.join(random.Random(i).choices(WORDS, k=i * 7))}" for i in range(120)] + [
    "",
    "中文字符没有空格",
    "Ünïcödé — text, with PUNCTUATION!",
    "x" * 300_000,
]


@pytest.mark.parametrize("scheme", nearcopy.SCHEMES)
def test_shape_and_dtype(scheme: nearcopy.Scheme) -> None:
    signatures = nearcopy.minhash(TEXTS, scheme=scheme, num_perm=64)
    assert signatures.shape == (len(TEXTS), 64)
    assert signatures.dtype == nearcopy.signature_dtype(scheme)
    assert signatures.flags["C_CONTIGUOUS"]


@pytest.mark.parametrize("scheme", nearcopy.SCHEMES)
def test_results_do_not_depend_on_threads(scheme: nearcopy.Scheme) -> None:
    many = TEXTS * 40  # large enough to leave the single-thread path for small batches
    single = nearcopy.minhash(many, scheme=scheme, num_threads=1)
    for threads in (2, 3, None):
        np.testing.assert_array_equal(nearcopy.minhash(many, scheme=scheme, num_threads=threads), single)
    tokens = [nearcopy.shingles(t) for t in many]
    np.testing.assert_array_equal(nearcopy.minhash(tokens, scheme=scheme, num_threads=2), single)


@pytest.mark.parametrize("scheme", nearcopy.SCHEMES)
def test_text_equals_its_shingles_for_every_scheme(scheme: nearcopy.Scheme) -> None:
    options = nearcopy.TextOptions(ngram=3, unit="char")
    expected = nearcopy.minhash([nearcopy.shingles(t, options) for t in TEXTS], scheme=scheme)
    np.testing.assert_array_equal(nearcopy.minhash(TEXTS, scheme=scheme, options=options), expected)


def test_fast_scheme_is_seeded_and_dense() -> None:
    non_empty = [t for t in TEXTS if nearcopy.shingles(t)]
    a = nearcopy.minhash(non_empty, seed=1)
    assert not (a == nearcopy.minhash(non_empty, seed=2)).all(axis=1).any()
    assert (a != nearcopy.empty_value("fast")).all(), "densification fills every bin of a non-empty doc"


def test_inputs_may_be_any_sequence_or_iterable() -> None:
    expected = nearcopy.minhash(TEXTS[:5])
    np.testing.assert_array_equal(nearcopy.minhash(tuple(TEXTS[:5])), expected)
    np.testing.assert_array_equal(nearcopy.minhash(iter(TEXTS[:5])), expected)  # type: ignore[arg-type]
    tokens = [("a", b"b"), ["c"]]
    np.testing.assert_array_equal(nearcopy.minhash(tokens), nearcopy.minhash([[b"a", "b"], [b"c"]]))
    assert nearcopy.minhash([]).shape == (0, 128)


def test_options_are_picklable_and_validated() -> None:
    options = nearcopy.TextOptions(ngram=3, unit="char", casefold=False)
    assert pickle.loads(pickle.dumps(options)) == options
    with pytest.raises(ValueError, match="ngram must be between 1 and 64, got 0"):
        nearcopy.TextOptions(ngram=0)
    with pytest.raises(ValueError, match="'line'"):
        nearcopy.TextOptions(unit="line")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="ngram must be an int"):
        nearcopy.TextOptions(ngram=2.5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"num_perm": 0}, ValueError, "num_perm must be between 1 and 65536, got 0"),
        ({"num_perm": 1 << 20}, ValueError, "got 1048576"),
        ({"num_perm": True}, TypeError, "num_perm must be an int"),
        ({"seed": -1}, ValueError, "seed must be between 0 and 4294967295, got -1"),
        ({"seed": 1 << 32}, ValueError, "got 4294967296"),
        ({"scheme": "affine16"}, ValueError, "'affine16'"),
        ({"num_threads": 0}, ValueError, "num_threads must be between 1 and 1024, got 0"),
        ({"options": "word"}, TypeError, "TextOptions"),
    ],
)
def test_bad_parameters_name_the_value(
    kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        nearcopy.minhash(["some text"], **kwargs)  # type: ignore[arg-type]


def test_bad_documents_name_their_index() -> None:
    with pytest.raises(TypeError, match=r"docs\[2\] is int"):
        nearcopy.minhash(["a", "b", 3])  # type: ignore[list-item]
    with pytest.raises(TypeError, match=r"docs\[1\] is str, expected a list"):
        nearcopy.minhash([["a"], "b"])
    with pytest.raises(TypeError, match=r"docs\[0\]\[1\] is float"):
        nearcopy.minhash([["a", 1.5]])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="not a single str"):
        nearcopy.minhash("just one text")
    with pytest.raises(ValueError, match="token lists are hashed as given"):
        nearcopy.minhash([["a"]], options=nearcopy.TextOptions(ngram=2))


def test_odd_characters_work() -> None:
    odd = ["\0\0\0", "a\0b c\0d", "\ud800 lone \udfff surrogates", "\ufeffbom", "\u0301" * 1000]
    signatures = nearcopy.minhash(odd, scheme="affine32")
    assert signatures.shape == (5, 128)
    assert nearcopy.normalize("a\ud800b").texts == ["a", "b"]


def test_a_100_mb_document() -> None:
    text = "lorem ipsum dolor sit amet " * 3_900_000  # ~105 MB
    signature = nearcopy.minhash([text], num_perm=16)
    expected = nearcopy.minhash(["lorem ipsum dolor sit amet " * 3], num_perm=16)
    np.testing.assert_array_equal(signature, expected)  # the same five 5-shingles


def test_a_million_tiny_documents() -> None:
    docs = [f"doc {i % 1000}" for i in range(1_000_000)]
    signatures = nearcopy.minhash(docs, num_perm=8)
    assert signatures.shape == (1_000_000, 8)
    np.testing.assert_array_equal(signatures[0], signatures[1000])
    tokens = [[d] for d in docs[:200_000]]
    assert nearcopy.minhash(tokens, num_perm=8, scheme="affine32").shape == (200_000, 8)


def test_impossible_output_is_a_memory_error_not_a_crash() -> None:
    docs = ["x"] * 20_000_000
    with pytest.raises(MemoryError, match="20000000 documents x 65536 slots"):
        nearcopy.minhash(docs, num_perm=65536)


def test_jaccard_rows_and_matrices() -> None:
    a = np.array([1, 2, 3, 4], dtype=np.uint64)
    b = np.array([1, 2, 0, 0], dtype=np.uint64)
    assert nearcopy.jaccard(a, b) == 0.5
    matrix = np.stack([a, b, b])
    np.testing.assert_array_equal(nearcopy.jaccard(matrix, a), [1.0, 0.5, 0.5])
    np.testing.assert_array_equal(nearcopy.jaccard(matrix, matrix[::-1]), [0.5, 1.0, 0.5])
    with pytest.raises(ValueError, match="same non-zero num_perm"):
        nearcopy.jaccard(a, b[:3])
    with pytest.raises(ValueError, match="same number of rows"):
        nearcopy.jaccard(matrix, matrix[:2])


def _sketch_in_child(queue: multiprocessing.queues.Queue[bytes]) -> None:
    queue.put(nearcopy.minhash(TEXTS * 20, num_threads=2).tobytes())


# Python 3.12+ warns that forking a multi-threaded process is risky: that risk is what this tests.
@pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning")
def test_forked_child_gets_its_own_worker_pool() -> None:
    # The parent's 2-thread pool exists before the fork; the child must not wait on its threads.
    expected = nearcopy.minhash(TEXTS * 20, num_threads=2)
    context = multiprocessing.get_context("fork")
    queue: multiprocessing.queues.Queue[bytes] = context.Queue()
    child = context.Process(target=_sketch_in_child, args=(queue,))
    child.start()
    result = queue.get(timeout=120)
    child.join(timeout=60)
    assert child.exitcode == 0
    assert result == expected.tobytes()
