"""Files that hash themselves as they stream to disk, so no bundle file is ever read back to hash it."""

from __future__ import annotations

import hashlib
import io
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq


@dataclass(frozen=True)
class Written:
    """What a finished file holds: rows (Parquet only), SHA-256 and size in bytes."""

    rows: int
    sha256: str
    size: int


class HashingFile(io.RawIOBase):
    """A write-only file that hashes and counts bytes as they stream to disk."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._f = open(path, "wb")  # noqa: SIM115 - closed in close()
        self.sha = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        data = bytes(b)
        self._f.write(data)
        self.sha.update(data)
        self.size += len(data)
        return len(data)

    def tell(self) -> int:
        return self.size

    def close(self) -> None:
        if not self.closed:
            self._f.close()
        super().close()


class ParquetFile:
    """A Parquet file appended to row group by row group, cast to its one schema."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.path = path
        self.schema = schema
        self.raw = HashingFile(path)
        self.writer = pq.ParquetWriter(self.raw, schema, compression="snappy")
        self.rows = 0

    def write(self, table: pa.Table) -> None:
        if table.num_rows:
            self.writer.write_table(table if table.schema == self.schema else table.cast(self.schema))
            self.rows += table.num_rows

    def close(self) -> Written:
        self.writer.close()
        self.raw.close()
        return Written(self.rows, self.raw.sha.hexdigest(), self.raw.size)

    def abort(self) -> None:
        """Release the file after a failure, quietly (its folder is about to be removed)."""
        with suppress(Exception):
            self.writer.close()
        with suppress(Exception):
            self.raw.close()


def write_parquet(path: Path, schema: pa.Schema, table: pa.Table | None) -> Written:
    """One whole Parquet file (a shard part): one row group, possibly none."""
    path.parent.mkdir(parents=True, exist_ok=True)
    out = ParquetFile(path, schema)
    try:
        if table is not None:
            out.write(table)
        return out.close()
    except BaseException:
        out.abort()
        raise
