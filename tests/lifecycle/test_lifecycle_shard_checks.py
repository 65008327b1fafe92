"""Lifecycle's row checks run one shard at a time yet report what a whole-bundle run reports.

A sound multi-shard bundle is checked shard by shard (each shard's customers with their rows
and task rows); once a shard has findings the checks run on the whole bundle, so a defect
planted in one part is reported exactly as in a bundle whose tables are single files.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from leadforge.api import Generator
from leadforge.bundle.manifest import Manifest, parts_digest
from leadforge.bundle.reader import BundleView
from leadforge.plugins import get_host
from leadforge.validation import validate_bundle
from leadforge_lifecycle.checks import run
from leadforge_lifecycle.checks.frames import Context

RECIPE = "b2b_saas_ltv_v1"
SIZES: dict[str, Any] = {"seed": 7, "n_customers": 400, "shard_size": 150}


@pytest.fixture(scope="module")
def sharded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("lifecycle-shards") / "b"
    return Generator.from_recipe(RECIPE, exposure_mode="research_instructor", **SIZES).generate().save(out)


def _collapse(root: Path, base: str) -> None:
    """Rewrite a partitioned table or split as one file (same rows, in part order)."""
    raw = json.loads((root / "manifest.json").read_text())
    parts = sorted(p.relative_to(root).as_posix() for p in (root / base).glob("part-*.parquet"))
    pq.write_table(pa.concat_tables([pq.read_table(root / p) for p in parts]), root / f"{base}.parquet")
    shutil.rmtree(root / base)
    for p in parts:
        raw["files"].pop(p)
    data = (root / f"{base}.parquet").read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    raw["files"][f"{base}.parquet"] = {"sha256": sha, "size": len(data)}
    if base.startswith("tables/"):
        entry = raw["tables"][base.split("/")[1]]
        entry.update(file=f"{base}.parquet", sha256=sha)
        entry.pop("parts")
    else:
        _, task, split = base.split("/")
        raw["tasks"][task]["parts"].pop(split)
        raw["tasks"][task][f"{split}_sha256"] = sha
    (root / "manifest.json").write_text(json.dumps(raw, indent=2))


def _plant(root: Path) -> None:
    """Raise one event's MRR in the second part of the events table (rehashed)."""
    rel = BundleView(root, Manifest.load(root)).table_files("subscription_events")[1]
    t = pq.read_table(root / rel)
    i = t.schema.get_field_index("mrr_before")
    t = t.set_column(i, "mrr_before", pc.add(t.column(i), pa.scalar(1, t.schema.field(i).type)))
    pq.write_table(t, root / rel)
    raw = json.loads((root / "manifest.json").read_text())
    data = (root / rel).read_bytes()
    raw["files"][rel] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    entry = raw["tables"]["subscription_events"]
    entry["sha256"] = parts_digest([raw["files"][p]["sha256"] for p in entry["parts"]])
    (root / "manifest.json").write_text(json.dumps(raw, indent=2))


def test_a_sharded_bundle_is_checked_shard_by_shard(sharded: Path) -> None:
    manifest = Manifest.load(sharded)
    ctx = Context(BundleView(sharded, manifest), manifest)
    shards = ctx.shards()
    assert shards is not None and shards > 1
    assert validate_bundle(sharded, get_host()).ok
    part = Context(BundleView(sharded, manifest), manifest, 1)
    assert part.customers.cust.size < ctx.customers.cust.size
    assert sum(Context(ctx.bundle, manifest, i).events.day.size for i in range(shards)) == ctx.events.day.size


def test_a_defect_in_one_shard_is_reported_as_in_single_files(sharded: Path, tmp_path: Path) -> None:
    parted = tmp_path / "parted"
    shutil.copytree(sharded, parted)
    _plant(parted)
    single = tmp_path / "single"
    shutil.copytree(parted, single)
    manifest = Manifest.load(single)
    for name in manifest.tables:
        if manifest.tables[name].parts:
            _collapse(single, f"tables/{name}")
    for task, entry in manifest.tasks.items():
        for split in entry.parts:
            _collapse(single, f"tasks/{task}/{split}")
    found = run(BundleView(parted, Manifest.load(parted)), Manifest.load(parted))
    alone = run(BundleView(single, Manifest.load(single)), Manifest.load(single))
    assert found and [f.message for f in found] == [f.message for f in alone]
    assert any("do not start at the previous MRR" in f.message for f in found), found


@pytest.mark.slow
def test_shards_are_checked_on_dask_workers_with_the_same_findings(sharded: Path, tmp_path: Path) -> None:
    pytest.importorskip("distributed", reason="needs leadforge-core[dask]")
    from leadforge.engine import open_engine

    parted = tmp_path / "parted"
    shutil.copytree(sharded, parted)
    _plant(parted)
    local = run(BundleView(parted, Manifest.load(parted)), Manifest.load(parted))
    with open_engine(2) as engine:
        clean = run(BundleView(sharded, Manifest.load(sharded), engine=engine), Manifest.load(sharded))
        remote = run(BundleView(parted, Manifest.load(parted), engine=engine), Manifest.load(parted))
    assert clean == [] and local and [f.message for f in remote] == [f.message for f in local]
