"""Typed time columns through the envelope: write, cut, validate, describe and export.

The typed toy scheme writes ``timestamp[us, UTC]`` instants and ``date32`` days; nothing here
depends on the first-party schemes.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import typedtoy
from core_support import PINNED, tree_hashes
from leadforge.api import Generator
from leadforge.bundle import SCHEMA_VERSION
from leadforge.bundle.manifest import KNOWN_SCHEMA_VERSIONS, Manifest
from leadforge.bundle.projection import US_PER_DAY, inside_cutoff, instants
from leadforge.export import export_bundle
from leadforge.plugins import PluginHost
from leadforge.validation import validate_bundle

MODES = ("student_public", "research_instructor")
TS = pa.timestamp("us", tz="UTC")
INSTANT = "%Y-%m-%dT%H:%M:%S.%fZ"


@pytest.fixture(scope="module")
def host() -> PluginHost:
    return PluginHost.from_plugins([("typed", typedtoy)], distribution="leadforge-scheme-typedtoy")


def _make(host: PluginHost, out: Path, mode: str) -> Path:
    gen = Generator.from_recipe("typed_toy_v1", exposure_mode=mode, host=host, seed=3)
    return gen.generate().save(out, generation_timestamp=PINNED)


@pytest.fixture(scope="module")
def bundles(host: PluginHost, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("typed")
    return {mode: _make(host, base / mode, mode) for mode in MODES}


def _table(root: Path, name: str) -> pa.Table:
    m = Manifest.load(root)
    return pa.concat_tables([pq.read_table(root / rel) for rel in m.table_files(name)])


def test_schema_nine_with_typed_columns(bundles: dict[str, Path], host: PluginHost) -> None:
    assert SCHEMA_VERSION == "9" and "8" in KNOWN_SCHEMA_VERSIONS
    for root in bundles.values():
        m = json.loads((root / "manifest.json").read_text())
        assert m["bundle_schema_version"] == "9"
        report = validate_bundle(root, host)
        assert report.ok and not report.findings, report.findings
        accounts = _table(root, "accounts")
        assert accounts.schema.field("created_at").type == TS
        assert accounts.schema.field("signup_date").type == pa.date32()
        assert _table(root, "events").schema.field("at").type == TS
        assert _table(root, "invoices").schema.field("issued").type == pa.date32()
        m9 = Manifest.load(root)
        for split in ("train", "valid", "test"):
            rel = m9.split_files("typed_task", split)[0]
            schema = pq.read_schema(root / rel)
            assert schema.field("created_at").type == TS and schema.field("signup_date").type == pa.date32()


def test_pandas_reads_utc_instants_and_dates(bundles: dict[str, Path]) -> None:
    df = pd.read_parquet(bundles["student_public"] / "tables" / "accounts.parquet")
    assert str(df["created_at"].dtype) == "datetime64[us, UTC]"
    assert isinstance(df["signup_date"].iloc[0], dt.date)


def test_public_cut_uses_instants_for_timestamps_and_days_for_dates(bundles: dict[str, Path]) -> None:
    full = bundles["research_instructor"]
    public = bundles["student_public"]
    created = dict(
        zip(
            _table(full, "accounts").column("account_id").to_pylist(),
            instants(_table(full, "accounts").column("created_at")).tolist(),
            strict=True,
        )
    )
    events = _table(full, "events")
    anchor = np.asarray([created[a] for a in events.column("account_id").to_pylist()])
    at = instants(events.column("at"))
    limit = anchor + typedtoy.PUBLIC_DAYS * US_PER_DAY
    assert (at > limit).any() and (at <= limit).any()
    same_day_late = (at > limit) & (at // US_PER_DAY == limit // US_PER_DAY)
    assert same_day_late.any(), "the toy must have events later on the cutoff day"
    assert _table(public, "events").num_rows == int((at <= limit).sum())
    public_at = instants(_table(public, "events").column("at"))
    assert public_at.size and public_at.max() <= limit.max()

    invoices = _table(full, "invoices")
    inv_anchor = np.asarray([created[a] for a in invoices.column("account_id").to_pylist()])
    issued = invoices.column("issued").cast(pa.int32()).to_numpy()
    kept = issued <= inv_anchor // US_PER_DAY + typedtoy.PUBLIC_DAYS
    assert not kept.all()
    assert _table(public, "invoices").num_rows == int(kept.sum())


def test_inside_cutoff_rules() -> None:
    base = 20_000 * US_PER_DAY
    anchor = pa.array([base + 10 * 3_600_000_000] * 4 + [None], type=pa.int64()).cast(TS)
    # one hour past anchor + 24 h is out under the instant rule, though on the cutoff day
    offsets = [0, 3_600_000_000, 25 * 3_600_000_000, 2 * US_PER_DAY, 0]
    when = pa.array([base + 10 * 3_600_000_000 + o for o in offsets], type=pa.int64()).cast(TS)
    assert inside_cutoff(when, anchor, 1).tolist() == [True, True, False, False, True]
    days = pa.array([20_000, 20_001, 20_002, None, 20_010], type=pa.int32()).cast(pa.date32())
    assert inside_cutoff(days, anchor, 1).tolist() == [True, True, False, False, True]
    assert inside_cutoff(when, days, 0).tolist() == [True, True, True, True, True]
    assert inside_cutoff(when, days, -1).tolist() == [False, True, True, True, True]


def _plant(root: Path, name: str, table: pa.Table) -> None:
    rel = f"tables/{name}.parquet"
    pq.write_table(table, root / rel)
    manifest = json.loads((root / "manifest.json").read_text())
    data = (root / rel).read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    manifest["files"][rel] = {"sha256": sha, "size": len(data)}
    manifest["tables"][name]["sha256"] = sha
    manifest["tables"][name]["row_count"] = table.num_rows
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2))


def _shift_first_event(root: Path, account_created: int, delta_us: int) -> None:
    events = pq.read_table(root / "tables" / "events.parquet")
    at = instants(events.column("at")).copy()
    at[0] = account_created + delta_us
    idx = events.schema.get_field_index("at")
    _plant(root, "events", events.set_column(idx, "at", pa.array(at).cast(TS)))


@pytest.mark.parametrize(
    ("mode", "delta_hours", "message"),
    [
        ("student_public", typedtoy.PUBLIC_DAYS * 24 + 1, "1 row(s) dated after the public cutoff"),
        ("research_instructor", -1, "1 row(s) dated before the accounts row they reference"),
    ],
)
def test_validation_compares_instants_to_the_microsecond(
    bundles: dict[str, Path], host: PluginHost, tmp_path: Path, mode: str, delta_hours: int, message: str
) -> None:
    root = tmp_path / "b"
    shutil.copytree(bundles[mode], root)
    events = pq.read_table(root / "tables" / "events.parquet")
    accounts = pq.read_table(root / "tables" / "accounts.parquet")
    owner = events.column("account_id")[0].as_py()
    row = accounts.column("account_id").to_pylist().index(owner)
    created = int(instants(accounts.column("created_at"))[row])
    hour = 3_600_000_000
    # keep the planted instant on the anchor's UTC day (or the cutoff day) so only µs tell
    delta = delta_hours * hour
    if delta < 0:
        delta = -min(hour, created % US_PER_DAY)
        assert delta < 0
    else:
        limit = created + typedtoy.PUBLIC_DAYS * US_PER_DAY
        delta = typedtoy.PUBLIC_DAYS * US_PER_DAY + min(hour, US_PER_DAY - 1 - limit % US_PER_DAY)
        assert delta > typedtoy.PUBLIC_DAYS * US_PER_DAY
    _shift_first_event(root, created, delta)
    report = validate_bundle(root, host)
    found = [f.message for f in report.findings if f.check == "relational"]
    assert any(m.startswith(message) for m in found), found


def test_generation_is_byte_identical(host: PluginHost, tmp_path: Path) -> None:
    a = _make(host, tmp_path / "a", "student_public")
    b = _make(host, tmp_path / "b", "student_public")
    assert tree_hashes(a) == tree_hashes(b)


def test_metadata_types_follow_the_arrow_type(bundles: dict[str, Path]) -> None:
    root = bundles["research_instructor"]
    with open(root / "data_dictionary.csv", encoding="utf-8") as fh:
        rows = {(r["table"], r["column"]): r for r in csv.DictReader(fh)}
    assert rows[("accounts", "created_at")]["type"] == "timestamp"
    assert rows[("accounts", "created_at")]["unit"] == "UTC timestamp"
    assert rows[("invoices", "issued")]["type"] == "date"
    assert rows[("invoices", "issued")]["unit"] == "date"

    croissant = json.loads((root / "croissant.json").read_text())
    fields = {f["@id"]: f["dataType"] for rs in croissant["recordSet"] for f in rs.get("field", [])}
    assert fields["accounts/created_at"] == "sc:DateTime"
    assert fields["invoices/issued"] == "sc:Date"

    package = json.loads((root / "datapackage.json").read_text())
    types = {
        (r["name"], f["name"]): f["type"]
        for r in package["resources"]
        for f in r.get("schema", {}).get("fields", [])
    }
    assert types[("accounts", "created_at")] == "datetime"
    assert types[("accounts", "signup_date")] == "date"

    with open(root / "feature_dictionary.csv", encoding="utf-8") as fh:
        features = {r["name"]: r["dtype"] for r in csv.DictReader(fh)}
    assert features["created_at"] == "timestamp" and features["signup_date"] == "date"


def _expected_instants(root: Path) -> list[str]:
    at = _table(root, "events").column("at").to_pylist()
    return sorted(v.astimezone(dt.UTC).strftime(INSTANT) for v in at)


def test_sqlite_export_holds_iso_text_with_z(
    bundles: dict[str, Path], host: PluginHost, tmp_path: Path
) -> None:
    root = bundles["student_public"]
    out = tmp_path / "out.sqlite"
    export_bundle(root, "sqlite", out, host=host)
    con = sqlite3.connect(out)
    try:
        got = sorted(r[0] for r in con.execute('SELECT "at" FROM "events"'))
        dates = [r[0] for r in con.execute('SELECT "issued" FROM "invoices" LIMIT 5')]
        declared = {r[1]: r[2] for r in con.execute('PRAGMA table_info("events")')}
    finally:
        con.close()
    assert got == _expected_instants(root)
    assert all(len(d) == 10 and dt.date.fromisoformat(d) for d in dates)
    assert declared["at"] == "TIMESTAMP"


def test_csv_export_writes_iso_8601_with_z(
    bundles: dict[str, Path], host: PluginHost, tmp_path: Path
) -> None:
    root = bundles["student_public"]
    out = tmp_path / "csv"
    export_bundle(root, "csv", out, host=host)
    schema = json.loads((out / "schema.json").read_text())
    kinds = {c["name"]: c["type"] for c in schema["tables"]["events"]["columns"]}
    assert kinds["at"] == "timestamptz"
    assert {c["name"]: c["type"] for c in schema["tables"]["invoices"]["columns"]}["issued"] == "date"
    with open(out / "events.csv", encoding="utf-8") as fh:
        got = sorted(r["at"] for r in csv.DictReader(fh))
    assert got == _expected_instants(root)
    assert all(dt.datetime.fromisoformat(v).tzinfo is not None for v in got)


def test_duckdb_export_uses_timestamptz(bundles: dict[str, Path], host: PluginHost, tmp_path: Path) -> None:
    duckdb = pytest.importorskip("duckdb")
    root = bundles["student_public"]
    out = tmp_path / "out.duckdb"
    export_bundle(root, "duckdb", out, host=host)
    with duckdb.connect(str(out), read_only=True) as con:
        types = {r[0]: r[1] for r in con.execute('DESCRIBE "events"').fetchall()}
        dates = {r[0]: r[1] for r in con.execute('DESCRIBE "invoices"').fetchall()}
        got = sorted(
            r[0].astimezone(dt.UTC).strftime(INSTANT)
            for r in con.execute('SELECT "at" FROM "events"').fetchall()
        )
    assert types["at"] == "TIMESTAMP WITH TIME ZONE"
    assert dates["issued"] == "DATE"
    assert got == _expected_instants(root)


def test_postgresql_declares_timestamptz() -> None:
    from leadforge.export.postgresql import TYPES

    assert TYPES["timestamptz"].lower() == "timestamptz" and TYPES["date"] == "DATE"


def test_conformance_kit_accepts_typed_time_columns(host: PluginHost) -> None:
    from leadforge.testing import check_scheme

    report = check_scheme("typed_toy_v1", host=host, cross_process=False)
    assert report.ok, report.summary()


def test_a_schema_8_bundle_still_validates(
    bundles: dict[str, Path], host: PluginHost, tmp_path: Path
) -> None:
    root = tmp_path / "old"
    shutil.copytree(bundles["student_public"], root)
    manifest = json.loads((root / "manifest.json").read_text())
    manifest["bundle_schema_version"] = "8"
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2))
    report = validate_bundle(root, host)
    assert report.ok, report.findings
    manifest["bundle_schema_version"] = "10"
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2))
    assert any(
        "unknown bundle_schema_version '10'" in f.message for f in validate_bundle(root, host).findings
    )
