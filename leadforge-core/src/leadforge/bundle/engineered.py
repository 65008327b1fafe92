"""Features a student engineers from a bundle's tables, per task row: the card's relational lesson.

For every table with a foreign key to the task's primary table, per parent row: the row count,
the days from its first to its last row (when the table has a time column), the mean and the
maximum of each numeric column, and the count of each value of each text column with at most
:data:`MAX_LEVELS` values (read from the table's first batch). The tables are read batch by batch
and only the rows of the keys asked for are kept, so memory follows the pooled task rows, never
the tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from leadforge.baseline import is_numeric, is_text, numeric_values
from leadforge.bundle.contract import RelationalContract
from leadforge.calendar import NO_DAY, days_of

#: Text columns with at most this many values (in a table's first batch) are counted per value.
MAX_LEVELS = 12
ROWS_PER_READ = 65_536


@dataclass(frozen=True)
class Child:
    """A table hanging off the task's primary table: its parts (files, or tables held in memory)
    and the column that points up."""

    name: str
    via: str
    time_column: str | None
    parts: tuple[Path | pa.Table, ...]


@dataclass(frozen=True)
class Relations:
    """The tables a student can join to one primary table's rows."""

    children: tuple[Child, ...]

    @classmethod
    def of(
        cls,
        contract: RelationalContract,
        parts: Mapping[str, Sequence[Path | pa.Table]],
        primary: str,
    ) -> Relations:
        """The children of ``primary`` among the tables that have ``parts`` (the bundle's own)."""
        found = []
        for t in contract:
            if t.name == primary or t.name not in parts:
                continue
            via = next((fk.column for fk in t.foreign_keys if fk.parent == primary), None)
            if via is not None:
                found.append(Child(t.name, via, t.time_column, tuple(parts[t.name])))
        return cls(tuple(found))

    def features(self, keys: pa.Array) -> pa.Table:
        """One row per key (in the order given) of every child's aggregates; absent keys count 0."""
        sorted_keys = pc.unique(keys.drop_null()).sort()
        low = sorted_keys[0].as_py() if len(sorted_keys) else None
        high = sorted_keys[-1].as_py() if len(sorted_keys) else None
        columns: dict[str, np.ndarray] = {}
        for child in self.children:
            columns.update(_aggregate(child, sorted_keys, _batches(child, low, high)))
        where = _positions(keys, sorted_keys)
        return pa.table({name: pa.array(values[where]) for name, values in columns.items()})


def _positions(values: pa.Array | pa.ChunkedArray, among: pa.Array) -> np.ndarray:
    """Each value's index in ``among`` (-1 where it is absent or null)."""
    found = pc.fill_null(pc.index_in(values, value_set=among), -1)
    return np.asarray(found.to_numpy(zero_copy_only=False), dtype=np.int64)


def _batches(child: Child, low: object, high: object) -> Iterable[pa.RecordBatch]:
    """The child's rows, skipping row groups whose ``via`` statistics lie outside [low, high]
    (other shards' entities: a big bundle is read only where the pooled rows live)."""
    for part in child.parts:
        if isinstance(part, pa.Table):
            yield from part.to_batches(ROWS_PER_READ)
            continue
        pf = pq.ParquetFile(part)
        column = pf.schema_arrow.get_field_index(child.via)
        groups = [
            g
            for g in range(pf.metadata.num_row_groups)
            if _may_hold(pf.metadata.row_group(g).column(column).statistics, low, high)
        ]
        if groups:
            yield from pf.iter_batches(ROWS_PER_READ, row_groups=groups)


def _may_hold(stats: pq.Statistics | None, low: object, high: object) -> bool:
    if stats is None or not stats.has_min_max or low is None:
        return True
    try:
        return not (stats.max < low or stats.min > high)
    except TypeError:
        return True


class _Stats:
    """Running count, sum and max of one numeric column over the keys (NaN: no value yet)."""

    def __init__(self, n: int) -> None:
        self.count = np.zeros(n)
        self.total = np.zeros(n)
        self.max = np.full(n, -np.inf)

    def add(self, at: np.ndarray, values: np.ndarray) -> None:
        ok = ~np.isnan(values)
        np.add.at(self.count, at[ok], 1.0)
        np.add.at(self.total, at[ok], values[ok])
        np.maximum.at(self.max, at[ok], values[ok])

    def mean(self) -> np.ndarray:
        return np.divide(self.total, self.count, out=np.full_like(self.total, np.nan), where=self.count > 0)

    def maximum(self) -> np.ndarray:
        return np.where(self.count > 0, self.max, np.nan)


def _aggregate(child: Child, keys: pa.Array, batches: Iterable[pa.RecordBatch]) -> dict[str, np.ndarray]:
    n = len(keys)
    rows = np.zeros(n)
    first, last = np.full(n, np.iinfo(np.int64).max), np.full(n, np.iinfo(np.int64).min)
    stats: dict[str, _Stats] = {}
    levels: dict[str, tuple[str, ...]] = {}
    counts: dict[str, np.ndarray] = {}
    timed = False
    for i, batch in enumerate(batches):
        if i == 0:
            stats, levels = _design(child, batch, n)
            timed = child.time_column is not None and _is_time(batch.schema, child.time_column)
            counts = {f"{c}={v}": np.zeros(n) for c, values in levels.items() for v in values}
        at_all = _positions(batch.column(child.via), keys)
        mine = at_all >= 0
        if not mine.any():
            continue
        picked = batch.filter(pa.array(mine))
        at = at_all[mine]
        np.add.at(rows, at, 1.0)
        if timed:
            days = np.asarray(days_of(picked.column(child.time_column)))
            dated = days != NO_DAY
            np.minimum.at(first, at[dated], days[dated])
            np.maximum.at(last, at[dated], days[dated])
        for name, s in stats.items():
            s.add(at, numeric_values(picked.column(name)))
        for name, values in levels.items():
            text = pc.cast(picked.column(name), pa.large_string())
            idx = _positions(text, pa.array(values, pa.large_string()))
            for j, v in enumerate(values):
                np.add.at(counts[f"{name}={v}"], at[idx == j], 1.0)
    out = {f"{child.name}__rows": rows}
    if timed:
        out[f"{child.name}__span_days"] = np.where(rows > 0, (last - first).astype(np.float64), np.nan)
    for name, s in stats.items():
        out[f"{child.name}__{name}__mean"] = s.mean()
        out[f"{child.name}__{name}__max"] = s.maximum()
    out.update({f"{child.name}__{k}": v for k, v in counts.items()})
    return out


def _is_time(schema: pa.Schema, name: str) -> bool:
    """A typed date or timestamp column (a time stored as text is left out, never parsed)."""
    if name not in schema.names:
        return False
    t = schema.field(name).type
    return bool(pa.types.is_date(t) or pa.types.is_timestamp(t))


def _design(
    child: Child, batch: pa.RecordBatch, n: int
) -> tuple[dict[str, _Stats], dict[str, tuple[str, ...]]]:
    """Which columns of the child are averaged and which counted per value (from its first batch)."""
    stats: dict[str, _Stats] = {}
    levels: dict[str, tuple[str, ...]] = {}
    for field in batch.schema:
        name, t = field.name, field.type
        if name in (child.via, child.time_column) or name.endswith("_id"):
            continue
        if is_numeric(t):
            stats[name] = _Stats(n)
        elif is_text(t):
            values = pc.unique(pc.cast(batch.column(name), pa.large_string()).drop_null()).to_pylist()
            if 1 < len(values) <= MAX_LEVELS:
                levels[name] = tuple(sorted(values))
    return stats, levels
