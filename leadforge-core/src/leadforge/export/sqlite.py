"""Export to a SQLite database file (stdlib ``sqlite3``).

SQLite has no date type: date and timestamp columns are declared ``DATE`` / ``TIMESTAMP``
and hold ISO 8601 text (``2025-03-07``, instants in UTC as ``2025-03-07T17:32:11.123456Z``),
which sorts and compares in time order. SQLite checks foreign keys only on connections that
run ``PRAGMA foreign_keys = ON``.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from leadforge.errors import BundleError
from leadforge.export.source import Kind, Source, check_rows, create_sql, quote

TYPES: dict[Kind, str] = {
    "text": "TEXT",
    "int": "INTEGER",
    "float": "REAL",
    "bool": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "timestamptz": "TIMESTAMP",
}


def write(source: Source, path: Path) -> None:
    """Create every table (parents first) in a new database at ``path`` and fill it in one transaction."""
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute("PRAGMA foreign_keys = ON")
        con.execute("PRAGMA journal_mode = OFF")  # a failed export deletes the file anyway
        con.execute("PRAGMA synchronous = OFF")
        con.execute("BEGIN")
        for table in source.tables:
            con.execute(create_sql(table, TYPES, defer="self"))
            sql = f"INSERT INTO {quote(table.name)} VALUES ({', '.join('?' * len(table.columns))})"
            rows = 0
            for batch in source.batches(table, typed=False):
                con.executemany(sql, zip(*(c.to_pylist() for c in batch.columns), strict=True))
                rows += batch.num_rows
            check_rows(table, rows)
        con.execute("COMMIT")
    except sqlite3.Error as exc:
        raise BundleError(f"SQLite refused the bundle's rows: {exc}") from None
    finally:
        con.close()
