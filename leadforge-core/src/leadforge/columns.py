"""Vectorised builders for the columns every scheme writes: opaque ids and dates.

Building millions of ``acct_000001``-style strings one Python object at a time dominates a
large run, so ids are assembled directly as Arrow string buffers with numpy. Typed time
columns (``date32`` days, ``timestamp[us, UTC]`` instants) come from :mod:`leadforge.calendar`;
:func:`date_array` here still builds ISO text for schemes that store dates as strings.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

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
    for digits in np.flatnonzero(np.bincount(ndig)) if n else ():
        rows = np.flatnonzero(ndig == digits)
        block = _id_bytes(head, nums[rows], int(digits))
        if rows[-1] - rows[0] + 1 == rows.size:  # one run (ids come sorted): a single copy
            data[offsets[rows[0]] : offsets[rows[-1] + 1]] = block.reshape(-1)
        else:
            data[offsets[rows][:, None] + np.arange(block.shape[1])] = block
    return pa.Array.from_buffers(pa.large_string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def _id_bytes(head: bytes, nums: np.ndarray, digits: int) -> np.ndarray:
    """The bytes of ids whose numbers all have ``digits`` digits, as a (rows, width) matrix.

    Digits are peeled in eight-digit uint32 chunks (cheaper divisions than int64) into
    contiguous columns, and the matrix is transposed once at the end."""
    width = len(head) + digits
    cols = np.empty((width, nums.size), dtype=np.uint8)
    cols[: len(head)] = np.frombuffer(head, dtype=np.uint8)[:, None]
    rest = nums.astype(np.uint64)
    k = width
    while k > len(head):
        take = min(8, k - len(head))
        if take < k - len(head):
            high = rest // np.uint64(10**8)
            chunk = (rest - high * np.uint64(10**8)).astype(np.uint32)
            rest = high
        else:
            chunk = rest.astype(np.uint32)
        for _ in range(take):
            high32 = chunk // np.uint32(10)
            cols[k - 1] = (chunk - high32 * np.uint32(10)).astype(np.uint8) + 48
            chunk, k = high32, k - 1
    return np.ascontiguousarray(cols.T)


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
    """Day offsets from ``base`` of ISO date strings, ``date32`` days or timestamps (their UTC
    day); the inverse of :func:`date_array`."""
    import pyarrow.compute as pc

    if pa.types.is_timestamp(dates.type):
        us = pc.cast(pc.cast(dates, pa.timestamp("us", tz=dates.type.tz)), pa.int64())
        days = np.floor_divide(np.asarray(us.to_numpy(zero_copy_only=False), dtype=np.int64), 86_400_000_000)
    else:
        as_date = dates if pa.types.is_date(dates.type) else pc.strptime(dates, format="%Y-%m-%d", unit="s")
        as_date = pc.cast(as_date, pa.date32())
        days = np.asarray(as_date.cast(pa.int32()).to_numpy(zero_copy_only=False), dtype=np.int64)
    return days - (base - dt.date(1970, 1, 1)).days


# -- reading ids and dates back, at memory speed ------------------------------------------------
#
# Validation parses tens of millions of ids. Five Arrow string kernels (prefix test, two length
# tests, digit test, cast) cost 2-3x more than reading the string bytes as a (rows, width) numpy
# matrix per distinct byte length, one column of digits at a time.


def _string_bytes(values: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(offsets int64, data uint8, valid bool) of a string array, or ``None`` for other types."""
    width: type[np.signedinteger[Any]]
    if pa.types.is_string(values.type):
        width = np.int32
    elif pa.types.is_large_string(values.type):
        width = np.int64
    else:
        return None
    n = len(values)
    _, offsets_buf, data_buf = values.buffers()
    if n == 0 or offsets_buf is None:
        return np.zeros(1, np.int64), np.zeros(0, np.uint8), np.zeros(0, bool)
    offsets = np.frombuffer(offsets_buf, dtype=width)[values.offset : values.offset + n + 1].astype(np.int64)
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    valid = np.ones(n, dtype=bool)
    if values.null_count:
        valid = np.asarray(values.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    return offsets, data, valid


def _by_length(offsets: np.ndarray, data: np.ndarray, rows: np.ndarray, length: int) -> np.ndarray:
    """The bytes of the strings at ``rows`` (all ``length`` bytes long), as a (length, rows)
    matrix: byte ``j`` of every string is one contiguous row, which the parsers read."""
    if rows.size == offsets.size - 1:
        start = int(offsets[0])
        return np.ascontiguousarray(data[start : start + rows.size * length].reshape(rows.size, length).T)
    block: np.ndarray = data[offsets[rows][None, :] + np.arange(length)[:, None]]
    return block


def _lengths(offsets: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each string's byte length, and the distinct lengths of the valid ones (no sort)."""
    lengths = np.diff(offsets)
    present = lengths[valid]
    distinct: np.ndarray = np.flatnonzero(np.bincount(present)) if present.size else present
    return lengths, distinct


def _rows(lengths: np.ndarray, valid: np.ndarray, length: int, distinct: int) -> np.ndarray:
    if distinct == 1 and valid.all():
        return np.arange(lengths.size)
    return np.flatnonzero((lengths == length) & valid)


def id_numbers_fast(values: pa.Array, prefix: str) -> np.ndarray | None:
    """The number after ``<prefix>_`` of each id (6–18 ASCII digits), ``-1`` where the value is
    null or not of that form; ``None`` if ``values`` is not a string array."""
    view = _string_bytes(values)
    if view is None:
        return None
    offsets, data, valid = view
    head = np.frombuffer((prefix + "_").encode(), dtype=np.uint8)
    lengths, distinct = _lengths(offsets, valid)
    out = np.full(lengths.size, -1, dtype=np.int64)
    for length in distinct:
        digits = int(length) - head.size
        if not ID_DIGITS <= digits <= 18:
            continue
        rows = _rows(lengths, valid, int(length), distinct.size)
        block = _by_length(offsets, data, rows, int(length))
        digit = block[head.size :] - np.uint8(48)
        ok = (block[: head.size] == head[:, None]).all(axis=0) & (digit <= 9).all(axis=0)
        value = np.zeros(rows.size, dtype=np.int64)
        for row in digit:
            value *= 10
            value += row
        out[rows[ok]] = value[ok]
    return out


def grouped_id_numbers(values: pa.Array, prefix: str) -> np.ndarray | None:
    """:func:`id_numbers_fast` for a column whose equal ids sit together (a table's reference to
    the entity that owns each row): only the first id of each run is parsed."""
    view = _string_bytes(values)
    if view is None:
        return None
    offsets, data, valid = view
    lengths, distinct = _lengths(offsets, valid)
    n = lengths.size
    if n < 2 or distinct.size != 1 or not valid.all():
        return id_numbers_fast(values, prefix)
    block = _by_length(offsets, data, np.arange(n), int(distinct[0]))
    head = np.zeros(n, dtype=bool)
    head[0] = True
    for byte in block:
        head[1:] |= byte[1:] != byte[:-1]
    starts = np.flatnonzero(head)
    firsts = id_numbers_fast(values.take(pa.array(starts)), prefix)
    assert firsts is not None
    out: np.ndarray = np.repeat(firsts, np.diff(np.r_[starts, n]))
    return out
