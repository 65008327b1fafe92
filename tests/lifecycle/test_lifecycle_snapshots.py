"""Snapshots: features use only rows dated on or before the cutoff (except the two traps),
cohorts are the customers alive at the cutoff, and distortions keep their promises."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from leadforge.api import Generator
from leadforge_lifecycle.catalog import CALENDAR, EARLY, Regime
from leadforge_lifecycle.snapshot import snapshot
from lifecycle_support import RECIPE, SMALL, TRAPS, days_from, table, task_rows

OBS = "2025-01-27"
#: What a billing system records exactly and the public tables show: never distorted.
RECORDS = (
    "tenure_weeks",
    "renewal_count",
    "contract_term_months",
    "weeks_to_next_renewal",
    "payment_failure_count",
    "weeks_since_last_payment_failure",
)


@pytest.fixture(scope="module")
def clean(small_instructor: Path) -> dict[str, pd.DataFrame]:
    """The scheme's undistorted snapshots of the small world, per regime."""
    world = Generator.from_recipe(RECIPE, exposure_mode="research_instructor", **SMALL).generate().world
    out = {}
    for regime in (CALENDAR, EARLY):
        parts = [snapshot(s, world.accounts, world.calendar, regime).to_pandas() for s in world.shards()]
        out[regime.name] = pd.concat(parts, ignore_index=True).set_index("customer_id")
    return out


def recompute(root: Path, regime: Regime) -> pd.DataFrame:
    """Features from the relational tables, reading only rows dated on or before each cutoff."""
    customers = table(root, "customers").set_index("customer_id")
    start = pd.Series(days_from(customers.customer_start_at, OBS), index=customers.index)
    cut = start + 28 if regime is EARLY else pd.Series(0, index=customers.index)

    def upto(frame: pd.DataFrame, date: str) -> pd.DataFrame:
        frame = frame.assign(day=days_from(frame[date], OBS))
        return frame[frame.day <= frame.customer_id.map(cut)]

    health = upto(table(root, "health_signals"), "period_start")
    health = health[health.day > health.customer_id.map(cut) - 84]
    events = upto(table(root, "subscription_events"), "event_timestamp")
    out = pd.DataFrame(index=customers.index)
    out["tenure_weeks"] = (cut - start) // 7
    g = health.groupby("customer_id")
    out["avg_active_users_l12w"] = g.active_users.mean()
    out["avg_feature_depth_l12w"] = g.feature_depth_score.mean()
    out["support_ticket_count_l12w"] = g.support_tickets.sum()
    x = health.day / 7.0
    cov = (x * health.active_users).groupby(
        health.customer_id
    ).mean() - g.day.mean() / 7.0 * g.active_users.mean()
    var = (x * x).groupby(health.customer_id).mean() - (g.day.mean() / 7.0) ** 2
    out["active_user_trend_l12w"] = (cov / var).where(g.size() >= 2)
    nps = upto(table(root, "health_signals"), "period_start").dropna(subset=["nps_score"])
    out["last_nps_score"] = nps.groupby("customer_id").nps_score.last()
    moves = events[events.event_type.isin(["expansion", "contraction"])]
    out["current_mrr"] = moves.groupby("customer_id").mrr_after.last()
    out["current_mrr"] = out.current_mrr.fillna(customers.initial_mrr)
    for kind, col in (("renewal", "renewal_count"), ("expansion", "expansion_count"),
                      ("contraction", "downgrade_count"), ("payment_failure", "payment_failure_count")):  # fmt: skip
        out[col] = events[events.event_type == kind].groupby("customer_id").size()
        out[col] = out[col].fillna(0)
    fails = events[events.event_type == "payment_failure"].groupby("customer_id").day.max()
    out["weeks_since_last_payment_failure"] = (cut - fails) // 7
    out["weeks_to_next_renewal"] = (next_term_end(customers, cut) - cut) // 7
    return out


def next_term_end(customers: pd.DataFrame, cut: pd.Series) -> pd.Series:
    """Days from the observation date to each customer's first contract term end after ``cut``:
    the start plus whole terms, month-end clamped (pandas' month arithmetic)."""
    start = pd.to_datetime(customers.customer_start_at)
    best = pd.Series(np.inf, index=customers.index)
    for term in (12, 24):
        mine = customers.contract_term_months == term
        for k in range(1, 5):
            end = (start[mine] + pd.DateOffset(months=k * term) - pd.Timestamp(OBS)).dt.days
            later = end[(end > cut[mine]) & (end < best[mine])]
            best[later.index] = later
    return best


@pytest.mark.parametrize("regime", [CALENDAR, EARLY], ids=["calendar", "early"])
def test_features_use_only_rows_up_to_the_cutoff(
    small_instructor: Path, clean: dict[str, pd.DataFrame], regime: Regime
) -> None:
    mine = clean[regime.name]
    theirs = recompute(small_instructor, regime).loc[mine.index]
    for col in theirs.columns:
        a = mine[col].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        b = theirs[col].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        assert np.allclose(a, b, equal_nan=True, rtol=1e-9, atol=1e-9), col
    assert (mine.mrr_change_at_snapshot == mine.current_mrr - mine.initial_mrr).all()


def test_cohorts_are_the_customers_alive_at_the_cutoff(small_instructor: Path) -> None:
    customers = table(small_instructor, "customers").set_index("customer_id")
    subs = table(small_instructor, "subscriptions").set_index("customer_id")
    start = pd.Series(days_from(customers.customer_start_at, OBS), index=customers.index)
    churn = pd.Series(np.inf, index=customers.index)
    gone = subs.churn_at.notna()
    churn[gone[gone].index] = days_from(subs.churn_at[gone], OBS)
    calendar = set(task_rows(small_instructor, "churned_within_180d").customer_id)
    early = task_rows(small_instructor, "early_churned_within_180d")
    assert calendar == set(churn.index[churn > 0])
    assert set(early.customer_id) == set(churn.index[churn > start + 28])
    assert (early.tenure_weeks.dropna() == 4).all()
    assert len(calendar) < len(customers) and len(early) > len(calendar)


def test_distortions_only_blur_and_blank(small_instructor: Path, clean: dict[str, pd.DataFrame]) -> None:
    task = task_rows(small_instructor, "pltv_revenue_365d").set_index("customer_id")
    mine = clean["calendar"].loc[task.index]
    for col in ("tenure_weeks", "current_mrr", "expansion_count", "support_ticket_count_l12w"):
        assert str(task[col].dtype) == "Int64"
        present = task[col].notna()
        assert (task.loc[present, col] == mine.loc[present, col]).all(), col
    assert task.current_mrr.isna().any()  # the intermediate tier blanks some cells
    for col in RECORDS:  # ... but never the contract and payment records the tables show exactly
        assert task[col].isna().equals(mine[col].isna()), col
        assert (task[col].dropna() == mine[col].dropna()).all(), col
    noisy = task.avg_active_users_l12w.to_numpy(dtype=float, na_value=np.nan)
    assert not np.allclose(noisy, mine.avg_active_users_l12w.to_numpy(dtype=float), equal_nan=True)
    for col in ("ltv_revenue_365d", "initial_plan", "account_id"):
        assert (task[col] == mine[col]).all(), col
    trap = task.mrr_change_full_period.notna()
    assert (task.mrr_change_full_period[trap] == mine.mrr_change_full_period[trap]).all()
    counts = [c for c in task.columns if task[c].dtype == "Int64"]
    assert all(
        (task[c].dropna() >= 0).all() for c in counts if c != "mrr_change_at_snapshot" and c not in TRAPS
    )


def test_each_regime_draws_its_own_noise(small_instructor: Path) -> None:
    calendar = task_rows(small_instructor, "churned_within_180d").set_index("customer_id")
    early = task_rows(small_instructor, "early_churned_within_180d").set_index("customer_id")
    both = calendar.index.intersection(early.index)
    assert not (calendar.loc[both].initial_mrr.isna() == early.loc[both].initial_mrr.isna()).all()


def test_traps_carry_post_cutoff_information(default_instructor: Path) -> None:
    task = task_rows(default_instructor, "pltv_revenue_730d").set_index("customer_id")
    differs = task.mrr_change_full_period != task.mrr_change_at_snapshot
    assert 0.05 < differs.mean() < 0.95
    assert "last_health_signal_post_obs" not in task  # each task carries only its own trap
    churn = task_rows(default_instructor, "churned_within_180d").set_index("customer_id")
    assert "mrr_change_full_period" not in churn  # over the churn window it would be the label
    health = table(default_instructor, "health_signals")
    day = days_from(health.period_start, OBS)
    # the last week within a year of the cutoff: weeks T .. T + 52 start on or before OBS + 364
    last = health[day <= 364].groupby("customer_id").feature_depth_score.last()
    before = health[day <= 0].groupby("customer_id").feature_depth_score.last()
    trap = churn.last_health_signal_post_obs.notna()
    recorded = churn.last_health_signal_post_obs[trap].to_numpy(dtype=float)
    assert np.corrcoef(recorded, last.loc[trap[trap].index].to_numpy(dtype=float))[0, 1] > 0.8
    assert (churn.last_health_signal_post_obs != before.loc[churn.index]).mean() > 0.5


def test_revenue_windows_are_nested_and_churners_stop_paying(default_instructor: Path) -> None:
    rows = {
        t: task_rows(default_instructor, f"pltv_revenue_{t}d").set_index("customer_id")
        for t in (90, 365, 730)
    }
    ltv = pd.DataFrame({t: rows[t][f"ltv_revenue_{t}d"] for t in rows})
    assert (ltv[90] <= ltv[365]).all() and (ltv[365] <= ltv[730]).all()
    churn = task_rows(default_instructor, "churned_within_180d").set_index("customer_id").churned_within_180d
    zero = ltv[730] == 0
    assert churn.loc[zero[zero].index].all()
    assert (ltv[730] > 5 * ltv[730].median()).any()  # a long right tail
