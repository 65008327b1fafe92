"""Hazards respond as designed: pure-function behaviour, and the same effects in a simulated world."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from leadforge.api import Generator
from leadforge_lifecycle import calendar, hazards
from leadforge_lifecycle.engine import CHURN, FAILURE, NON_RENEWAL, PAYMENT_CHURN, RECOVERED
from leadforge_lifecycle.families import FAMILIES
from leadforge_lifecycle.latents import Latents
from leadforge_lifecycle.mechanism import Mechanism, Multipliers
from leadforge_lifecycle.world import LifecycleWorld
from lifecycle_support import RECIPE

N = 4


def neutral(n: int = N) -> Latents:
    return Latents(*(np.full(n, 0.5) for _ in range(5)))


@pytest.fixture(scope="module")
def mech() -> Mechanism:
    return Mechanism.build(FAMILIES["relationship_led_retention"], 0.7, Multipliers(1.0, 1.0, 1.0))


@pytest.fixture(scope="module")
def props(mech: Mechanism) -> hazards.Propensities:
    return hazards.Propensities.of(mech, neutral())


def churn(mech: Mechanism, p: hazards.Propensities, **state: object) -> float:
    args = {
        "week": 20,
        "renewal": np.zeros(N, dtype=bool),
        "distress": np.zeros(N),
        "depth_level": np.full(N, hazards.DEPTH_REFERENCE),
        "tickets_4w": np.zeros(N),
        "dunning": np.zeros(N, dtype=bool),
    }
    args.update({k: np.full(N, v) if k not in ("week",) else v for k, v in state.items()})
    return float(hazards.churn_probability(p, mech, **args)[0])  # type: ignore[arg-type]


def test_latent_multiplier_is_neutral_at_half_and_follows_the_sign() -> None:
    w = {"product_fit": -2.0}
    assert np.allclose(hazards.latent_multiplier(w, neutral()), 1.0)
    fit = neutral()
    low = Latents(
        np.full(N, 0.2),
        *(
            fit.trait(t)
            for t in (
                "adoption_velocity",
                "budget_stability",
                "champion_strength",
                "organizational_stability",
            )
        ),
    )
    assert (hazards.latent_multiplier(w, low) > 1.0).all()
    assert np.allclose(hazards.latent_multiplier(w, low, strength=0.0), 1.0)


def test_onboarding_and_renewal_calendar() -> None:
    assert hazards.onboarding_multiplier(0) == pytest.approx(2.5)
    assert hazards.onboarding_multiplier(4) < hazards.onboarding_multiplier(1) < 2.5


def test_billing_dates_and_term_ends_are_month_end_clamped_anniversaries() -> None:
    start = np.array([calendar.epoch_day(dt.date(2024, 1, 31)), calendar.epoch_day(dt.date(2024, 3, 15))])
    monthly = calendar.anniversary_offsets(start, np.array([1, 1]), 3)
    got = (start[:, None] + monthly).astype("datetime64[D]").astype(str).tolist()
    assert got == [["2024-02-29", "2024-03-31", "2024-04-30"], ["2024-04-15", "2024-05-15", "2024-06-15"]]
    ends = calendar.anniversary_offsets(start, np.array([12, 24]), 2)
    assert ends.tolist() == [[366, 731], [730, 1461]]
    day = np.array([365, 366, 0, 730])
    nxt = calendar.next_term_end(np.repeat(start, 2), np.array([12, 12, 24, 24]), day)
    assert nxt.tolist() == [366, 731, 730, 1461]


def test_churn_concentrates_on_term_ends() -> None:
    family = FAMILIES["relationship_led_retention"]
    loose = Mechanism.build(family, 0.7, Multipliers(1.0, 1.0, 1.0))
    tight = Mechanism.build(
        family, 0.7, Multipliers(1.0, 1.0, 1.0), midterm_churn_scale=0.1, renewal_churn_boost=8.0
    )
    p = hazards.Propensities.of(tight, neutral())
    assert churn(tight, p) == pytest.approx(0.1 * churn(loose, p))
    assert churn(tight, p, renewal=True) == pytest.approx(8.0 * churn(loose, p, renewal=True))


def test_churn_rises_with_a_sustained_slump_not_a_dip(mech: Mechanism, props: hazards.Propensities) -> None:
    calm = churn(mech, props)
    assert churn(mech, props, distress=0.3) == pytest.approx(calm)  # below the strain onset
    assert churn(mech, props, distress=0.7) > calm
    assert churn(mech, props, distress=1.0) > churn(mech, props, distress=0.7)


def test_churn_rises_with_shallow_usage_tickets_and_unresolved_dunning(
    mech: Mechanism, props: hazards.Propensities
) -> None:
    calm = churn(mech, props)
    assert churn(mech, props, depth_level=0.3) > calm > churn(mech, props, depth_level=0.8)
    assert churn(mech, props, tickets_4w=3.0) > calm
    assert churn(mech, props, dunning=True) == pytest.approx(calm * (1 + mech.dunning_churn_lift))
    renewal = churn(mech, props, renewal=True)
    assert renewal == pytest.approx(calm * props.renewal_factor[0])
    assert churn(mech, props, renewal=True, distress=1.0, week=0) <= hazards.PROBABILITY_CAP


def test_payment_trouble_clusters_and_write_offs_need_a_history(
    mech: Mechanism, props: hazards.Propensities
) -> None:
    quiet = hazards.payment_failure_probability(props, mech, np.zeros(N), np.zeros(N, dtype=bool))
    assert (
        hazards.payment_failure_probability(props, mech, np.ones(N), np.zeros(N, dtype=bool)) > quiet
    ).all()
    assert (
        hazards.payment_failure_probability(props, mech, np.zeros(N), np.ones(N, dtype=bool)) > quiet
    ).all()
    chance = hazards.recovery_probability(mech, np.array([1, 2, 3, 4]))
    assert chance[0] > mech.motif.payment.recovery_rate and (np.diff(chance) < 0).all()


def test_contraction_and_expansion_follow_health(mech: Mechanism, props: hazards.Propensities) -> None:
    assert (hazards.contraction_probability(props, mech, np.ones(N))
            > hazards.contraction_probability(props, mech, np.zeros(N))).all()  # fmt: skip
    mrr, ceiling = np.full(N, 1000.0), np.full(N, 6000.0)
    assert (hazards.expansion_probability(props, np.full(N, 0.9), mrr, ceiling)
            > hazards.expansion_probability(props, np.full(N, 0.2), mrr, ceiling)).all()  # fmt: skip


def test_expansion_dries_up_at_the_ceiling(props: hazards.Propensities) -> None:
    """An account with fewer seats left to add expands less often, and not at all at its ceiling."""
    depth, ceiling = np.full(N, 0.6), np.full(N, 6000.0)
    chances = [hazards.expansion_probability(props, depth, np.full(N, m), ceiling) for m in (1e3, 3e3, 5e3)]
    assert (chances[0] > chances[1]).all() and (chances[1] > chances[2]).all()
    assert (hazards.expansion_probability(props, depth, np.full(N, 6000.0), ceiling) == 0).all()
    assert (hazards.expansion_probability(props, depth, np.full(N, 9000.0), ceiling) == 0).all()


@pytest.fixture(scope="module")
def world() -> LifecycleWorld:
    gen = Generator.from_recipe(
        RECIPE, seed=42, exposure_mode="research_instructor", difficulty="intro", n_customers=6000
    )
    w = gen.generate().world
    assert isinstance(w, LifecycleWorld)
    return w


def test_slumping_customers_churn_more_in_the_simulation(world: LifecycleWorld) -> None:
    """Customer-weeks deep in a slump end in churn far more often than healthy ones."""
    shard = world.simulate(0)
    t, h = shard.trajectories, shard.health
    weeks = np.arange(h.distress.shape[1])
    lived = weeks[None, :] <= t.last_week[:, None]
    chose = (t.churn_reason >= 0) & (t.churn_reason != PAYMENT_CHURN)
    churn_week = np.where(chose, t.churn_week, -1)
    churned_now = weeks[None, :] == churn_week[:, None]
    deep, calm = lived & (h.distress >= 0.8), lived & (h.distress < 0.05)
    assert deep.sum() > 200
    assert churned_now[deep].mean() > 5 * churned_now[calm].mean()


def test_unrecovered_failures_raise_churn_in_the_simulation(world: LifecycleWorld) -> None:
    """Mid-term churn is likelier while a failed invoice sits in dunning than otherwise (term-end
    weeks, where the renewal decision dominates, are left out)."""
    shard = world.simulate(0)
    t = shard.trajectories
    ev = t.events
    n_weeks = shard.health.distress.shape[1]
    dunning = np.zeros((len(shard.customers), n_weeks), dtype=bool)
    dun = world.mechanism.motif.payment.dunning_weeks
    for c, w in zip(ev.customer[ev.kind == FAILURE], ev.week[ev.kind == FAILURE], strict=True):
        dunning[c, w + 1 : w + dun] = True  # the churn draw precedes the invoice, and resolution the draw
    weeks = np.arange(n_weeks)
    lived = weeks[None, :] <= t.last_week[:, None]
    ends = t.term_end_day // 7
    for k in range(ends.shape[1]):
        inside = ends[:, k] < n_weeks
        lived[np.flatnonzero(inside), ends[inside, k]] = False
    vol = (ev.kind == CHURN) & ~np.isin(ev.customer, np.flatnonzero(t.churn_reason == PAYMENT_CHURN))
    churned_now = np.zeros_like(dunning)
    churned_now[ev.customer[vol], ev.week[vol]] = True
    assert dunning[lived].sum() > 100
    assert churned_now[lived & dunning].mean() > 1.5 * churned_now[lived & ~dunning].mean()
    assert (ev.kind == RECOVERED).any()


def test_detractors_decline_to_renew_by_the_tier_lift(props: hazards.Propensities) -> None:
    """The lift multiplies the renewal decision of a true detractor only, never a mid-term week."""
    lifted = Mechanism.build(
        FAMILIES["relationship_led_retention"], 0.7, Multipliers(1.0, 1.0, 1.0), detractor_renewal_lift=3.0
    )
    detractor = np.array([True, False, True, False])
    renewal = np.array([True, True, False, False])
    state = {
        "week": 20,
        "distress": np.zeros(N),
        "depth_level": np.full(N, hazards.DEPTH_REFERENCE),
        "tickets_4w": np.zeros(N),
        "dunning": np.zeros(N, dtype=bool),
    }
    base = hazards.churn_probability(props, lifted, renewal=renewal, **state)  # type: ignore[arg-type]
    prob = hazards.churn_probability(props, lifted, renewal=renewal, detractor=detractor, **state)  # type: ignore[arg-type]
    assert prob[0] == pytest.approx(3.0 * base[0])
    assert prob[1:].tolist() == base[1:].tolist()


def test_hidden_sentiment_moves_answers_and_detractors_churn_more() -> None:
    """With ``sentiment_sd`` > 0 (advanced), true detractors answer lower and, at the renewal
    decision, leave more often; the tiers without it draw no sentiment at all."""
    gen = Generator.from_recipe(RECIPE, seed=7, difficulty="advanced", n_customers=3000)
    w = gen.generate().world
    assert isinstance(w, LifecycleWorld) and w.mechanism.sentiment_sd > 0
    shard = w.simulate(0)
    h, t = shard.health, shard.trajectories
    answered = h.nps >= 0
    mean_answer = np.where(answered, h.nps, 0).sum(axis=1) / np.maximum(answered.sum(axis=1), 1)
    some = answered.any(axis=1)
    assert 0.05 < h.detractor.mean() < 0.5
    assert mean_answer[some & h.detractor].mean() < mean_answer[some & ~h.detractor].mean() - 1.0
    left = t.churn_reason == NON_RENEWAL
    assert left[h.detractor].mean() > 1.5 * left[~h.detractor].mean()
    intro = Generator.from_recipe(RECIPE, seed=7, difficulty="intro", n_customers=300).generate().world
    assert isinstance(intro, LifecycleWorld) and intro.mechanism.sentiment_sd == 0.0
