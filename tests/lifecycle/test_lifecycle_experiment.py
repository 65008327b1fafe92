"""The designed experiment: a public arm in customers and every task, the true uplift in the
answer key only, an assignment that ignores the shard plan, and a difference in means whose
95 % interval covers the true average uplift."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from leadforge.api import Generator
from lifecycle_support import CALENDAR_TASKS, EARLY_TASKS, PINNED, RECIPE, manifest, read, table, task_rows

SPEC = "policy:price_change=0.5"


def save(path: Path, mode: str = "research_instructor", experiment: str | None = SPEC, **params: Any) -> Path:
    gen = Generator.from_recipe(RECIPE, exposure_mode=mode, experiment=experiment, **params)
    gen.generate().save(path, generation_timestamp=PINNED)
    return path


@pytest.fixture(scope="module")
def arms(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("experiment")
    world: dict[str, Any] = {"seed": 9, "n_customers": 500, "shard_size": 200}
    return {
        "instructor": save(root / "i", **world),
        "public": save(root / "p", "student_public", **world),
        "resharded": save(root / "r", seed=9, n_customers=500, shard_size=500),
    }


def test_treatment_is_public_in_customers_and_every_task(arms: dict[str, Path]) -> None:
    for mode in ("instructor", "public"):
        root = arms[mode]
        customers = table(root, "customers")
        assert str(customers["treatment"].dtype) == "boolean" and not customers["treatment"].isna().any()
        assert 0.4 < customers["treatment"].mean() < 0.6
        arm = dict(zip(customers["customer_id"], customers["treatment"], strict=True))
        tasks = CALENDAR_TASKS if mode == "public" else (*CALENDAR_TASKS, *EARLY_TASKS)
        for task in tasks:
            rows = task_rows(root, task)
            assert (rows["treatment"] == rows["customer_id"].map(arm)).all()
    assert manifest(arms["public"]).get("experiment") == f"{SPEC}@0.5"
    assert not (arms["public"] / "metadata").exists()


def test_uplift_is_in_the_answer_key_only(arms: dict[str, Path]) -> None:
    root = arms["instructor"]
    for task in (*CALENDAR_TASKS, *EARLY_TASKS):
        key = read(root / "metadata" / "oracle" / task)
        assert "uplift" in key.columns and np.isfinite(key["uplift"]).all()
        assert "oracle_uplift" not in task_rows(root, task).columns
    churn = read(root / "metadata" / "oracle" / "churned_within_180d")
    assert float(churn["uplift"].mean()) > 0.0  # dearer seats: more churn


def test_assignment_ignores_the_shard_plan(arms: dict[str, Path]) -> None:
    a, b = table(arms["instructor"], "customers"), table(arms["resharded"], "customers")
    pd.testing.assert_series_equal(a["treatment"], b["treatment"])


def test_no_experiment_no_treatment_column(small_instructor: Path) -> None:
    assert "treatment" not in table(small_instructor, "customers").columns
    assert "treatment" not in task_rows(small_instructor, "churned_within_180d").columns


#: The seeds of the coverage test, declared before it was first run (never re-chosen after a result).
COVERAGE_SEEDS = range(200, 220)


def _interval_gap(y: np.ndarray, treated: np.ndarray, cluster: np.ndarray, truth: float) -> float:
    """``|difference in means − truth|`` over its standard error, with the SE's contributions
    summed per account before squaring (a customer is one task row, but an account's customers
    share its traits, so a correlation between them would otherwise go unseen)."""
    n1, n0 = int(treated.sum()), int((~treated).sum())
    diff = y[treated].mean() - y[~treated].mean()
    influence = np.where(treated, (y - y[treated].mean()) / n1, -(y - y[~treated].mean()) / n0)
    per_account = pd.Series(influence).groupby(cluster).sum().to_numpy()
    k = per_account.size
    se = float(np.sqrt(np.sum(per_account**2) * k / (k - 1)))
    return float(abs(diff - truth) / se)


@pytest.mark.slow
def test_difference_in_means_covers_the_true_uplift(tmp_path: Path) -> None:
    gaps = []
    for seed in COVERAGE_SEEDS:
        root = save(tmp_path / str(seed), seed=seed, n_customers=1500)
        key = read(root / "metadata" / "oracle" / "churned_within_180d")
        rows = task_rows(root, "churned_within_180d").set_index("customer_id")
        assert key["customer_id"].is_unique
        treated = key["customer_id"].map(rows["treatment"]).to_numpy(dtype=bool)
        account = key["customer_id"].map(rows["account_id"]).to_numpy()
        y = key["churned_within_180d"].to_numpy(dtype=float)
        gaps.append(_interval_gap(y, treated, account, float(key["uplift"].mean())))
    covered = sum(g <= 1.96 for g in gaps)
    assert covered >= 18, gaps
