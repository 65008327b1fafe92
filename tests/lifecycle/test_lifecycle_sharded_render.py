"""Shards written through ``map_shards``: a picklable world, a streamed registry, bounded world-level tables."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from leadforge.api import Generator
from leadforge_lifecycle import metadata, render
from leadforge_lifecycle.families import FAMILIES, TRAITS
from leadforge_lifecycle.world import LifecycleWorld
from lifecycle_support import PINNED, RECIPE, SMALL, files, table, tree_hashes


def small_world() -> LifecycleWorld:
    w = Generator.from_recipe(RECIPE, exposure_mode="research_instructor", **SMALL).generate().world
    assert isinstance(w, LifecycleWorld)
    return w


def test_the_world_pickles_and_simulates_the_same_shards() -> None:
    """Workers get the world pickled once; the copy must simulate exactly what the original does."""
    w = small_world()
    copy = pickle.loads(pickle.dumps(w))
    assert copy.motif is FAMILIES[w.motif.name] and copy.mechanism == w.mechanism
    assert copy.config == w.config and copy.calibration == w.calibration
    assert np.array_equal(copy.accounts.budget_stability, w.accounts.budget_stability)
    a, b = w.simulate(2), copy.simulate(2)
    assert np.array_equal(a.trajectories.churn_week, b.trajectories.churn_week)
    assert np.array_equal(a.health.active_users, b.health.active_users)


def expected_registry(w: LifecycleWorld) -> bytes:
    """The registry built the plain way: one Python dict per entity, then ``json.dumps``."""
    a = w.accounts
    accounts = {
        f"acct_{i + 1:06d}": {
            "latent_budget_stability": round(float(a.budget_stability[i]), 6),
            "latent_organizational_stability": round(float(a.organizational_stability[i]), 6),
        }
        for i in range(len(a))
    }
    customers = {}
    for k in range(w.n_shards):
        block = w.customers(k)
        for j, number in enumerate(block.numbers):
            customers[f"cust_{number:06d}"] = {
                f"latent_{t}": round(float(block.latents.trait(t)[j]), 6) for t in TRAITS
            }
    registry = {"account_latents": accounts, "customer_latents": customers}
    return json.dumps(registry, indent=2).encode()


def test_the_streamed_registry_is_what_json_dumps_writes(small_instructor: Path) -> None:
    w = small_world()
    assert w.n_shards == 3
    assert (small_instructor / "metadata" / "latent_registry.json").read_bytes() == expected_registry(w)
    assert not any(p.name == ".parts" for p in small_instructor.rglob("*"))


def test_registry_numbers_are_spelled_as_json_dumps_spells_them() -> None:
    g = np.random.default_rng(3)
    edge = [0.0, 1.0, -0.0, 2.0, 1e-05, 5e-06, 2.5e-05, 0.0001, 4e-07, 123.5, 1e9, 3e12]
    values = np.concatenate([g.random(20_000), g.integers(0, 120, 200) / 1e6, edge])
    got = metadata.json_floats(values).to_pylist()
    assert got == [json.dumps(round(float(v), 6)) for v in values]
    with pytest.raises(ValueError, match="finite"):
        metadata.json_floats(np.array([np.nan]))


def test_accounts_in_blocks_give_the_same_table_and_registry(
    small_instructor: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """World-level accounts are rendered block by block; the block size changes row groups only."""
    monkeypatch.setattr(render, "ACCOUNT_BLOCK", 50)
    monkeypatch.setattr(metadata, "ACCOUNT_BLOCK", 40)
    gen = Generator.from_recipe(RECIPE, exposure_mode="research_instructor", **SMALL)
    out = gen.generate().save(tmp_path / "blocks", generation_timestamp=PINNED)
    n_accounts = len(table(out, "accounts"))
    assert pq.ParquetFile(out / "tables" / "accounts.parquet").metadata.num_row_groups == -(-n_accounts // 50)
    assert table(out, "accounts").equals(table(small_instructor, "accounts"))
    registry = "metadata/latent_registry.json"
    assert tree_hashes(out)[registry] == tree_hashes(small_instructor)[registry]
    parts = files(out / "tables" / "invoices")
    assert [p.name for p in parts] == [p.name for p in files(small_instructor / "tables" / "invoices")]


@pytest.mark.slow
def test_two_workers_write_the_same_bytes(small_instructor: Path, tmp_path: Path) -> None:
    gen = Generator.from_recipe(RECIPE, exposure_mode="research_instructor", **SMALL)
    out = gen.generate().save(tmp_path / "two", generation_timestamp=PINNED, workers=2)
    assert tree_hashes(out) == tree_hashes(small_instructor)
