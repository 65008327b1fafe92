"""The three lessons of a lead-scoring bundle: the trap leaks post-anchor touches, the public
tables reward feature engineering, and the next cohort is harder than a random split."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from leadforge_leadscoring import vocab as V
from leadforge_leadscoring.engine import commercial_fit, drift_share, source_lift
from leadforge_leadscoring.timing import lead_days
from leadscoring_support import SMALL, TIMESTAMP, generator, make_world
from lessons import Lesson, measure


def test_drift_moves_the_mechanisms_over_the_window_and_is_recorded() -> None:
    world = make_world(tier="intermediate", **SMALL)
    e = world.mechanisms.engine
    cal = world.vocab.calendar
    assert len(e.drift_days) == 2 and cal.start_day < e.drift_days[0] < e.drift_days[1] <= cal.end_day
    share = drift_share(np.array([cal.start_day, e.drift_days[0], e.drift_days[1], cal.end_day]), e)
    assert share.tolist() == [0.0, 0.0, 1.0, 1.0]
    sim = world.simulate(world.plan[0])
    codes = sim.population.lead_codes()
    n = sim.n_leads
    early = commercial_fit(codes, sim.acv, e, np.zeros(n)) + source_lift(codes, e, np.zeros(n))
    late = commercial_fit(codes, sim.acv, e, np.ones(n)) + source_lift(codes, e, np.ones(n))
    assert np.corrcoef(early, late)[0, 1] < 0.6
    summary = world.mechanisms.summary()["engine"]
    assert summary["drift_days"] and summary["fit_tables_late"] and summary["market_late"]
    intro = make_world(tier="intro", **SMALL).mechanisms.engine
    assert intro.drift_days == () and not drift_share(np.array([cal.end_day]), intro).any()


def test_touches_after_the_close_come_only_after_a_win_and_after_the_snapshot() -> None:
    world = make_world(tier="intermediate", **SMALL)
    sim = world.simulate(world.plan[0])
    t = sim.events.touches
    day = lead_days(sim.times.touches, t.lead, sim.population)
    end = sim.states.end_day[t.lead]
    after = (end >= 0) & (day > end + 1)
    won = sim.converted[t.lead]
    lost_opportunity = (sim.states.final == V.CLOSED_LOST) & (sim.states.sql_day >= 0)
    assert after[won].sum() > 2 * sim.converted.sum()
    assert not (after & lost_opportunity[t.lead] & (t.day > sim.states.end_day[t.lead])).any()
    assert day[won & after].min() > world.params.feature_window


def test_activity_outcomes_follow_the_deals_prospects() -> None:
    world = make_world(tier="advanced", **SMALL)
    sim = world.simulate(world.plan[0])
    a = sim.events.activities
    good = np.isin(
        a.outcome, [V.ACTIVITY_OUTCOMES.index(x) for x in ("connected", "meeting_set", "demo_completed")]
    )
    strong = sim.prospects[a.lead] > np.median(sim.prospects)
    assert good[strong].mean() > good[~strong].mean() + 0.1
    # the prospects are the close-won hazard on the world's scale: the same ranking, any shard
    logged_win = np.log(sim.hazards.win)
    uncapped = sim.hazards.win < world.mechanisms.engine.win_cap
    assert np.corrcoef(sim.prospects[uncapped], logged_win[uncapped])[0, 1] > 0.999
    e = world.mechanisms.engine
    assert e.prospect_scale > 0 and abs(float(np.mean(sim.prospects))) < 0.5


@cache
def lesson(tier: str, seed: int) -> Lesson:
    (out,) = measure("lead_scoring", tier, seed)
    return out


@pytest.mark.slow
@pytest.mark.parametrize(("tier", "seed"), [("intro", 42), ("intermediate", 43), ("advanced", 44)])
def test_the_trap_lifts_both_models(tier: str, seed: int) -> None:
    x = lesson(tier, seed)
    assert x.trap_lr >= 0.03 and x.trap_gbm >= 0.03, x


@pytest.mark.slow
@pytest.mark.parametrize(("tier", "seed"), [("intermediate", 43), ("advanced", 44)])
def test_relational_features_beat_the_snapshot(tier: str, seed: int) -> None:
    x = lesson(tier, seed)
    assert x.relational_gbm >= 0.015, x


@pytest.mark.slow
@pytest.mark.parametrize(("tier", "seed"), [("intermediate", 43), ("advanced", 44)])
def test_the_next_cohort_is_harder_than_a_random_split(tier: str, seed: int) -> None:
    x = lesson(tier, seed)
    assert x.out_of_time_lr >= 0.03 and x.out_of_time_gbm >= 0.03, x


@pytest.mark.parametrize("tier", ["intermediate", "advanced"])
def test_the_public_card_states_what_the_tables_add(tmp_path: Path, tier: str) -> None:
    root = (
        generator(43, "student_public", tier).generate().save(tmp_path / "b", generation_timestamp=TIMESTAMP)
    )
    card = (root / "dataset_card.md").read_text()
    row = next(line for line in card.splitlines() if line.startswith("| converted_within_90_days |"))
    gain = float(re.findall(r"\(([+-][0-9.]+)\)", row)[-1])
    assert "features from the tables" in card and gain >= 0.01, row  # visible with the card's own model
