"""Vectorised builders for the columns every scheme writes: opaque ids and ISO dates.

Building millions of ``acct_000001``-style strings one Python object at a time dominates a
large run, so ids are assembled directly as Arrow string buffers with numpy.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import pyarrow as pa

ID_DIGITS = 6


def format_id(prefix: str, number: int) -> str:
    """``format_id("acct", 1) == "acct_000001"``; wider numbers simply grow."""
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:
        raise ValueError(f"id counter must be a positive int, got {number!r}")
    return f"{prefix}_{number:0{ID_DIGITS}d}"


def id_array(prefix: str, numbers: np.ndarray) -> pa.LargeStringArray:
    """Ids ``<prefix>_<number>`` (zero-padded to 6 digits) for an array of positive ints."""
    nums = np.asarray(numbers, dtype=np.int64)
    n = nums.size
    if n and nums.min() < 1:
        raise ValueError("id counters must be positive")
    head = (prefix + "_").encode()
    ndig = np.full(n, ID_DIGITS, dtype=np.int64)
    limit = 10**ID_DIGITS
    while n and (nums >= limit).any():
        ndig[nums >= limit] += 1
        limit *= 10
    lengths = len(head) + ndig
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    data = np.empty(int(offsets[-1]), dtype=np.uint8)
    starts = offsets[:-1]
    for j, byte in enumerate(head):
        data[starts + j] = byte
    digit_end = offsets[1:] - 1
    rest = nums.copy()
    for k in range(int(ndig.max()) if n else 0):
        has = ndig > k
        data[digit_end[has] - k] = (rest[has] % 10 + 48).astype(np.uint8)
        rest //= 10
    return pa.Array.from_buffers(pa.large_string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def id_range(prefix: str, start: int, count: int) -> pa.LargeStringArray:
    """Consecutive ids ``start, start+1, …`` (1-based counters)."""
    return id_array(prefix, np.arange(start, start + count, dtype=np.int64))


def parse_id_numbers(ids: pa.Array | pa.ChunkedArray, prefix: str) -> np.ndarray:
    """Inverse of :func:`id_array`: the integer counters of ``<prefix>_<n>`` ids."""
    import pyarrow.compute as pc

    tail = pc.utf8_slice_codeunits(ids, len(prefix) + 1)
    return np.asarray(pc.cast(tail, pa.int64()).to_numpy(zero_copy_only=False))


def category_array(values: Sequence[str], codes: np.ndarray) -> pa.LargeStringArray:
    """Category labels for integer codes into ``values``, built in Arrow (no Python object per row)."""
    return pa.array(values, type=pa.large_string()).take(pa.array(np.asarray(codes, dtype=np.int64)))


def date_array(base: dt.date, day_offsets: np.ndarray) -> pa.LargeStringArray:
    """ISO ``YYYY-MM-DD`` strings for ``base + offset`` days (offsets may be negative)."""
    offs = np.asarray(day_offsets, dtype=np.int64)
    if offs.size == 0:
        return pa.array([], type=pa.large_string())
    lo, hi = int(offs.min()), int(offs.max())
    start = np.datetime64(base, "D") + lo
    labels = np.datetime_as_string(start + np.arange(hi - lo + 1), unit="D")
    return pa.array(labels, type=pa.large_string()).take(pa.array(offs - lo))


def day_offsets(dates: pa.Array | pa.ChunkedArray, base: dt.date) -> np.ndarray:
    """Inverse of :func:`date_array`: day offsets of ISO date strings from ``base``."""
    import pyarrow.compute as pc

    as_date = pc.cast(pc.strptime(dates, format="%Y-%m-%d", unit="s"), pa.date32())
    days = np.asarray(as_date.cast(pa.int32()).to_numpy(zero_copy_only=False), dtype=np.int64)
    return days - (base - dt.date(1970, 1, 1)).days
