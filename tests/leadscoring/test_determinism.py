"""Same config, same bytes; shards depend on the config alone, not on how they are scheduled."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from leadforge_leadscoring.world import SimulatedShard
from leadscoring_support import SMALL, TIMESTAMP, generator, make_world


def tree_hashes(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_two_runs_are_byte_identical(tmp_path: Path) -> None:
    for mode in ("research_instructor", "student_public"):
        a, b = tmp_path / f"{mode}-a", tmp_path / f"{mode}-b"
        generator(7, mode, **SMALL).generate().save(a, generation_timestamp=TIMESTAMP)
        generator(7, mode, **SMALL).generate().save(b, generation_timestamp=TIMESTAMP)
        ha, hb = tree_hashes(a), tree_hashes(b)
        assert ha == hb
        assert "manifest.json" in ha and any(k.startswith("tables/") for k in ha)


def test_a_different_seed_changes_the_data(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    generator(7, **SMALL).generate().save(a, generation_timestamp=TIMESTAMP)
    generator(8, **SMALL).generate().save(b, generation_timestamp=TIMESTAMP)
    touches = [h for h in tree_hashes(a) if h.startswith("tables/touches")]
    assert touches and all(tree_hashes(a)[h] != tree_hashes(b)[h] for h in touches)


def _same(x: SimulatedShard, y: SimulatedShard) -> None:
    assert x.shard == y.shard
    np.testing.assert_array_equal(x.states.history, y.states.history)
    np.testing.assert_array_equal(x.acv, y.acv)
    for kind in ("touches", "sessions", "activities"):
        ex, ey = getattr(x.events, kind), getattr(y.events, kind)
        for field in ex.__dataclass_fields__:
            np.testing.assert_array_equal(getattr(ex, field), getattr(ey, field))


def test_shards_are_independent_of_scheduling_order() -> None:
    world = make_world(**SMALL)
    assert len(world.plan) >= 3
    forward = [world.simulate(s) for s in world.plan]
    backward = [world.simulate(s) for s in reversed(world.plan)][::-1]
    for x, y in zip(forward, backward, strict=True):
        _same(x, y)


def test_shard_plan_depends_on_config_only() -> None:
    a = make_world(**SMALL).plan
    b = make_world(**SMALL).plan
    assert a == b
    assert sum(s.n_leads for s in a) == SMALL["n_leads"]
    assert sum(s.n_accounts for s in a) == SMALL["n_accounts"]
    assert all(s.n_accounts <= SMALL["shard_accounts"] for s in a)


def test_a_public_manifest_is_enough_to_rebuild_its_bundle(tmp_path: Path) -> None:
    """Every knob that changes the data (shard size included) is in the public manifest."""
    import json

    first = tmp_path / "first"
    generator(7, "student_public", **{**SMALL, "shard_accounts": 77}).generate().save(
        first, generation_timestamp=TIMESTAMP
    )
    m = json.loads((first / "manifest.json").read_text())
    knobs = ("n_accounts", "n_contacts", "n_leads", "horizon_days", "primary_task")
    knobs += ("label_window_days", "snapshot_day", "shard_accounts")
    again = tmp_path / "again"
    generator(m["seed"], m["exposure_mode"], m["difficulty"], **{k: m[k] for k in knobs}).generate().save(
        again, generation_timestamp=TIMESTAMP
    )
    assert tree_hashes(first) == tree_hashes(again)
