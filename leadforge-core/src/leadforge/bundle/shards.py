"""One shard's rows on their way into the bundle, wherever the shard runs.

:class:`ShardSink` holds everything a shard needs to turn a scheme's full rows into what the
bundle stores — the relational contract, the exposure mode, the redacted columns, the task
specs and the split salt — and nothing that cannot be pickled, so the same code runs in the
writer's process or on a Dask worker. A shard written on a worker becomes its own part files
(``tables/<name>/part-<k>.parquet``); their hashes travel back in a :class:`ShardResult`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from leadforge.bundle.contract import RelationalContract
from leadforge.bundle.files import Written, write_parquet
from leadforge.bundle.manifest import part_name
from leadforge.bundle.oracle import oracle_part, oracle_rows, oracle_schema, stored
from leadforge.bundle.projection import project_shard
from leadforge.bundle.splits import SPLITS, assign_splits
from leadforge.bundle.tasks import NAME, TaskSpec
from leadforge.errors import GenerationError
from leadforge.schema import Column, TableData, TableSchema

R = TypeVar("R")

#: Hidden-truth fragments written by shards, assembled by the writer, never part of the bundle.
PARTS_DIR = ".parts"


@dataclass(frozen=True)
class SinkTask:
    """A declared task as a shard sees it: its spec, stored schema and the task that splits its keys.

    ``full`` is the schema of the rows the scheme hands over: the stored one plus the oracle
    column when the task has one.
    """

    spec: TaskSpec
    schema: TableSchema
    leader: TaskSpec
    full: TableSchema

    @property
    def oracle_schema(self) -> pa.Schema | None:
        return oracle_schema(self.spec, self.full) if self.spec.oracle is not None else None

    @property
    def stratified_by(self) -> str | None:
        lead = self.leader
        return f"{lead.task_id}.{lead.label_column}" if lead.stratified else None


@dataclass(frozen=True)
class ShardSink:
    """What turns one shard's full rows into stored rows (picklable, identical on every worker)."""

    root: str
    contract: RelationalContract
    public: bool
    writes_metadata: bool
    redacted: tuple[str, ...]
    tasks: Mapping[str, SinkTask]
    split_salt: int
    #: a twin's factual bundle's split per key (key column -> keys, split index): a twin keeps
    #: every entity in the split it had, whatever the intervention did to its label
    inherited: Mapping[str, tuple[pa.Array, np.ndarray]] = field(default_factory=dict)

    def table_schema(self, name: str) -> pa.Schema:
        t = self.contract[name]
        schema = t.public_schema(self.redacted) if self.public else t.schema.without(self.redacted)
        return schema.arrow

    def tables(self, index: int, tables: Mapping[str, TableData]) -> dict[str, pa.Table]:
        """The shard's tables as the bundle stores them (projected, numbered; omitted ones absent)."""
        chunks = {name: self._full_table(name, data) for name, data in tables.items()}
        return project_shard(self.contract, index, chunks, public=self.public, redacted=self.redacted)

    def splits(self, tasks: Mapping[str, TableData]) -> dict[str, tuple[pa.Table, pa.Table, pa.Table]]:
        """Each task's rows in train/valid/test, in key order; tasks sharing a key share its split.

        The tables still hold the task's oracle column, if any: see :func:`oracle.stored`.
        """
        unknown = [t for t in tasks if t not in self.tasks]
        if unknown:
            raise GenerationError(f"tasks {unknown} were not declared")
        tables = {
            tid: self.tasks[tid].full.table(_without(data, self.redacted)) for tid, data in tasks.items()
        }
        decided: dict[str, tuple[pa.Array, np.ndarray]] = {}
        out: dict[str, tuple[pa.Table, pa.Table, pa.Table]] = {}
        for tid in sorted(tables, key=lambda t: t != self.tasks[t].leader.task_id):
            task, table = self.tasks[tid], tables[tid]
            spec = task.spec
            keys = table.column(spec.key_column).combine_chunks()
            if keys.null_count:
                raise GenerationError(f"task {tid}: key column {spec.key_column!r} has nulls")
            if task.leader.task_id == tid:
                inherited = self.inherited.get(spec.key_column)
                if inherited is not None:
                    split = self._follow(spec, keys, inherited)
                else:
                    split = self._assign(task, table, keys)
                decided[spec.key_column] = (keys, split)
            else:
                split = self._follow(spec, keys, decided.get(spec.key_column))
            order = np.asarray(pc.sort_indices(keys).to_numpy(zero_copy_only=False))
            ordered, split_ordered = table.take(pa.array(order)), split[order]
            train, valid, test = (ordered.filter(pa.array(split_ordered == i)) for i in range(len(SPLITS)))
            out[tid] = (train, valid, test)
        return out

    def _full_table(self, name: str, data: TableData) -> pa.Table:
        if name not in self.contract:
            raise GenerationError(f"table {name!r} is not declared in the scheme's relational contract")
        t = self.contract[name]
        shard_keys = {t.primary_key} if t.core_numbered else set()
        shard_keys |= {fk.column for fk in t.foreign_keys if self.contract[fk.parent].core_numbered}
        schema = TableSchema(
            tuple(Column(c.name, "Int64") if c.name in shard_keys else c for c in t.schema.columns)
        )
        try:
            return schema.table(data)
        except (ValueError, TypeError, pa.ArrowException) as exc:
            raise GenerationError(f"table {name}: {exc}") from None

    def _assign(self, task: SinkTask, table: pa.Table, keys: pa.Array) -> np.ndarray:
        labels = None
        if task.spec.stratified:
            col = table.column(task.spec.label_column)
            if col.null_count:
                raise GenerationError(f"task {task.spec.task_id}: label column has nulls")
            labels = np.asarray(col.to_numpy(zero_copy_only=False))
        return assign_splits(keys, self.split_salt, task.spec.split, labels)

    def _follow(
        self, spec: TaskSpec, keys: pa.Array, decided: tuple[pa.Array, np.ndarray] | None
    ) -> np.ndarray:
        """The leader's split for keys it holds in this shard; the plain hash cut for the others."""
        split = assign_splits(keys, self.split_salt, spec.split, None, ranked=False)
        if decided is not None:
            idx = pc.index_in(keys, value_set=decided[0])
            found = np.asarray(pc.is_valid(idx).to_numpy(zero_copy_only=False), dtype=bool)
            pos = np.asarray(pc.fill_null(idx, 0).to_numpy(zero_copy_only=False), dtype=np.int64)
            split = np.where(found, decided[1][pos], split).astype(np.int8)
        return split


def table_part(name: str, index: int) -> str:
    return f"tables/{name}/{part_name(index)}"


def split_part(task_id: str, split: str, index: int) -> str:
    return f"tasks/{task_id}/{split}/{part_name(index)}"


@dataclass
class ShardOut:
    """What a shard task writes through: its rows once, and fragments of hidden metadata files."""

    index: int
    sink: ShardSink
    _direct: Any = None  # the writer itself, for a one-shard run in its own process
    tables: dict[str, Written] = field(default_factory=dict)
    splits: dict[str, Written] = field(default_factory=dict)
    oracles: dict[str, Written] = field(default_factory=dict)
    _written: bool = False

    @property
    def public(self) -> bool:
        return self.sink.public

    @property
    def writes_metadata(self) -> bool:
        return self.sink.writes_metadata

    def write(
        self, tables: Mapping[str, TableData] | None = None, tasks: Mapping[str, TableData] | None = None
    ) -> None:
        """The shard's full rows (like :meth:`BundleWriter.write_shard`), once per shard."""
        if self._written:
            raise GenerationError(f"shard {self.index} wrote its rows twice")
        self._written = True
        if self._direct is not None:
            self._direct.write_shard(self.index, tables=tables, tasks=tasks)
            return
        root = Path(self.sink.root)
        for name, table in self.sink.tables(self.index, tables or {}).items():
            rel = table_part(name, self.index)
            self.tables[rel] = write_parquet(root / rel, self.sink.table_schema(name), table)
        for tid, parts in self.sink.splits(tasks or {}).items():
            task = self.sink.tasks[tid]
            for split, table in zip(SPLITS, parts, strict=True):
                rel = split_part(tid, split, self.index)
                self.splits[rel] = write_parquet(root / rel, task.schema.arrow, stored(task.spec, table))
            schema = task.oracle_schema
            if schema is not None and self.sink.writes_metadata:
                rel = oracle_part(tid, self.index)
                self.oracles[rel] = write_parquet(root / rel, schema, oracle_rows(task.spec, schema, parts))

    def metadata_part(self, key: str, data: bytes) -> None:
        """A fragment of hidden metadata, joined in shard order by ``BundleWriter.metadata_parts``."""
        if not self.sink.writes_metadata:
            raise GenerationError("metadata parts are written only in bundles that hold hidden truth")
        if not NAME.match(key):
            raise GenerationError(f"{key!r} is not a valid metadata part key")
        if self._direct is not None:
            self._direct._keep_part(key, self.index, bytes(data))
        else:
            store_part(Path(self.sink.root), key, self.index, bytes(data))


def store_part(root: Path, key: str, index: int, data: bytes) -> None:
    """Keep a metadata fragment beside the bundle's files (under ``.parts``, never hashed)."""
    folder = root / PARTS_DIR / key
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{index:05d}").write_bytes(data)


@dataclass(frozen=True)
class ShardResult(Generic[R]):
    """A finished shard: what its task returned and the part files it wrote."""

    index: int
    value: R
    tables: Mapping[str, Written]
    splits: Mapping[str, Written]
    oracles: Mapping[str, Written]


def run_shard(index: int, task: Callable[[ShardOut], R], sink: ShardSink) -> ShardResult[R]:
    """Run one shard task (on whichever worker got it) into its own part files."""
    out = ShardOut(index, sink)
    value = task(out)
    return ShardResult(index, value, dict(out.tables), dict(out.splits), dict(out.oracles))


def absolute(path: Path) -> str:
    return os.path.abspath(path)


def _without(data: TableData, names: Sequence[str]) -> TableData:
    """Task rows arrive full, like table rows; the columns this mode redacts are dropped here."""
    if not names:
        return data
    if isinstance(data, pa.Table):
        return data.drop_columns([n for n in names if n in data.column_names])
    if isinstance(data, Mapping):
        return {k: v for k, v in data.items() if k not in names}
    return data.drop(columns=[n for n in names if n in data.columns])
