"""Task files: one target per split, stratified churn splits, deterministic regression splits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from leadforge_lifecycle.catalog import CATALOG
from lifecycle_support import CALENDAR_TASKS, EARLY_TASKS, SPLITS, TARGETS, split

LABELS = dict(zip(CALENDAR_TASKS, TARGETS, strict=True)) | dict(zip(EARLY_TASKS, TARGETS, strict=True))
FEATURES = [f.name for f in CATALOG if not f.is_target]


@pytest.mark.parametrize("task", [*CALENDAR_TASKS, *EARLY_TASKS])
def test_each_split_carries_only_its_own_target(small_instructor: Path, task: str) -> None:
    manifest = json.loads((small_instructor / "tasks" / task / "task_manifest.json").read_text())
    label = LABELS[task]
    assert manifest["label_column"] == label
    assert manifest["task_type"] == ("binary_classification" if label.startswith("churned") else "regression")
    assert manifest["primary_table"] == "customers" and manifest["key_column"] == "customer_id"
    for name in SPLITS:
        frame = split(small_instructor, task, name)
        assert list(frame.columns) == [*FEATURES, label]
        assert frame[label].notna().all()


def test_churn_splits_are_stratified(default_instructor: Path) -> None:
    frames = {s: split(default_instructor, "churned_within_180d", s) for s in SPLITS}
    total = sum(len(f) for f in frames.values())
    positives = sum(int(f.churned_within_180d.sum()) for f in frames.values())
    for name, fraction in (("train", 0.7), ("valid", 0.15), ("test", 0.15)):
        f = frames[name]
        assert abs(len(f) - fraction * total) <= 3  # per-class floors; test takes the remainders
        assert abs(int(f.churned_within_180d.sum()) - fraction * positives) <= 1.5


def test_regression_splits_share_membership(small_instructor: Path) -> None:
    for family in (CALENDAR_TASKS, EARLY_TASKS):
        for name in SPLITS:
            ids = [list(split(small_instructor, t, name).customer_id) for t in family[:3]]
            assert ids[0] == ids[1] == ids[2]
