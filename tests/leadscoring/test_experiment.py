"""The designed experiment: a randomised policy for half the leads, a public arm, a known answer."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from leadforge.errors import UsageError
from leadforge_leadscoring.render import true_uplift
from leadforge_leadscoring.world import LeadScoringWorld
from leadscoring_support import LABEL, SMALL, TIMESTAMP, generator, table, task_rows, validate

FAST = "policy:follow_up_speed=2"


def save(root: Path, experiment: str | None, mode: str = "research_instructor", seed: int = 42) -> Path:
    gen = generator(seed, mode, **SMALL).with_experiment(experiment)
    gen.generate().save(root, generation_timestamp=TIMESTAMP)
    return root


def answer_keys(bundle: Path) -> pd.DataFrame:
    files = json.loads((bundle / "manifest.json").read_text())["oracles"][LABEL]["files"]
    return pd.concat([pd.read_parquet(bundle / f) for f in files], ignore_index=True).set_index("lead_id")


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("experiment")
    return {
        "instructor": save(root / "i", FAST),
        "public": save(root / "p", FAST, "student_public"),
        "none": save(root / "n", None),
    }


def test_the_arm_is_public_and_the_uplift_hidden(bundles: dict[str, Path]) -> None:
    for kind in ("instructor", "public"):
        b = bundles[kind]
        assert validate(b).ok, validate(b).errors
        leads, rows = table(b, "leads"), task_rows(b)
        assert str(leads["treatment"].dtype) == str(rows["treatment"].dtype) == "boolean"
        assert 0.4 < leads["treatment"].mean() < 0.6
        arm = leads.set_index("lead_id")["treatment"]
        assert (rows["treatment"] == arm.loc[rows.index]).all()
        assert "oracle_uplift" not in rows.columns
    assert not (bundles["public"] / "metadata").exists()
    key = answer_keys(bundles["instructor"])
    assert key["uplift"].notna().all() and key["uplift"].mean() > 0.02
    manifest = json.loads((bundles["instructor"] / "manifest.json").read_text())
    assert manifest["experiment"] == f"{FAST}@0.5"
    assert manifest["oracles"][LABEL]["uplift"] == "uplift"


def test_without_an_experiment_there_is_no_arm(bundles: dict[str, Path]) -> None:
    b = bundles["none"]
    assert "treatment" not in table(b, "leads").columns
    assert "treatment" not in task_rows(b).columns
    assert "uplift" not in answer_keys(b).columns


def test_the_arm_is_the_same_whatever_the_shard_plan(tmp_path: Path) -> None:
    """Assignment follows the lead's global number and the world seed, not its shard."""
    a = generator(42, **SMALL).with_experiment(FAST).generate().world
    b = generator(42, **{**SMALL, "shard_accounts": 1000}).with_experiment(FAST).generate().world
    assert isinstance(a, LeadScoringWorld) and isinstance(b, LeadScoringWorld)
    assert len(a.plan) > 1 and len(b.plan) == 1
    exp = a.config.experiment
    assert exp is not None
    n = SMALL["n_leads"]
    first = np.concatenate([exp.treated(s.lead_start + np.arange(s.n_leads), a.rng) for s in a.plan])
    assert np.array_equal(first, exp.treated(np.arange(n), b.rng))


def test_treated_leads_run_the_policy_and_control_leads_the_factual_one() -> None:
    world = generator(42, **SMALL).with_experiment(FAST).generate().world
    factual = generator(42, **SMALL).generate().world
    assert isinstance(world, LeadScoringWorld) and isinstance(factual, LeadScoringWorld)
    sim, base = world.simulate(world.plan[0]), factual.simulate(factual.plan[0])
    assert sim.arms is not None
    control = ~sim.arms.treated
    assert np.array_equal(sim.states.history[:, control], base.states.history[:, control])
    assert np.array_equal(sim.hazards.advance[:, control], base.hazards.advance[:, control])
    assert (sim.hazards.advance[:, sim.arms.treated] > base.hazards.advance[:, sim.arms.treated]).all()


def test_a_placebo_policy_has_no_uplift() -> None:
    """More touches change the features, not the funnel: the true uplift is exactly zero."""
    world = generator(42, **SMALL).with_experiment("policy:touch_cadence=3").generate().world
    assert isinstance(world, LeadScoringWorld)
    sim = world.simulate(world.plan[0])
    assert np.all(true_uplift(world, sim) == 0.0)


def test_only_policy_levers_can_be_randomised() -> None:
    with pytest.raises(UsageError, match="policy:follow_up_speed"):
        generator(42, **SMALL).with_experiment("node:conversion=1")


def _estimate(seed: int) -> tuple[float, float, float]:
    """Difference in means of the label between arms, its standard error, and the mean true uplift."""
    world = generator(seed, n_leads=2000).with_experiment(FAST).generate().world
    assert isinstance(world, LeadScoringWorld)
    p = world.params
    labels, arms, uplift = [], [], []
    for shard in world.plan:
        sim = world.simulate(shard)
        assert sim.arms is not None
        labels.append(sim.converted & (sim.states.end_day <= p.label_window_days))
        arms.append(sim.arms.treated)
        uplift.append(true_uplift(world, sim))
    y, t = np.concatenate(labels).astype(float), np.concatenate(arms)
    diff = y[t].mean() - y[~t].mean()
    se = np.sqrt(y[t].var(ddof=1) / t.sum() + y[~t].var(ddof=1) / (~t).sum())
    return float(diff), float(se), float(np.concatenate(uplift).mean())


@pytest.mark.slow
def test_the_difference_in_means_covers_the_true_average_effect() -> None:
    covered = 0
    for seed in range(20):
        diff, se, truth = _estimate(seed)
        covered += abs(diff - truth) <= 1.96 * se
    assert covered >= 18
