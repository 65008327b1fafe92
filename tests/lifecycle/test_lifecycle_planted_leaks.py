"""Planted leaks are caught, with the table (and where it can, the column) named.

Each test tampers with a copy of a valid public bundle and then re-hashes the manifest, so
core's hash check cannot be what catches the leak. Rows after the cutoff and columns outside
the contract are core's to catch (its relational contract check); payment outcomes decided
after the cutoff, post-cutoff features and a weakened contract are the scheme's.
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
import pytest
from leadforge.plugins import get_host
from leadforge.validation import validate_bundle


def rehash(root: Path) -> None:
    """Make the manifest agree with the files on disk again (sizes, hashes, row counts)."""
    path = root / "manifest.json"
    m = json.loads(path.read_text())
    for rel in list(m["files"]):
        data = (root / rel).read_bytes()
        m["files"][rel] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    for entry in m["tables"].values():
        entry["sha256"] = m["files"][entry["file"]]["sha256"]
        entry["row_count"] = pq.ParquetFile(root / entry["file"]).metadata.num_rows
    path.write_text(json.dumps(m, indent=2))


def tamper(public: Path, tmp_path: Path, name: str, edit: Callable[[pd.DataFrame], pd.DataFrame]) -> Path:
    copy = tmp_path / "tampered"
    shutil.copytree(public, copy)
    rel = copy / "tables" / f"{name}.parquet"
    original = pq.read_table(rel)
    frame = edit(original.to_pandas())
    schema = pa.Schema.from_pandas(frame, preserve_index=False)
    pq.write_table(pa.Table.from_pandas(frame, schema=schema, preserve_index=False), rel)
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
        extra["invoice_date"] = "2025-03-03"
        return pd.concat([f, extra], ignore_index=True).astype(f.dtypes.to_dict())

    found = findings(tamper(small_public, tmp_path, "invoices", add_future_invoice))
    assert any(
        f.startswith("[relational] tables/invoices.parquet:") and "after the public cutoff" in f
        for f in found
    ), found


def test_terminal_status_on_a_public_invoice(small_public: Path, tmp_path: Path) -> None:
    def reveal_write_off(f: pd.DataFrame) -> pd.DataFrame:
        f = f.copy()
        f.loc[f.index[-1], "payment_status"] = "written_off"  # an outcome only known later
        return f

    found = findings(tamper(small_public, tmp_path, "invoices", reveal_write_off))
    assert any("lifecycle.leak" in f and "tables/invoices.parquet:payment_status" in f for f in found), found


@pytest.mark.parametrize(
    ("name", "column"), [("customers", "ltv_revenue_365d"), ("subscriptions", "churn_at")]
)
def test_label_column_in_a_table(small_public: Path, tmp_path: Path, name: str, column: str) -> None:
    def add_column(f: pd.DataFrame) -> pd.DataFrame:
        f = f.copy()
        f[column] = pd.Series([None] * len(f), dtype="string" if column == "churn_at" else "Float64")
        return f

    found = findings(tamper(small_public, tmp_path, name, add_column))
    assert any(f.startswith(f"[relational] tables/{name}.parquet:") and column in f for f in found), found


def test_post_cutoff_feature_in_a_split(small_public: Path, tmp_path: Path) -> None:
    """A split whose current_mrr came from the end of the simulation is caught by recomputation."""
    copy = tmp_path / "tampered"
    shutil.copytree(small_public, copy)
    rel = copy / "tasks" / "pltv_revenue_365d" / "train.parquet"
    frame = pq.read_table(rel).to_pandas()
    frame["current_mrr"] = frame.initial_mrr + frame.mrr_change_full_period
    frame = frame[frame.mrr_change_full_period != frame.mrr_change_at_snapshot.fillna(-1)]
    assert len(frame)
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), rel)
    m = json.loads((copy / "manifest.json").read_text())
    m["tasks"]["pltv_revenue_365d"]["train_rows"] = len(frame)
    (copy / "manifest.json").write_text(json.dumps(m, indent=2))
    rehash(copy)
    found = findings(copy)
    assert any("tasks/pltv_revenue_365d/train.parquet:current_mrr" in f for f in found), found


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
