"""Round trips: every store holds exactly the bundle's rows, keys and values, and enforces its keys."""

from __future__ import annotations

import datetime as dt
import glob
import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from core_support import require_first_party
from export_support import MODES, bundle_split, bundle_table, make_bundle
from leadforge.bundle.manifest import SPLITS, Manifest
from leadforge.export import export_bundle

require_first_party()


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("bundles")
    out = {mode: make_bundle(root / mode, mode) for mode in MODES}
    out["sharded"] = make_bundle(root / "sharded", "student_public", shard_accounts=30)
    assert len(Manifest.load(out["sharded"]).table_files("leads")) == 3
    return out


def _norm(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _order(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple((0, "") if v is None else (1, v) for v in row)


def _sorted(rows: Any) -> list[tuple[Any, ...]]:
    return sorted((tuple(_norm(v) for v in row) for row in rows), key=_order)


def _rows(columns: list[list[Any]]) -> list[tuple[Any, ...]]:
    return _sorted(zip(*columns, strict=True))


def _arrow_rows(table: pa.Table) -> list[tuple[Any, ...]]:
    return _rows([c.to_pylist() for c in table.columns])


def expected(root: Path) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
    """Every exported table's columns and sorted rows, computed from the bundle's own files."""
    m = Manifest.load(root)
    out = {}
    for name in m.tables:
        t = bundle_table(root, name)
        out[name] = (t.column_names, _arrow_rows(t))
    for task_id in m.tasks:
        for s in SPLITS:
            t = bundle_split(root, task_id, s)
            out[f"{task_id}_{s}"] = (t.column_names, _arrow_rows(t))
    return out


def _first_fk(root: Path) -> tuple[str, str, str, str]:
    """(child, child pk, fk column, an existing parent id) for the first foreign key of the bundle."""
    m = Manifest.load(root)
    assert m.contract is not None
    for t in m.contract:
        if t.name in m.tables and t.foreign_keys:
            fk = t.foreign_keys[0]
            parent_pk = m.contract[fk.parent].primary_key
            parent_id = bundle_table(root, fk.parent).column(parent_pk)[0].as_py()
            return t.name, t.primary_key, fk.column, parent_id
    raise AssertionError("the bundle has no foreign key")


# --- stores: export, read back, attempt an insert ------------------------------------------


class DuckDBStore:
    name = "duckdb"

    def __init__(self, tmp: Path) -> None:
        pytest.importorskip("duckdb")
        self.target = str(tmp / "out.duckdb")

    def read(self) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
        import duckdb

        con = duckdb.connect(self.target, read_only=True)
        try:
            names = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
            out = {}
            for n in names:
                cur = con.execute(f'SELECT * FROM "{n}"')
                cols = [d[0] for d in cur.description]
                out[n] = (cols, _sorted(cur.fetchall()))
            return out
        finally:
            con.close()

    def types(self, table: str) -> dict[str, str]:
        import duckdb

        with duckdb.connect(self.target, read_only=True) as con:
            return {r[0]: r[1] for r in con.execute(f'DESCRIBE "{table}"').fetchall()}

    def insert(self, table: str, values: dict[str, str]) -> None:
        import duckdb

        with duckdb.connect(self.target) as con:
            cols = ", ".join(f'"{c}"' for c in values)
            con.execute(
                f'INSERT INTO "{table}" ({cols}) VALUES ({", ".join("?" * len(values))})',
                list(values.values()),
            )

    def provenance(self) -> dict[str, str]:
        return {k: v for k, v in self.read()["bundle_manifest"][1]}


class SQLiteStore:
    name = "sqlite"

    def __init__(self, tmp: Path) -> None:
        self.target = str(tmp / "out.sqlite")

    def read(self) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
        import sqlite3

        con = sqlite3.connect(self.target)
        try:
            names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            out = {}
            for n in names:
                cur = con.execute(f'SELECT * FROM "{n}"')
                cols = [d[0] for d in cur.description]
                out[n] = (cols, _sorted(cur.fetchall()))
            return out
        finally:
            con.close()

    def types(self, table: str) -> dict[str, str]:
        import sqlite3

        with sqlite3.connect(self.target) as con:
            return {r[1]: r[2] for r in con.execute(f'PRAGMA table_info("{table}")')}

    def insert(self, table: str, values: dict[str, str]) -> None:
        import sqlite3

        con = sqlite3.connect(self.target)
        try:
            con.execute("PRAGMA foreign_keys = ON")
            cols = ", ".join(f'"{c}"' for c in values)
            con.execute(
                f'INSERT INTO "{table}" ({cols}) VALUES ({", ".join("?" * len(values))})',
                list(values.values()),
            )
            con.commit()
        finally:
            con.close()

    def provenance(self) -> dict[str, str]:
        return {k: v for k, v in self.read()["bundle_manifest"][1]}


_CSV_TYPES = {
    "text": pa.large_string(),
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
    "timestamptz": pa.timestamp("us", tz="UTC"),
}


class CSVStore:
    name = "csv"

    def __init__(self, tmp: Path) -> None:
        self.target = str(tmp / "out_csv")

    def schema(self) -> dict[str, Any]:
        return json.loads((Path(self.target) / "schema.json").read_text())  # type: ignore[no-any-return]

    def read(self) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
        out = {}
        for name, info in self.schema()["tables"].items():
            types = {c["name"]: _CSV_TYPES[c["type"]] for c in info["columns"]}
            opts = pacsv.ConvertOptions(
                column_types=types, strings_can_be_null=True, quoted_strings_can_be_null=False
            )
            t = pacsv.read_csv(Path(self.target) / info["file"], convert_options=opts)
            out[name] = (t.column_names, _arrow_rows(t))
        return out

    def types(self, table: str) -> dict[str, str]:
        return {c["name"]: c["type"] for c in self.schema()["tables"][table]["columns"]}

    def insert(self, table: str, values: dict[str, str]) -> None:
        pytest.skip("CSV files enforce no keys")

    def provenance(self) -> dict[str, str]:
        return {k: v for k, v in self.read()["bundle_manifest"][1]}


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    """A throwaway PostgreSQL server on a free local port, started and stopped here."""
    pytest.importorskip("psycopg")
    bindir = _pg_bin()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries not installed (apt-get install -y postgresql)")
    run_as: list[str] = []
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser: cannot start PostgreSQL as another user")
        run_as = ["runuser", "-u", "nobody", "--"]
    base = Path(tempfile.mkdtemp(prefix="leadforge-pg-"))
    if run_as:
        nobody = pwd.getpwnam("nobody")
        os.chown(base, nobody.pw_uid, nobody.pw_gid)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = base / "data"

    def run(*cmd: str) -> None:
        subprocess.run([*run_as, *cmd], check=True, capture_output=True, timeout=120)

    try:
        run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        opts = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
        run(str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(base / "log"), "-w", "start")
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        shutil.rmtree(base, ignore_errors=True)
        pytest.skip(f"could not start a PostgreSQL server: {exc}")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
            capture_output=True,
            timeout=120,
        )
        shutil.rmtree(base, ignore_errors=True)


class PostgresStore:
    name = "postgresql"
    url = ""

    def __init__(self, tmp: Path) -> None:
        import psycopg

        self.target = self.url
        with psycopg.connect(self.url, autocommit=True) as con:
            con.execute("DROP SCHEMA public CASCADE")
            con.execute("CREATE SCHEMA public")

    def read(self) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
        import psycopg

        with psycopg.connect(self.url) as con:
            names = [
                r[0]
                for r in con.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
                ).fetchall()
            ]
            out = {}
            for n in names:
                cur = con.execute(f'SELECT * FROM "{n}"')
                cols = [d.name for d in cur.description or ()]
                out[n] = (cols, _sorted(cur.fetchall()))
            return out

    def types(self, table: str) -> dict[str, str]:
        import psycopg

        with psycopg.connect(self.url) as con:
            rows = con.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = %s",
                (table,),
            ).fetchall()
            return {r[0]: r[1].upper() for r in rows}

    def insert(self, table: str, values: dict[str, str]) -> None:
        import psycopg

        with psycopg.connect(self.url) as con:
            cols = ", ".join(f'"{c}"' for c in values)
            con.execute(
                f'INSERT INTO "{table}" ({cols}) VALUES ({", ".join(["%s"] * len(values))})',
                list(values.values()),
            )

    def provenance(self) -> dict[str, str]:
        return {k: v for k, v in self.read()["bundle_manifest"][1]}


STORES: dict[str, Callable[..., Any]] = {
    "duckdb": DuckDBStore,
    "sqlite": SQLiteStore,
    "csv": CSVStore,
    "postgresql": PostgresStore,
}
DATE_TYPES = {"duckdb": "DATE", "sqlite": "DATE", "csv": "date", "postgresql": "DATE"}
INSTANT_TYPES = {
    "duckdb": "TIMESTAMP WITH TIME ZONE",
    "sqlite": "TIMESTAMP",
    "csv": "timestamptz",
    "postgresql": "TIMESTAMP WITH TIME ZONE",
}


@pytest.fixture(params=list(STORES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "postgresql":
        PostgresStore.url = request.getfixturevalue("pg_url")
    return STORES[request.param](tmp_path)


@pytest.mark.parametrize("which", [*MODES, "sharded"])
def test_store_holds_the_bundle_rows_keys_and_values(
    store: Any, bundles: dict[str, Path], which: str
) -> None:
    root = bundles[which]
    result = export_bundle(root, store.name, store.target)
    want = expected(root)
    got = store.read()
    assert set(got) == {*want, "bundle_manifest", "bundle_files"}
    for name, (cols, rows) in want.items():
        assert got[name][0] == cols, name
        assert len(got[name][1]) == len(rows) == dict(result.tables)[name], name
        assert got[name][1] == rows, name
    m = Manifest.load(root)
    prov = store.provenance()
    assert (prov["recipe_id"], prov["seed"], prov["exposure_mode"]) == (
        m.recipe_id,
        str(m.seed),
        m.exposure_mode,
    )
    assert prov["generation_timestamp"] == m.generation_timestamp
    assert m.files is not None
    assert sorted((p, s) for p, s, _ in got["bundle_files"][1]) == sorted(
        (p, e.sha256) for p, e in m.files.items()
    )
    if m.is_public:
        assert not set(m.structural_redactions.omitted_tables) & set(got)


def test_time_columns_are_typed_as_dates_or_instants(store: Any, bundles: dict[str, Path]) -> None:
    root = bundles["research_instructor"]
    export_bundle(root, store.name, store.target)
    m = Manifest.load(root)
    assert m.contract is not None
    checked = 0
    for t in m.contract:
        if t.time_column is not None and t.name in m.tables:
            want = INSTANT_TYPES if t.schema.dtype(t.time_column) == "timestamp" else DATE_TYPES
            assert store.types(t.name)[t.time_column] == want[store.name], t.name
            assert store.types(t.name)[t.primary_key] not in {"DATE", "date"}
            checked += 1
    assert checked >= 3


@pytest.mark.parametrize("mode", MODES)
def test_store_rejects_an_orphan_and_accepts_a_real_parent(
    store: Any, bundles: dict[str, Path], mode: str
) -> None:
    root = bundles[mode]
    export_bundle(root, store.name, store.target)
    child, pk, fk, parent_id = _first_fk(root)
    with pytest.raises(Exception, match="(?i)foreign key|constraint"):
        store.insert(child, {pk: "orphan_000001", fk: "no_such_parent"})
    store.insert(child, {pk: "orphan_000002", fk: parent_id})
    with pytest.raises(Exception, match="(?i)primary key|unique|duplicate|constraint"):
        store.insert(child, {pk: "orphan_000002", fk: parent_id})


def test_postgresql_refuses_existing_tables_and_rolls_back_a_failure(
    pg_url: str, bundles: dict[str, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from leadforge.errors import BundleError, UsageError
    from leadforge.export import postgresql as pg_store

    PostgresStore.url = pg_url
    store = PostgresStore(tmp_path)
    root = bundles["student_public"]
    export_bundle(root, "postgresql", pg_url)
    before = store.read()
    with pytest.raises(UsageError, match="--replace"):
        export_bundle(root, "postgresql", pg_url)
    real, seen = pg_store.check_rows, []

    def failing(table: Any, written: int) -> None:
        seen.append(table.name)
        if len(seen) == 4:
            raise BundleError("injected failure")
        real(table, written)

    monkeypatch.setattr(pg_store, "check_rows", failing)
    with pytest.raises(BundleError, match="injected"):
        export_bundle(bundles["research_instructor"], "postgresql", pg_url, replace=True)
    assert len(seen) == 4 and store.read() == before
    monkeypatch.setattr(pg_store, "check_rows", real)
    export_bundle(bundles["research_instructor"], "postgresql", pg_url, replace=True)
    assert store.read().keys() == {
        *expected(bundles["research_instructor"]),
        "bundle_manifest",
        "bundle_files",
    }
