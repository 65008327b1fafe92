"""Reading a finished bundle: lazy, error-wrapped access to its files (the manifest: :mod:`.manifest`)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from leadforge.bundle.manifest import Manifest
from leadforge.errors import BundleError
from leadforge.features import parse_dictionary


@dataclass
class BundleView:
    """A bundle folder with cached, error-wrapped readers (corrupt files become BundleError).

    Parquet is read column by column and each column is cached once: a check that needs two
    key columns of a ten-million-row event table reads those two, so validating a large bundle
    costs the columns the checks touch, not every table held whole.
    """

    root: Path
    _schemas: dict[str, pa.Schema] = field(default_factory=dict, repr=False)
    _columns: dict[str, dict[str, pa.ChunkedArray]] = field(default_factory=dict, repr=False)

    def path(self, rel: str) -> Path:
        return self.root / rel

    def exists(self, rel: str) -> bool:
        return (self.root / rel).is_file()

    def schema(self, rel: str) -> pa.Schema:
        """The Parquet file's schema, from its footer only."""
        if rel not in self._schemas:
            with _reading(rel):
                self._schemas[rel] = pq.read_schema(self.root / rel)
        return self._schemas[rel]

    def read_parquet(self, rel: str, columns: Sequence[str] | None = None) -> pa.Table:
        """The file's table, or only ``columns`` of it (names the file lacks are skipped)."""
        schema = self.schema(rel)
        names = schema.names if columns is None else [c for c in columns if c in schema.names]
        cache = self._columns.setdefault(rel, {})
        missing = [c for c in names if c not in cache]
        if missing:
            with _reading(rel):
                part = pq.read_table(self.root / rel, columns=missing)
            cache.update(zip(part.column_names, part.columns, strict=True))
        fields = [schema.field(c) for c in names]
        return pa.Table.from_arrays([cache[c] for c in names], schema=pa.schema(fields, schema.metadata))

    def parquet_rows(self, rel: str) -> int:
        with _reading(rel):
            return int(pq.ParquetFile(self.root / rel).metadata.num_rows)

    def table(self, name: str, columns: Sequence[str] | None = None) -> pa.Table:
        return self.read_parquet(f"tables/{name}.parquet", columns)

    def split(self, task_id: str, split: str, columns: Sequence[str] | None = None) -> pa.Table:
        return self.read_parquet(f"tasks/{task_id}/{split}.parquet", columns)

    def table_names(self) -> list[str]:
        folder = self.root / "tables"
        return sorted(p.stem for p in folder.glob("*.parquet")) if folder.is_dir() else []

    def text(self, rel: str) -> str:
        try:
            return (self.root / rel).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise BundleError(f"missing file: {rel}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise BundleError(f"{rel} is not readable text: {exc}") from None

    def json(self, rel: str) -> Any:
        try:
            return json.loads(self.text(rel))
        except json.JSONDecodeError as exc:
            raise BundleError(f"{rel} is not valid JSON: {exc}") from None

    @cached_property
    def dictionary(self) -> list[dict[str, str]]:
        try:
            return parse_dictionary(self.text("feature_dictionary.csv"))
        except ValueError as exc:
            raise BundleError(f"feature_dictionary.csv: {exc}") from None


@contextmanager
def _reading(rel: str) -> Iterator[None]:
    """Turn a missing or corrupt Parquet file into one BundleError naming it."""
    try:
        yield
    except FileNotFoundError:
        raise BundleError(f"missing file: {rel}") from None
    except (OSError, pa.ArrowException) as exc:
        raise BundleError(f"{rel} is not a readable Parquet file: {exc}") from None


__all__ = ["BundleView", "Manifest"]
