"""What the scheme's checks share: the bundle, its typed manifest, the task and its label."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pyarrow as pa
from leadforge.bundle.manifest import TASK_MANIFEST, parse_task_manifest
from leadforge.bundle.reader import BundleView, Manifest
from leadforge.bundle.relational import table_where
from leadforge.bundle.splits import SPLITS
from leadforge.errors import BundleError
from leadforge.features import FeatureSpec

from leadforge_leadscoring.catalog import task_catalog


def table_file(name: str, column: str | None = None) -> str:
    """How a finding names a table (single-file layout); :meth:`Context.where` knows both."""
    return f"tables/{name}.parquet" + (f":{column}" if column else "")


class Context:
    """What the checks share: the bundle, its typed manifest, the task and its label."""

    def __init__(self, bundle: BundleView, manifest: Manifest) -> None:
        self.bundle = bundle
        self.manifest = manifest
        self.public = manifest.is_public
        task = manifest.scheme_field("primary_task")
        if not isinstance(task, str) or task not in manifest.tasks:
            raise BundleError(
                f"manifest.json: primary_task {task!r} is not one of its tasks {list(manifest.tasks)}"
            )
        self.task = task
        rel = f"tasks/{task}/{TASK_MANIFEST}"
        tm, _ = parse_task_manifest(bundle.json(rel), rel)
        if tm is None:
            raise BundleError(f"{rel} cannot be read, so the label column is unknown")
        self.label = tm.label_column
        window = manifest.scheme_field("label_window_days")
        if isinstance(window, bool) or not isinstance(window, int):
            raise BundleError(f"manifest.json: label_window_days must be an integer, got {window!r}")
        self.label_window = window

    @property
    def catalog(self) -> tuple[FeatureSpec, ...]:
        """The task catalog (names, dtypes and flags do not depend on the feature window)."""
        return task_catalog(self.label, 0, self.label_window, experiment=self.manifest.experiment is not None)

    def where(self, name: str, column: str | None = None) -> str:
        """How a finding names a table: its file, or its folder of parts."""
        return table_where(self.bundle, name) + (f":{column}" if column else "")

    def split_files(self) -> list[str]:
        """Every file of the task's splits that is there, in split and part order."""
        return [
            rel
            for s in SPLITS
            if self.bundle.has_split(self.task, s)
            for rel in self.bundle.split_files(self.task, s)
        ]

    def train_files(self) -> tuple[str, ...]:
        return (
            self.bundle.split_files(self.task, "train") if self.bundle.has_split(self.task, "train") else ()
        )

    def table(self, name: str, columns: Sequence[str] | None = None) -> pa.Table | None:
        """Those of ``columns`` the table has, or all (None if the table is absent); for per-entity
        tables only: event tables are streamed with :meth:`batches`."""
        return self.bundle.table(name, columns) if self.bundle.has_table(name) else None

    def batches(self, name: str, columns: Sequence[str]) -> Iterator[pa.RecordBatch] | None:
        """``columns`` of a table a batch at a time (None if the table or a column is absent)."""
        if not self.bundle.has_table(name):
            return None
        files = self.bundle.table_files(name)
        if not set(columns) <= set(self.bundle.schema(files).names):
            return None
        return self.bundle.iter_batches(files, columns)

    def columns(self, name: str) -> list[str]:
        return (
            list(self.bundle.schema(self.bundle.table_files(name)).names)
            if self.bundle.has_table(name)
            else []
        )

    def split_rows(self, columns: Sequence[str] | None = None, limit: int | None = None) -> pa.Table | None:
        """The task's rows in split order (the first ``limit`` of them), read a batch at a time."""
        files = self.split_files()
        if not files:
            return None
        names = self.bundle.schema(files).names if columns is None else columns
        names = [c for c in names if c in self.bundle.schema(files).names]
        batches: list[pa.RecordBatch] = []
        rows = 0
        for batch in self.bundle.iter_batches(files, names):
            if limit is not None and rows + batch.num_rows > limit:
                batches.append(batch.slice(0, limit - rows))
                rows = limit
                break
            batches.append(batch)
            rows += batch.num_rows
        if not batches:
            return self.bundle.read_parquet(files[0], names).slice(0, 0)
        try:
            return pa.Table.from_batches(batches)
        except pa.ArrowInvalid as exc:
            raise BundleError(f"the parts of tasks/{self.task} differ in schema: {exc}") from None
