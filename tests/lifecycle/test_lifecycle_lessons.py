"""The lessons a lifecycle bundle teaches: its traps leak, and the next signup cohort is harder.

Fast tests pin the mechanisms (what each trap reads, the drift across cohorts, the task's
out-of-time split); the slow ones measure both lessons as ``benchmarks/lessons.py`` does, on
public bundles of the default size, against the floors the docs state (+0.03).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from leadforge_lifecycle.families import FAMILIES, FAMILY_NAMES
from leadforge_lifecycle.hazards import Propensities
from leadforge_lifecycle.latents import Latents
from leadforge_lifecycle.mechanism import Mechanism, Multipliers
from leadforge_lifecycle.params import LifecycleProfile
from lifecycle_support import CALENDAR_TASKS, PINNED, RECIPE, TRAPS, days_from, table, task_rows

FLOOR = 0.03
OBS = "2025-01-27"
CHURN = "churned_within_180d"


def _profile(**knobs: Any) -> LifecycleProfile:
    base: dict[str, Any] = {
        "first_year_churn": (0.10, 0.19),
        "expansion_rate": (0.24, 0.38),
        "still_active_share": 0.6,
        "signal_strength": 0.45,
        "noise_scale": 0.0,
        "missing_rate": 0.0,
        "outlier_rate": 0.0,
    }
    return LifecycleProfile(**{**base, **knobs})


def test_drift_moves_the_hazards_of_later_cohorts() -> None:
    motif = FAMILIES[FAMILY_NAMES[0]]
    k = Multipliers(1.0, 1.0, 1.0)
    drifted = Mechanism.for_profile(motif, _profile(churn_drift=0.6, depth_effect_drift=-0.8), k)
    still = Mechanism.for_profile(motif, _profile(), k)
    latents = Latents.draw(motif.latent_biases, 2, np.random.default_rng(0))
    first_last = np.array([0.0, 1.0])
    p = Propensities.of(drifted, latents, first_last)
    q = Propensities.of(still, latents, first_last)
    undrifted = Propensities.of(drifted, latents)
    assert p.churn[1] / p.churn[0] == pytest.approx(math.exp(0.6) * q.churn[1] / q.churn[0])
    slope = np.asarray(p.depth_slope)
    assert slope[1] < drifted.depth_churn_slope < slope[0]
    assert np.allclose(q.churn, Propensities.of(still, latents).churn)  # no drift knob: no drift
    assert np.allclose(undrifted.churn, q.churn)  # no cohort given: the undrifted world
    assert undrifted.depth_slope == drifted.depth_churn_slope


def test_the_instructor_bundle_records_the_drift(default_instructor: Path) -> None:
    summary = json.loads((default_instructor / "metadata" / "mechanism_summary.json").read_text())
    drift = summary["tier"]["cohort_drift"]
    assert drift["churn_drift"] > 0
    assert drift["last_cohort_churn_factor"] > 1 > drift["first_cohort_churn_factor"]
    assert drift["last_cohort_churn_factor"] / drift["first_cohort_churn_factor"] == pytest.approx(
        math.exp(drift["churn_drift"]), rel=1e-4
    )


def test_every_task_offers_the_out_of_time_split(small_public: Path) -> None:
    for task in CALENDAR_TASKS:
        tm = json.loads((small_public / "tasks" / task / "task_manifest.json").read_text())
        cut = tm["out_of_time"]
        assert cut["column"] == "customer_start_at"
        when = pd.Series(task_rows(small_public, task).customer_start_at)
        before = (when < dt.date.fromisoformat(cut["cut"])).sum()
        assert before == cut["train_rows"] and len(when) - before == cut["test_rows"]
        assert 0.6 < cut["train_rows"] / len(when) < 0.8


def test_the_start_date_is_the_customers_own(small_instructor: Path) -> None:
    customers = table(small_instructor, "customers").set_index("customer_id")
    rows = task_rows(small_instructor, CHURN).set_index("customer_id")
    assert (rows.customer_start_at == customers.customer_start_at.loc[rows.index]).all()


def test_the_mrr_trap_reads_after_the_cutoff_without_being_the_label(default_instructor: Path) -> None:
    assert "mrr_change_full_period" not in task_rows(default_instructor, CHURN)  # it would be the label
    rows = task_rows(default_instructor, "pltv_revenue_365d").set_index("customer_id")
    subs = table(default_instructor, "subscriptions").set_index("customer_id")
    churn = pd.Series(np.inf, index=subs.index)
    gone = subs.churn_at.notna()
    churn[gone[gone].index] = days_from(subs.churn_at[gone], OBS)
    churn = churn.loc[rows.index]
    both = rows.mrr_change_full_period.notna() & rows.initial_mrr.notna()
    lost_all = (rows.mrr_change_full_period == -rows.initial_mrr)[both]
    early = lost_all[churn[both] <= 180]
    late = lost_all[(churn[both] > 180) & (churn[both] <= 365)]
    stays = lost_all[churn[both] > 365]
    assert len(early) > 30 and len(late) > 30
    assert early.mean() > 0.95  # an early leaver's MRR is gone: information from after the cutoff
    assert late.mean() < 0.2  # a leaver of the window's second half looks like anyone else
    assert stays.mean() < 0.01


def test_the_health_trap_shows_the_offboarding_week(default_instructor: Path) -> None:
    rows = task_rows(default_instructor, CHURN)
    depth = rows.last_health_signal_post_obs.astype("float64")
    honest = rows.avg_feature_depth_l12w.astype("float64")
    churned = rows[CHURN].astype(bool)
    assert depth[churned].median() < 0.6 * depth[~churned].median()
    assert honest[churned].median() > 0.8 * honest[~churned].median()


def _measure(tier: str, seed: int, tmp: Path) -> dict[str, float]:
    import lessons  # benchmarks/, on the path through lifecycle_support
    from leadforge.api import Generator

    gen = Generator.from_recipe(RECIPE, seed=seed, difficulty=tier, exposure_mode="student_public")
    root = gen.generate().save(tmp / "b", generation_timestamp=PINNED)
    out: dict[str, float] = {}
    revenue = tuple((f"pltv_revenue_{w}d", f"ltv_revenue_{w}d", True) for w in (365, 730))
    for task, label, regression in ((CHURN, CHURN, False), *revenue):
        split = {s: task_rows_split(root, task, s) for s in ("train", "valid", "test")}
        train, test = split["train"], split["test"]
        full = [c for c in train.columns if c not in ("customer_id", "customer_start_at")]
        honest = [c for c in full if c not in TRAPS]
        for model in ("lr", "gbm"):
            base = lessons.fit_score(train[honest], test[honest], label, model, regression)
            out[f"{task}_trap_{model}"] = (
                lessons.fit_score(train[full], test[full], label, model, regression) - base
            )
            if regression:
                continue
            pooled = pd.concat(split.values(), ignore_index=True)
            order = np.argsort(pd.to_datetime(pooled.customer_start_at).to_numpy(), kind="stable")
            cut = int(0.7 * len(order))
            shuffled = pooled.sample(frac=1.0, random_state=0)
            random_cut = lessons.fit_score(
                shuffled.iloc[:cut][honest], shuffled.iloc[cut:][honest], label, model, regression
            )
            next_cohort = lessons.fit_score(
                pooled.iloc[order[:cut]][honest], pooled.iloc[order[cut:]][honest], label, model, regression
            )
            out[f"oot_{model}"] = random_cut - next_cohort
    return out


def task_rows_split(root: Path, task: str, split: str) -> pd.DataFrame:
    return pd.read_parquet(root / "tasks" / task / f"{split}.parquet")


@pytest.mark.slow
@pytest.mark.parametrize(("tier", "seed"), [("intro", 44), ("intermediate", 42), ("advanced", 43)])
def test_both_lessons_land_at_the_default_size(tier: str, seed: int, tmp_path: Path) -> None:
    found = _measure(tier, seed, tmp_path)
    for model in ("lr", "gbm"):
        assert found[f"{CHURN}_trap_{model}"] >= FLOOR, found
        assert found[f"pltv_revenue_365d_trap_{model}"] >= FLOOR, found
        assert found[f"pltv_revenue_730d_trap_{model}"] >= FLOOR, found
        if tier != "intro":
            assert found[f"oot_{model}"] >= FLOOR, found
