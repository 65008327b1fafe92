"""``leadforge export``: a validated bundle into DuckDB, SQLite, CSV or PostgreSQL.

Every store gets the same tables: the bundle's relational tables (parents before children,
with the primary and foreign keys of its relational contract), one table per task split
(``<task_id>_train``, ``<task_id>_valid``, ``<task_id>_test``, keyed by the task's key
column), and the provenance tables ``bundle_manifest`` and ``bundle_files``. See
``docs/export.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, get_args

from leadforge.bundle.reader import BundleView
from leadforge.errors import BundleError, LeadforgeError, UsageError
from leadforge.export.source import Source, open_source
from leadforge.export.target import check_target, staged

if TYPE_CHECKING:
    from leadforge.plugins import PluginHost

Store = Literal["duckdb", "sqlite", "csv", "postgresql"]
STORES: tuple[str, ...] = get_args(Store)

__all__ = ["STORES", "ExportResult", "Store", "export_bundle"]


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote: the target and each table's row count, in load order."""

    store: str
    target: str
    tables: tuple[tuple[str, int], ...]

    @property
    def rows(self) -> int:
        return sum(n for _, n in self.tables)


def export_bundle(
    bundle: str | Path,
    store: str,
    target: str | Path,
    *,
    replace: bool = False,
    host: PluginHost | None = None,
) -> ExportResult:
    """Validate the bundle at ``bundle`` and export it to ``target`` in ``store``.

    A bundle that fails validation is refused (:class:`BundleError`); so is a non-empty
    target unless ``replace``. Nothing half-written is left behind on failure.
    """
    from leadforge.plugins import get_host
    from leadforge.validation import validate_bundle

    if store not in STORES:
        raise UsageError(f"unknown store {store!r}; choose one of {', '.join(STORES)}")
    root = Path(bundle)
    if store == "postgresql":
        from leadforge.export import postgresql

        postgresql.check_url(str(target))
        postgresql.load_psycopg()
    else:
        if store == "duckdb":
            from leadforge.export import duckdb

            duckdb.load_duckdb()
        check_target(Path(target), folder=store == "csv", replace=replace, bundle=root)
    report = validate_bundle(root, host or get_host())
    if not report.ok:
        first = report.errors[0]
        more = f" (and {len(report.errors) - 1} more)" if len(report.errors) > 1 else ""
        raise BundleError(f"bundle at {root} fails validation, not exported: {first}{more}")
    source = open_source(root, BundleView(root))
    _write(source, store, target, replace)
    return ExportResult(store, str(target), tuple((t.name, t.rows) for t in source.tables))


def _write(source: Source, store: str, target: str | Path, replace: bool) -> None:
    if store == "postgresql":
        from leadforge.export import postgresql

        postgresql.write(source, str(target), replace=replace)
        return
    path = Path(target)
    try:
        _write_file(source, store, path)
    except OSError as exc:
        raise LeadforgeError(f"could not write {path}: {exc.strerror or exc}; nothing was written") from None


def _write_file(source: Source, store: str, path: Path) -> None:
    with staged(path, folder=store == "csv") as tmp:
        if store == "duckdb":
            from leadforge.export import duckdb

            duckdb.write(source, tmp)
        elif store == "sqlite":
            from leadforge.export import sqlite

            sqlite.write(source, tmp)
        else:
            from leadforge.export import csv

            csv.write(source, tmp)
