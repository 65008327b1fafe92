"""Core's relational validation finds defects planted in a toy bundle, whatever the scheme.

Each defect is planted in a copy of a fresh bundle and the manifest re-hashed, as a careful
cheater (or a buggy scheme) would leave it, so only the relational check can catch it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from core_support import PINNED
from leadforge.api import Generator
from leadforge.plugins import PluginHost
from leadforge.validation import Finding, validate_bundle


@pytest.fixture(scope="module")
def host() -> PluginHost:
    import toyplugin

    return PluginHost.from_plugins([("toy", toyplugin)])


@pytest.fixture(scope="module")
def bundles(host: PluginHost, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("relational")
    return {
        mode: Generator.from_recipe("toy_v1", exposure_mode=mode, host=host, n_rows=60, chunk_rows=30)
        .generate()
        .save(base / mode, generation_timestamp=PINNED)
        for mode in ("student_public", "research_instructor")
    }


def replace(table: pa.Table, name: str, values: list[object], typ: pa.DataType | None = None) -> pa.Table:
    i = table.schema.get_field_index(name)
    return table.set_column(i, name, pa.array(values, type=typ or table.schema.field(name).type))


def plant(root: Path, name: str, edit: Callable[[pa.Table], pa.Table]) -> None:
    rel = f"tables/{name}.parquet"
    pq.write_table(edit(pq.read_table(root / rel)), root / rel)
    manifest = json.loads((root / "manifest.json").read_text())
    data = (root / rel).read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    manifest["files"][rel] = {"sha256": sha, "size": len(data)}
    manifest["tables"][name]["sha256"] = sha
    manifest["tables"][name]["row_count"] = pq.read_metadata(root / rel).num_rows
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2))


def first(table: pa.Table, name: str, value: object) -> pa.Table:
    values = table.column(name).to_pylist()
    return replace(table, name, [value, *values[1:]])


def appended(table: pa.Table, name: str, value: object) -> pa.Table:
    """The table plus a copy of its first row whose ``name`` is ``value``."""
    extra = replace(table.slice(0, 1), name, [value])
    return pa.concat_tables([table, extra])


DEFECTS: dict[str, tuple[str, str, Callable[[pa.Table], pa.Table], str, str]] = {
    "duplicate primary key": (
        "research_instructor",
        "rows",
        lambda t: appended(t, "row_id", "row_000001"),
        "1 duplicate id(s), e.g. row_000001",
        "tables/rows.parquet:row_id",
    ),
    "malformed id": (
        "research_instructor",
        "rows",
        lambda t: appended(t, "row_id", "row_12"),
        "1 id(s) are null or not of the form row_<6+ digits>",
        "tables/rows.parquet:row_id",
    ),
    "null id": (
        "student_public",
        "events",
        lambda t: appended(t, "event_id", None),
        "1 id(s) are null or not of the form evt_<6+ digits>",
        "tables/events.parquet:event_id",
    ),
    "dangling foreign key": (
        "research_instructor",
        "events",
        lambda t: first(t, "row_id", "row_999999"),
        "1 reference(s) to rows do not resolve, e.g. row_999999",
        "tables/events.parquet:row_id",
    ),
    "wrong dtype": (
        "research_instructor",
        "rows",
        lambda t: replace(t, "x2", t.column("x2").to_pylist(), pa.float64()),
        "dtype double differs from the contract's int64",
        "tables/rows.parquet:x2",
    ),
    "missing column": (
        "student_public",
        "events",
        lambda t: t.drop_columns(["amount"]),
        "columns ['event_id', 'row_id', 'at'] differ from the contract's ['event_id', 'row_id', 'at', 'amount']",
        "tables/events.parquet",
    ),
    "child before its parent": (
        "research_instructor",
        "events",
        lambda t: first(t, "at", "2024-06-01"),
        "1 row(s) dated before the rows row they reference (at < rows.day)",
        "tables/events.parquet",
    ),
    "public row after its cutoff": (
        "student_public",
        "events",
        lambda t: first(t, "at", "2025-12-31"),
        "1 row(s) dated after the public cutoff",
        "tables/events.parquet",
    ),
}


def relational(report_errors: list[Finding]) -> list[tuple[str, str | None]]:
    return [(f.message, f.where) for f in report_errors if f.check == "relational"]


def test_fresh_bundles_have_no_relational_findings(bundles: dict[str, Path], host: PluginHost) -> None:
    for root in bundles.values():
        report = validate_bundle(root, host)
        assert report.ok and not [f for f in report.findings if f.check == "relational"], report.findings


@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_a_planted_defect_is_found(
    defect: str, bundles: dict[str, Path], host: PluginHost, tmp_path: Path
) -> None:
    mode, table, edit, message, where = DEFECTS[defect]
    root = tmp_path / "b"
    shutil.copytree(bundles[mode], root)
    plant(root, table, edit)
    errors = validate_bundle(root, host).errors
    assert relational(errors) == [(message, where)], errors
    assert all(f.check == "relational" for f in errors), errors


def test_the_same_edit_is_no_defect_in_the_instructor_bundle(
    bundles: dict[str, Path], host: PluginHost, tmp_path: Path
) -> None:
    """The cutoff binds public bundles only: instructor events run to the horizon."""
    root = tmp_path / "b"
    shutil.copytree(bundles["research_instructor"], root)
    plant(root, "events", lambda t: first(t, "at", "2025-12-31"))
    assert validate_bundle(root, host).ok


def test_missing_and_undeclared_tables_are_found(
    bundles: dict[str, Path], host: PluginHost, tmp_path: Path
) -> None:
    root = tmp_path / "b"
    shutil.copytree(bundles["research_instructor"], root)
    manifest = json.loads((root / "manifest.json").read_text())
    moved = (root / "tables/events.parquet").read_bytes()
    (root / "tables/events.parquet").unlink()
    (root / "tables/orders.parquet").write_bytes(moved)
    entry = manifest["files"].pop("tables/events.parquet")
    manifest["files"]["tables/orders.parquet"] = entry
    manifest["tables"]["orders"] = {**manifest["tables"].pop("events"), "file": "tables/orders.parquet"}
    (root / "manifest.json").write_text(json.dumps(manifest))
    assert relational(validate_bundle(root, host).errors) == [
        ("table is not declared in the relational contract", "tables/orders.parquet"),
        ("table of the relational contract is missing", "tables/events.parquet"),
    ]
