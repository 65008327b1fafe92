"""``leadforge export`` refusals: invalid bundles, occupied targets, missing drivers, failures midway."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from core_support import require_first_party, tree_hashes
from export_support import make_bundle
from leadforge.errors import BundleError
from leadforge.export import csv as csv_store
from leadforge.export.command import export_cmd
from leadforge.export.source import open_source

require_first_party()


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_bundle(tmp_path_factory.mktemp("b") / "bundle", "student_public")


def run(*args: str) -> Result:
    return CliRunner().invoke(export_cmd, list(args))


def _one_line_error(result: Result, code: int, needle: str) -> None:
    assert result.exit_code == code, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and needle in lines[0], result.output
    assert "Traceback" not in result.output


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_export_prints_a_summary(bundle: Path, tmp_path: Path) -> None:
    result = run(str(bundle), "--to", "sqlite", str(tmp_path / "x.sqlite"))
    assert result.exit_code == 0, result.output
    assert "Exported 12 tables" in result.output and (tmp_path / "x.sqlite").is_file()


def test_a_bundle_that_fails_validation_is_refused(bundle: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    import shutil

    shutil.copytree(bundle, bad)
    with (bad / "tables" / "leads.parquet").open("ab") as fh:
        fh.write(b"tampered")
    result = run(str(bad), "--to", "sqlite", str(tmp_path / "x.sqlite"))
    _one_line_error(result, 1, "fails validation")
    assert not (tmp_path / "x.sqlite").exists() and _leftovers(tmp_path) == []


def test_a_missing_bundle_is_one_line(tmp_path: Path) -> None:
    _one_line_error(run(str(tmp_path / "nope"), "--to", "csv", str(tmp_path / "o")), 1, "does not exist")


@pytest.mark.parametrize("store", ["sqlite", "csv"])
def test_an_occupied_target_needs_replace(bundle: Path, tmp_path: Path, store: str) -> None:
    target = tmp_path / "out"
    if store == "csv":
        target.mkdir()
        (target / "mine.txt").write_text("keep")
    else:
        target.write_text("keep")
    _one_line_error(run(str(bundle), "--to", store, str(target)), 2, "--replace")
    assert (target / "mine.txt" if store == "csv" else target).read_text() == "keep"
    result = run(str(bundle), "--to", store, str(target), "--replace")
    assert result.exit_code == 0, result.output
    assert (target / "leads.csv").is_file() if store == "csv" else target.read_bytes()[:6] == b"SQLite"
    assert not (target / "mine.txt").exists() if store == "csv" else True
    assert _leftovers(tmp_path) == []


def test_an_empty_folder_is_filled_without_replace(bundle: Path, tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    assert run(str(bundle), "--to", "csv", str(tmp_path / "out")).exit_code == 0
    assert (tmp_path / "out" / "schema.json").is_file()


@pytest.mark.parametrize("where", ["bundle", "inside", "parent"])
def test_a_target_overlapping_the_bundle_is_refused(bundle: Path, where: str) -> None:
    target = {"bundle": bundle, "inside": bundle / "tables" / "x", "parent": bundle.parent}[where]
    before = tree_hashes(bundle)
    _one_line_error(run(str(bundle), "--to", "csv", str(target), "--replace"), 2, "overlaps the bundle")
    assert tree_hashes(bundle) == before


def test_a_file_store_refuses_a_folder_and_a_missing_parent(bundle: Path, tmp_path: Path) -> None:
    _one_line_error(run(str(bundle), "--to", "sqlite", str(tmp_path)), 2, "is a folder")
    _one_line_error(run(str(bundle), "--to", "sqlite", str(tmp_path / "a" / "b.db")), 2, "does not exist")


def test_a_failure_midway_leaves_nothing(
    bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = csv_store.pacsv.CSVWriter
    calls = []

    def failing(path: Path, schema: object) -> object:
        calls.append(path)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return real(path, schema)

    monkeypatch.setattr(csv_store.pacsv, "CSVWriter", failing)
    _one_line_error(run(str(bundle), "--to", "csv", str(tmp_path / "out")), 1, "No space left on device")
    assert len(calls) == 3
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("store", "module", "hint"),
    [
        ("duckdb", "duckdb", "pip install 'leadforge-core[duckdb]'"),
        ("postgresql", "psycopg", "pip install 'leadforge-core[postgresql]'"),
    ],
)
def test_a_missing_driver_gets_an_install_hint(
    bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: str, module: str, hint: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)
    target = str(tmp_path / "x.db") if store == "duckdb" else "postgresql://nobody@127.0.0.1:1/x"
    _one_line_error(run(str(bundle), "--to", store, target), 2, hint)
    assert list(tmp_path.iterdir()) == []


def test_a_bad_postgresql_url_and_an_unreachable_server(bundle: Path) -> None:
    pytest.importorskip("psycopg")
    _one_line_error(run(str(bundle), "--to", "postgresql", "mysql://x"), 2, "postgresql:// URL")
    result = run(str(bundle), "--to", "postgresql", "postgresql://u:secret@127.0.0.1:1/db?connect_timeout=2")
    _one_line_error(result, 2, "cannot connect to PostgreSQL")
    assert "secret" not in result.output


def test_csv_export_is_byte_identical_across_runs(bundle: Path, tmp_path: Path) -> None:
    assert run(str(bundle), "--to", "csv", str(tmp_path / "a")).exit_code == 0
    assert run(str(bundle), "--to", "csv", str(tmp_path / "b")).exit_code == 0
    a, b = tree_hashes(tmp_path / "a"), tree_hashes(tmp_path / "b")
    assert a == b and "schema.json" in a and "converted_within_90_days_train.csv" in a


@pytest.mark.parametrize("name", ["leads; DROP TABLE x", "../escape", "bundle_manifest", "Leads"])
def test_unsafe_or_clashing_table_names_are_refused(bundle: Path, tmp_path: Path, name: str) -> None:
    import shutil

    copy = tmp_path / "b"
    shutil.copytree(bundle, copy)
    raw = json.loads((copy / "manifest.json").read_text())
    raw["tables"][name] = dict(raw["tables"]["leads"])
    (copy / "manifest.json").write_text(json.dumps(raw))
    with pytest.raises(BundleError, match="cannot be exported|both be called"):
        open_source(copy)


def test_a_table_file_that_is_a_link_is_not_followed(bundle: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "b"
    shutil.copytree(bundle, copy)
    outside = tmp_path / "outside.parquet"
    shutil.copy(copy / "tables" / "leads.parquet", outside)
    (copy / "tables" / "leads.parquet").unlink()
    (copy / "tables" / "leads.parquet").symlink_to(outside)
    with pytest.raises(BundleError, match="link"):
        open_source(copy)


def test_a_text_column_is_typed_date_only_when_every_value_is_a_date(
    bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    import pyarrow as pa
    import pyarrow.parquet as pq
    from leadforge.export import source

    copy = tmp_path / "b"
    shutil.copytree(bundle, copy)
    path = copy / "tables" / "leads.parquet"
    leads = pq.read_table(path)
    dates = leads.column("lead_created_at").cast(pa.large_string()).to_pylist()  # ISO text, as schema 8
    dates[100] = "soon"
    pq.write_table(leads.set_column(3, "lead_created_at", pa.array(dates, pa.large_string())), path)
    monkeypatch.setattr(source, "SNIFF_ROWS", 10)  # the stray value lies beyond the first rows
    kinds = {t.name: {c.name: c.kind for c in t.columns} for t in open_source(copy).tables}
    assert kinds["leads"]["lead_created_at"] == "text"
    assert kinds["accounts"]["created_at"] == "date"
    assert kinds["leads"]["lead_id"] == "text" and kinds["sessions"]["page_views"] == "int"
