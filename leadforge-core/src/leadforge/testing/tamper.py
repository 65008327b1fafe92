"""Ways a finished bundle gets tampered with, each of which ``validate`` must catch.

Each tamper works on a private copy and names the file a validation finding has to point at:
an edited table, relabelled training rows, an edited card or dictionary, a deleted table or
split, an added file, and (public bundles) a ``metadata/`` folder slipped in.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq


@dataclass(frozen=True)
class Tamper:
    """One tampering: what it does, the path findings must name, and how to apply it."""

    description: str
    target: str
    apply: Callable[[Path], None]


def tampers(manifest: Mapping[str, Any], public: bool) -> list[Tamper]:
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
    tables = sorted(_str_keys(manifest.get("tables")))
    if tables:
        rel = f"tables/{tables[0]}.parquet"
        copy = f"tables/{tables[0]}_copy.parquet"
        out += [
            Tamper(f"{rel} edited (rows reordered)", rel, lambda root: _rewrite(root / rel, _reverse)),
            Tamper(f"{rel} deleted", rel, lambda root: _delete(root / rel)),
            Tamper(f"an unlisted table {copy} added", copy, lambda root: _copy(root / rel, root / copy)),
        ]
    tasks = sorted(_str_keys(manifest.get("tasks")))
    if tasks:
        task = tasks[0]
        train, test = f"tasks/{task}/train.parquet", f"tasks/{task}/test.parquet"
        out += [
            Tamper(
                f"labels flipped in {train}",
                train,
                lambda root: _rewrite(root / train, lambda t: _flip_label(t, root / f"tasks/{task}")),
            ),
            Tamper(f"{test} deleted", test, lambda root: _delete(root / test)),
        ]
    if public:
        out.append(
            Tamper(
                "a metadata/ folder added to a public bundle",
                "metadata",
                lambda root: _write(root / "metadata" / "world_spec.json", b"{}"),
            )
        )
    return out


def _str_keys(section: Any) -> list[str]:
    return [k for k in section if isinstance(k, str)] if isinstance(section, dict) else []


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
    import json

    try:
        label = json.loads((task_dir / "task_manifest.json").read_text(encoding="utf-8"))["label_column"]
    except (OSError, ValueError, KeyError, TypeError):
        return _reverse(table)
    if label not in table.column_names:
        return _reverse(table)
    col = table.column(label)
    if pa.types.is_boolean(col.type):
        flipped = pc.invert(col)
    elif pa.types.is_integer(col.type) or pa.types.is_floating(col.type):
        flipped = pc.add(col, pa.scalar(1, col.type))
    else:
        return _reverse(table)
    return table.set_column(table.column_names.index(label), label, flipped)
