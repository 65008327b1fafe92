"""A validated bundle seen as an ordered list of typed, keyed tables that stream in row batches.

Every store writer (DuckDB, SQLite, CSV, PostgreSQL) reads the bundle through this module
only, so all of them export the same tables, columns, types and keys. Files are opened only
through :meth:`BundleView.path` and the manifest's file lists (bundles are untrusted input),
and rows are read one batch at a time, so memory stays bounded whatever the table's size.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from leadforge.bundle.manifest import SPLITS, Manifest, parse_task_manifest
from leadforge.bundle.reader import BundleView, reading
from leadforge.errors import BundleError

#: ``timestamptz`` is an instant (the bundle's ``timestamp[us, UTC]`` columns); ``timestamp`` a
#: wall-clock date-time without a zone (ISO text a bundle stores, typed on export).
Kind = Literal["text", "int", "float", "bool", "date", "timestamp", "timestamptz"]

#: Rows per streamed batch: bounds memory per table to a few megabytes of column data.
BATCH_ROWS = 65_536
#: Rows looked at to decide whether a text column holds dates or timestamps.
SNIFF_ROWS = 1_024
#: Names of the two provenance tables every export adds.
PROVENANCE_TABLES = ("bundle_manifest", "bundle_files")

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MAX_NAME = 63  # PostgreSQL truncates longer identifiers silently
_DATE = r"^\d{4}-\d{2}-\d{2}$"
_TIMESTAMP = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?$"
_TEMPORAL: dict[str, tuple[str, pa.DataType]] = {
    "date": (_DATE, pa.date32()),
    "timestamp": (_TIMESTAMP, pa.timestamp("us")),
}


@dataclass(frozen=True)
class ForeignKeyRef:
    """``column`` references ``parent(parent_column)``; both tables are in the export."""

    column: str
    parent: str
    parent_column: str
    nullable: bool


@dataclass(frozen=True)
class ExportColumn:
    name: str
    kind: Kind


@dataclass(frozen=True)
class SourceTable:
    """One exported table: a relational table, a task split, or a provenance table.

    ``files`` are the bundle-relative Parquet files whose rows, concatenated in order, make
    the table (empty for the provenance tables, whose rows are ``rows_data``).
    """

    name: str
    kind: Literal["table", "task_split", "provenance"]
    columns: tuple[ExportColumn, ...]
    rows: int
    files: tuple[str, ...] = ()
    primary_key: str | None = None
    foreign_keys: tuple[ForeignKeyRef, ...] = ()
    task_id: str | None = None
    split: str | None = None
    rows_data: tuple[tuple[Any, ...], ...] = ()

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def arrow_schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, ARROW_TYPES[c.kind]) for c in self.columns])

    @property
    def text_schema(self) -> pa.Schema:
        """The schema of ``batches(typed=False)``: time columns as ISO 8601 text."""
        return pa.schema(
            [
                pa.field(c.name, pa.large_string() if c.kind in TIME_KINDS else ARROW_TYPES[c.kind])
                for c in self.columns
            ]
        )

    def describe(self) -> dict[str, Any]:
        """The table's entry in a CSV export's ``schema.json``."""
        out: dict[str, Any] = {
            "kind": self.kind,
            "rows": self.rows,
            "columns": [{"name": c.name, "type": c.kind} for c in self.columns],
            "primary_key": self.primary_key,
            "foreign_keys": [
                {
                    "column": f.column,
                    "parent": f.parent,
                    "parent_column": f.parent_column,
                    "nullable": f.nullable,
                }
                for f in self.foreign_keys
            ],
        }
        if self.task_id is not None:
            out["task_id"] = self.task_id
            out["split"] = self.split
        return out


ARROW_TYPES: dict[Kind, pa.DataType] = {
    "text": pa.large_string(),
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
    "timestamptz": pa.timestamp("us", tz="UTC"),
}
TIME_KINDS: frozenset[Kind] = frozenset({"date", "timestamp", "timestamptz"})
#: How ``batches(typed=False)`` writes an instant: ISO 8601 in UTC with microseconds and ``Z``.
INSTANT_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class Source:
    """A bundle's exportable tables, parents before children, then task splits and provenance."""

    root: Path
    view: BundleView
    manifest: Manifest
    tables: tuple[SourceTable, ...]

    def batches(self, table: SourceTable, *, typed: bool = True) -> Iterator[pa.RecordBatch]:
        """The table's rows in order, a batch at a time.

        ``typed`` gives every column its kind's Arrow type (``arrow_schema``); without it time
        columns are ISO 8601 text (``text_schema``: dates ``YYYY-MM-DD``, instants
        ``YYYY-MM-DDTHH:MM:SS.ffffffZ``, zone-less date-times as the bundle wrote them), for
        stores and files without native temporal types.
        """
        if table.kind == "provenance":
            if table.rows_data:
                cols = list(zip(*table.rows_data, strict=True))
                yield pa.RecordBatch.from_arrays(
                    [pa.array(c, ARROW_TYPES[k.kind]) for c, k in zip(cols, table.columns, strict=True)],
                    schema=table.arrow_schema,
                )
            return
        schema = table.arrow_schema if typed else table.text_schema
        for rel in table.files:
            with reading(rel):
                pf = pq.ParquetFile(self.view.path(rel))
                for batch in pf.iter_batches(batch_size=BATCH_ROWS, columns=table.names):
                    yield _typed(batch, table, schema) if typed else _text(batch, table, schema)


def open_source(root: Path, view: BundleView | None = None) -> Source:
    """The exportable tables of the bundle at ``root`` (which the caller has validated)."""
    view = view or BundleView(root)
    manifest = Manifest.load(root)
    contract = manifest.contract
    ordered = [t.name for t in contract if t.name in manifest.tables] if contract else []
    ordered += sorted(n for n in manifest.tables if n not in ordered)
    tables: list[SourceTable] = []
    for name in ordered:
        files = manifest.table_files(name)
        columns = _columns(view, name, files)
        names = {c.name for c in columns}
        pk: str | None = None
        fks: list[ForeignKeyRef] = []
        if contract is not None and name in contract:
            tc = contract[name]
            pk = tc.primary_key if tc.primary_key in names else None
            for fk in tc.foreign_keys:
                if fk.column in names and fk.parent in ordered and fk.parent in contract:
                    fks.append(
                        ForeignKeyRef(fk.column, fk.parent, contract[fk.parent].primary_key, fk.nullable)
                    )
        keys = {pk, *(f.column for f in fks)} - {None}
        columns = _sniff(view, files, columns, keys)
        tables.append(
            SourceTable(
                name=name,
                kind="table",
                columns=columns,
                rows=manifest.tables[name].row_count,
                files=files,
                primary_key=pk,
                foreign_keys=tuple(fks),
            )
        )
    for task_id, entry in manifest.tasks.items():
        rel = f"tasks/{task_id}/task_manifest.json"
        tm, findings = parse_task_manifest(view.json(rel), rel)
        if tm is None or findings:
            raise BundleError(f"{rel}: {findings[0] if findings else 'unreadable'}")
        split_files = {s: manifest.split_files(task_id, s) for s in SPLITS}
        per_split = {s: _columns(view, f"{task_id}_{s}", split_files[s]) for s in SPLITS}
        if len({tuple(c) for c in per_split.values()}) != 1:
            raise BundleError(f"task {task_id}: its splits do not share one set of columns")
        all_files = tuple(f for s in SPLITS for f in split_files[s])
        key = tm.key_column if tm.key_column in {c.name for c in per_split["train"]} else None
        columns = _sniff(view, all_files, per_split["train"], {key} - {None})
        for s in SPLITS:
            tables.append(
                SourceTable(
                    name=f"{task_id}_{s}",
                    kind="task_split",
                    columns=columns,
                    rows=entry.rows[s],
                    files=split_files[s],
                    primary_key=key,
                    task_id=task_id,
                    split=s,
                )
            )
    tables += _provenance(view, manifest)
    _check_names(tables)
    return Source(root, view, manifest, tuple(tables))


def _columns(view: BundleView, name: str, files: Sequence[str]) -> tuple[ExportColumn, ...]:
    """Column names and kinds from the Parquet footers; every part must agree."""
    found: tuple[ExportColumn, ...] | None = None
    for rel in files:
        schema = view.schema(rel)
        cols = tuple(ExportColumn(f.name, _kind(name, f)) for f in schema)
        if found is not None and cols != found:
            raise BundleError(f"{rel}: its columns differ from the other parts of {name}")
        found = cols
    if not found:
        raise BundleError(f"table {name} has no files")
    return found


def _kind(table: str, f: pa.Field) -> Kind:
    t = f.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "text"
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_signed_integer(t) or (pa.types.is_unsigned_integer(t) and t.bit_width <= 32):
        return "int"
    if pa.types.is_floating(t):
        return "float"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_timestamp(t):
        return "timestamp" if t.tz is None else "timestamptz"
    raise BundleError(f"table {table}: column {f.name!r} has type {t}, which export does not support")


def _sniff(
    view: BundleView, files: Sequence[str], columns: tuple[ExportColumn, ...], keys: set[str | None]
) -> tuple[ExportColumn, ...]:
    """Type a text column as date (timestamp) when all its values are ISO dates (date-times).

    Bundles store dates as ISO text; the first rows pick the candidates, and one pass over
    only those columns confirms them, so a stray value keeps the column text.
    """
    text = [c.name for c in columns if c.kind == "text" and c.name not in keys]
    candidates: dict[str, str] = {}
    for rel in files:
        if not text:
            break
        with reading(rel):
            pf = pq.ParquetFile(view.path(rel))
            head = next(pf.iter_batches(batch_size=SNIFF_ROWS, columns=text), None)
        if head is None or head.num_rows == 0:
            continue
        for name in text:
            arr = head.column(name)
            if arr.null_count == len(arr):
                continue
            for kind, (pattern, _) in _TEMPORAL.items():
                if _all_match(arr, pattern):
                    candidates[name] = kind
                    break
        break
    for rel in files:
        if not candidates:
            break
        with reading(rel):
            pf = pq.ParquetFile(view.path(rel))
            for batch in pf.iter_batches(batch_size=BATCH_ROWS, columns=list(candidates)):
                for name in list(candidates):
                    pattern, typ = _TEMPORAL[candidates[name]]
                    arr = batch.column(name)
                    if not _all_match(arr, pattern) or not _casts(arr, typ):
                        del candidates[name]
    return tuple(ExportColumn(c.name, candidates.get(c.name, c.kind)) for c in columns)  # type: ignore[arg-type]


def _all_match(arr: pa.Array, pattern: str) -> bool:
    matched = pc.match_substring_regex(arr, pattern)
    return bool(pc.all(pc.fill_null(matched, True)).as_py())


def _casts(arr: pa.Array, typ: pa.DataType) -> bool:
    try:
        pc.cast(arr, typ)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    return True


def _text(batch: pa.RecordBatch, table: SourceTable, schema: pa.Schema) -> pa.RecordBatch:
    arrays = [_as_text(col, c.kind) for col, c in zip(batch.columns, table.columns, strict=True)]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _as_text(col: pa.Array, kind: Kind) -> pa.Array:
    if kind not in TIME_KINDS:
        return col if col.type == ARROW_TYPES[kind] else pc.cast(col, ARROW_TYPES[kind])
    if pa.types.is_timestamp(col.type) and col.type.tz is not None:
        instants = pc.cast(col, pa.timestamp("us", tz="UTC"))
        return pc.cast(pc.strftime(instants, format=INSTANT_FORMAT), pa.large_string())
    if pa.types.is_timestamp(col.type):
        return pc.cast(
            pc.strftime(pc.cast(col, pa.timestamp("us")), format="%Y-%m-%dT%H:%M:%S"), pa.large_string()
        )
    return pc.cast(col, pa.large_string())


def _typed(batch: pa.RecordBatch, table: SourceTable, schema: pa.Schema) -> pa.RecordBatch:
    arrays = [
        col if col.type == ARROW_TYPES[c.kind] else pc.cast(col, ARROW_TYPES[c.kind])
        for col, c in zip(batch.columns, table.columns, strict=True)
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _provenance(view: BundleView, manifest: Manifest) -> list[SourceTable]:
    """``bundle_manifest`` (every manifest key but ``files``) and ``bundle_files`` (its hashes).

    Values are stored as text: strings as they are, everything else as JSON.
    """
    raw = manifest.to_json()
    files = raw.pop("files") or {}
    digest = hashlib.sha256(view.path("manifest.json").read_bytes()).hexdigest()
    rows = [(k, v if isinstance(v, str) else json.dumps(v, sort_keys=True)) for k, v in raw.items()]
    rows.append(("manifest_sha256", digest))
    file_rows = tuple((rel, e["sha256"], e["size"]) for rel, e in sorted(files.items()))
    return [
        SourceTable(
            name="bundle_manifest",
            kind="provenance",
            columns=(ExportColumn("key", "text"), ExportColumn("value", "text")),
            rows=len(rows),
            primary_key="key",
            rows_data=tuple(rows),
        ),
        SourceTable(
            name="bundle_files",
            kind="provenance",
            columns=(
                ExportColumn("path", "text"),
                ExportColumn("sha256", "text"),
                ExportColumn("size", "int"),
            ),
            rows=len(file_rows),
            primary_key="path",
            rows_data=file_rows,
        ),
    ]


def _check_names(tables: Sequence[SourceTable]) -> None:
    """Table names become file names and SQL identifiers: plain, short, and unique in any case."""
    seen: set[str] = set()
    for t in tables:
        if not _NAME.fullmatch(t.name) or len(t.name) > _MAX_NAME:
            raise BundleError(
                f"table name {t.name[:80]!r} cannot be exported: use letters, digits and _ "
                f"(at most {_MAX_NAME} characters)"
            )
        if t.name.lower() in seen:
            raise BundleError(f"two exported tables would both be called {t.name!r}")
        seen.add(t.name.lower())
        cols: dict[str, str] = {}
        for c in t.columns:
            if not c.name or len(c.name.encode("utf-8")) > _MAX_NAME or any(ord(ch) < 32 for ch in c.name):
                raise BundleError(f"table {t.name}: column name {c.name[:80]!r} cannot be exported")
            if cols.setdefault(c.name.lower(), c.name) != c.name:
                raise BundleError(f"table {t.name}: columns {cols[c.name.lower()]!r} and {c.name!r} clash")


def quote(identifier: str) -> str:
    """A SQL identifier in double quotes (DuckDB, SQLite and PostgreSQL all accept it)."""
    return '"' + identifier.replace('"', '""') + '"'


def create_sql(
    table: SourceTable, types: Mapping[Kind, str], *, defer: Literal["none", "self", "all"] = "none"
) -> str:
    """``CREATE TABLE`` with the table's primary key and foreign keys, in ``types``' dialect.

    ``defer`` makes foreign keys checked at commit: ``"self"`` only those a table has on
    itself (a row may reference one inserted after it), ``"all"`` every one.
    """
    parts = [f"{quote(c.name)} {types[c.kind]}" for c in table.columns]
    if table.primary_key is not None:
        parts.append(f"PRIMARY KEY ({quote(table.primary_key)})")
    for f in table.foreign_keys:
        later = defer == "all" or (defer == "self" and f.parent == table.name)
        parts.append(
            f"FOREIGN KEY ({quote(f.column)}) REFERENCES {quote(f.parent)} ({quote(f.parent_column)})"
            + (" DEFERRABLE INITIALLY DEFERRED" if later else "")
        )
    return f"CREATE TABLE {quote(table.name)} (\n  " + ",\n  ".join(parts) + "\n)"


def check_rows(table: SourceTable, written: int) -> None:
    if written != table.rows:
        raise BundleError(f"table {table.name}: read {written} rows, the manifest says {table.rows}")
