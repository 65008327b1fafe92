"""Typed table schemas: the column dtypes every bundle uses, and how they reach Parquet.

Bundles store pandas' nullable dtypes (``string``, ``Int64``, ``Float64``, ``boolean``) so a
notebook that reads a table with ``pandas.read_parquet`` gets exactly those dtypes back. The
Arrow schema therefore carries pandas metadata, computed once per table. Time columns are
``timestamp`` (an instant, Arrow ``timestamp[us, tz=UTC]``, pandas ``datetime64[us, UTC]``) or
``date`` (a calendar day, Arrow ``date32``, read by pandas as ``datetime.date`` objects).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, get_args

import numpy as np
import pyarrow as pa

if TYPE_CHECKING:
    import pandas as pd

#: What a table sink accepts: an Arrow table, a pandas DataFrame, or column name -> array.
TableData: TypeAlias = "pa.Table | pd.DataFrame | Mapping[str, Any]"

DType = Literal["string", "Int64", "Float64", "boolean", "timestamp", "date"]
DTYPES: tuple[str, ...] = get_args(DType)
#: The dtypes of time columns (event instants and calendar days).
TIME_DTYPES: tuple[str, ...] = ("timestamp", "date")

_ARROW: dict[str, pa.DataType] = {
    "string": pa.large_string(),
    "Int64": pa.int64(),
    "Float64": pa.float64(),
    "boolean": pa.bool_(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "date": pa.date32(),
}
#: The pandas dtype each bundle dtype reads back as (for the Arrow schema's pandas metadata).
_PANDAS: dict[str, str] = {"timestamp": "datetime64[us, UTC]", "date": "object"}


def arrow_type(dtype: str) -> pa.DataType:
    """The Arrow type a bundle dtype is stored as."""
    return _ARROW[dtype]


@dataclass(frozen=True)
class Column:
    """One column of a table: a name and one of the bundle dtypes."""

    name: str
    dtype: DType

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            raise ValueError(f"column {self.name!r}: dtype must be one of {DTYPES}, got {self.dtype!r}")


@dataclass(frozen=True)
class TableSchema:
    """An ordered set of typed columns, convertible to an Arrow schema with pandas metadata."""

    columns: tuple[Column, ...]

    @classmethod
    def of(cls, columns: Iterable[tuple[str, DType] | Column]) -> TableSchema:
        cols = tuple(c if isinstance(c, Column) else Column(c[0], c[1]) for c in columns)
        names = [c.name for c in cols]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate column names in schema: {names}")
        return cls(cols)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def dtype(self, name: str) -> DType:
        for c in self.columns:
            if c.name == name:
                return c.dtype
        raise KeyError(name)

    def without(self, names: Iterable[str]) -> TableSchema:
        drop = set(names)
        return TableSchema(tuple(c for c in self.columns if c.name not in drop))

    @cached_property
    def arrow(self) -> pa.Schema:
        return _arrow_schema(self.columns)

    def empty(self) -> pa.Table:
        return self.arrow.empty_table()

    def table(self, data: TableData) -> pa.Table:
        """Coerce ``data`` (Arrow table, DataFrame, or name → array mapping) to this schema.

        Columns are taken by name and ordered as the schema says; a missing or unexpected
        column is an error, so a scheme cannot silently drop or add a column.
        """
        if not isinstance(data, pa.Table | Mapping):
            data = pa.Table.from_pandas(data, preserve_index=False)
        names = list(data.column_names) if isinstance(data, pa.Table) else list(data.keys())
        missing = [n for n in self.names if n not in names]
        extra = [n for n in names if n not in self.names]
        if missing or extra:
            raise ValueError(f"table columns do not match schema: missing {missing}, unexpected {extra}")
        arrays = []
        for col in self.columns:
            value = data.column(col.name) if isinstance(data, pa.Table) else data[col.name]
            arrays.append(_to_arrow(value, _ARROW[col.dtype]))
        return pa.Table.from_arrays(arrays, schema=self.arrow)


@lru_cache(maxsize=256)
def _arrow_schema(columns: tuple[Column, ...]) -> pa.Schema:
    """The Arrow schema of ``columns`` with its pandas metadata, built once per process: every
    shard derives its own table schemas, and building the metadata costs a pandas frame."""
    import pandas as pd  # pandas is slow to import; only schemas need its metadata

    empty = pd.DataFrame({c.name: pd.Series([], dtype=_PANDAS.get(c.dtype, c.dtype)) for c in columns})
    meta = pa.Schema.from_pandas(empty, preserve_index=False).metadata
    fields = [pa.field(c.name, _ARROW[c.dtype]) for c in columns]
    return pa.schema(fields, metadata=meta)


def _to_arrow(value: Any, typ: pa.DataType) -> pa.Array | pa.ChunkedArray:
    if isinstance(value, pa.ChunkedArray | pa.Array):
        return value if value.type == typ else value.cast(typ)
    if isinstance(value, np.ndarray) and value.dtype.kind == "O":
        return pa.array(value, type=typ, from_pandas=True)
    if isinstance(value, np.ndarray) and value.dtype.kind == "f" and typ != pa.float64():
        return pa.array(value, type=typ, from_pandas=True)
    if isinstance(value, np.ndarray | list | tuple):
        return pa.array(value, type=typ)
    return pa.array(value, type=typ, from_pandas=True)


def masked(values: np.ndarray, null: np.ndarray | None) -> pa.Array:
    """An Arrow array from numpy values with a boolean null mask (True = null)."""
    if null is None or not null.any():
        return pa.array(values)
    return pa.array(values, mask=null)
