"""Task files: one target per split, and one split per customer, shared by every task.

The calendar churn task decides the assignment (stratified on its label); every other task
reuses it, and a customer only the early cohorts hold is placed by its hash alone.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from leadforge.bundle import SplitFractions
from leadforge.bundle.splits import assign_splits
from leadforge.rng import RNG
from leadforge_lifecycle.catalog import CATALOG
from lifecycle_support import CALENDAR_TASKS, EARLY_TASKS, SMALL, SPLITS, TARGETS, split

LABELS = dict(zip(CALENDAR_TASKS, TARGETS, strict=True)) | dict(zip(EARLY_TASKS, TARGETS, strict=True))
FEATURES = [f.name for f in CATALOG if not f.is_target]
#: each task carries only the trap that teaches on it (none on the 90-day revenue task)
OWN_TRAPS = {
    "churned_within_180d": {"last_health_signal_post_obs"},
    "ltv_revenue_90d": set(),
    "ltv_revenue_365d": {"mrr_change_full_period"},
    "ltv_revenue_730d": {"mrr_change_full_period"},
}


@pytest.mark.parametrize("task", [*CALENDAR_TASKS, *EARLY_TASKS])
def test_each_split_carries_only_its_own_target(small_instructor: Path, task: str) -> None:
    manifest = json.loads((small_instructor / "tasks" / task / "task_manifest.json").read_text())
    label = LABELS[task]
    assert manifest["label_column"] == label
    assert manifest["task_type"] == ("binary_classification" if label.startswith("churned") else "regression")
    assert manifest["primary_table"] == "customers" and manifest["key_column"] == "customer_id"
    for name in SPLITS:
        frame = split(small_instructor, task, name)
        others = {"mrr_change_full_period", "last_health_signal_post_obs"} - OWN_TRAPS[label]
        assert list(frame.columns) == [*(f for f in FEATURES if f not in others), label]
        assert frame[label].notna().all()


def test_churn_splits_are_stratified(default_instructor: Path) -> None:
    frames = {s: split(default_instructor, "churned_within_180d", s) for s in SPLITS}
    total = sum(len(f) for f in frames.values())
    positives = sum(int(f.churned_within_180d.sum()) for f in frames.values())
    for name, fraction in (("train", 0.7), ("valid", 0.15), ("test", 0.15)):
        f = frames[name]
        assert abs(len(f) - fraction * total) <= 3  # per-class floors; test takes the remainders
        assert abs(int(f.churned_within_180d.sum()) - fraction * positives) <= 1.5


def assignment(root: Path, task: str) -> pd.Series:
    """Each customer's split in one task."""
    return (
        pd.concat([split(root, task, name)[["customer_id"]].assign(split=name) for name in SPLITS])
        .set_index("customer_id")
        .split
    )


@pytest.mark.parametrize("bundle", ["small_instructor", "default_instructor"])
def test_every_customer_has_one_split_in_all_tasks(request: pytest.FixtureRequest, bundle: str) -> None:
    root = request.getfixturevalue(bundle)
    tasks = [*CALENDAR_TASKS, *EARLY_TASKS]
    splits = pd.DataFrame({t: assignment(root, t) for t in tasks})
    per_customer = splits.nunique(axis=1)
    assert (per_customer == 1).all(), splits[per_customer > 1].head()
    assert splits.notna().all(axis=1).mean() > 0.5  # most customers are in every task
    assert splits[CALENDAR_TASKS[0]].isna().any()  # early cohorts reach beyond the calendar one
    for task in tasks:
        manifest = json.loads((root / "tasks" / task / "task_manifest.json").read_text())
        assert manifest["stratified_by"] == "churned_within_180d.churned_within_180d", task
        assert manifest["stratified"] == (task == "churned_within_180d"), task


def test_customers_outside_the_calendar_cohort_are_placed_by_their_hash(small_instructor: Path) -> None:
    early = assignment(small_instructor, "early_churned_within_180d")
    outside = early[~early.index.isin(assignment(small_instructor, "churned_within_180d").index)]
    assert len(outside) > 10
    keys = pa.array(outside.index.to_numpy(), type=pa.large_string())
    codes = assign_splits(keys, RNG(SMALL["seed"]).key("task_split"), SplitFractions(), ranked=False)
    assert (np.asarray(SPLITS)[codes] == outside.to_numpy()).all()
