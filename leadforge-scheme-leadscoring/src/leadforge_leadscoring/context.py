"""What the scheme's checks share: the bundle, its typed manifest, the task and its label."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
from leadforge.bundle.manifest import TASK_MANIFEST, parse_task_manifest
from leadforge.bundle.reader import BundleView, Manifest
from leadforge.bundle.splits import SPLITS
from leadforge.errors import BundleError
from leadforge.features import FeatureSpec

from leadforge_leadscoring.catalog import task_catalog


def table_file(name: str, column: str | None = None) -> str:
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
        return task_catalog(self.label, 0, self.label_window)

    def split_files(self) -> list[str]:
        return [rel for s in SPLITS if self.bundle.exists(rel := f"tasks/{self.task}/{s}.parquet")]

    def table(self, name: str, columns: Sequence[str] | None = None) -> pa.Table | None:
        """Those of ``columns`` the table has, or all (None if the table is absent)."""
        rel = table_file(name)
        return self.bundle.read_parquet(rel, columns) if self.bundle.exists(rel) else None

    def split_rows(self, columns: Sequence[str] | None = None) -> pa.Table | None:
        parts = [self.bundle.read_parquet(rel, columns) for rel in self.split_files()]
        return pa.concat_tables(parts, promote_options="default") if parts else None
