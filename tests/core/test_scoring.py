"""The card's and the report's metrics agree with scikit-learn and SciPy on random data."""

from __future__ import annotations

import math

import numpy as np
import pytest
from leadforge import scoring

sk = pytest.importorskip("sklearn.metrics")
stats = pytest.importorskip("scipy.stats")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_classification_metrics_match_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.random(2_000) < 0.3
    p = np.clip(0.3 + 0.2 * (y - 0.3) + rng.normal(0, 0.2, y.size), 0.001, 0.999)
    p[:50] = np.clip(np.round(p[:50], 1), 0.05, 0.95)  # ties
    got = scoring.score("classification", p, y)
    assert got.get("auc") == pytest.approx(sk.roc_auc_score(y, p), abs=1e-12)
    assert got.get("log_loss") == pytest.approx(sk.log_loss(y, p), rel=1e-9)
    assert got.get("brier") == pytest.approx(sk.brier_score_loss(y, p), rel=1e-9)
    assert got.rows == y.size


@pytest.mark.parametrize("seed", [0, 1])
def test_regression_metrics_match_sklearn_and_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    t = rng.lognormal(8, 1, 1_500)
    p = t * rng.lognormal(0, 0.5, t.size)
    p[::7] = p[0]  # ties
    got = scoring.score("regression", p, t)
    assert got.get("r2") == pytest.approx(sk.r2_score(t, p), rel=1e-9)
    assert got.get("spearman") == pytest.approx(stats.spearmanr(p, t).statistic, rel=1e-9)
    assert got.get("rmse") == pytest.approx(math.sqrt(sk.mean_squared_error(t, p)), rel=1e-9)


def test_nan_rows_are_left_out_and_unmeasurable_is_nan() -> None:
    y = np.array([0, 1, 0, 1, np.nan])
    p = np.array([0.1, 0.9, np.nan, 0.8, 0.5])
    assert scoring.auc(p, y) == 1.0
    assert scoring.score("classification", p, y).rows == 3
    assert math.isnan(scoring.auc(np.array([0.2, 0.4]), np.array([1, 1])))
    assert math.isnan(scoring.r2(np.array([1.0, 2.0]), np.array([3.0, 3.0])))
    assert scoring.score("regression", np.array([1.0]), np.array([2.0])).to_json()["spearman"] is None


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="predictions for"):
        scoring.auc(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="unknown task kind"):
        scoring.score("ranking", np.zeros(2), np.zeros(2))
