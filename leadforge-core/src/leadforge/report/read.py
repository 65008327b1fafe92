"""Reading a bundle for figures: by column name, sampled, and tolerant of columns a scheme lacks.

Schemes change under the report (a column renamed, ISO strings replaced by typed dates and
timestamps), so every figure asks for the columns it needs by name and gets ``None`` when the
table or a column is not there; the figure then says "not available" instead of failing.
Only the columns a figure needs are read: event tables are streamed a batch at a time, whole
columns are read only where a figure counts every entity, and figures that only need a
distribution read an even sample of at most :data:`SAMPLE_ROWS` rows -- whole Parquet
row groups spread evenly over the table (each part of a sharded table is an independent sample
of the world), thinned evenly to the limit -- so the time and memory a sampled figure costs
follow the sample, not the bundle. A sampled table says so (:func:`sampled_from`).

One report run reads through a :class:`CachedView`: the columns it reads are kept (up to
:data:`CACHE_BYTES`) so a figure and a realism metric that need the same column decode it once.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from leadforge.bundle.contract import RelationalContract, TableContract
from leadforge.bundle.manifest import SPLITS, Manifest, TaskManifest, parse_task_manifest
from leadforge.bundle.projection import day_numbers
from leadforge.bundle.reader import BundleView, joined_parts, reading
from leadforge.calendar import NO_DAY, days_of
from leadforge.errors import BundleError, LeadforgeError

#: Rows a sampled figure reads at most (evenly spread over the table).
SAMPLE_ROWS = 200_000
#: What :func:`days` gives a null or unreadable time.
#: Bytes of decoded columns one report run keeps for reuse (least recently used dropped first).
CACHE_BYTES = 32 << 20
#: Schema metadata key of a sampled table: the rows it was sampled from.
SAMPLED_FROM = b"leadforge.sampled_from"


@dataclass
class CachedView(BundleView):
    """A :class:`BundleView` that keeps the columns it reads, at most :data:`CACHE_BYTES` of
    them, least recently used dropped first: the report's figures and the realism metrics it
    shows read many of the same columns, and decoding a column of a million strings twice is
    the report's main cost. Whole columns are kept file by file (a metric reading a few shards'
    parts and a figure reading every part share those parts); samples by the files and size
    they were drawn for. Footers and file checks are kept too."""

    _columns: OrderedDict[tuple[tuple[str, ...], str, int | None], pa.ChunkedArray] = field(
        default_factory=OrderedDict, repr=False
    )
    _kept: int = field(default=0, repr=False)
    _footers: dict[str, pq.FileMetaData] = field(default_factory=dict, repr=False)
    _present: dict[str, bool] = field(default_factory=dict, repr=False)

    def exists(self, rel: str) -> bool:
        if rel not in self._present:
            self._present[rel] = super().exists(rel)
        return self._present[rel]

    def footer(self, rel: str) -> pq.FileMetaData:
        """A Parquet file's footer, read once per run (row counts and row groups come from it)."""
        if rel not in self._footers:
            with reading(rel):
                self._footers[rel] = pq.ParquetFile(self.path(rel)).metadata
        return self._footers[rel]

    def parquet_rows(self, rel: str) -> int:
        return int(self.footer(rel).num_rows)

    def read_parquet(self, rel: str | Sequence[str], columns: Sequence[str] | None = None) -> pa.Table:
        rels = (rel,) if isinstance(rel, str) else tuple(rel)
        if columns is None or not rels:
            return super().read_parquet(rel, columns)
        names = [c for c in dict.fromkeys(columns) if c in self.schema(rels[0]).names]
        parts = [self.columns((r,), names, None, functools.partial(self._read_whole, r)) for r in rels]
        return joined_parts(parts, rels)

    def _read_whole(self, rel: str, columns: list[str]) -> pa.Table:
        missing = [c for c in columns if c not in self.schema(rel).names]
        if missing:
            raise BundleError(f"{rel} lacks column(s) {missing}")
        return super().read_parquet(rel, columns)

    def columns(
        self,
        rels: tuple[str, ...],
        names: Sequence[str],
        limit: int | None,
        read: Callable[[list[str]], pa.Table],
    ) -> pa.Table:
        """``names`` of the files ``rels`` (whole, or the even sample ``limit`` picks, which does
        not depend on the columns): the kept ones from memory, the others through ``read``."""
        names = list(dict.fromkeys(names))
        got: dict[str, pa.ChunkedArray] = {}
        for name in names:
            key = (rels, name, limit)
            if key in self._columns:
                self._columns.move_to_end(key)
                got[name] = self._columns[key]
        todo = [c for c in names if c not in got]
        if todo:
            table = read(todo)
            for name in todo:
                got[name] = table.column(name)
                self._keep((rels, name, limit), got[name])
        schema = self.schema(rels[0])
        fields = pa.schema([schema.field(n) for n in names])
        out = pa.Table.from_arrays([got[n] for n in names], schema=fields)
        return _mark(out, self.num_rows(rels)) if limit is not None else out

    def _keep(self, key: tuple[tuple[str, ...], str, int | None], values: pa.ChunkedArray) -> None:
        size = values.nbytes
        if size > CACHE_BYTES // 4:
            return
        self._columns[key] = values
        self._kept += size
        while self._kept > CACHE_BYTES:
            _, dropped = self._columns.popitem(last=False)
            self._kept -= dropped.nbytes


def sampled_from(table: pa.Table | None) -> int | None:
    """The rows ``table`` is an even sample of, or ``None`` when it holds every row."""
    meta = None if table is None else table.schema.metadata
    raw = (meta or {}).get(SAMPLED_FROM)
    return int(raw) if raw else None


def sample_note(table: pa.Table | None) -> str:
    """A caption's sentence saying ``table`` is a sample and of how many rows ("" when it is not)."""
    total = sampled_from(table)
    if table is None or total is None:
        return ""
    return f"An even sample of {table.num_rows:,} of {total:,} rows."


def _mark(table: pa.Table, total: int) -> pa.Table:
    meta = dict(table.schema.metadata or {})
    meta[SAMPLED_FROM] = str(total).encode()
    return table.replace_schema_metadata(meta)


@dataclass(frozen=True)
class Reader:
    """A bundle as figures read it: the tables and columns that are really there."""

    bundle: BundleView
    manifest: Manifest

    @property
    def contract(self) -> RelationalContract | None:
        return self.manifest.contract

    def table_contract(self, name: str) -> TableContract | None:
        c = self.contract
        return c[name] if c is not None and name in c else None

    def files(self, table: str) -> tuple[str, ...]:
        return self.bundle.table_files(table) if self.bundle.has_table(table) else ()

    def columns_of(self, files: Sequence[str]) -> list[str]:
        try:
            return list(self.bundle.schema(files).names) if files else []
        except BundleError:
            return []

    def has(self, table: str, *columns: str) -> bool:
        names = self.columns_of(self.files(table))
        return bool(names) and all(c in names for c in columns)

    def rows(self, table: str) -> int:
        files = self.files(table)
        return self.bundle.num_rows(files) if files else 0

    def read(self, table: str, columns: Sequence[str], *, limit: int | None = SAMPLE_ROWS) -> pa.Table | None:
        """``columns`` of ``table`` (an even sample of at most ``limit`` rows), or ``None`` when
        the table or any column is missing."""
        return self.read_files(self.files(table), columns, limit)

    def task(self, task_id: str) -> TaskManifest | None:
        try:
            tm, _ = parse_task_manifest(
                self.bundle.json(f"tasks/{task_id}/task_manifest.json"), f"tasks/{task_id}/task_manifest.json"
            )
        except BundleError:
            return None
        return tm

    def split_columns(self, task_id: str) -> list[str]:
        return self.columns_of(self._split_files(task_id, "train"))

    def split(
        self, task_id: str, split: str, columns: Sequence[str], *, limit: int | None = SAMPLE_ROWS
    ) -> pa.Table | None:
        return self.read_files(self._split_files(task_id, split), columns, limit)

    def task_split(
        self, task_id: str, split: str, columns: Sequence[str], *, limit: int = SAMPLE_ROWS
    ) -> pa.Table | None:
        """``columns`` of one split, sampled to its share of ``limit`` rows for the whole task: the
        rows :meth:`task_rows` reads, so figures and baselines share one read of them."""
        rows = self.manifest.tasks[task_id].rows.get(split) or 0 if task_id in self.manifest.tasks else 0
        share = max(1, limit * rows // max(1, self._task_total(task_id)))
        return self.split(task_id, split, columns, limit=share)

    def task_rows(self, task_id: str, columns: Sequence[str], *, limit: int = SAMPLE_ROWS) -> pa.Table | None:
        """``columns`` of every split of a task together (each split sampled to its share)."""
        parts = []
        for s in SPLITS:
            part = self.task_split(task_id, s, columns, limit=limit)
            if part is None:
                return None
            parts.append(part)
        try:
            table = pa.concat_tables(parts, promote_options="permissive")
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return None
        if not any(sampled_from(p) for p in parts):
            return table
        return _mark(table, sum(sampled_from(p) or p.num_rows for p in parts))

    def stream(self, table: str, columns: Sequence[str]) -> Iterator[pa.RecordBatch]:
        """Every row of ``columns``, a batch at a time (nothing when a column is missing)."""
        files = self.files(table)
        if not files or not all(c in self.columns_of(files) for c in columns):
            return iter(())
        return self.bundle.iter_batches(files, columns)

    def _footer(self, rel: str) -> pq.FileMetaData:
        if isinstance(self.bundle, CachedView):
            return self.bundle.footer(rel)
        with reading(rel):
            return pq.ParquetFile(self.bundle.path(rel)).metadata

    def _task_total(self, task_id: str) -> int:
        if task_id not in self.manifest.tasks:
            return 0
        return sum(self.manifest.tasks[task_id].rows.get(s) or 0 for s in SPLITS)

    def _split_files(self, task_id: str, split: str) -> tuple[str, ...]:
        return self.bundle.split_files(task_id, split) if self.bundle.has_split(task_id, split) else ()

    def read_files(self, files: Sequence[str], columns: Sequence[str], limit: int | None) -> pa.Table | None:
        names = self.columns_of(files)
        if not names or not all(c in names for c in columns):
            return None
        try:
            total = self.bundle.num_rows(files)
            if limit is None or total <= limit:
                return self.bundle.read_parquet(files, list(columns))
            cols, cap = list(columns), max(1, limit)
            if isinstance(self.bundle, CachedView):
                return self.bundle.columns(
                    tuple(files), cols, cap, lambda todo: self._sample(files, todo, cap, total)
                )
            return self._sample(files, cols, cap, total)
        except (LeadforgeError, pa.ArrowException):
            return None

    def _sample(self, files: Sequence[str], columns: list[str], limit: int, total: int) -> pa.Table:
        """``limit`` rows: the fewest evenly spread row groups holding that many, thinned evenly."""
        groups: list[tuple[str, int]] = []
        sizes: list[int] = []
        for rel in files:
            meta = self._footer(rel)
            for i in range(meta.num_row_groups):
                groups.append((rel, i))
                sizes.append(meta.row_group(i).num_rows)
        n, rows = len(groups), np.asarray(sizes, dtype=np.int64)
        k = max(1, min(n, -(-n * limit // max(1, total))))
        while True:
            pick = np.unique(((np.arange(k) + 0.5) * n / k).astype(np.int64))
            if k >= n or int(rows[pick].sum()) >= limit:
                break
            k += 1
        chosen: dict[str, list[int]] = {}
        for i in pick.tolist():
            chosen.setdefault(groups[i][0], []).append(groups[i][1])
        parts = []
        for rel, picked in chosen.items():
            if any(c not in self.bundle.schema(rel).names for c in columns):
                raise BundleError(f"{rel} lacks column(s) of {columns}")
            with reading(rel):
                parts.append(
                    pq.ParquetFile(self.bundle.path(rel), metadata=self._footer(rel)).read_row_groups(
                        picked, columns=columns, use_threads=False
                    )
                )
        table = pa.concat_tables(parts) if len(parts) > 1 else parts[0]
        if table.num_rows > limit:
            table = table.take(pa.array(np.linspace(0, table.num_rows - 1, limit).round().astype(np.int64)))
        return _mark(table, total)


#: Ticks per day of each timestamp unit.


def days(values: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Days since 1970-01-01 (UTC days for timestamps) of ISO strings, dates or timestamps;
    nulls are :data:`NO_DAY`. Typed columns are converted straight from their integers: a
    weekly figure converts tens of millions of event times."""
    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if pa.types.is_timestamp(arr.type) or pa.types.is_date(arr.type):
        return days_of(arr)
    try:
        return np.asarray(day_numbers(arr), dtype=np.int64)
    except LeadforgeError:
        return np.full(len(arr), NO_DAY, dtype=np.int64)


def strings(values: pa.ChunkedArray | pa.Array) -> pa.Array:
    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    return pc.cast(arr, pa.large_string())


def is_numeric(t: pa.DataType) -> bool:
    return bool(pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t))


def is_temporal(t: pa.DataType) -> bool:
    return bool(pa.types.is_timestamp(t) or pa.types.is_date(t))
