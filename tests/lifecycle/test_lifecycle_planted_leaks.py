"""Planted leaks are caught, with the table (and where it can, the column) named.

Each test tampers with a copy of a valid public bundle and then re-hashes the manifest, so
core's hash check cannot be what catches the leak. Rows after the cutoff and columns outside
the contract are core's to catch (its relational contract check); payment outcomes decided
after the cutoff, post-cutoff features and a weakened contract are the scheme's.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from leadforge.plugins import get_host
from leadforge.validation import validate_bundle
from lifecycle_support import files


def rehash(root: Path) -> None:
    """Make the manifest agree with the files on disk again (sizes, hashes, row counts), for
    single files and partitioned tables and splits alike."""
    path = root / "manifest.json"
    m = json.loads(path.read_text())
    for rel in list(m["files"]):
        data = (root / rel).read_bytes()
        m["files"][rel] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}

    def digest(files: list[str], partitioned: bool) -> str:
        if not partitioned:
            return str(m["files"][files[0]]["sha256"])
        return hashlib.sha256("\n".join(m["files"][f]["sha256"] for f in files).encode()).hexdigest()

    def rows(files: list[str]) -> int:
        return sum(pq.ParquetFile(root / f).metadata.num_rows for f in files)

    for entry in m["tables"].values():
        parts = entry.get("parts") or [entry["file"]]
        entry["sha256"], entry["row_count"] = digest(parts, "parts" in entry), rows(parts)
    for task_id, entry in m["tasks"].items():
        for split in ("train", "valid", "test"):
            partitioned = split in entry.get("parts", {})
            parts = entry["parts"][split] if partitioned else [f"tasks/{task_id}/{split}.parquet"]
            entry[f"{split}_sha256"], entry[f"{split}_rows"] = digest(parts, partitioned), rows(parts)
    path.write_text(json.dumps(m, indent=2))


def first_file(stem: Path) -> Path:
    """The file a tamper edits: the single file, or the first part of a partitioned one."""
    return files(stem)[0]


def names(kind: str, name: str) -> str:
    """A pattern for a finding's location in either layout (``tables/x.parquet``, ``tables/x/part-…``)."""
    return rf"{kind}/{name}(\.parquet|/part-\d{{5}}\.parquet)?:"


def tamper(public: Path, tmp_path: Path, name: str, edit: Callable[[pd.DataFrame], pd.DataFrame]) -> Path:
    copy = tmp_path / "tampered"
    shutil.copytree(public, copy)
    rel = first_file(copy / "tables" / name)
    original = pq.read_table(rel)
    frame = edit(original.to_pandas())
    table = pa.Table.from_pandas(frame, preserve_index=False)
    keep = original.schema
    table = table.cast(
        pa.schema([keep.field(n) if n in keep.names else table.schema.field(n) for n in table.column_names])
    )
    pq.write_table(table, rel)
    rehash(copy)
    return copy


def findings(root: Path) -> list[str]:
    report = validate_bundle(root, get_host())
    return [str(f) for f in report.errors]


def test_clean_copy_passes(small_public: Path, tmp_path: Path) -> None:
    assert findings(tamper(small_public, tmp_path, "invoices", lambda f: f)) == []


def test_post_cutoff_invoice_row(small_public: Path, tmp_path: Path) -> None:
    def add_future_invoice(f: pd.DataFrame) -> pd.DataFrame:
        extra = f.iloc[[0]].copy()
        extra["invoice_id"] = "inv_999999"
        extra["invoice_date"] = dt.date(2025, 3, 3)
        return pd.concat([f, extra], ignore_index=True).astype(f.dtypes.to_dict())

    found = findings(tamper(small_public, tmp_path, "invoices", add_future_invoice))
    assert any(
        re.match(r"\[relational\] " + names("tables", "invoices"), f) and "after the public cutoff" in f
        for f in found
    ), found


def test_terminal_status_on_a_public_invoice(small_public: Path, tmp_path: Path) -> None:
    def reveal_write_off(f: pd.DataFrame) -> pd.DataFrame:
        f = f.copy()
        f.loc[f.index[-1], "payment_status"] = "written_off"  # an outcome only known later
        return f

    found = findings(tamper(small_public, tmp_path, "invoices", reveal_write_off))
    assert any(
        "lifecycle.leak" in f and re.search(names("tables", "invoices") + "payment_status", f) for f in found
    ), found


@pytest.mark.parametrize(
    ("name", "column"), [("customers", "ltv_revenue_365d"), ("subscriptions", "churn_at")]
)
def test_label_column_in_a_table(small_public: Path, tmp_path: Path, name: str, column: str) -> None:
    def add_column(f: pd.DataFrame) -> pd.DataFrame:
        f = f.copy()
        f[column] = pd.Series([None] * len(f), dtype="string" if column == "churn_at" else "Float64")
        return f

    found = findings(tamper(small_public, tmp_path, name, add_column))
    assert any(re.match(r"\[relational\] " + names("tables", name), f) and column in f for f in found), found


def test_post_cutoff_feature_in_a_split(small_public: Path, tmp_path: Path) -> None:
    """A split whose current_mrr came from the end of the simulation is caught by recomputation."""
    copy = tmp_path / "tampered"
    shutil.copytree(small_public, copy)
    rel = first_file(copy / "tasks" / "pltv_revenue_365d" / "train")
    frame = pq.read_table(rel).to_pandas()
    frame["current_mrr"] = frame.initial_mrr + frame.mrr_change_full_period
    frame = frame[frame.mrr_change_full_period != frame.mrr_change_at_snapshot.fillna(-1)]
    assert len(frame)
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), rel)
    rehash(copy)
    found = findings(copy)
    assert any(re.search(names("tasks/pltv_revenue_365d", "train") + "current_mrr", f) for f in found), found


def test_weakened_contract_in_the_manifest(small_public: Path, tmp_path: Path) -> None:
    """A manifest whose contract no longer cuts invoices cannot switch core's cutoff check off."""
    copy = tmp_path / "tampered"
    shutil.copytree(small_public, copy)
    path = copy / "manifest.json"
    m = json.loads(path.read_text())
    m["relational_contract"]["invoices"]["public"]["cut"] = None
    path.write_text(json.dumps(m, indent=2))
    found = findings(copy)
    assert any("[lifecycle.tables] manifest.json:relational_contract" in f for f in found), found
