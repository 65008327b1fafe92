"""Helpers shared by the lead_scoring tests: recipe, pinned timestamp, small sizes, generators."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from leadforge.api import Generator
from leadforge_leadscoring.world import LeadScoringWorld

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

RECIPE = "b2b_saas_procurement_v1"
TIMESTAMP = "2026-01-01T00:00:00+00:00"
#: Small but complete: several shards, enough leads for every stage and table to appear.
SMALL = {"n_accounts": 360, "n_contacts": 1000, "n_leads": 1200, "shard_accounts": 100}


def generator(
    seed: int = 42, mode: str = "research_instructor", tier: str = "intermediate", **params: Any
) -> Generator:
    return Generator.from_recipe(RECIPE, seed=seed, exposure_mode=mode, difficulty=tier, **params)


def make_world(seed: int = 42, tier: str = "intermediate", **params: Any) -> LeadScoringWorld:
    world = generator(seed, "research_instructor", tier, **params).generate().world
    assert isinstance(world, LeadScoringWorld)
    return world
