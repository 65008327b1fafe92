"""The lifecycle answer key: every task has one, it is calibrated, no trained model beats it, and
its ceiling falls with the tier."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from leadforge.scoring import auc
from leadforge_lifecycle.engine import expansion_step, mean_step
from leadforge_lifecycle.oracle import _antithetic
from lifecycle_support import (
    CALENDAR_TASKS,
    EARLY_TASKS,
    IDS,
    SPLITS,
    TIME_COLUMN,
    TRAPS,
    manifest,
    read,
    split,
)

CHURN_TASKS = ("churned_within_180d", "early_churned_within_180d")
REVENUE_TASKS = tuple(t for t in (*CALENDAR_TASKS, *EARLY_TASKS) if t not in CHURN_TASKS)


def answer_key(root: Path, task: str) -> tuple[pd.DataFrame, str, str]:
    """The oracle file of ``task`` with its oracle and label column names."""
    entry = manifest(root)["oracles"][task]
    frame = read(root / "metadata" / "oracle" / task)
    label = next(c for c in frame.columns if c not in ("customer_id", "split", entry["column"]))
    return frame, entry["column"], label


def test_every_task_has_an_answer_key(small_instructor: Path, small_public: Path) -> None:
    oracles = manifest(small_instructor)["oracles"]
    assert sorted(oracles) == sorted((*CALENDAR_TASKS, *EARLY_TASKS))
    for task, entry in oracles.items():
        assert entry["method"] == "replicates" and entry["replicates"] >= 4
        frame, column, _ = answer_key(small_instructor, task)
        rows = pd.concat([split(small_instructor, task, s) for s in SPLITS], ignore_index=True)
        assert len(frame) == len(rows) and set(frame["customer_id"]) == set(rows["customer_id"])
        values = frame[column].to_numpy(dtype=float)
        assert np.isfinite(values).all() and (values >= 0).all()
        if task in CHURN_TASKS:
            assert (values <= 1).all()
        assert column not in rows.columns
    assert "oracles" not in manifest(small_public)
    assert not (small_public / "metadata").exists()


def _bins(score: np.ndarray, k: int = 10) -> np.ndarray:
    order = np.argsort(score, kind="stable")
    out = np.empty(score.size, dtype=np.int64)
    out[order] = np.arange(score.size) * k // score.size
    return out


@pytest.mark.slow
@pytest.mark.parametrize("task", CHURN_TASKS)
def test_churn_oracle_is_calibrated(tier_bundles: dict[str, Path], task: str) -> None:
    frame, column, label = answer_key(tier_bundles["intermediate"], task)
    p, y = frame[column].to_numpy(dtype=float), frame[label].to_numpy(dtype=float)
    b = _bins(p)
    gaps, ece = [], 0.0
    for i in range(10):
        pi, yi = p[b == i], y[b == i]
        se = np.sqrt(np.sum(pi * (1 - pi))) / pi.size + 1e-4
        gaps.append(abs(yi.mean() - pi.mean()) / se)
        ece += abs(yi.mean() - pi.mean()) * pi.size / p.size
    assert abs(y.mean() - p.mean()) < 4 * np.sqrt(np.sum(p * (1 - p))) / p.size
    assert max(gaps) < 4.0, gaps
    assert ece < 0.02


@pytest.mark.slow
@pytest.mark.parametrize("task", REVENUE_TASKS)
def test_revenue_oracle_is_calibrated(tier_bundles: dict[str, Path], task: str) -> None:
    frame, column, label = answer_key(tier_bundles["intermediate"], task)
    o, y = frame[column].to_numpy(dtype=float), frame[label].to_numpy(dtype=float)
    b = _bins(o)
    for i in range(10):
        oi, yi = o[b == i], y[b == i]
        se = yi.std(ddof=1) / np.sqrt(yi.size) + 1.0
        assert abs(yi.mean() - oi.mean()) < 4 * se, (i, yi.mean(), oi.mean(), se)


def _features(frame: pd.DataFrame, label: str, columns: list[str] | None = None) -> pd.DataFrame:
    x = frame.drop(columns=[*IDS, *TRAPS, TIME_COLUMN, label], errors="ignore")
    # an early snapshot has almost no NPS answer or failure gap yet
    x = x.loc[:, x.notna().sum() > 20] if columns is None else x[columns]
    for c in x.columns:
        if x[c].dtype == object or str(x[c].dtype) in ("string", "large_string[pyarrow]"):
            x[c] = x[c].astype("category")
        else:
            x[c] = x[c].astype(float)
    return x


@pytest.mark.slow
@pytest.mark.parametrize("tier", ["intro", "intermediate", "advanced"])
@pytest.mark.parametrize("task", CHURN_TASKS)
def test_gbm_does_not_beat_the_oracle(tier_bundles: dict[str, Path], tier: str, task: str) -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier

    root = tier_bundles[tier]
    frame, column, label = answer_key(root, task)
    fit = pd.concat([split(root, task, "train"), split(root, task, "valid")], ignore_index=True)
    test = split(root, task, "test")
    model = HistGradientBoostingClassifier(
        max_iter=150, learning_rate=0.05, categorical_features="from_dtype"
    )
    fit_x = _features(fit, label)
    model.fit(fit_x, fit[label].astype(int))
    gbm = model.predict_proba(_features(test, label, list(fit_x.columns)))[:, 1]
    oracle = frame.set_index("customer_id").loc[test["customer_id"], column].to_numpy(dtype=float)
    y = test[label].to_numpy(dtype=bool)
    g = np.random.default_rng(0)
    diffs = []
    for _ in range(200):
        i = g.integers(0, y.size, y.size)
        if y[i].any() and not y[i].all():
            diffs.append(auc(gbm[i], y[i]) - auc(oracle[i], y[i]))
    gap = auc(gbm, y) - auc(oracle, y)
    assert gap <= 2 * float(np.std(diffs)) + 0.005, (gap, np.std(diffs))


@pytest.mark.slow
def test_oracle_ceiling_falls_with_the_tier(tier_bundles: dict[str, Path]) -> None:
    """Every task's ceiling orders strictly over all rows. Early churn beyond intro is nearly
    chance (write-offs and rare mid-term exits; at advanced the oracle's risks barely differ), but
    intermediate keeps a little signal advanced does not."""
    for task in (*CHURN_TASKS, *REVENUE_TASKS):
        ceiling = []
        for tier in ("intro", "intermediate", "advanced"):
            frame, column, label = answer_key(tier_bundles[tier], task)
            o, y = frame[column].to_numpy(dtype=float), frame[label].to_numpy(dtype=float)
            if task in CHURN_TASKS:
                ceiling.append(auc(o, y > 0.5))
            else:
                ceiling.append(1.0 - float(np.mean((y - o) ** 2) / np.var(y)))
        assert ceiling[0] > ceiling[1] > ceiling[2], (task, ceiling)


@pytest.mark.parametrize("spread", [0.0, 0.5, 0.8])
def test_expected_mrr_step_matches_the_engines_draws(spread: float) -> None:
    """The oracle's mean step is the mean of the engine's draws, with or without the heavy tail."""
    base = np.array([40, 99, 250, 1_000, 7_321], dtype=np.int64)
    u = np.random.default_rng(0).random((400_000, 1))
    for lo, hi in ((0.05, 0.25), (0.10, 0.40)):
        steps = expansion_step(np.broadcast_to(base, (u.shape[0], base.size)), lo, hi, u, spread)
        drawn = steps.mean(axis=0)
        assert np.all(
            np.abs(mean_step(base.astype(np.float64), lo, hi, spread) - drawn) <= 0.01 * drawn + 0.6
        )


def test_a_step_spread_fattens_the_tail_of_expansions() -> None:
    """With a spread, the largest expansions are several mean steps, where uniform steps stop at the
    range's top; every step is still at least one dollar."""
    base = np.full(200_000, 1_000, dtype=np.int64)
    u = np.random.default_rng(1).random(base.size)
    uniform, tailed = (expansion_step(base, 0.05, 0.25, u, s) for s in (0.0, 0.8))
    assert uniform.max() <= 250 and tailed.min() >= 1
    assert np.quantile(tailed, 0.999) > 2.5 * np.quantile(uniform, 0.999)
    assert np.median(tailed) < np.median(uniform)


def test_replicates_come_in_antithetic_pairs() -> None:
    u = _antithetic(np.random.default_rng(1), 3, 4).reshape(2, 3, 2, 2)
    assert np.allclose(u[..., 0] + u[..., 1], 1.0)
    assert np.unique(u[..., 0]).size == 12
