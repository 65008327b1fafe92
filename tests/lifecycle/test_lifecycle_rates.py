"""Difficulty acts on the world: every tier lands in its churn / expansion / still-active bands.

The rates are defined in ``leadforge_lifecycle.rates``; here they are re-measured from the
published instructor tables (so the definition is observable, not only internal), compared
with what the scheme recorded, and checked against the recipe's bands.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from leadforge.api import Generator
from leadforge_lifecycle import rates
from leadforge_lifecycle.engine import CHURN_REASONS
from leadforge_lifecycle.families import FAMILY_NAMES
from leadforge_lifecycle.params import LifecycleProfile
from lifecycle_support import RECIPE, days_from, table

TIERS = ("intro", "intermediate", "advanced")
#: "≈" for the still-active share: the target ± this much.
STILL_ACTIVE_TOLERANCE = 0.10


def bands(tier: str) -> LifecycleProfile:
    gen = Generator.from_recipe(RECIPE, difficulty=tier)
    profile = gen.config.profile
    assert isinstance(profile, LifecycleProfile)
    return profile


def assert_in_bands(counts: rates.RateCounts, profile: LifecycleProfile, label: str) -> None:
    lo, hi = profile.churn_band
    assert lo <= counts.first_year_churn <= hi, f"{label}: churn {counts.first_year_churn:.3f}"
    lo, hi = profile.expansion_band
    assert lo <= counts.expansion_rate <= hi, f"{label}: expansion {counts.expansion_rate:.3f}"
    gap = abs(counts.still_active_share - profile.still_active_share)
    assert gap <= STILL_ACTIVE_TOLERANCE, f"{label}: still-active {counts.still_active_share:.3f}"


def rates_from_tables(root: Path) -> rates.RateCounts:
    customers = table(root, "customers")
    subs = table(root, "subscriptions").set_index("customer_id").loc[customers.customer_id]
    events = table(root, "subscription_events")
    health = table(root, "health_signals")
    start = days_from(customers.customer_start_at, "2025-01-27")
    index = {c: i for i, c in enumerate(customers.customer_id)}
    churn_week = np.full(len(customers), -1)
    churned = subs.churn_at.notna().to_numpy()
    churn_week[churned] = (days_from(subs.churn_at[churned], "2025-01-27") - start[churned]) // 7
    reason = np.array([CHURN_REASONS.index(r) if isinstance(r, str) else -1 for r in subs.churn_reason])
    first = np.full(len(customers), -1)
    grow = events[events.event_type == "expansion"].groupby("customer_id").event_timestamp.min()
    rows = grow.index.map(index).to_numpy()
    first[rows] = (days_from(grow, "2025-01-27") - start[rows]) // 7
    who = health.customer_id.map(index).to_numpy()
    week = (days_from(health.period_start, "2025-01-27") - start[who]) // 7
    users = np.zeros((len(customers), week.max() + 1))
    users[who, week] = health.active_users.to_numpy(dtype=float)
    return rates.count(churn_week, reason, first, users)


def test_default_world_rates_from_tables(default_instructor: Path) -> None:
    counts = rates_from_tables(default_instructor)
    recorded = json.loads((default_instructor / "metadata" / "mechanism_summary.json").read_text())[
        "world_rates"
    ]
    assert counts.first_year_churn == pytest.approx(recorded["first_year_churn"], abs=1e-6)
    assert counts.expansion_rate == pytest.approx(recorded["expansion_rate"], abs=1e-6)
    assert counts.still_active_share == pytest.approx(recorded["still_active_share"], abs=1e-6)
    assert_in_bands(counts, bands("intermediate"), "seed 42 intermediate")


def test_tier_rates_seed_42(tier_bundles: dict[str, Path]) -> None:
    table_rates = {t: rates_from_tables(p) for t, p in tier_bundles.items()}
    for tier, counts in table_rates.items():
        assert_in_bands(counts, bands(tier), f"seed 42 {tier}")
    churn = [table_rates[t].first_year_churn for t in TIERS]
    expansion = [table_rates[t].expansion_rate for t in TIERS]
    still = [table_rates[t].still_active_share for t in TIERS]
    # the bands overlap (tiers differ by signal, not by how often customers leave): only intro,
    # whose churn announces itself and waits for renewal, must lose fewest customers
    assert churn[0] < min(churn[1:]) and still == sorted(still)
    # intermediate and advanced share one expansion band, so only intro must expand more
    assert expansion[0] > max(expansion[1:]) and abs(expansion[1] - expansion[2]) < 0.02


def simulated_rates(seed: int, tier: str, **params: object) -> rates.RateCounts:
    world = Generator.from_recipe(RECIPE, seed=seed, difficulty=tier, **params).generate().world
    total = rates.RateCounts()
    for shard in world.shards():
        total = total + rates.of_trajectories(shard.trajectories, shard.health.active_users)
    return total


@pytest.mark.slow
@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("seed", [42, 43, 44, 45, 46])
def test_tier_rates_every_seed(seed: int, tier: str) -> None:
    assert_in_bands(simulated_rates(seed, tier), bands(tier), f"seed {seed} {tier}")


@pytest.mark.slow
@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_tier_rates_every_family(family: str, tier: str) -> None:
    assert_in_bands(simulated_rates(42, tier, motif_family=family), bands(tier), f"{family} {tier}")
