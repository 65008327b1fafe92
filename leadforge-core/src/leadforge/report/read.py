"""Reading a bundle for figures: by column name, sampled, and tolerant of columns a scheme lacks.

Schemes change under the report (a column renamed, ISO strings replaced by typed dates and
timestamps), so every figure asks for the columns it needs by name and gets ``None`` when the
table or a column is not there; the figure then says "not available" instead of failing.
Nothing is read whole: columns are streamed a batch at a time, and figures that only need a
distribution read an even sample of at most :data:`SAMPLE_ROWS` rows, so memory stays flat in
bundle size.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from leadforge.bundle.contract import RelationalContract, TableContract
from leadforge.bundle.manifest import SPLITS, Manifest, TaskManifest, parse_task_manifest
from leadforge.bundle.projection import day_numbers
from leadforge.bundle.reader import BundleView
from leadforge.errors import BundleError, LeadforgeError

#: Rows a sampled figure reads at most (evenly spread over the table).
SAMPLE_ROWS = 200_000
#: What :func:`days` gives a null or unreadable time.
NO_DAY = np.iinfo(np.int32).max


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

    def task_rows(self, task_id: str, columns: Sequence[str], *, limit: int = SAMPLE_ROWS) -> pa.Table | None:
        """``columns`` of every split of a task together (each split sampled to its share)."""
        parts = []
        for s in SPLITS:
            rows = self.manifest.tasks[task_id].rows.get(s) or 0
            share = max(1, limit * rows // max(1, self._task_total(task_id)))
            part = self.split(task_id, s, columns, limit=share)
            if part is None:
                return None
            parts.append(part)
        try:
            return pa.concat_tables(parts, promote_options="permissive")
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return None

    def stream(self, table: str, columns: Sequence[str]) -> Iterator[pa.RecordBatch]:
        """Every row of ``columns``, a batch at a time (nothing when a column is missing)."""
        files = self.files(table)
        if not files or not all(c in self.columns_of(files) for c in columns):
            return iter(())
        return self.bundle.iter_batches(files, columns)

    def _task_total(self, task_id: str) -> int:
        return sum(self.manifest.tasks[task_id].rows.get(s) or 0 for s in SPLITS)

    def _split_files(self, task_id: str, split: str) -> tuple[str, ...]:
        return self.bundle.split_files(task_id, split) if self.bundle.has_split(task_id, split) else ()

    def read_files(self, files: Sequence[str], columns: Sequence[str], limit: int | None) -> pa.Table | None:
        names = self.columns_of(files)
        if not names or not all(c in names for c in columns):
            return None
        try:
            total = self.bundle.num_rows(files)
            step = 1 if limit is None or total <= limit else -(-total // limit)
            if step == 1:
                return self.bundle.read_parquet(files, list(columns))
            batches, seen = [], 0
            for batch in self.bundle.iter_batches(files, list(columns)):
                first = (-seen) % step
                if first < batch.num_rows:
                    batches.append(batch.take(pa.array(np.arange(first, batch.num_rows, step))))
                seen += batch.num_rows
            return pa.Table.from_batches(batches) if batches else None
        except (LeadforgeError, pa.ArrowException):
            return None


def days(values: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Days since 1970-01-01 of ISO strings, dates or timestamps; nulls are :data:`NO_DAY`."""
    try:
        return np.asarray(day_numbers(values), dtype=np.int64)
    except LeadforgeError:
        return np.full(len(values), NO_DAY, dtype=np.int64)


def strings(values: pa.ChunkedArray | pa.Array) -> pa.Array:
    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    return pc.cast(arr, pa.large_string())


def is_numeric(t: pa.DataType) -> bool:
    return bool(pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t))


def is_temporal(t: pa.DataType) -> bool:
    return bool(pa.types.is_timestamp(t) or pa.types.is_date(t))
