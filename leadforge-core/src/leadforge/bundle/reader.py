"""Reading a finished bundle: lazy, error-wrapped access to its files (the manifest: :mod:`.manifest`)."""

from __future__ import annotations

import json
import os
import stat
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
        """``rel`` inside the bundle; :class:`BundleError` unless it names a regular file reached
        without leaving the bundle or following a link (bundles are untrusted input)."""
        return confined(self.root, rel)

    def exists(self, rel: str) -> bool:
        """Whether ``rel`` is a regular file inside the bundle (a link or special file is not)."""
        try:
            confined(self.root, rel)
        except BundleError:
            return False
        return True

    def schema(self, rel: str) -> pa.Schema:
        """The Parquet file's schema, from its footer only."""
        if rel not in self._schemas:
            with reading(rel):
                self._schemas[rel] = pq.read_schema(self.path(rel))
        return self._schemas[rel]

    def read_parquet(self, rel: str, columns: Sequence[str] | None = None) -> pa.Table:
        """The file's table, or only ``columns`` of it (names the file lacks are skipped)."""
        schema = self.schema(rel)
        names = schema.names if columns is None else [c for c in columns if c in schema.names]
        cache = self._columns.setdefault(rel, {})
        missing = [c for c in names if c not in cache]
        if missing:
            with reading(rel):
                part = pq.read_table(self.path(rel), columns=missing)
            cache.update(zip(part.column_names, part.columns, strict=True))
        fields = [schema.field(c) for c in names]
        return pa.Table.from_arrays([cache[c] for c in names], schema=pa.schema(fields, schema.metadata))

    def parquet_rows(self, rel: str) -> int:
        with reading(rel):
            return int(pq.ParquetFile(self.path(rel)).metadata.num_rows)

    def table(self, name: str, columns: Sequence[str] | None = None) -> pa.Table:
        return self.read_parquet(f"tables/{name}.parquet", columns)

    def split(self, task_id: str, split: str, columns: Sequence[str] | None = None) -> pa.Table:
        return self.read_parquet(f"tasks/{task_id}/{split}.parquet", columns)

    def table_names(self) -> list[str]:
        folder = self.root / "tables"
        return sorted(p.stem for p in folder.glob("*.parquet")) if folder.is_dir() else []

    def text(self, rel: str) -> str:
        try:
            path = self.path(rel)
            if path.stat().st_size > MAX_TEXT_BYTES:
                raise BundleError(f"{rel} is larger than {MAX_TEXT_BYTES} bytes")
            return path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise BundleError(f"missing file: {rel}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise BundleError(f"{rel} is not readable text: {exc}") from None

    def files(self) -> tuple[list[str], list[str]]:
        """Every regular file under the bundle (relative, sorted), and every link or special file.

        Links are never followed, so a link to a folder elsewhere contributes nothing but itself.
        """
        regular: list[str] = []
        odd: list[str] = []
        for folder, dirs, names in os.walk(self.root, followlinks=False):
            base = Path(folder)
            for name in [*names, *(d for d in dirs if (base / d).is_symlink())]:
                path = base / name
                rel = path.relative_to(self.root).as_posix()
                mode = path.lstat().st_mode
                (regular if stat.S_ISREG(mode) else odd).append(rel)
        return sorted(regular), sorted(odd)

    def json(self, rel: str) -> Any:
        try:
            return json.loads(self.text(rel))
        except (json.JSONDecodeError, RecursionError) as exc:
            raise BundleError(f"{rel} is not valid JSON: {exc}") from None

    @cached_property
    def dictionary(self) -> list[dict[str, str]]:
        try:
            return parse_dictionary(self.text("feature_dictionary.csv"))
        except ValueError as exc:
            raise BundleError(f"feature_dictionary.csv: {exc}") from None


MAX_TEXT_BYTES = 64 * 1024 * 1024


def confined(root: Path, rel: str) -> Path:
    """``root/rel`` if it is a regular file reached through real folders inside ``root``."""
    parts = rel.split("/")
    if (
        not rel
        or rel.startswith("/")
        or "\\" in rel
        or any(p in ("", ".", "..") for p in parts)
        or "\x00" in rel
    ):
        raise BundleError(f"{rel[:200]!r} is not a path inside the bundle")
    path = root
    for i, part in enumerate(parts):
        path = path / part
        try:
            mode = path.lstat().st_mode
        except FileNotFoundError:
            raise BundleError(f"missing file: {rel}") from None
        except OSError as exc:
            raise BundleError(f"cannot read {rel}: {exc.strerror or exc}") from None
        if stat.S_ISLNK(mode):
            raise BundleError(f"{rel} goes through a link; bundles are read without following links")
        last = i == len(parts) - 1
        if last and not stat.S_ISREG(mode):
            raise BundleError(f"{rel} is not a regular file")
        if not last and not stat.S_ISDIR(mode):
            raise BundleError(f"missing file: {rel}")
    return path


@contextmanager
def reading(rel: str) -> Iterator[None]:
    """Turn a missing or corrupt Parquet file into one BundleError naming it."""
    try:
        yield
    except FileNotFoundError:
        raise BundleError(f"missing file: {rel}") from None
    except (OSError, pa.ArrowException) as exc:
        raise BundleError(f"{rel} is not a readable Parquet file: {exc}") from None


__all__ = ["BundleView", "Manifest"]
