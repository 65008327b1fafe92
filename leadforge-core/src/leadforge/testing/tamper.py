"""Ways a finished bundle gets tampered with, each of which ``validate`` must catch.

Each tamper works on a private copy and names the file a validation finding has to point at:
an edited table, relabelled training rows, an edited card or dictionary, a deleted table or
split, an added file, and (public bundles) a ``metadata/`` folder slipped in. In a multi-shard
bundle the edits hit the first part of a table or split, which is the file findings name.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from leadforge.bundle.manifest import (
    MANIFEST,
    SPLITS,
    TASK_MANIFEST,
    Manifest,
    parse_task_manifest,
    part_name,
    parts_digest,
)


@dataclass(frozen=True)
class Tamper:
    """One tampering: what it does, the path findings must name, and how to apply it."""

    description: str
    target: str
    apply: Callable[[Path], None]


def tampers(manifest: Manifest) -> list[Tamper]:
    """The tamperings that apply to a bundle with this manifest."""
    out: list[Tamper] = [
        Tamper("dataset_card.md edited", "dataset_card.md", lambda root: _append(root / "dataset_card.md")),
        Tamper(
            "a row removed from feature_dictionary.csv",
            "feature_dictionary.csv",
            lambda root: _drop_last_line(root / "feature_dictionary.csv"),
        ),
        Tamper("an unlisted file added", "NOTES.txt", lambda root: _write(root / "NOTES.txt", b"added\n")),
    ]
    tables = sorted(manifest.tables)
    if tables:
        rel = manifest.table_files(tables[0])[0]  # a partitioned table's first part
        copy = f"tables/{tables[0]}_copy.parquet"
        out += [
            Tamper(f"{rel} edited (rows reordered)", rel, lambda root: _rewrite(root / rel, _reverse)),
            Tamper(f"{rel} deleted", rel, lambda root: _delete(root / rel)),
            Tamper(f"an unlisted table {copy} added", copy, lambda root: _copy(root / rel, root / copy)),
        ]
    tasks = sorted(manifest.tasks)
    if tasks:
        task = tasks[0]
        train, test = manifest.split_files(task, "train")[0], manifest.split_files(task, "test")[0]
        out += [
            Tamper(
                f"labels flipped in {train}",
                train,
                lambda root: _rewrite(root / train, lambda t: _flip_label(t, root / f"tasks/{task}")),
            ),
            Tamper(f"{test} deleted", test, lambda root: _delete(root / test)),
        ]
    if manifest.is_public:
        out.append(
            Tamper(
                "a metadata/ folder added to a public bundle",
                "metadata",
                lambda root: _write(root / "metadata" / "world_spec.json", b"{}"),
            )
        )
    return out


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _delete(path: Path) -> None:
    path.unlink()


def _copy(src: Path, dst: Path) -> None:
    shutil.copyfile(src, dst)


def _append(path: Path) -> None:
    with open(path, "ab") as fh:
        fh.write(b"\nEdited after generation.\n")


def _drop_last_line(path: Path) -> None:
    lines = path.read_bytes().rstrip(b"\n").split(b"\n")
    path.write_bytes(b"\n".join(lines[:-1]) + b"\n" if len(lines) > 1 else b"edited\n")


def _rewrite(path: Path, transform: Callable[[pa.Table], pa.Table]) -> None:
    """Rewrite a Parquet file through ``transform``; fall back to a raw byte edit if nothing changed."""
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    table = pq.read_table(path)
    pq.write_table(transform(table), path)
    if hashlib.sha256(path.read_bytes()).hexdigest() == before:
        _append(path)


def _reverse(table: pa.Table) -> pa.Table:
    return table.take(pa.array(range(table.num_rows - 1, -1, -1))) if table.num_rows > 1 else table


def _flip_label(table: pa.Table, task_dir: Path) -> pa.Table:
    try:
        raw = json.loads((task_dir / TASK_MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return _reverse(table)
    tm, _ = parse_task_manifest(raw, TASK_MANIFEST)
    if tm is None or tm.label_column not in table.column_names:
        return _reverse(table)
    label = tm.label_column
    col = table.column(label)
    if pa.types.is_boolean(col.type):
        flipped = pc.invert(col)
    elif pa.types.is_integer(col.type) or pa.types.is_floating(col.type):
        flipped = pc.add(col, pa.scalar(1, col.type))
    else:
        return _reverse(table)
    return table.set_column(table.column_names.index(label), label, flipped)


def partition(root: Path, parts: int) -> None:
    """Rewrite a single-file bundle in the multi-shard layout, manifest and hashes included.

    Every table and task split becomes ``parts`` consecutive slices (the last ones may be
    empty, as a shard with no rows is), so a reader or check can be tried on both layouts of
    the same rows without a scheme that writes shards.
    """
    manifest_path = root / MANIFEST
    raw = json.loads(manifest_path.read_text(encoding="utf-8"))
    files = raw["files"]

    def split_file(rel: str, base: str) -> tuple[list[str], str]:
        table = pq.read_table(root / rel)
        (root / rel).unlink()
        files.pop(rel, None)
        (root / base).mkdir()
        size = -(-table.num_rows // parts) if table.num_rows else 0
        names, digests = [], []
        for i in range(parts):
            part = f"{base}/{part_name(i)}"
            pq.write_table(table.slice(min(i * size, table.num_rows), size), root / part)
            data = (root / part).read_bytes()
            digests.append(hashlib.sha256(data).hexdigest())
            files[part] = {"sha256": digests[-1], "size": len(data)}
            names.append(part)
        return names, parts_digest(digests)

    for name, entry in raw["tables"].items():
        names, digest = split_file(entry["file"], f"tables/{name}")
        entry.update(file=f"tables/{name}", sha256=digest, parts=names)
    for task, entry in raw["tasks"].items():
        entry["parts"] = {}
        for split in SPLITS:
            names, digest = split_file(f"tasks/{task}/{split}.parquet", f"tasks/{task}/{split}")
            entry[f"{split}_sha256"] = digest
            entry["parts"][split] = names
    raw["files"] = dict(sorted(files.items()))
    manifest_path.write_text(json.dumps(raw, indent=2) + "\n", encoding="utf-8")
