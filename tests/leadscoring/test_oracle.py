"""The answer key: the exact oracle agrees with the engine it integrates, and with the labels."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from leadforge.rng import RNG
from leadforge.scoring import auc
from leadforge_leadscoring import oracle
from leadforge_leadscoring import vocab as V
from leadforge_leadscoring.engine import Hazards, simulate_states
from leadforge_leadscoring.mechanisms import EngineParams
from leadforge_leadscoring.render import answer_key
from leadforge_leadscoring.world import LeadScoringWorld, SimulatedShard
from leadscoring_support import LABEL, SMALL, generator, make_world, task_rows

COLUMN = oracle.COLUMN
Shard = tuple[LeadScoringWorld, SimulatedShard]


def answer_keys(bundle: Path) -> pd.DataFrame:
    """The bundle's ``metadata/oracle`` rows of the task, whichever layout (from the manifest)."""
    files = json.loads((bundle / "manifest.json").read_text())["oracles"][LABEL]["files"]
    return pd.concat([pd.read_parquet(bundle / f) for f in files], ignore_index=True)


def _tile(h: Hazards, reps: int) -> Hazards:
    return Hazards(
        np.repeat(h.advance, reps, axis=1), np.repeat(h.churn, reps, axis=1), np.repeat(h.win, reps)
    )


def _resimulate(
    h: Hazards, e: EngineParams, stage: np.ndarray, dwell: np.ndarray, days: range, reps: int, seed: int
) -> np.ndarray:
    """Monte Carlo from given states with fresh uniforms: ``reps`` futures per lead, stepped in
    the engine's order (churn, then advance or close-won after the minimum dwell)."""
    g = np.random.default_rng(seed)
    n = stage.size
    lead = np.repeat(np.arange(n), reps)
    st = np.repeat(stage, reps).astype(np.int64)
    dw = np.repeat(dwell, reps).astype(np.int64)
    min_dwell = np.asarray(e.min_dwell)
    for _ in days:
        uc = g.random(st.size, dtype=np.float32)
        us = g.random(st.size, dtype=np.float32)
        s = np.minimum(st, V.NEGOTIATION)
        active = st < V.OPEN_STAGES
        lost = active & (uc < h.churn[s, lead])
        st[lost] = V.CLOSED_LOST
        ready = active & ~lost & (dw >= min_dwell[s])
        at_neg = st == V.NEGOTIATION
        won = ready & at_neg & (us < h.win[lead])
        adv = ready & ~at_neg & (us < h.advance[np.minimum(s, V.PROPOSAL_SENT), lead])
        st[won] = V.CLOSED_WON
        st[adv] += 1
        dw[adv] = 0
        dw += 1
    return np.asarray((st == V.CLOSED_WON).reshape(n, reps).mean(axis=1))


@pytest.fixture(scope="module")
def shard() -> Shard:
    world = make_world(**SMALL)
    return world, world.simulate(world.plan[0])


def _stepped(h: Hazards, e: EngineParams, stage: np.ndarray, dwell: np.ndarray, days: int) -> np.ndarray:
    """The chain stepped literally: every (stage, dwell) state's mass moved day by day."""
    n, min_dwell = stage.size, [int(m) for m in e.min_dwell]
    offsets = np.cumsum((0, *(m + 1 for m in min_dwell)))
    mass = np.zeros((int(offsets[-1]), n))
    lead = np.flatnonzero(stage < V.OPEN_STAGES)
    k = stage[lead].astype(np.int64)
    mass[offsets[k] + np.minimum(dwell[lead], np.asarray(min_dwell)[k]), lead] = 1.0
    survive, advance, win = 1.0 - oracle._p(h.churn), oracle._p(h.advance), oracle._p(h.win)
    won = np.zeros(n)
    for _ in range(days):
        entering = np.zeros(n)
        for s, m in enumerate(min_dwell):
            block = mass[offsets[s] : offsets[s + 1]]
            ready = block[m] * survive[s]
            go = ready * (win if s == V.NEGOTIATION else advance[s])
            if m > 0:
                block[m] = block[m - 1] * survive[s] + ready - go
                block[1:m] = block[0 : m - 1] * survive[s]
                block[0] = 0.0
                block[min(1, m)] += entering
            else:
                block[0] = ready - go + entering
            if s == V.NEGOTIATION:
                won += go
            else:
                entering = go
    return won


@pytest.mark.parametrize("min_dwell", [None, (0, 1, 2, 0, 1, 5, 1), (1, 0, 0, 3, 0, 1, 0)])
def test_the_ring_of_arrivals_equals_the_chain_stepped_state_by_state(
    shard: Shard, min_dwell: tuple[int, ...] | None
) -> None:
    """The oracle books ageing mass ahead instead of moving it daily; from every stage and
    dwell (below, at and past each minimum, minimums of 0 and 1 included) it gives the
    literal chain's answer."""
    world, sim = shard
    e = world.mechanisms.engine
    if min_dwell is not None:
        e = dataclasses.replace(e, min_dwell=min_dwell)
    g = np.random.default_rng(3)
    n = sim.n_leads
    stage = g.integers(0, V.CLOSED_LOST + 1, n).astype(np.int8)
    dwell = g.integers(0, int(max(e.min_dwell)) + 3, n)
    closed = (stage == V.CLOSED_WON).astype(float)
    for first, last in ((0, 89), (31, 90), (5, 5), (9, 8)):
        got = oracle.conversion_probability(sim.hazards, e, stage, dwell, first, last, closed > 0)
        want = _stepped(sim.hazards, e, stage, dwell, max(0, last - first + 1))
        np.testing.assert_allclose(got, np.where(stage < V.OPEN_STAGES, want, closed), rtol=1e-12, atol=1e-15)
        assert last - first < 30 or want[stage < V.OPEN_STAGES].std() > 0.05  # not a constant


def test_from_creation_matches_the_engine_itself(shard: Shard) -> None:
    """The DP from day 0 equals the conversion rate of the real engine re-run with fresh draws."""
    world, sim = shard
    p, e = world.params, world.mechanisms.engine
    pick = np.arange(0, sim.n_leads, max(1, sim.n_leads // 150))[:150]
    h = Hazards(sim.hazards.advance[:, pick], sim.hazards.churn[:, pick], sim.hazards.win[pick])
    reps = 400
    states = simulate_states(_tile(h, reps), e, p.horizon_days, RNG(7).child("fresh"))
    won = (states.final == V.CLOSED_WON) & (states.end_day <= p.label_window_days)
    mc = won.reshape(pick.size, reps).mean(axis=1)
    dp = oracle.from_creation(h, e, p.horizon_days, p.label_window_days)
    se = np.sqrt(np.maximum(dp * (1 - dp), 1e-4) / reps)
    assert np.max(np.abs(mc - dp) / se) < 5
    assert abs(mc.mean() - dp.mean()) < 3 * np.sqrt(np.mean(se**2) / pick.size) + 1e-3
    assert dp.std() > 0.01  # leads differ: the check is not about a constant


def test_anchor_oracle_matches_a_resimulation_from_the_anchor_states(shard: Shard) -> None:
    world, sim = shard
    p, e = world.params, world.mechanisms.engine
    stage, dwell = oracle.anchor_state(sim.states, p.feature_window)
    open_ = np.flatnonzero(stage < V.OPEN_STAGES)
    assert open_.size > 100
    pick = open_[:200]
    h = Hazards(sim.hazards.advance[:, pick], sim.hazards.churn[:, pick], sim.hazards.win[pick])
    days = range(p.feature_window + 1, min(p.label_window_days, p.horizon_days - 1) + 1)
    reps = 400
    mc = _resimulate(h, e, stage[pick], dwell[pick], days, reps, seed=11)
    dp = answer_key(world, sim)[pick]
    se = np.sqrt(np.maximum(dp * (1 - dp), 1e-4) / reps)
    assert np.max(np.abs(mc - dp) / se) < 5
    assert dp.std() > 0.05


def test_dwell_is_the_days_spent_in_the_anchor_stage(shard: Shard) -> None:
    world, sim = shard
    w = world.params.feature_window
    stage, dwell = oracle.anchor_state(sim.states, w)
    hist = sim.states.history
    for i in range(0, sim.n_leads, 97):
        t = w
        while t >= 0 and hist[t, i] == stage[i]:
            t -= 1
        assert dwell[i] == w - t


def test_closed_leads_get_their_label_and_open_ones_a_probability(instructor: Path) -> None:
    rows = task_rows(instructor)
    key = answer_keys(instructor).set_index("lead_id")
    both = rows.join(key[[COLUMN]], how="inner")
    assert len(both) == len(rows)
    closed = both["current_stage"].isin(["closed_won", "closed_lost"])
    assert closed.any() and (~closed).any()
    assert (both.loc[closed, COLUMN] == both.loc[closed, LABEL].astype(float)).all()
    assert both[COLUMN].between(0, 1).all()
    assert both.loc[~closed, COLUMN].std() > 0.05


def test_a_shortened_label_window_lowers_the_oracle(shard: Shard) -> None:
    """More days left to close can only add chances: the oracle is monotone in the window."""
    world, sim = shard
    e = world.mechanisms.engine
    stage, dwell = oracle.anchor_state(sim.states, 10)
    won = (stage == V.CLOSED_WON) & (sim.states.end_day <= 10)
    short = oracle.conversion_probability(sim.hazards, e, stage, dwell, 11, 40, won)
    long = oracle.conversion_probability(sim.hazards, e, stage, dwell, 11, 80, won)
    assert (long >= short - 1e-12).all() and (long > short + 1e-6).any()


def _reliability(
    p: np.ndarray, y: np.ndarray, bins: int = 20
) -> tuple[float, list[tuple[float, float, int]]]:
    order = np.argsort(p, kind="stable")
    groups = np.array_split(order, bins)
    rows = [(float(p[g].mean()), float(y[g].mean()), g.size) for g in groups]
    ece = sum(n * abs(a - b) for a, b, n in rows) / p.size
    return ece, rows


@pytest.mark.slow
def test_the_oracle_is_calibrated_on_a_large_sample(tmp_path: Path) -> None:
    out = tmp_path / "b"
    generator(3, "research_instructor", "intermediate", n_leads=40_000).generate().save(out)
    key = answer_keys(out)
    p = key[COLUMN].to_numpy()
    y = key[LABEL].to_numpy().astype(float)
    ece, rows = _reliability(p, y)
    assert ece < 0.01, rows
    for mean_p, rate, n in rows:
        assert abs(mean_p - rate) < 4 * np.sqrt(max(mean_p * (1 - mean_p), 1e-3) / n) + 0.003, rows
    assert abs(p.mean() - y.mean()) < 3 * np.sqrt(y.mean() * (1 - y.mean()) / y.size)


def _features(rows: pd.DataFrame, categories: dict[str, pd.Index] | None = None) -> pd.DataFrame:
    drop = {LABEL, "total_touches_all", "split", "account_id", "contact_id", "lead_created_at"}
    x = rows.drop(columns=[c for c in rows.columns if c in drop])
    out = {}
    for c in x.columns:
        col = x[c]
        if col.dtype == object or str(col.dtype) in ("string", "large_string", "category"):
            cats = categories[c] if categories else pd.Index(sorted(col.dropna().astype(str).unique()))
            out[c] = pd.Categorical(col.astype(object), categories=cats)
        else:
            out[c] = col.astype("float64")
    return pd.DataFrame(out, index=x.index)


def _auc_se(score: np.ndarray, y: np.ndarray) -> float:
    """Hanley-McNeil standard error of an AUC."""
    a, n1, n0 = auc(score, y), int(y.sum()), int((~y).sum())
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    return float(np.sqrt((a * (1 - a) + (n1 - 1) * (q1 - a * a) + (n0 - 1) * (q2 - a * a)) / (n1 * n0)))


@pytest.mark.slow
def test_no_trained_model_beats_the_oracle_and_the_ceiling_falls_with_the_tier(tmp_path: Path) -> None:
    """A gradient-boosted model on every task feature (the leakage trap aside) stays at or below
    the oracle's test AUC on every tier, and the oracle's ceiling is ordered by tier."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    ceilings: dict[str, float] = {}
    for tier in ("intro", "intermediate", "advanced"):
        out = tmp_path / tier
        generator(5, "research_instructor", tier, n_leads=30_000).generate().save(out)
        rows = task_rows(out)
        key = answer_keys(out).set_index("lead_id")
        train, test = rows[rows["split"] == "train"], rows[rows["split"] == "test"]
        x_train = _features(train)
        cats = {c: x_train[c].cat.categories for c in x_train.columns if x_train[c].dtype == "category"}
        model = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0)
        model.fit(x_train, train[LABEL].astype(int))
        y = test[LABEL].to_numpy().astype(bool)
        gbm = auc(model.predict_proba(_features(test, cats))[:, 1], y)
        score = key.loc[test.index, COLUMN].to_numpy()
        ceiling = auc(score, y)
        se = _auc_se(score, y)
        assert gbm <= ceiling + 2.5 * se, (tier, gbm, ceiling, se)
        assert gbm > 0.6  # the model learnt something: the comparison is not vacuous
        ceilings[tier] = ceiling
    assert ceilings["intro"] > ceilings["intermediate"] > ceilings["advanced"], ceilings
