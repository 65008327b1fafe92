"""Export into a PostgreSQL database (psycopg 3), in one transaction.

Tables are created in the connection's current schema (set it with
``?options=-csearch_path%3Dmyschema`` in the URL). Rows are streamed with ``COPY … FROM
STDIN`` in CSV form, a batch at a time. Foreign keys are checked at commit, so a failure
anywhere leaves the database as it was.
"""

from __future__ import annotations

import io
import re
from typing import Any

import pyarrow.csv as pacsv

from leadforge.errors import BundleError, UsageError
from leadforge.export.source import Kind, Source, check_rows, create_sql, quote

TYPES: dict[Kind, str] = {
    "text": "TEXT",
    "int": "BIGINT",
    "float": "DOUBLE PRECISION",
    "bool": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "timestamptz": "TIMESTAMPTZ",
}
HINT = "--to postgresql needs psycopg 3: pip install 'leadforge-core[postgresql]'"
_CSV = pacsv.WriteOptions(include_header=False)


def load_psycopg() -> Any:
    try:
        import psycopg
    except ImportError:
        raise UsageError(HINT) from None
    return psycopg


def check_url(url: str) -> None:
    if not re.match(r"postgres(ql)?://", url):
        raise UsageError(f"--to postgresql needs a postgresql:// URL, got {redact(url)!r}")


def redact(url: str) -> str:
    """The URL without its password, for error messages."""
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)[:200]


def connect(url: str) -> Any:
    psycopg = load_psycopg()
    check_url(url)
    try:
        return psycopg.connect(url, autocommit=False)
    except psycopg.Error as exc:
        raise UsageError(f"cannot connect to PostgreSQL at {redact(url)}: {_line(exc)}") from None


def existing(con: Any, names: list[str]) -> list[str]:
    with con.cursor() as cur:
        return [n for n in names if cur.execute("SELECT to_regclass(%s)", (quote(n),)).fetchone()[0]]


def write(source: Source, url: str, *, replace: bool) -> None:
    """Create and fill every table; with ``replace``, drop same-named tables first."""
    psycopg = load_psycopg()
    con = connect(url)
    try:
        names = [t.name for t in source.tables]
        found = existing(con, names)
        if found and not replace:
            raise UsageError(
                f"the database already has table(s) {', '.join(found[:5])}; pass --replace to replace them"
            )
        with con.cursor() as cur:
            for name in reversed(found):
                cur.execute(f"DROP TABLE {quote(name)} CASCADE")
            for table in source.tables:
                cur.execute(create_sql(table, TYPES, defer="all"))
                cols = ", ".join(quote(c) for c in table.names)
                rows = 0
                with cur.copy(f"COPY {quote(table.name)} ({cols}) FROM STDIN WITH (FORMAT csv)") as copy:
                    for batch in source.batches(table):
                        buf = io.BytesIO()
                        pacsv.write_csv(batch, buf, _CSV)
                        copy.write(buf.getbuffer())
                        rows += batch.num_rows
                check_rows(table, rows)
        con.commit()
    except psycopg.Error as exc:
        con.rollback()
        raise BundleError(f"PostgreSQL refused the export: {_line(exc)}") from None
    except BaseException:
        con.rollback()
        raise
    finally:
        con.close()


def _line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]
