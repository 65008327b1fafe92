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
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from leadforge.bundle.manifest import Manifest
from leadforge.errors import BundleError
from leadforge.features import parse_dictionary

if TYPE_CHECKING:
    from leadforge.engine import Engine
    from leadforge.progress import Progress


#: Rows per streamed batch: a few int64 columns of it are a few MB.
BATCH_ROWS = 1 << 18
#: Part files a folder may hold before it is refused (a hostile folder must not cost unbounded work).
MAX_PARTS = 100_000


def joined_parts(parts: Sequence[pa.Table], rels: Sequence[str]) -> pa.Table:
    """A table's parts, read from ``rels`` in order, as one table (its parts must agree)."""
    if len(parts) == 1:
        return parts[0]
    try:
        return pa.concat_tables(parts)
    except pa.ArrowInvalid as exc:
        raise BundleError(f"the parts of {rels[0].rsplit('/', 1)[0]} differ in schema: {exc}") from None


@dataclass
class BundleView:
    """A bundle folder with error-wrapped readers (corrupt files become BundleError).

    Tables and task splits come in either layout: one file, or a folder of shard parts read in
    order. Checks of large tables stream them (:meth:`iter_batches`, a few columns a batch at a
    time) so memory does not grow with the bundle; nothing read is cached except Parquet
    footers. ``engine`` is where heavy per-part work may run (``None``: in this process) and
    ``progress`` hears about it; both only matter to checks that fan out over parts.
    """

    root: Path
    manifest: Manifest | None = None
    engine: Engine | None = field(default=None, repr=False)
    progress: Progress | None = field(default=None, repr=False)
    _schemas: dict[str, pa.Schema] = field(default_factory=dict, repr=False)

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

    def table_files(self, name: str) -> tuple[str, ...]:
        """The table's file or its parts in shard order, as the manifest lists them (on disk
        when the manifest does not know the table); empty when there is none."""
        if self.manifest is not None and name in self.manifest.tables:
            return self.manifest.table_files(name)
        return discover(self.root, f"tables/{name}")

    def split_files(self, task_id: str, split: str) -> tuple[str, ...]:
        """A task split's file or parts, as the manifest lists them (else as found on disk)."""
        if self.manifest is not None and task_id in self.manifest.tasks:
            return self.manifest.split_files(task_id, split)
        return discover(self.root, f"tasks/{task_id}/{split}")

    def has_table(self, name: str) -> bool:
        files = self.table_files(name)
        return bool(files) and all(self.exists(rel) for rel in files)

    def has_split(self, task_id: str, split: str) -> bool:
        files = self.split_files(task_id, split)
        return bool(files) and all(self.exists(rel) for rel in files)

    def schema(self, rel: str | Sequence[str]) -> pa.Schema:
        """A Parquet file's schema, from its footer only (of the first part, for a list)."""
        if not isinstance(rel, str):
            if not rel:
                raise BundleError("no files to read a schema from")
            rel = rel[0]
        if rel not in self._schemas:
            with reading(rel):
                self._schemas[rel] = pq.read_schema(self.path(rel))
        return self._schemas[rel]

    def num_rows(self, rels: str | Sequence[str]) -> int:
        """Rows of a file or of parts together, from their footers."""
        return sum(self.parquet_rows(rel) for rel in ([rels] if isinstance(rels, str) else rels))

    def parquet_rows(self, rel: str) -> int:
        with reading(rel):
            return int(pq.ParquetFile(self.path(rel)).metadata.num_rows)

    def iter_batches(
        self, rels: str | Sequence[str], columns: Sequence[str], *, batch_rows: int = BATCH_ROWS
    ) -> Iterator[pa.RecordBatch]:
        """``columns`` of the files in order, at most ``batch_rows`` rows at a time.

        A column a file lacks is a :class:`BundleError` naming the file: a check that streams
        has already checked the schema, so this is a damaged part.
        """
        for rel in [rels] if isinstance(rels, str) else rels:
            names = self.schema(rel).names
            missing = [c for c in columns if c not in names]
            if missing:
                raise BundleError(f"{rel} lacks column(s) {missing}")
            with reading(rel):
                pf = pq.ParquetFile(self.path(rel))
                yield from pf.iter_batches(batch_size=batch_rows, columns=list(columns), use_threads=False)

    def read_parquet(self, rel: str | Sequence[str], columns: Sequence[str] | None = None) -> pa.Table:
        """The file's (or parts') table, or only ``columns`` of it (names it lacks are skipped).

        For small tables and checks that need rows whole; large ones are streamed instead.
        """
        rels = [rel] if isinstance(rel, str) else list(rel)
        if not rels:
            raise BundleError("no files to read")
        schema = self.schema(rels[0])
        names = schema.names if columns is None else [c for c in columns if c in schema.names]
        parts = []
        for r in rels:
            with reading(r):
                parts.append(pq.read_table(self.path(r), columns=names, use_threads=False))
        return joined_parts(parts, rels)

    def table(self, name: str, columns: Sequence[str] | None = None) -> pa.Table:
        files = self.table_files(name)
        if not files:
            raise BundleError(f"missing file: tables/{name}.parquet")
        return self.read_parquet(files, columns)

    def split(self, task_id: str, split: str, columns: Sequence[str] | None = None) -> pa.Table:
        files = self.split_files(task_id, split)
        if not files:
            raise BundleError(f"missing file: tasks/{task_id}/{split}.parquet")
        return self.read_parquet(files, columns)

    def table_names(self) -> list[str]:
        """Tables on disk: ``tables/<name>.parquet`` files and ``tables/<name>/`` part folders."""
        folder = self.root / "tables"
        if folder.is_symlink() or not folder.is_dir():
            return []
        names = set()
        for p in folder.iterdir():
            mode = p.lstat().st_mode
            if stat.S_ISREG(mode) and p.name.endswith(".parquet"):
                names.add(p.name[: -len(".parquet")])
            elif stat.S_ISDIR(mode):
                names.add(p.name)
        return sorted(names)

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


def discover(root: Path, base: str) -> tuple[str, ...]:
    """``<base>.parquet`` if it is a file, else the sorted ``<base>/part-*.parquet`` parts of a
    real folder (never through a link); empty when neither is there."""
    single = f"{base}.parquet"
    try:
        confined(root, single)
        return (single,)
    except BundleError:
        pass
    folder = root / base
    try:
        if not stat.S_ISDIR(folder.lstat().st_mode):
            return ()
        confined_dir(root, base)
    except (OSError, BundleError):
        return ()
    parts = []
    with os.scandir(folder) as it:
        for entry in it:
            if entry.name.startswith("part-") and entry.name.endswith(".parquet"):
                parts.append(f"{base}/{entry.name}")
                if len(parts) > MAX_PARTS:
                    raise BundleError(f"{base} holds more than {MAX_PARTS} parts")
    return tuple(sorted(parts))


def confined_dir(root: Path, rel: str) -> Path:
    """``root/rel`` if it is a real folder reached through real folders inside ``root``."""
    path = root
    for part in rel.split("/"):
        if part in ("", ".", ".."):
            raise BundleError(f"{rel[:200]!r} is not a path inside the bundle")
        path = path / part
        try:
            mode = path.lstat().st_mode
        except OSError:
            raise BundleError(f"missing folder: {rel}") from None
        if not stat.S_ISDIR(mode):
            raise BundleError(f"{rel} is not a folder")
    return path


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
