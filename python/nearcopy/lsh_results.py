"""What an LSH query returns: per query, the keys found and their estimated Jaccard similarity.

A batch of queries comes back as flat arrays with bounds (one allocation per array, not one list
per query); indexing it gives one query's :class:`Neighbors`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Union, overload

import numpy as np
import numpy.typing as npt

# A key of an index: str or int, as the index was created with.
Key = Union[str, int]
# The keys of several documents: a list of str, or an int64 array.
KeyList = Union[list[str], npt.NDArray[np.int64]]


class Neighbors:
    """The documents one query found: ``keys`` and ``similarity`` (estimated Jaccard, float64),
    the most similar first."""

    __slots__ = ("keys", "similarity")

    def __init__(self, keys: KeyList, similarity: npt.NDArray[np.float64]) -> None:
        self.keys = keys
        self.similarity = similarity

    def __len__(self) -> int:
        return len(self.similarity)

    def __iter__(self) -> Iterator[tuple[Key, float]]:
        """``(key, similarity)`` pairs, the most similar first."""
        keys = self.keys.tolist() if isinstance(self.keys, np.ndarray) else self.keys
        return iter(zip(keys, self.similarity.tolist()))

    def __repr__(self) -> str:
        return f"Neighbors({list(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Neighbors) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]


class NeighborsBatch(Sequence[Neighbors]):
    """The results of a batch of queries: ``bounds`` (``queries + 1`` offsets), and flat ``keys``
    and ``similarity`` arrays; ``batch[i]`` is query ``i``'s :class:`Neighbors`."""

    __slots__ = ("bounds", "keys", "similarity")

    def __init__(
        self, bounds: npt.NDArray[np.uint64], keys: KeyList, similarity: npt.NDArray[np.float64]
    ) -> None:
        self.bounds = bounds.astype(np.int64)
        self.keys = keys
        self.similarity = similarity

    def __len__(self) -> int:
        return len(self.bounds) - 1

    @overload
    def __getitem__(self, i: int) -> Neighbors: ...

    @overload
    def __getitem__(self, i: slice) -> list[Neighbors]: ...

    def __getitem__(self, i: int | slice) -> Neighbors | list[Neighbors]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(f"query {i} of {len(self)}")
        lo, hi = int(self.bounds[i]), int(self.bounds[i + 1])
        return Neighbors(self.keys[lo:hi], self.similarity[lo:hi])

    def counts(self) -> npt.NDArray[np.int64]:
        """How many documents each query found."""
        return np.diff(self.bounds)

    def __repr__(self) -> str:
        return f"NeighborsBatch({len(self)} queries, {len(self.similarity)} results)"
