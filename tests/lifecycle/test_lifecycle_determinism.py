"""Determinism: shards depend only on the config and their index, never on scheduling."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from leadforge.api import Generator
from leadforge.bundle import ID_BLOCK, BundleWriter
from leadforge.rng import RNG
from leadforge_lifecycle.catalog import CATALOG
from leadforge_lifecycle.contract import contract
from leadforge_lifecycle.tables import shard_tables
from leadforge_lifecycle.world import LifecycleWorld, Shard
from lifecycle_support import PINNED, RECIPE, SMALL, files, tree_hashes


def world(mode: str = "research_instructor") -> LifecycleWorld:
    w = Generator.from_recipe(RECIPE, exposure_mode=mode, **SMALL).generate().world
    assert isinstance(w, LifecycleWorld)
    return w


def same_shard(a: Shard, b: Shard) -> bool:
    ta, tb = a.trajectories, b.trajectories
    return (
        np.array_equal(a.customers.initial_mrr, b.customers.initial_mrr)
        and np.array_equal(a.health.active_users, b.health.active_users)
        and np.array_equal(ta.churn_week, tb.churn_week)
        and np.array_equal(ta.events.mrr_after, tb.events.mrr_after)
        and np.array_equal(ta.invoices.status, tb.invoices.status)
    )


def test_shards_do_not_depend_on_order_or_process() -> None:
    first = world()
    assert first.n_shards == 3
    forward = [first.simulate(k) for k in range(first.n_shards)]
    backward = [world().simulate(k) for k in reversed(range(first.n_shards))][::-1]
    assert all(same_shard(a, b) for a, b in zip(forward, backward, strict=True))
    assert not same_shard(forward[0], forward[1])


def lone_shard(w: LifecycleWorld, k: int, root: Path) -> pa.Table:
    """Public invoices of shard ``k`` written by a writer that sees no other shard."""
    config = w.config
    writer = BundleWriter(root, config, contract(config), split_salt=RNG(config.seed).key("task_split"))
    writer.declare_features(CATALOG)
    assert w.accounts.zone is not None
    times = w.rng.shard(k).generator("event_times")
    rows = shard_tables(w.simulate(k), w.calendar, w.accounts.zone, times, as_of_observation=writer.public)
    writer.write_shard(k, tables=rows)
    writer.write_dataset_card("lone shard")
    writer.finalize(timestamp=PINNED, plugins=(), package_version="0")
    return pq.read_table(root / "tables" / "invoices.parquet")


def test_a_shard_needs_no_other_shard(small_public: Path, tmp_path: Path) -> None:
    """A shard's public rows and ids are the same whether or not earlier shards were written:
    no running offset passes from shard to shard."""
    w = world("student_public")
    parts = files(small_public / "tables" / "invoices")
    assert len(parts) == w.n_shards == 3
    for k in (2, 1):
        alone = lone_shard(w, k, tmp_path / str(k))
        assert alone.equals(pq.read_table(parts[k])), k
        numbers = alone.column("invoice_id").to_pandas().str[4:].astype(int).to_numpy()
        assert (numbers == k * ID_BLOCK + np.arange(1, alone.num_rows + 1)).all()


def test_api_rerun_is_byte_identical(small_instructor: Path, tmp_path: Path) -> None:
    gen = Generator.from_recipe(RECIPE, exposure_mode="research_instructor", **SMALL)
    again = gen.generate().save(tmp_path / "again", generation_timestamp=PINNED)
    assert tree_hashes(again) == tree_hashes(small_instructor)


@pytest.mark.parametrize("seed", [8])
def test_another_seed_gives_another_world(small_instructor: Path, tmp_path: Path, seed: int) -> None:
    params = {**SMALL, "seed": seed}
    other = Generator.from_recipe(RECIPE, exposure_mode="research_instructor", **params).generate()
    path = other.save(tmp_path / "other", generation_timestamp=PINNED)
    a, b = tree_hashes(path), tree_hashes(small_instructor)
    assert a["tables/invoices/part-00000.parquet"] != b["tables/invoices/part-00000.parquet"]
