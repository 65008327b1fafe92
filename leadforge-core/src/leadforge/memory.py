"""A small world's bundle held in memory: the same tables and splits ``save`` would write, no disk.

:class:`MemoryWriter` is a :class:`BundleWriter` whose files are Arrow tables and byte strings:
the scheme writes through it exactly as it writes a bundle, so the public projection, ids,
split assignment and row order are the writer's, and ``Bundle.tables`` equals what
``leadforge.load(bundle.save(path)).tables`` reads back.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import pyarrow as pa

from leadforge.bundle.files import Written
from leadforge.bundle.manifest import TaskEntry
from leadforge.bundle.measured import TaskRows, TaskTables
from leadforge.bundle.shards import ShardOut
from leadforge.bundle.splits import SPLITS
from leadforge.bundle.tasks import UPLIFT
from leadforge.bundle.writer import CARD, CARD_FOOTER, METADATA, BundleWriter
from leadforge.errors import GenerationError, UsageError
from leadforge.loaded import Kind, Splits

if TYPE_CHECKING:
    import pandas as pd

R = TypeVar("R")
#: Above this estimated bundle size, hold nothing in memory: save() and leadforge.load() stream.
MAX_MEMORY_BUNDLE_BYTES = 2 * 1024**3


class _MemoryFile:
    """Stands in for a Parquet file: row groups kept as Arrow tables."""

    def __init__(self, schema: pa.Schema) -> None:
        self.schema = schema
        self.chunks: list[pa.Table] = []
        self.rows = 0

    def write(self, table: pa.Table) -> None:
        if table.num_rows:
            self.chunks.append(table if table.schema == self.schema else table.cast(self.schema))
            self.rows += table.num_rows

    def table(self) -> pa.Table:
        return pa.concat_tables(self.chunks) if self.chunks else self.schema.empty_table()

    def close(self) -> Written:
        return Written(self.rows, "", 0)

    def abort(self) -> None:
        self.chunks.clear()


class MemoryWriter(BundleWriter):
    """A bundle writer that keeps every file in memory and runs every shard in this process."""

    def _make_root(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self._memory_oracles: dict[tuple[str, str], _MemoryFile] = {}
        self._memory_parts: dict[str, dict[int, bytes]] = {}

    def _table_file(self, name: str) -> Any:
        if name not in self._tables:
            self._tables[name] = _MemoryFile(self._sink().table_schema(name))  # type: ignore[assignment]
        return self._tables[name]

    def _oracle_file(self, task_id: str, split: str, schema: Any) -> Any:
        """Oracle rows feed the card's ceiling; the bundle's files hold no answer key (save it
        to get ``metadata/oracle``)."""
        key = (task_id, split)
        if key not in self._memory_oracles:
            self._memory_oracles[key] = _MemoryFile(schema)
        return self._memory_oracles[key]

    def seal_rows(self) -> None:
        """Nothing to close early: :meth:`collect` measures the card in this process."""

    def _task_rows(self, tasks: Mapping[str, TaskEntry], task_id: str, *, oracle: bool) -> TaskRows:
        splits = tuple(self._split_file(task_id, s).table() for s in SPLITS)
        keys = tuple(self._oracle_file(task_id, s, None).table() for s in SPLITS) if oracle else ()
        return TaskTables(splits, keys)

    def _uplift_truth(self, task_id: str) -> float:
        tables = [self._oracle_file(task_id, s, None).table() for s in SPLITS]
        values = np.concatenate([t.column(UPLIFT).to_numpy() for t in tables if UPLIFT in t.column_names])
        return float(values.mean()) if values.size else math.nan

    def _split_file(self, task_id: str, split: str) -> Any:
        key = (task_id, split)
        if key not in self._split_files:
            self._split_files[key] = _MemoryFile(self._tasks[task_id].schema.arrow)  # type: ignore[assignment]
        return self._split_files[key]

    def _split_tables(
        self, tasks: Mapping[str, TaskEntry], task_id: str, columns: list[str] | None = None
    ) -> Iterator[pa.Table]:
        for split in SPLITS:
            table = self._split_file(task_id, split).table()
            yield table if columns is None else table.select(columns)

    def map_shards(
        self, task: Callable[[ShardOut], R], count: int, *, stage: str = "simulating shards"
    ) -> list[R]:
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise GenerationError(f"map_shards needs a shard count >= 1, got {count!r}")
        out: list[R] = []
        for index in range(count):
            out.append(task(ShardOut(index, self._sink(), _direct=self)))
            self.progress(stage, index + 1, count)
        return out

    def _keep_part(self, key: str, index: int, data: bytes) -> None:
        self._memory_parts.setdefault(key, {})[index] = data

    def metadata_parts(self, key: str) -> Iterator[bytes]:
        parts = self._memory_parts.pop(key, {})
        for index in sorted(parts):
            yield parts[index]

    def write_metadata_chunks(self, name: str, chunks: Iterable[bytes]) -> None:
        self._check_metadata(name)
        self._write_bytes(f"{METADATA}/{name}", b"".join(chunks))

    def _write_bytes(self, rel: str, data: bytes) -> None:
        if rel in self.blobs:
            raise GenerationError(f"{rel} is written twice")
        self.blobs[rel] = data

    def collect(self) -> InMemoryBundle:
        """Everything written, as the bundle would hold it (every contract table, even empty)."""
        if not self._card_written:
            raise GenerationError("the scheme did not write a dataset card")
        cuts = {tid: cut for tid in self._tasks if (cut := self._out_of_time({}, tid)) is not None}
        card = self._card_text
        tables = {}
        for t in self.contract:
            if not (self.public and t.public.omit):
                tables[t.name] = self._table_file(t.name).table()
        relations = self._relations({name: [table] for name, table in tables.items()})
        measured = self._measure({}, cuts, relations)()
        if self.mode.writes_metadata:
            card += self._write_ceilings(measured.ceilings)
        card += self._rows_sections({}, cuts, measured, relations)
        self._write_bytes(CARD, (card + CARD_FOOTER).encode("utf-8"))
        splits = {
            tid: {split: self._split_file(tid, split).table() for split in SPLITS} for tid in self._tasks
        }
        manifests = {tid: t.spec.manifest(t.stratified_by, cuts.get(tid)) for tid, t in self._tasks.items()}
        return InMemoryBundle(tables, splits, manifests, dict(self.blobs))


@dataclass(frozen=True)
class MemoryTable:
    """One table in memory, with the reading methods of ``leadforge.load``'s tables."""

    name: str
    arrow: pa.Table = field(repr=False)

    @property
    def num_rows(self) -> int:
        return int(self.arrow.num_rows)

    @property
    def schema(self) -> pa.Schema:
        return self.arrow.schema

    def to_arrow(self, columns: list[str] | None = None) -> pa.Table:
        return self.arrow if columns is None else self.arrow.select(columns)

    def to_pandas(self, columns: list[str] | None = None) -> pd.DataFrame:
        frame: pd.DataFrame = self.to_arrow(columns).to_pandas()
        return frame


@dataclass(frozen=True)
class MemoryTask(Splits):
    """A task's three splits in memory (pandas, or Arrow with ``kind="arrow"``)."""

    task_id: str
    manifest: Any
    splits: Mapping[str, pa.Table] = field(repr=False)
    kind: Kind = "pandas"

    def split(self, name: str) -> Any:
        if name not in self.splits:
            raise UsageError(f"unknown split {name!r}; choose one of {', '.join(SPLITS)}")
        table = self.splits[name]
        return table if self.kind == "arrow" else table.to_pandas()


@dataclass(frozen=True)
class InMemoryBundle:
    """What ``Bundle.tables`` / ``Bundle.task()`` read: tables, splits, card and metadata files."""

    arrow_tables: Mapping[str, pa.Table] = field(repr=False)
    arrow_splits: Mapping[str, Mapping[str, pa.Table]] = field(repr=False)
    task_manifests: Mapping[str, Any] = field(repr=False)
    files: Mapping[str, bytes] = field(repr=False)

    @property
    def tables(self) -> Mapping[str, MemoryTable]:
        return {name: MemoryTable(name, t) for name, t in self.arrow_tables.items()}

    @property
    def task_ids(self) -> tuple[str, ...]:
        return tuple(self.arrow_splits)

    def task(self, task_id: str, *, kind: Kind = "pandas") -> MemoryTask:
        if task_id not in self.arrow_splits:
            raise UsageError(f"no task {task_id!r}; the bundle has {', '.join(self.arrow_splits) or 'none'}")
        if kind not in ("pandas", "arrow"):
            raise UsageError(f"kind must be 'pandas' or 'arrow', got {kind!r}")
        return MemoryTask(task_id, self.task_manifests[task_id], self.arrow_splits[task_id], kind)

    @property
    def card(self) -> str:
        return self.files["dataset_card.md"].decode("utf-8")


def memory_root() -> Path:
    """A root path the memory writer never touches (its files live in :attr:`MemoryWriter.blobs`)."""
    return Path("<memory>")
