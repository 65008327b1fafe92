"""Helpers for the export and load tests: small lead-scoring bundles, and a partitioned copy."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from leadforge.bundle.manifest import SPLITS, Manifest, part_name, parts_digest

RECIPE = "b2b_saas_procurement_v1"
SIZES = {"n_accounts": 90, "n_contacts": 250, "n_leads": 300}
MODES = ("student_public", "research_instructor")


def make_bundle(out: Path, mode: str, seed: int = 7, **params: Any) -> Path:
    from leadforge.api import Generator

    gen = Generator.from_recipe(RECIPE, seed=seed, exposure_mode=mode, **{**SIZES, **params})
    return gen.generate().save(out, generation_timestamp="2026-01-01T00:00:00+00:00")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _split_file(root: Path, rel: str, folder: str, count: int) -> list[str]:
    """Cut ``rel`` into ``count`` parts under ``folder`` (the last ones may be empty)."""
    table = pq.read_table(root / rel)
    (root / rel).unlink()
    (root / folder).mkdir(parents=True, exist_ok=True)
    step = -(-table.num_rows // max(count - 1, 1))
    parts = []
    for i in range(count):
        part_rel = f"{folder}/{part_name(i)}"
        pq.write_table(table.slice(min(i * step, table.num_rows), step), root / part_rel)
        parts.append(part_rel)
    return parts


def partitioned_copy(src: Path, dst: Path, count: int = 3) -> Path:
    """A copy of the single-file bundle ``src`` in the multi-shard layout, manifest rewritten."""
    shutil.copytree(src, dst)
    raw = json.loads((dst / "manifest.json").read_text())
    files = raw["files"]
    for name, entry in raw["tables"].items():
        files.pop(entry["file"])
        parts = _split_file(dst, entry["file"], f"tables/{name}", count)
        for p in parts:
            files[p] = {"sha256": _sha(dst / p), "size": (dst / p).stat().st_size}
        entry.update(
            file=f"tables/{name}", parts=parts, sha256=parts_digest([files[p]["sha256"] for p in parts])
        )
    for task_id, entry in raw["tasks"].items():
        entry["parts"] = {}
        for s in SPLITS:
            rel = f"tasks/{task_id}/{s}.parquet"
            files.pop(rel)
            parts = _split_file(dst, rel, f"tasks/{task_id}/{s}", count)
            for p in parts:
                files[p] = {"sha256": _sha(dst / p), "size": (dst / p).stat().st_size}
            entry["parts"][s] = parts
            entry[f"{s}_sha256"] = parts_digest([files[p]["sha256"] for p in parts])
    raw["files"] = dict(sorted(files.items()))
    (dst / "manifest.json").write_text(json.dumps(raw, indent=2))
    return dst


def bundle_table(root: Path, name: str) -> pa.Table:
    """A table as the bundle holds it, read straight from its file(s) (either layout)."""
    m = Manifest.load(root)
    return pa.concat_tables([pq.read_table(root / rel) for rel in m.table_files(name)])


def bundle_split(root: Path, task_id: str, split: str) -> pa.Table:
    m = Manifest.load(root)
    return pa.concat_tables([pq.read_table(root / rel) for rel in m.split_files(task_id, split)])
