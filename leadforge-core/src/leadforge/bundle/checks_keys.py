"""Sets of id numbers whose memory follows the largest id, not the rows read.

Ids are ``<prefix>_<number>`` and a bundle numbers them densely, so a set of them is a bitmap:
one bit per possible number (10M ids: 1.25 MB) instead of an int64 or a string per row. Numbers
at or above ``limit`` — which only a hand-made or hostile bundle holds — go to a sorted array,
so one huge id cannot make the bitmap huge.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: The bitmap covers at least this many numbers whatever the rows (2 MB), so small bundles never
#: fall back to the sorted array.
MIN_LIMIT = 1 << 24
#: ... and this many numbers per row counted, so ids may have gaps and still stay in the bitmap.
BITS_PER_ROW = 16

_ONE = np.uint64(1)
_EMPTY = np.zeros(0, dtype=np.int64)


def id_limit(rows: int) -> int:
    """The bitmap's bound for sets built from ``rows`` rows: memory stays within 2 bytes a row."""
    return max(MIN_LIMIT, BITS_PER_ROW * rows)


def _popcount(words: np.ndarray) -> int:
    counter = getattr(np, "bitwise_count", None)
    if counter is not None:
        return int(counter(words).sum())
    return int(np.unpackbits(words.view(np.uint8)).sum())


def _bits(words: np.ndarray, count: int) -> np.ndarray:
    """The smallest ``count`` numbers set in ``words`` (ascending)."""
    out: list[np.ndarray] = []
    found = 0
    for w in np.flatnonzero(words):
        bits = np.flatnonzero(np.unpackbits(words[w : w + 1].view(np.uint8), bitorder="little"))
        out.append(int(w) * 64 + bits.astype(np.int64))
        found += bits.size
        if found >= count:
            break
    return np.concatenate(out)[:count] if out else _EMPTY


@dataclass
class IdSet:
    """Distinct non-negative id numbers: a bitmap below ``limit``, a sorted array above it.

    :meth:`add` takes numbers a batch at a time and counts them, so after the last batch
    ``rows - distinct`` is how many were repeats; with ``track`` it also keeps the smallest
    repeated number (the example a duplicate-key finding shows).
    """

    limit: int
    track: bool = False
    rows: int = 0
    words: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint64), repr=False)
    _pending: list[np.ndarray] = field(default_factory=list, repr=False)
    _high: np.ndarray = field(default_factory=lambda: _EMPTY, repr=False)
    _first_repeat: int | None = None

    def add(self, numbers: np.ndarray) -> None:
        """Add well-formed numbers (all ``>= 0``)."""
        self.rows += numbers.size
        if not numbers.size:
            return
        small = numbers < self.limit
        low = numbers if bool(small.all()) else numbers[small]
        if low.size < numbers.size:
            self._pending.append(numbers[~small])
        if not low.size:
            return
        need = (int(low.max()) >> 6) + 1
        if need > self.words.size:
            size = min(max(need, self.words.size + self.words.size // 2), (self.limit >> 6) + 1)
            grown = np.zeros(size, dtype=np.uint64)
            grown[: self.words.size] = self.words
            self.words = grown
        index = low >> 6
        masks = np.left_shift(_ONE, (low & 63).astype(np.uint64))
        if self.track:
            present = low[(self.words[index] & masks) != 0]
            ordered = np.sort(low)
            for repeats in (present, ordered[1:][ordered[1:] == ordered[:-1]]):
                if repeats.size:
                    self._repeated(int(repeats.min()))
        np.bitwise_or.at(self.words, index, masks)

    def _repeated(self, number: int) -> None:
        if self._first_repeat is None or number < self._first_repeat:
            self._first_repeat = number

    def _settle(self) -> np.ndarray:
        """The numbers at or above ``limit``, distinct and sorted."""
        if self._pending:
            merged = np.concatenate([self._high, *self._pending])
            self._pending = []
            unique, counts = np.unique(merged, return_counts=True)
            if self.track and bool((counts > 1).any()):
                self._repeated(int(unique[counts > 1][0]))
            self._high = unique
        return self._high

    @property
    def distinct(self) -> int:
        return _popcount(self.words) + self._settle().size

    @property
    def repeats(self) -> int:
        """How many numbers added were already in the set."""
        return self.rows - self.distinct

    @property
    def first_repeat(self) -> int | None:
        """The smallest number added more than once (with ``track``)."""
        self._settle()
        return self._first_repeat

    def contains(self, numbers: np.ndarray) -> np.ndarray:
        """Whether each number (any int64, negatives never) is in the set."""
        high = self._settle()
        out = np.zeros(numbers.size, dtype=bool)
        low = (numbers >= 0) & (numbers < min(self.limit, self.words.size * 64))
        n = numbers[low]
        out[low] = (self.words[n >> 6] & np.left_shift(_ONE, (n & 63).astype(np.uint64))) != 0
        if high.size:
            big = numbers >= self.limit
            if big.any():
                b = numbers[big]
                pos = np.minimum(np.searchsorted(high, b), high.size - 1)
                out[big] = high[pos] == b
        return out

    def common(self, other: IdSet, examples: int = 3) -> tuple[int, np.ndarray]:
        """How many numbers both sets hold, and the smallest ``examples`` of them.

        Both sets must share ``limit`` (the numbers below it are compared as bitmaps).
        """
        if other.limit != self.limit:
            raise ValueError("IdSets with different limits cannot be compared")
        n = min(self.words.size, other.words.size)
        both = self.words[:n] & other.words[:n]
        high = np.intersect1d(self._settle(), other._settle(), assume_unique=True)
        first = _bits(both, examples)
        if first.size < examples:
            first = np.concatenate([first, high[: examples - first.size]])
        return _popcount(both) + high.size, first

    @property
    def nbytes(self) -> int:
        return int(self.words.nbytes + self._high.nbytes + sum(p.nbytes for p in self._pending))
