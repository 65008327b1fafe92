"""Lead-scoring bundles written in shards validate, and the leak probes read every part.

The small sizes give several shards, so every shard-written table and task split is a folder
of parts; a leak planted in one part must be found and named by its table's folder.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from leadforge.bundle.manifest import parts_digest
from leadforge.bundle.reader import BundleView
from leadscoring_support import LABEL, SMALL, validate


def _task_labels(root: Path) -> pd.Series:
    view = BundleView(root)
    rows = pd.concat(
        [view.split(LABEL, s, ["lead_id", LABEL]).to_pandas() for s in ("train", "valid", "test")]
    )
    labels: pd.Series = rows.set_index("lead_id")[LABEL]
    return labels


def _rewrite_part(root: Path, rel: str, edit: Callable[[pa.Table], pa.Table]) -> None:
    """Edit one part and record its hash, its table's parts digest and row count."""
    pq.write_table(edit(pq.read_table(root / rel)), root / rel)
    raw = json.loads((root / "manifest.json").read_text())
    data = (root / rel).read_bytes()
    raw["files"][rel] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    for entry in raw["tables"].values():
        if rel in entry.get("parts", []):
            entry["sha256"] = parts_digest([raw["files"][p]["sha256"] for p in entry["parts"]])
            entry["row_count"] = sum(pq.read_metadata(root / p).num_rows for p in entry["parts"])
    (root / "manifest.json").write_text(json.dumps(raw, indent=2))


def test_sharded_bundles_are_partitioned_and_valid(bundle_factory) -> None:  # type: ignore[no-untyped-def]
    for mode in ("research_instructor", "student_public"):
        root = bundle_factory(mode=mode, **SMALL)
        view = BundleView(root)
        parts = view.table_files("touches")
        assert len(parts) > 1 and all(p.startswith("tables/touches/part-") for p in parts)
        assert len(view.split_files(LABEL, "train")) == len(parts)
        report = validate(root)
        assert report.ok, report.errors


def test_a_positive_marker_in_one_part_is_caught(bundle_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A touch type recorded for converting leads only, appended to one part of ``touches``."""
    source = bundle_factory(mode="student_public", **SMALL)
    root = tmp_path / "copy"
    shutil.copytree(source, root)
    y = _task_labels(root)
    view = BundleView(root)
    touches = view.table("touches").to_pandas()
    first = touches.drop_duplicates("lead_id").set_index("lead_id")
    rows = first.loc[first.index.intersection(y[y].index)].reset_index()
    assert len(rows) >= 20
    rows["touch_type"] = "contract_review"
    rows["touch_id"] = [f"touch_9{i:08d}" for i in range(len(rows))]
    rel = view.table_files("touches")[1]

    def edit(t: pa.Table) -> pa.Table:
        extra = pa.Table.from_pandas(rows[t.column_names], schema=t.schema, preserve_index=False)
        return pa.concat_tables([t, extra])

    _rewrite_part(root, rel, edit)
    found = [str(f) for f in validate(root).errors]
    assert any("tables/touches:touch_type" in f and "every one is a positive" in f for f in found), found
