"""Export to a DuckDB database file: typed columns, primary and foreign keys, streamed inserts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from leadforge.errors import BundleError, LeadforgeError, UsageError
from leadforge.export.source import Kind, Source, SourceTable, check_rows, create_sql, quote

TYPES: dict[Kind, str] = {
    "text": "VARCHAR",
    "int": "BIGINT",
    "float": "DOUBLE",
    "bool": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "timestamptz": "TIMESTAMPTZ",
}
HINT = "--to duckdb needs DuckDB: pip install 'leadforge-core[duckdb]'"


def load_duckdb() -> Any:
    try:
        import duckdb
    except ImportError:
        raise UsageError(HINT) from None
    return duckdb


def write(source: Source, path: Path) -> None:
    """Create every table (parents first) in a new database at ``path`` and fill it."""
    duckdb = load_duckdb()
    try:
        con = duckdb.connect(str(path))
    except duckdb.Error as exc:
        raise LeadforgeError(f"DuckDB cannot create {path}: {_line(exc)}") from None
    try:
        for table in source.tables:
            con.execute(create_sql(table, TYPES))
            counted = _Counted(source, table)
            reader = pa.RecordBatchReader.from_batches(table.arrow_schema, iter(counted))
            con.register("leadforge_batches", reader)
            try:
                con.execute(f"INSERT INTO {quote(table.name)} SELECT * FROM leadforge_batches")
            finally:
                con.unregister("leadforge_batches")
            check_rows(table, counted.rows)
        con.execute("CHECKPOINT")
    except duckdb.Error as exc:
        raise BundleError(f"DuckDB refused the bundle's rows: {_line(exc)}") from None
    finally:
        con.close()


class _Counted:
    """The table's typed batches, counting rows as DuckDB pulls them."""

    def __init__(self, source: Source, table: SourceTable) -> None:
        self.source, self.table, self.rows = source, table, 0

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        for batch in self.source.batches(self.table):
            self.rows += batch.num_rows
            yield batch


def _line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]
