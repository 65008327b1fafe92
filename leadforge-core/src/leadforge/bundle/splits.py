"""Deterministic train/valid/test assignment that needs no view of the whole population.

Each row gets a uniform derived from a hash of its key and the seed. Within one block of
rows (one shard), rows are ranked by that uniform, per label class when stratifying, and the
first ``floor(train·n)`` go to train, the next ``floor(valid·n)`` to valid, the rest to
test. Assignment therefore depends only on the config (which fixes the blocks), never on
which worker produced a block or when.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from leadforge.rng import hash_uniform

SPLITS = ("train", "valid", "test")
_P = np.uint64(0x100000001B3)


@dataclass(frozen=True)
class SplitFractions:
    train: float = 0.7
    valid: float = 0.15
    test: float = 0.15

    def __post_init__(self) -> None:
        vals = (self.train, self.valid, self.test)
        if any(isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) for v in vals):
            raise ValueError(f"split fractions must be finite numbers, got {vals}")
        if any(v < 0 or v > 1 for v in vals) or abs(sum(vals) - 1.0) > 1e-6:
            raise ValueError(f"split fractions must lie in [0, 1] and sum to 1, got {vals}")

    def to_json(self) -> dict[str, float]:
        return {"train": self.train, "valid": self.valid, "test": self.test}


def hash_strings(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A 64-bit polynomial hash of each string, computed over the Arrow buffers at once."""
    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    arr = arr.cast(pa.large_string())
    if arr.null_count:
        raise ValueError("split keys must not be null")
    n = len(arr)
    if n == 0:
        return np.zeros(0, dtype=np.uint64)
    _, offs_buf, data_buf = arr.buffers()
    offsets = np.frombuffer(offs_buf, dtype=np.int64)[arr.offset : arr.offset + n + 1]
    data = np.frombuffer(data_buf, dtype=np.uint8)[offsets[0] : offsets[-1]].astype(np.uint64)
    lengths = np.diff(offsets)
    pos = np.arange(data.size, dtype=np.int64) - np.repeat(offsets[:-1] - offsets[0], lengths)
    maxlen = int(lengths.max()) if n else 0
    with np.errstate(over="ignore"):
        powers = np.cumprod(np.full(max(maxlen, 1), _P, dtype=np.uint64), dtype=np.uint64)
        terms = (data + np.uint64(1)) * powers[pos]
        sums = np.zeros(n, dtype=np.uint64)
        nonempty = lengths > 0
        starts = (offsets[:-1] - offsets[0])[nonempty]
        if starts.size:
            sums[nonempty] = np.add.reduceat(terms, starts)
        return sums ^ lengths.astype(np.uint64)


def assign_splits(
    keys: pa.Array | pa.ChunkedArray,
    salt: int,
    fractions: SplitFractions,
    labels: np.ndarray | None = None,
    *,
    ranked: bool = True,
) -> np.ndarray:
    """Split index (0 train, 1 valid, 2 test) per row, from a hash of its key and ``salt``.

    ``ranked`` (the default) cuts the block's rows by rank of their hash uniform, per label
    class when ``labels`` is given, so each class splits exactly 70/15/15 (floor); otherwise
    each row is placed by its uniform alone (``u < train``, ``u < train + valid``), which
    depends on nothing but the key.
    """
    u = hash_uniform(hash_strings(keys), salt)
    n = u.size
    if not ranked:
        cuts = np.array([fractions.train, fractions.train + fractions.valid])
        return np.searchsorted(cuts, u, side="right").astype(np.int8)
    split = np.empty(n, dtype=np.int8)
    groups = [np.arange(n)] if labels is None else [np.flatnonzero(labels == c) for c in np.unique(labels)]
    for idx in groups:
        ranked_idx = idx[np.argsort(u[idx], kind="stable")]
        m = ranked_idx.size
        n_train = math.floor(m * fractions.train)
        n_valid = math.floor(m * fractions.valid)
        split[ranked_idx[:n_train]] = 0
        split[ranked_idx[n_train : n_train + n_valid]] = 1
        split[ranked_idx[n_train + n_valid :]] = 2
    return split
