"""``leadforge.load(path)``: a bundle on disk as lazy tables and task splits.

Nothing is read until asked for, and then only through the manifest's file lists and
:meth:`BundleView.path` (bundles are untrusted input), so both layouts — one Parquet file
per table, or a folder of shard parts — read the same way. Each file's SHA-256 is checked
against the manifest before its first read. ``leadforge validate`` runs the full checks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq

from leadforge.bundle.manifest import SPLITS, Manifest, TaskManifest, parse_task_manifest
from leadforge.bundle.reader import BundleView, reading
from leadforge.errors import BundleError, UsageError
from leadforge.findings import Severity
from leadforge.validation import check_bundle_dir

if TYPE_CHECKING:
    import pandas as pd

Kind = Literal["pandas", "arrow"]
_CHUNK = 1 << 20

__all__ = ["LoadedBundle", "Table", "Task", "load"]


def load(path: str | Path, *, verify: bool = True) -> LoadedBundle:
    """Open the bundle at ``path``; ``verify=False`` skips the per-file hash check."""
    if not isinstance(path, str | Path):
        raise UsageError(f"load() needs a path, got {type(path).__name__}")
    root = Path(path)
    check_bundle_dir(root)
    manifest = Manifest.load(root)
    errors = [f for f in manifest.findings if f.severity is Severity.ERROR]
    if errors:
        raise BundleError(f"{root}: {errors[0]}")
    return LoadedBundle(root, manifest, _Files(BundleView(root), manifest, verify))


@dataclass
class _Files:
    """Reads bundle files, checking each one's hash against the manifest once."""

    view: BundleView
    manifest: Manifest
    verify: bool
    checked: set[str] = field(default_factory=set)

    def open(self, rel: str) -> pq.ParquetFile:
        path = self.view.path(rel)
        if self.verify and rel not in self.checked:
            listed = (self.manifest.files or {}).get(rel)
            if self.manifest.files is not None and listed is None:
                raise BundleError(f"{rel} is not listed in manifest.json")
            if listed is not None:
                digest = hashlib.sha256()
                with path.open("rb") as fh:
                    while chunk := fh.read(_CHUNK):
                        digest.update(chunk)
                if digest.hexdigest() != listed.sha256:
                    raise BundleError(f"{rel} does not match its SHA-256 in manifest.json")
            self.checked.add(rel)
        with reading(rel):
            return pq.ParquetFile(path)

    def read(self, files: Sequence[str], columns: Sequence[str] | None) -> pa.Table:
        parts = []
        for rel in files:
            with reading(rel):
                parts.append(self.open(rel).read(columns=list(columns) if columns is not None else None))
        return parts[0] if len(parts) == 1 else pa.concat_tables(parts)

    def batches(
        self, files: Sequence[str], size: int, columns: Sequence[str] | None
    ) -> Iterator[pa.RecordBatch]:
        for rel in files:
            with reading(rel):
                pf = self.open(rel)
                yield from pf.iter_batches(batch_size=size, columns=list(columns) if columns else None)


@dataclass(frozen=True)
class Table:
    """One table of the bundle, read only when converted."""

    name: str
    files: tuple[str, ...]
    num_rows: int
    _files: _Files = field(repr=False)

    @property
    def schema(self) -> pa.Schema:
        """The Arrow schema, from the first file's footer."""
        with reading(self.files[0]):
            return self._files.open(self.files[0]).schema_arrow

    def to_arrow(self, columns: Sequence[str] | None = None) -> pa.Table:
        return self._files.read(self.files, columns)

    def to_pandas(self, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """A DataFrame with the bundle's nullable dtypes (``string``, ``Int64``, ``Float64``, ``boolean``)."""
        frame: pd.DataFrame = self.to_arrow(columns).to_pandas()
        return frame

    def iter_batches(
        self, batch_size: int = 65_536, columns: Sequence[str] | None = None
    ) -> Iterator[pa.RecordBatch]:
        """The rows in order, a batch at a time (memory bounded by one batch)."""
        return self._files.batches(self.files, batch_size, columns)


@dataclass(frozen=True)
class _Tables(Mapping[str, Table]):
    names: tuple[str, ...]
    files: _Files = field(repr=False)

    def __getitem__(self, name: str) -> Table:
        entry = self.files.manifest.tables.get(name)
        if entry is None:
            raise KeyError(f"no table {name!r}; the bundle has {', '.join(self.names)}")
        return Table(name, self.files.manifest.table_files(name), entry.row_count, self.files)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)


class Splits:
    """``train`` / ``valid`` / ``test`` for anything that can read one split by name."""

    def split(self, name: str) -> Any:
        raise NotImplementedError

    @property
    def train(self) -> Any:
        return self.split("train")

    @property
    def valid(self) -> Any:
        return self.split("valid")

    @property
    def test(self) -> Any:
        return self.split("test")


@dataclass(frozen=True)
class Task(Splits):
    """A task's manifest and its splits: DataFrames (``kind="pandas"``) or Arrow tables."""

    task_id: str
    manifest: TaskManifest
    kind: Kind
    _files: _Files = field(repr=False)

    def split(self, name: str) -> Any:
        if name not in SPLITS:
            raise UsageError(f"unknown split {name!r}; choose one of {', '.join(SPLITS)}")
        table = self._files.read(self._files.manifest.split_files(self.task_id, name), None)
        return table.to_pandas() if self.kind == "pandas" else table


@dataclass(frozen=True)
class LoadedBundle:
    """A bundle opened with :func:`load`: its manifest, lazy ``tables`` and ``task(...)``."""

    root: Path
    manifest: Manifest
    _files: _Files = field(repr=False)

    @property
    def tables(self) -> Mapping[str, Table]:
        return _Tables(tuple(self.manifest.tables), self._files)

    @property
    def task_ids(self) -> tuple[str, ...]:
        return tuple(self.manifest.tasks)

    def task(self, task_id: str, *, kind: Kind = "pandas") -> Task:
        if task_id not in self.manifest.tasks:
            raise UsageError(f"no task {task_id!r}; the bundle has {', '.join(self.task_ids) or 'none'}")
        if kind not in ("pandas", "arrow"):
            raise UsageError(f"kind must be 'pandas' or 'arrow', got {kind!r}")
        rel = f"tasks/{task_id}/task_manifest.json"
        tm, findings = parse_task_manifest(self._files.view.json(rel), rel)
        if tm is None or any(f.severity is Severity.ERROR for f in findings):
            raise BundleError(f"{rel}: {findings[0] if findings else 'unreadable'}")
        return Task(task_id, tm, kind, self._files)
