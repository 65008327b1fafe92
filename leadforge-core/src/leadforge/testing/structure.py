"""A bundle's structure as the leak probes read it: task labels, id numbers, entity links.

Everything here is derived from what every bundle records — the relational contract in
``manifest.json`` and each ``task_manifest.json`` — so the probes run on any scheme.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from leadforge.bundle.contract import ID_BLOCK, ForeignKey, RelationalContract, TableContract
from leadforge.bundle.manifest import SPLITS, TaskManifest
from leadforge.bundle.reader import BundleView
from leadforge.errors import BundleError
from leadforge.testing.bundles import GeneratedBundle
from leadforge.testing.stats import binarise

_DIGITS = r"_(?P<n>[0-9]{1,18})$"


@dataclass(frozen=True)
class TaskLabels:
    """One task's rows across its splits, in file order, with a binary label.

    ``y`` is the label itself for a binary task and "above the median" for a regression task.
    ``offsets`` are where each split's rows start; ``row_groups`` are the Parquet row-group
    lengths of each split file (the writer writes one per shard).
    """

    task: TaskManifest
    keys: pa.Array
    split: np.ndarray
    y: np.ndarray
    offsets: dict[str, int]
    row_groups: dict[str, tuple[int, ...]]

    def in_split(self, split: str) -> slice:
        start = self.offsets[split]
        return slice(start, start + int(np.count_nonzero(self.split == SPLITS.index(split))))


def combined(values: pa.ChunkedArray | pa.Array) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def task_labels(b: GeneratedBundle, task: str) -> TaskLabels | None:
    """The task's keys and binary label; ``None`` when the splits or label are unusable
    (the ``splits`` check reports why)."""
    tm = b.task_manifest(task)
    if tm is None:
        return None
    parts, codes, offsets, groups = [], [], {}, {}
    start = 0
    view = b.view()
    for i, split in enumerate(SPLITS):
        try:
            files = view.split_files(task, split)
            table = view.split(task, split, [tm.key_column, tm.label_column])
            metas = [pq.ParquetFile(view.path(rel)).metadata for rel in files]
        except (OSError, pa.ArrowException, KeyError, BundleError):
            return None
        if table.num_columns != 2 or table.column(0).null_count or table.column(1).null_count:
            return None
        parts.append(table)
        codes.append(np.full(table.num_rows, i, dtype=np.int8))
        offsets[split] = start
        groups[split] = tuple(
            meta.row_group(g).num_rows for meta in metas for g in range(meta.num_row_groups)
        )
        start += table.num_rows
    rows = pa.concat_tables(parts)
    label = np.asarray(rows.column(tm.label_column).to_numpy(zero_copy_only=False))
    y = binarise(label)
    if y is None:
        return None
    keys = combined(rows.column(tm.key_column)).cast(pa.large_string())
    return TaskLabels(tm, keys, np.concatenate(codes), y, offsets, groups)


def task_column(b: GeneratedBundle, labels: TaskLabels, column: str) -> pa.ChunkedArray | None:
    """Another column of the task's rows, in the order of ``labels`` (``None`` if a split lacks it)."""
    parts = []
    view = b.view()
    for split in SPLITS:
        try:
            if column not in view.schema(view.split_files(labels.task.task_id, split)).names:
                return None
            parts.append(view.split(labels.task.task_id, split, [column]).column(column))
        except (BundleError, pa.ArrowException):
            return None
    return pa.chunked_array([c for p in parts for c in p.chunks], type=parts[0].type)


def id_numbers(values: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """The number closing each ``<prefix>_<digits>`` id, as float (NaN where there is none)."""
    arr = combined(values).cast(pa.large_string())
    digits = pc.struct_field(pc.extract_regex(arr, _DIGITS), "n")
    numbers = pc.cast(digits, pa.int64())
    return np.asarray(pc.fill_null(pc.cast(numbers, pa.float64()), np.nan).to_numpy(zero_copy_only=False))


def time_ranks(values: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Dense ranks of a time column (ISO strings, dates or timestamps all sort in time order);
    NaN for nulls."""
    arr = combined(values)
    ranks = np.asarray(pc.rank(arr, sort_keys="ascending", tiebreaker="dense").to_numpy(), dtype=np.float64)
    nulls = np.asarray(pc.is_null(arr).to_numpy(zero_copy_only=False), dtype=bool)
    ranks[nulls] = np.nan
    return ranks


def id_blocks(numbers: np.ndarray, t: TableContract, public: bool = True) -> np.ndarray:
    """Which id block each row sits in: its shard for core-numbered tables (its owner for
    owner-numbered ones outside public bundles), one block otherwise."""
    if t.numbering == "owner" and not public:
        return np.asarray(np.floor_divide(np.nan_to_num(numbers, nan=-1.0), t.rows_per_owner))
    if t.core_numbered:
        return np.asarray(np.floor_divide(np.nan_to_num(numbers, nan=-1.0), ID_BLOCK))
    return np.zeros(numbers.size)


def within_blocks(numbers: np.ndarray, blocks: np.ndarray) -> np.ndarray:
    """Each id's rank within its block as a share of the block (0 = first, towards 1 = last).

    Core numbers each shard from its own block, so a raw id mostly says which shard a row is
    in; where a row sits inside its shard is what the scheme's row order decides.
    """
    out = np.full(numbers.size, np.nan)
    known = np.flatnonzero(~np.isnan(numbers))
    if known.size == 0:
        return out
    order = known[np.lexsort((numbers[known], blocks[known]))]
    b = blocks[order]
    starts = np.flatnonzero(np.r_[True, b[1:] != b[:-1]])
    sizes = np.diff(np.r_[starts, b.size])
    out[order] = (np.arange(b.size) - np.repeat(starts, sizes)) / np.repeat(sizes, sizes)
    return out


@dataclass(frozen=True)
class Link:
    """A table whose foreign key points at a task's primary table, row by row.

    ``entity`` is, for each row of ``table``, the index of the task row it references (-1
    when it references an entity outside the task).
    """

    table: TableContract
    fk: ForeignKey
    entity: np.ndarray


def primary_key_of(contract: RelationalContract, tm: TaskManifest) -> bool:
    """Whether the task's key column is its primary table's primary key (so keys name entities)."""
    return tm.primary_table in contract and contract[tm.primary_table].primary_key == tm.key_column


def links(view: BundleView, contract: RelationalContract, labels: TaskLabels) -> Iterator[Link]:
    """Every table of the bundle with a foreign key to the task's primary table."""
    tm = labels.task
    if not primary_key_of(contract, tm):
        return
    present = set(view.table_names())
    for t in contract:
        if t.name == tm.primary_table or t.name not in present:
            continue
        for fk in t.foreign_keys:
            if fk.parent != tm.primary_table:
                continue
            try:
                col = view.table(t.name, [fk.column])
            except BundleError:
                continue
            if fk.column not in col.column_names:
                continue
            idx = pc.index_in(combined(col.column(fk.column)).cast(pa.large_string()), value_set=labels.keys)
            yield Link(
                t, fk, np.asarray(pc.fill_null(idx, -1).to_numpy(zero_copy_only=False), dtype=np.int64)
            )


@dataclass(frozen=True)
class EntityStats:
    """Per task row: how many rows it has in a linked table, and the min/max of a value over them."""

    count: np.ndarray
    low: np.ndarray
    high: np.ndarray


def per_entity(entity: np.ndarray, values: np.ndarray, n: int) -> EntityStats:
    """Count, min and max of ``values`` grouped by ``entity`` (rows with entity -1 or NaN skipped)."""
    keep = (entity >= 0) & ~np.isnan(values)
    e, v = entity[keep], values[keep]
    count = np.bincount(e, minlength=n)
    low, high = np.full(n, np.nan), np.full(n, np.nan)
    if e.size:
        order = np.lexsort((v, e))
        e, v = e[order], v[order]
        starts = np.flatnonzero(np.r_[True, e[1:] != e[:-1]])
        ends = np.r_[starts[1:], e.size] - 1
        low[e[starts]] = v[starts]
        high[e[ends]] = v[ends]
    return EntityStats(count, low, high)
