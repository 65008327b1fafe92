"""``BundleWriter``: the one way a scheme puts files into a bundle.

The writer builds the bundle in a staging folder next to ``--out``; core moves it into
place only after every file is written and ``manifest.json`` records a SHA-256 and size for
each of them. It enforces the scheme's relational contract on the way (see
:mod:`leadforge.bundle.projection`): public projection, ids, split assignment and row order
are core's, so every scheme's bundle keeps the same promises.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from leadforge.bundle.contract import RelationalContract
from leadforge.bundle.manifest import (
    CORE_KEYS,
    MANIFEST,
    SCHEMA_VERSION,
    TASK_MANIFEST,
    FileEntry,
    Manifest,
    ManifestFields,
    PluginRef,
    StructuralRedactions,
    TableEntry,
    TaskEntry,
    TaskManifest,
)
from leadforge.bundle.projection import project_shard
from leadforge.bundle.splits import SPLITS, SplitFractions, assign_splits
from leadforge.config import GenerationConfig
from leadforge.enums import TASK_TYPES, ExposureMode
from leadforge.errors import ExposureError, GenerationError
from leadforge.features import FeatureSpec, redacted_names, render_dictionary, visible
from leadforge.progress import NullProgress, Progress
from leadforge.schema import Column, TableData, TableSchema
from leadforge.yamlfile import dump_json

CARD = "dataset_card.md"
DICTIONARY = "feature_dictionary.csv"
METADATA = "metadata"
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class TaskSpec:
    """One supervised task: its ``task_manifest.json`` and how its rows are split.

    ``key_column`` identifies a row (e.g. ``lead_id``); splits are assigned from a hash of it
    and the seed. Classification tasks are stratified by ``label_column`` unless
    ``stratify`` is set to ``False``.
    """

    task_id: str
    task_type: str
    label_column: str
    label_window_days: int
    primary_table: str
    key_column: str
    description: str
    split: SplitFractions = field(default_factory=SplitFractions)
    stratify: bool | None = None

    def __post_init__(self) -> None:
        if self.task_type not in TASK_TYPES:
            raise ValueError(f"task {self.task_id}: task_type must be one of {TASK_TYPES}")
        if not _NAME.match(self.task_id):
            raise ValueError(f"task id {self.task_id!r} is not a valid directory name")

    @property
    def stratified(self) -> bool:
        return self.task_type == "binary_classification" if self.stratify is None else self.stratify

    def manifest(self, stratified_by: str | None) -> TaskManifest:
        return TaskManifest(
            task_id=self.task_id,
            task_type=self.task_type,
            label_column=self.label_column,
            label_window_days=self.label_window_days,
            primary_table=self.primary_table,
            key_column=self.key_column,
            split=self.split.to_json(),
            stratified=stratified_by == f"{self.task_id}.{self.label_column}",
            stratified_by=stratified_by,
            description=self.description,
        )


class _HashingFile(io.RawIOBase):
    """A write-only file that hashes and counts bytes as they stream to disk."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._f = open(path, "wb")  # noqa: SIM115 - closed in close()
        self.sha = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        data = bytes(b)
        self._f.write(data)
        self.sha.update(data)
        self.size += len(data)
        return len(data)

    def tell(self) -> int:
        return self.size

    def close(self) -> None:
        if not self.closed:
            self._f.close()
        super().close()


class _ParquetFile:
    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.path = path
        self.raw = _HashingFile(path)
        self.writer = pq.ParquetWriter(self.raw, schema, compression="snappy")
        self.rows = 0

    def write(self, table: pa.Table) -> None:
        if table.num_rows:
            self.writer.write_table(table)
            self.rows += table.num_rows

    def close(self) -> tuple[int, str, int]:
        self.writer.close()
        self.raw.close()
        return self.rows, self.raw.sha.hexdigest(), self.raw.size

    def abort(self) -> None:
        """Release the file after a failure, quietly (its folder is about to be removed)."""
        with suppress(Exception):
            self.writer.close()
        with suppress(Exception):
            self.raw.close()


class _Task:
    """One task's three split files, and who decides its split assignment."""

    def __init__(self, root: Path, spec: TaskSpec, schema: TableSchema, leader: TaskSpec) -> None:
        self.spec = spec
        self.schema = schema
        self.leader = leader
        folder = root / "tasks" / spec.task_id
        folder.mkdir(parents=True, exist_ok=False)
        self.files = {s: _ParquetFile(folder / f"{s}.parquet", schema.arrow) for s in SPLITS}

    @property
    def stratified_by(self) -> str | None:
        lead = self.leader
        return f"{lead.task_id}.{lead.label_column}" if lead.stratified else None


class BundleWriter:
    """Writes one bundle into ``root`` (a staging folder core later moves into place).

    A scheme declares its feature catalog and tasks, then hands over full rows shard by
    shard with :meth:`write_shard`; the writer applies the relational contract (public
    projection, ids, split assignment, row order) so the scheme cannot get them wrong.
    """

    def __init__(
        self,
        root: Path,
        config: GenerationConfig,
        contract: RelationalContract,
        *,
        split_salt: int,
        progress: Progress | None = None,
    ) -> None:
        self.root = root
        self.config = config
        self.contract = contract
        self.mode: ExposureMode = config.exposure_mode
        self.public = self.mode is ExposureMode.STUDENT_PUBLIC
        self.progress_reporter = progress or NullProgress()
        self.split_salt = split_salt
        self.catalog: list[FeatureSpec] | None = None
        self.redacted_columns: list[str] = []
        self.manifest_fields = ManifestFields()
        self._tables: dict[str, _ParquetFile] = {}
        self._table_entries: dict[str, TableEntry] = {}
        self._tasks: dict[str, _Task] = {}
        self._task_entries: dict[str, TaskEntry] = {}
        self._files: dict[str, FileEntry] = {}
        self._card_written = False
        self._closed = False
        root.mkdir(parents=True, exist_ok=False)
        (root / "tables").mkdir()

    # -- what the scheme declares ---------------------------------------------------------

    def declare_features(self, catalog: Sequence[FeatureSpec]) -> None:
        """Declare the task-table catalog; must come before any table or task is written.

        Its visible rows become ``feature_dictionary.csv``; features it redacts for this
        mode are dropped from every table and split.
        """
        if self._tables or self._tasks:
            raise GenerationError("declare_features() must be called before writing data")
        names = [f.name for f in catalog]
        if len(set(names)) != len(names):
            raise GenerationError(f"duplicate feature names in catalog: {names}")
        self.catalog = list(catalog)
        self.redacted_columns = redacted_names(catalog, self.mode)

    def declare_task(self, spec: TaskSpec, schema: TableSchema) -> None:
        """Declare a task before its rows arrive through :meth:`write_shard`.

        Tasks that share a ``key_column`` share one split assignment per key: the first
        stratified task declared with that key decides it (stratified by its label).
        """
        self._check_name(spec.task_id, self._tasks)
        schema = schema.without(self.redacted_columns)
        for col in (spec.key_column, spec.label_column):
            if col not in schema.names:
                raise GenerationError(f"task {spec.task_id}: column {col!r} is not in its schema")
        same_key = [t.spec for t in self._tasks.values() if t.spec.key_column == spec.key_column]
        leaders = [s for s in same_key if s.stratified] or same_key[:1]
        leader = leaders[0] if leaders else spec
        if leader.task_id != spec.task_id and not leader.stratified and spec.stratified:
            raise GenerationError(
                f"task {spec.task_id} is stratified but shares key {spec.key_column!r} with the "
                f"unstratified task {leader.task_id} declared before it; declare the stratified one first"
            )
        self._tasks[spec.task_id] = _Task(self.root, spec, schema, leader)

    def set_manifest_fields(self, fields: ManifestFields) -> None:
        _check_manifest_keys(fields)
        self.manifest_fields = fields

    def progress(self, stage: str, done: int, total: int) -> None:
        self.progress_reporter.update(stage, done, total)

    # -- data -----------------------------------------------------------------------------

    def write_shard(
        self,
        index: int,
        tables: Mapping[str, TableData] | None = None,
        tasks: Mapping[str, TableData] | None = None,
    ) -> None:
        """Append shard ``index``'s full rows: one row group per table and split file.

        ``tables`` maps contract table names to full (instructor) rows; ``"shard"``-numbered
        keys are shard-local integers. Task rows are assigned to splits by key and written
        in key order.
        """
        if self._closed:
            raise GenerationError("the bundle is already finalised")
        chunks = {name: self._full_table(name, data) for name, data in (tables or {}).items()}
        projected = project_shard(
            self.contract, index, chunks, public=self.public, redacted=self.redacted_columns
        )
        for name, table in projected.items():
            out = self._table_file(name)
            out.write(table.cast(out.writer.schema) if table.schema != out.writer.schema else table)
        self._write_tasks(tasks or {})

    def rows_written(self) -> dict[str, int]:
        """Rows appended so far to each table, as the bundle holds them (after the projection):
        what a dataset card states, without the scheme re-deriving core's cuts."""
        return {t.name: self._tables[t.name].rows for t in self.contract if t.name in self._tables}

    def write_table(self, name: str, data: TableData) -> None:
        """Write a whole table at once (shard 0): for small tables not simulated in shards."""
        self.write_shard(0, {name: data})

    def write_dataset_card(self, text: str) -> None:
        self._write_bytes(CARD, (text.rstrip("\n") + "\n").encode("utf-8"))
        self._card_written = True

    def write_metadata_json(self, name: str, data: Any) -> None:
        self._check_metadata(name)
        self._write_json(f"{METADATA}/{name}", data)

    def write_metadata_text(self, name: str, text: str) -> None:
        self._check_metadata(name)
        self._write_bytes(f"{METADATA}/{name}", text.encode("utf-8"))

    def write_metadata_chunks(self, name: str, chunks: Iterable[bytes]) -> None:
        """Write ``metadata/<name>`` from byte chunks, hashed as they stream to disk.

        For hidden truth that grows with the population (one entry per entity): a scheme
        can produce it shard by shard instead of holding the whole file in memory.
        """
        self._check_metadata(name)
        rel = f"{METADATA}/{name}"
        (self.root / METADATA).mkdir(exist_ok=True)
        out = _HashingFile(self.root / rel)
        try:
            for chunk in chunks:
                out.write(chunk)
        finally:
            out.close()
        self._record_file(rel, out.sha.hexdigest(), out.size)

    # -- finishing ------------------------------------------------------------------------

    def finalize(self, *, timestamp: str, plugins: Sequence[PluginRef], package_version: str) -> Manifest:
        """Close every file, write the dictionary and the manifest; return the manifest."""
        if self.catalog is None:
            raise GenerationError("the scheme did not declare its feature catalog")
        if not self._card_written:
            raise GenerationError("the scheme did not write a dataset card")
        for t in self.contract:
            if not (self.public and t.public.omit):
                self._table_file(t.name)
        for name, f in self._tables.items():
            rows, sha, size = f.close()
            rel = f"tables/{name}.parquet"
            self._table_entries[name] = TableEntry(rows, rel, sha)
            self._record_file(rel, sha, size)
        for task in self._tasks.values():
            counts, shas = {}, {}
            for split, f in task.files.items():
                counts[split], shas[split], size = f.close()
                self._record_file(f"tasks/{task.spec.task_id}/{split}.parquet", shas[split], size)
            self._task_entries[task.spec.task_id] = TaskEntry(counts, shas)
            self._write_json(
                f"tasks/{task.spec.task_id}/{TASK_MANIFEST}", task.spec.manifest(task.stratified_by).to_json()
            )
        self._closed = True
        self._write_bytes(DICTIONARY, render_dictionary(visible(self.catalog, self.mode)).encode("utf-8"))
        if self.public and (self.root / METADATA).exists():
            raise ExposureError("public bundle must not contain metadata/")
        mf = self.manifest_fields
        fields = {
            **dict(mf.config),
            **{k: (None if self.public else v) for k, v in mf.hidden.items()},
            **dict(mf.extra),
        }
        manifest = Manifest(
            schema_version=SCHEMA_VERSION,
            package_version=package_version,
            scheme=self.config.scheme,
            recipe_id=self.config.recipe_id,
            seed=self.config.seed,
            generation_timestamp=timestamp,
            exposure_mode=self.mode.value,
            difficulty=self.config.difficulty.value,
            fields=fields,
            redacted_columns=tuple(self.redacted_columns),
            relational_snapshot_safe=self.public,
            structural_redactions=StructuralRedactions.of(self.contract)
            if self.public
            else StructuralRedactions(),
            tables=self._table_entries,
            tasks=self._task_entries,
            hidden_fields=tuple(mf.hidden),
            contract=self.contract,
            config_digest=self.config.digest(),
            plugins=tuple(plugins),
            files=dict(self._files),
            extra_keys=tuple(mf.extra),
        )
        (self.root / MANIFEST).write_bytes(dump_json(manifest.to_json()))
        return manifest

    def abort(self) -> None:
        """Close every open file after a failure, so nothing complains when they are collected."""
        self._closed = True
        for f in (*self._tables.values(), *(f for t in self._tasks.values() for f in t.files.values())):
            f.abort()

    # -- internals ------------------------------------------------------------------------

    def _full_table(self, name: str, data: TableData) -> pa.Table:
        if name not in self.contract:
            raise GenerationError(f"table {name!r} is not declared in the scheme's relational contract")
        t = self.contract[name]
        shard_keys = {t.primary_key} if t.numbering == "shard" else set()
        shard_keys |= {fk.column for fk in t.foreign_keys if self.contract[fk.parent].numbering == "shard"}
        schema = TableSchema(
            tuple(Column(c.name, "Int64") if c.name in shard_keys else c for c in t.schema.columns)
        )
        try:
            return schema.table(data)
        except (ValueError, TypeError, pa.ArrowException) as exc:
            raise GenerationError(f"table {name}: {exc}") from None

    def _table_file(self, name: str) -> _ParquetFile:
        if name not in self._tables:
            t = self.contract[name]
            schema = (
                t.public_schema(self.redacted_columns)
                if self.public
                else t.schema.without(self.redacted_columns)
            )
            self._tables[name] = _ParquetFile(self.root / "tables" / f"{name}.parquet", schema.arrow)
        return self._tables[name]

    def _write_tasks(self, tasks: Mapping[str, TableData]) -> None:
        unknown = [t for t in tasks if t not in self._tasks]
        if unknown:
            raise GenerationError(f"tasks {unknown} were not declared")
        redacted = self.redacted_columns
        tables = {tid: self._tasks[tid].schema.table(_without(data, redacted)) for tid, data in tasks.items()}
        decided: dict[str, tuple[pa.Array, np.ndarray]] = {}
        for tid in sorted(tables, key=lambda t: t != self._tasks[t].leader.task_id):
            task, table = self._tasks[tid], tables[tid]
            spec = task.spec
            keys = table.column(spec.key_column).combine_chunks()
            if keys.null_count:
                raise GenerationError(f"task {tid}: key column {spec.key_column!r} has nulls")
            if task.leader.task_id == tid:
                split = self._assign(task, table, keys)
                decided[spec.key_column] = (keys, split)
            else:
                split = self._follow(spec, keys, decided.get(spec.key_column))
            order = np.asarray(pc.sort_indices(keys).to_numpy(zero_copy_only=False))
            ordered, split_ordered = table.take(pa.array(order)), split[order]
            for i, name in enumerate(SPLITS):
                task.files[name].write(ordered.filter(pa.array(split_ordered == i)))

    def _assign(self, task: _Task, table: pa.Table, keys: pa.Array) -> np.ndarray:
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

    def _check_name(self, name: str, taken: Mapping[str, Any]) -> None:
        if not _NAME.match(name):
            raise GenerationError(f"{name!r} is not a valid table or task name")
        if name in taken:
            raise GenerationError(f"{name!r} is written twice")

    def _check_metadata(self, name: str) -> None:
        if not self.mode.writes_metadata:
            raise ExposureError(
                f"refusing to write hidden truth metadata/{name} into a {self.mode.value} bundle"
            )
        if not _NAME.match(name):
            raise GenerationError(f"{name!r} is not a valid metadata file name")

    def _record_file(self, rel: str, sha: str, size: int) -> None:
        if rel in self._files:
            raise GenerationError(f"{rel} is written twice")
        self._files[rel] = FileEntry(sha, size)

    def _write_json(self, rel: str, data: Any) -> None:
        self._write_bytes(rel, dump_json(data))

    def _write_bytes(self, rel: str, data: bytes) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self._record_file(rel, hashlib.sha256(data).hexdigest(), len(data))


def _without(data: TableData, names: Sequence[str]) -> TableData:
    """Task rows arrive full, like table rows; the columns this mode redacts are dropped here."""
    if not names:
        return data
    if isinstance(data, pa.Table):
        return data.drop_columns([n for n in names if n in data.column_names])
    if isinstance(data, Mapping):
        return {k: v for k, v in data.items() if k not in names}
    return data.drop(columns=[n for n in names if n in data.columns])


def _check_manifest_keys(fields: ManifestFields) -> None:
    """Refuse scheme fields that would silently overwrite a core key or each other."""
    seen: dict[str, str] = {}
    for section, keys in (("config", fields.config), ("hidden", fields.hidden), ("extra", fields.extra)):
        for key in keys:
            if key in CORE_KEYS:
                raise GenerationError(f"manifest {section} field {key!r} collides with a core key")
            if key in seen:
                raise GenerationError(f"manifest field {key!r} is set in both {seen[key]} and {section}")
            seen[key] = section
