"""The quick baseline scores what scikit-learn's equivalent model scores, and never reads excluded columns."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from leadforge import scoring
from leadforge.baseline import Baseline

sk = pytest.importorskip("sklearn.linear_model")


def table(seed: int, n: int = 3_000) -> pa.Table:
    g = np.random.default_rng(seed)
    x1, x2 = g.normal(size=n), g.normal(size=n)
    seg = g.choice(["a", "b", "c"], size=n)
    logit = 1.2 * x1 - 0.7 * x2 + np.where(seg == "c", 0.8, 0.0)
    y = g.random(n) < 1 / (1 + np.exp(-logit))
    x2_missing = np.where(g.random(n) < 0.05, np.nan, x2)
    return pa.table(
        {
            "lead_id": [f"lead_{i}" for i in range(n)],
            "x1": x1,
            "x2": pa.array(x2_missing, from_pandas=True),
            "segment": seg,
            "leak": y.astype(float),
            "y": y,
            "value": 3 * x1 + g.normal(size=n),
        }
    )


def design(t: pa.Table) -> np.ndarray:
    """The same features the baseline builds, by hand: x1, x2 (nulls at 0), segment b / c."""
    segment = np.asarray(t["segment"].to_pylist())
    x2 = np.nan_to_num(np.asarray(t["x2"].to_numpy(zero_copy_only=False), dtype=float), nan=0.0)
    return np.column_stack([np.asarray(t["x1"]), x2, segment == "b", segment == "c"])


def test_logistic_baseline_matches_sklearn_on_test_auc() -> None:
    train, test = table(0), table(1)
    model = Baseline.fit(train, "y", binary=True, exclude={"leak", "value"})
    assert model is not None and model.features == 4
    p, y = model.predict(test)
    ours = scoring.auc(p, y)
    ref = sk.LogisticRegression().fit(design(train), np.asarray(train["y"])).predict_proba(design(test))[:, 1]
    assert ours == pytest.approx(scoring.auc(ref, y), abs=0.01)
    assert 0.7 < ours < 0.95


def test_excluded_columns_are_never_read() -> None:
    train, test = table(0), table(1)
    honest = Baseline.fit(train, "y", binary=True, exclude={"leak", "value"})
    leaky = Baseline.fit(train, "y", binary=True, exclude={"value"})
    assert honest is not None and leaky is not None
    assert "leak" not in honest.numeric and "lead_id" not in honest.numeric
    assert scoring.auc(*leaky.predict(test)) > 0.99 > scoring.auc(*honest.predict(test))


def test_ridge_baseline_explains_a_linear_target() -> None:
    model = Baseline.fit(table(0), "value", binary=False, exclude={"leak", "y"})
    assert model is not None
    pred, y = model.predict(table(2))
    assert scoring.r2(pred, y) > 0.85


def test_nothing_to_learn_from_is_none() -> None:
    t = pa.table({"lead_id": ["a", "b"] * 10, "y": [True, False] * 10})
    assert Baseline.fit(t, "y", binary=True) is None
    one_class = pa.table({"x": np.arange(20.0), "y": [True] * 20})
    assert Baseline.fit(one_class, "y", binary=True) is None
