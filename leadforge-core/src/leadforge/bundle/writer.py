"""``BundleWriter``: the one way a scheme puts files into a bundle.

The writer builds the bundle in a staging folder next to ``--out``; core moves it into
place only after every file is written and ``manifest.json`` records a SHA-256 and size for
each of them. It applies the exposure mode on the way: columns the feature catalog redacts
for the mode are dropped from every table and split, and hidden-truth writes are refused
in a public bundle.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from leadforge.bundle.splits import SPLITS, SplitFractions, assign_splits
from leadforge.config import GenerationConfig
from leadforge.enums import ExposureMode
from leadforge.errors import ExposureError, GenerationError
from leadforge.features import FeatureSpec, redacted_names, render_dictionary, visible
from leadforge.progress import NullProgress, Progress
from leadforge.schema import TableData, TableSchema
from leadforge.schemes import TASK_TYPES
from leadforge.yamlfile import dump_json

SCHEMA_VERSION = "7"
CARD = "dataset_card.md"
DICTIONARY = "feature_dictionary.csv"
MANIFEST = "manifest.json"
METADATA = "metadata"
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class StructuralRedactions:
    """Table-level redactions of a public bundle: dropped columns and omitted tables."""

    columns: Mapping[str, Sequence[str]] = field(default_factory=dict)
    omitted_tables: Sequence[str] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "columns": {t: sorted(c) for t, c in self.columns.items()},
            "omitted_tables": sorted(self.omitted_tables),
        }


@dataclass(frozen=True)
class ManifestFields:
    """What a scheme adds to ``manifest.json``.

    ``config`` follows ``difficulty`` (the schema-6 lead-scoring keys live here); ``hidden``
    holds hidden-truth fields such as ``motif_family``, written only in instructor bundles
    and ``null`` in public ones; ``extra`` follows ``tasks``.
    """

    config: Mapping[str, Any] = field(default_factory=dict)
    hidden: Mapping[str, Any] = field(default_factory=dict)
    relational_snapshot_safe: bool = False
    structural_redactions: StructuralRedactions = field(default_factory=StructuralRedactions)
    extra: Mapping[str, Any] = field(default_factory=dict)


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

    def manifest_json(self) -> dict[str, Any]:
        return {
            "task_id": self.task_id,
            "task_type": self.task_type,
            "label_column": self.label_column,
            "label_window_days": self.label_window_days,
            "primary_table": self.primary_table,
            "key_column": self.key_column,
            "split": self.split.to_json(),
            "stratified": self.stratified,
            "description": self.description,
        }


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


class TableSink:
    """Appends chunks of one relational table (one Parquet row group per chunk)."""

    def __init__(self, writer: BundleWriter, name: str, schema: TableSchema) -> None:
        self._writer = writer
        self.name = name
        self.schema = schema.without(writer.redacted_columns)
        self._file = _ParquetFile(writer.root / "tables" / f"{name}.parquet", self.schema.arrow)
        self.closed = False

    def append(self, data: TableData) -> None:
        if self.closed:
            raise GenerationError(f"table {self.name} is already closed")
        self._file.write(self.schema.table(self._writer.drop_redacted(data)))

    def close(self) -> None:
        if self.closed:
            return
        rows, sha, size = self._file.close()
        self._writer._record_table(self.name, rows, sha, size)
        self.closed = True

    def __enter__(self) -> TableSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class TaskSink:
    """Appends chunks of one task table; rows are assigned to train/valid/test as they arrive."""

    def __init__(self, writer: BundleWriter, spec: TaskSpec, schema: TableSchema) -> None:
        self._writer = writer
        self.spec = spec
        self.schema = schema.without(writer.redacted_columns)
        for col in (spec.key_column, spec.label_column):
            if col not in self.schema.names:
                raise GenerationError(f"task {spec.task_id}: column {col!r} is not in its schema")
        folder = writer.root / "tasks" / spec.task_id
        folder.mkdir(parents=True, exist_ok=False)
        self._files = {s: _ParquetFile(folder / f"{s}.parquet", self.schema.arrow) for s in SPLITS}
        self._salt = writer.rng_key
        self.closed = False

    def append(self, data: TableData) -> None:
        if self.closed:
            raise GenerationError(f"task {self.spec.task_id} is already closed")
        table = self.schema.table(self._writer.drop_redacted(data))
        labels = None
        if self.spec.stratified:
            col = table.column(self.spec.label_column)
            if col.null_count:
                raise GenerationError(f"task {self.spec.task_id}: label column has nulls")
            labels = np.asarray(col.to_numpy(zero_copy_only=False))
        split, order = assign_splits(table.column(self.spec.key_column), self._salt, self.spec.split, labels)
        ordered = table.take(pa.array(order))
        split_ordered = split[order]
        for i, name in enumerate(SPLITS):
            self._files[name].write(ordered.filter(pa.array(split_ordered == i)))

    def close(self) -> None:
        if self.closed:
            return
        entry: dict[str, Any] = {}
        for name, f in self._files.items():
            rows, sha, size = f.close()
            rel = f"tasks/{self.spec.task_id}/{name}.parquet"
            self._writer._record_file(rel, sha, size)
            entry[f"{name}_rows"] = rows
            entry[f"{name}_sha256"] = sha
        self._writer._tasks[self.spec.task_id].update(entry)
        self._writer._write_json(f"tasks/{self.spec.task_id}/task_manifest.json", self.spec.manifest_json())
        self.closed = True

    def __enter__(self) -> TaskSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class BundleWriter:
    """Writes one bundle into ``root`` (a staging folder core later moves into place)."""

    def __init__(
        self,
        root: Path,
        config: GenerationConfig,
        *,
        progress: Progress | None = None,
    ) -> None:
        self.root = root
        self.config = config
        self.mode: ExposureMode = config.exposure_mode
        self.progress_reporter = progress or NullProgress()
        self.rng_key = _split_salt(config.seed)
        self.catalog: list[FeatureSpec] | None = None
        self.redacted_columns: list[str] = []
        self.manifest_fields = ManifestFields()
        self._tables: dict[str, dict[str, Any]] = {}
        self._tasks: dict[str, dict[str, Any]] = {}
        self._files: dict[str, dict[str, Any]] = {}
        self._sinks: list[TableSink | TaskSink] = []
        self._card_written = False
        root.mkdir(parents=True, exist_ok=False)
        (root / "tables").mkdir()

    # -- what the scheme declares ---------------------------------------------------------

    def declare_features(self, catalog: Sequence[FeatureSpec]) -> None:
        """Declare the task-table catalog; must come before any table or task is written.

        Its visible rows become ``feature_dictionary.csv``; features it redacts for this
        mode are dropped from every table and split.
        """
        if self._sinks or self._tables:
            raise GenerationError("declare_features() must be called before writing data")
        names = [f.name for f in catalog]
        if len(set(names)) != len(names):
            raise GenerationError(f"duplicate feature names in catalog: {names}")
        self.catalog = list(catalog)
        self.redacted_columns = redacted_names(catalog, self.mode)

    def set_manifest_fields(self, fields: ManifestFields) -> None:
        self.manifest_fields = fields

    def progress(self, stage: str, done: int, total: int) -> None:
        self.progress_reporter.update(stage, done, total)

    # -- data -----------------------------------------------------------------------------

    def open_table(self, name: str, schema: TableSchema) -> TableSink:
        self._check_name(name, self._tables)
        self._tables[name] = {}
        sink = TableSink(self, name, schema)
        self._sinks.append(sink)
        return sink

    def write_table(self, name: str, schema: TableSchema, data: TableData) -> None:
        with self.open_table(name, schema) as sink:
            sink.append(data)

    def open_task(self, spec: TaskSpec, schema: TableSchema) -> TaskSink:
        self._check_name(spec.task_id, self._tasks)
        self._tasks[spec.task_id] = {}
        sink = TaskSink(self, spec, schema)
        self._sinks.append(sink)
        return sink

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

    def drop_redacted(self, data: TableData) -> Any:
        if not self.redacted_columns:
            return data
        drop = set(self.redacted_columns)
        if isinstance(data, pa.Table):
            return data.drop_columns([c for c in data.column_names if c in drop])
        if isinstance(data, Mapping):
            return {k: v for k, v in data.items() if k not in drop}
        return data.drop(columns=[c for c in data.columns if c in drop])

    # -- finishing ------------------------------------------------------------------------

    def finalize(
        self, *, timestamp: str, plugins: list[dict[str, str]], package_version: str
    ) -> dict[str, Any]:
        """Close open sinks, write the dictionary and the manifest; return the manifest."""
        for sink in self._sinks:
            sink.close()
        if self.catalog is None:
            raise GenerationError("the scheme did not declare its feature catalog")
        if not self._card_written:
            raise GenerationError("the scheme did not write a dataset card")
        self._write_bytes(DICTIONARY, render_dictionary(visible(self.catalog, self.mode)).encode("utf-8"))
        self._check_public_shape()
        mf = self.manifest_fields
        _check_manifest_keys(mf)
        public = self.mode is ExposureMode.STUDENT_PUBLIC
        manifest: dict[str, Any] = {
            "bundle_schema_version": SCHEMA_VERSION,
            "package_version": package_version,
            "generation_scheme": self.config.scheme,
            "recipe_id": self.config.recipe_id,
            "seed": self.config.seed,
            "generation_timestamp": timestamp,
            "exposure_mode": self.mode.value,
            "difficulty": self.config.difficulty.value,
            **dict(mf.config),
            **{k: (None if public else v) for k, v in mf.hidden.items()},
            "redacted_columns": list(self.redacted_columns),
            "relational_snapshot_safe": mf.relational_snapshot_safe,
            "structural_redactions": mf.structural_redactions.to_json(),
            "tables": self._tables,
            "tasks": self._tasks,
        }
        for key, value in mf.extra.items():
            if key in manifest:
                raise GenerationError(f"manifest extra field {key!r} collides with a core key")
            manifest[key] = value
        manifest["config_digest"] = self.config.digest()
        manifest["plugins"] = plugins
        manifest["files"] = dict(sorted(self._files.items()))
        (self.root / MANIFEST).write_bytes(dump_json(manifest))
        return manifest

    def _check_public_shape(self) -> None:
        if self.mode is not ExposureMode.STUDENT_PUBLIC:
            return
        sr = self.manifest_fields.structural_redactions
        leaked = [t for t in sr.omitted_tables if t in self._tables]
        if leaked:
            raise ExposureError(f"public bundle wrote tables it declares omitted: {leaked}")
        for sink in self._sinks:
            if isinstance(sink, TableSink):
                bad = set(sr.columns.get(sink.name, ())) & set(sink.schema.names)
                if bad:
                    raise ExposureError(f"public table {sink.name} keeps redacted columns {sorted(bad)}")
        if (self.root / METADATA).exists():
            raise ExposureError("public bundle must not contain metadata/")

    # -- internals ------------------------------------------------------------------------

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

    def _record_table(self, name: str, rows: int, sha: str, size: int) -> None:
        rel = f"tables/{name}.parquet"
        self._tables[name].update({"row_count": rows, "file": rel, "sha256": sha})
        self._record_file(rel, sha, size)

    def _record_file(self, rel: str, sha: str, size: int) -> None:
        if rel in self._files:
            raise GenerationError(f"{rel} is written twice")
        self._files[rel] = {"sha256": sha, "size": size}

    def _write_json(self, rel: str, data: Any) -> None:
        self._write_bytes(rel, dump_json(data))

    def _write_bytes(self, rel: str, data: bytes) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self._record_file(rel, hashlib.sha256(data).hexdigest(), len(data))


#: Manifest keys every bundle starts with, in this order (schema 6 and 7).
HEAD_KEYS = (
    "bundle_schema_version",
    "package_version",
    "generation_scheme",
    "recipe_id",
    "seed",
    "generation_timestamp",
    "exposure_mode",
    "difficulty",
)
#: Envelope keys that follow the scheme's config keys, in this order.
ENVELOPE_KEYS = ("redacted_columns", "relational_snapshot_safe", "structural_redactions", "tables", "tasks")
#: Schema-7 keys that close every manifest.
TAIL_KEYS = ("config_digest", "plugins", "files")
#: Manifest keys core writes itself; a scheme's manifest fields must not reuse them.
CORE_MANIFEST_KEYS = frozenset((*HEAD_KEYS, *ENVELOPE_KEYS, *TAIL_KEYS))


def _check_manifest_keys(fields: ManifestFields) -> None:
    """Refuse scheme fields that would silently overwrite a core key or each other."""
    seen: dict[str, str] = {}
    for section, keys in (("config", fields.config), ("hidden", fields.hidden), ("extra", fields.extra)):
        for key in keys:
            if key in CORE_MANIFEST_KEYS:
                raise GenerationError(f"manifest {section} field {key!r} collides with a core key")
            if key in seen:
                raise GenerationError(f"manifest field {key!r} is set in both {seen[key]} and {section}")
            seen[key] = section


def _split_salt(seed: int) -> int:
    from leadforge.rng import RNG

    return RNG(seed).key("task_split")
