"""Helpers shared by the lead_scoring tests: recipe, pinned timestamp, small sizes, generators."""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from leadforge.api import Generator
from leadforge.bundle.reader import BundleView
from leadforge.plugins import get_host
from leadforge.validation import ValidationReport, validate_bundle
from leadforge_leadscoring.world import LeadScoringWorld

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

RECIPE = "b2b_saas_procurement_v1"
TIMESTAMP = "2026-01-01T00:00:00+00:00"
#: Small but complete: several shards, enough leads for every stage and table to appear.
SMALL = {"n_accounts": 360, "n_contacts": 1000, "n_leads": 1200, "shard_accounts": 100}
LABEL = "converted_within_90_days"


def generator(
    seed: int = 42, mode: str = "research_instructor", tier: str = "intermediate", **params: Any
) -> Generator:
    return Generator.from_recipe(RECIPE, seed=seed, exposure_mode=mode, difficulty=tier, **params)


def make_world(seed: int = 42, tier: str = "intermediate", **params: Any) -> LeadScoringWorld:
    world = generator(seed, "research_instructor", tier, **params).generate().world
    assert isinstance(world, LeadScoringWorld)
    return world


def validate(root: Path) -> ValidationReport:
    """Every installed plugin's checks (core's included) on the bundle at ``root``."""
    return validate_bundle(root, get_host())


def table(bundle: Path, name: str) -> pd.DataFrame:
    """A table whole, whichever layout it is written in (one file or shard parts)."""
    return BundleView(bundle).table(name).to_pandas()


def task_rows(bundle: Path, task: str = LABEL) -> pd.DataFrame:
    """The task's rows of all three splits (in file order), with a ``split`` column."""
    view = BundleView(bundle)
    return pd.concat(
        [view.split(task, s).to_pandas().assign(split=s) for s in ("train", "valid", "test")]
    ).set_index("lead_id")


def utc_day(values: pd.Series) -> pd.Series:
    """The UTC calendar day of a ``date32`` or ``timestamp[us, UTC]`` column (midnight, tz-aware),
    so days of both kinds subtract: the public cut's rule counts an event's UTC day."""
    return pd.to_datetime(values, utc=True).dt.floor("D")


def id_numbers(ids: pd.Series) -> pd.Series:
    return ids.str.extract(r"(\d+)$")[0].astype("int64")


def rehash(bundle: Path, rel: str) -> None:
    """Record an edited file's new hash, size and row count, so only the content checks can
    notice the edit (core's hash check would otherwise catch it first)."""
    path = bundle / rel
    manifest = json.loads((bundle / "manifest.json").read_text())
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    manifest["files"][rel] = {"sha256": sha, "size": path.stat().st_size}
    name = Path(rel).stem
    if rel.startswith("tables/") and name in manifest["tables"]:
        manifest["tables"][name].update({"sha256": sha, "row_count": pq.ParquetFile(path).metadata.num_rows})
    (bundle / "manifest.json").write_text(json.dumps(manifest, indent=2))


def tampered(bundle: Path, tmp_path: Path, name: str, edit: Callable[[pa.Table, Path], pa.Table]) -> Path:
    """A copy of ``bundle`` whose table ``name`` went through ``edit`` (and was rehashed)."""
    copy = tmp_path / "copy"
    shutil.copytree(bundle, copy)
    whole = BundleView(copy).table(name)
    single(copy, name)
    rel = f"tables/{name}.parquet"
    pq.write_table(edit(whole, copy), copy / rel)
    rehash(copy, rel)
    return copy


def single(bundle: Path, rel_or_name: str) -> None:
    """Turn a partitioned table (a name) or task split (``tasks/<task>/<split>``) back into one
    file at ``<...>.parquet``, manifest included, so an edit can be planted in one place."""
    manifest = json.loads((bundle / "manifest.json").read_text())
    base = rel_or_name if "/" in rel_or_name else f"tables/{rel_or_name}"
    folder = bundle / base
    if not folder.is_dir():
        return
    parts = sorted(p.relative_to(bundle).as_posix() for p in folder.glob("part-*.parquet"))
    pq.write_table(pa.concat_tables([pq.read_table(bundle / p) for p in parts]), bundle / f"{base}.parquet")
    shutil.rmtree(folder)
    for p in parts:
        manifest["files"].pop(p, None)
    if base.startswith("tables/"):
        entry = manifest["tables"][base.split("/", 1)[1]]
        entry.pop("parts", None)
        entry["file"] = f"{base}.parquet"
    else:
        _, task, split = base.split("/")
        manifest["tasks"][task].get("parts", {}).pop(split, None)
    (bundle / "manifest.json").write_text(json.dumps(manifest, indent=2))
    data = (bundle / f"{base}.parquet").read_bytes()
    manifest["files"][f"{base}.parquet"] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    if not base.startswith("tables/"):
        manifest["tasks"][task][f"{split}_sha256"] = manifest["files"][f"{base}.parquet"]["sha256"]
    (bundle / "manifest.json").write_text(json.dumps(manifest, indent=2))


def errors(bundle: Path) -> list[str]:
    """``where message`` of every error validation reports (core's hash check must stay quiet)."""
    report = validate(bundle)
    assert not any(f.check == "files" for f in report.errors), (
        "the rehash should keep core's hash check quiet"
    )
    return [f"{f.where} {f.message}" for f in report.errors]
