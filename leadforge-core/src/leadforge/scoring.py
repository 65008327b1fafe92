"""How good a score is: the metrics the card, the report and the answer key quote, in numpy alone.

Classification scores are judged by AUC (rank-based, ties counted half), log-loss and Brier
score; regression predictions by R², Spearman's rank correlation and RMSE. Rows with a NaN
score or target are left out, and a metric that cannot be computed (one class, constant
values, no rows) is NaN rather than an error, so a tiny split reports "not measurable" instead
of failing the run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Scores", "auc", "average_ranks", "brier", "log_loss", "r2", "rmse", "score", "spearman"]

#: Probabilities are clipped this far from 0 and 1 before taking logs.
_EPS = 1e-12


def average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks of ``values``, ties sharing the mean of the ranks they span."""
    x = np.asarray(values)
    order = np.argsort(x, kind="stable")
    _, first, counts = np.unique(x[order], return_index=True, return_counts=True)
    ranks = np.empty(x.size, dtype=np.float64)
    ranks[order] = np.repeat(first + (counts + 1) / 2.0, counts)
    return ranks


def _paired(pred: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(pred, dtype=np.float64)
    t = np.asarray(truth, dtype=np.float64)
    if p.shape != t.shape:
        raise ValueError(f"{p.size} predictions for {t.size} targets")
    keep = ~(np.isnan(p) | np.isnan(t))
    return p[keep], t[keep]


def auc(score: np.ndarray, label: np.ndarray) -> float:
    """P(score of a positive > score of a negative), ties counted half; NaN with one class."""
    s, y = _paired(score, label)
    pos = y > 0.5
    n1 = int(np.count_nonzero(pos))
    n0 = pos.size - n1
    if n1 == 0 or n0 == 0:
        return math.nan
    ranks = average_ranks(s)
    return float((ranks[pos].sum() - n1 * (n1 + 1) / 2.0) / (n1 * n0))


def log_loss(prob: np.ndarray, label: np.ndarray) -> float:
    """Mean negative log-likelihood of binary labels under probabilities ``prob``."""
    p, y = _paired(prob, label)
    if p.size == 0:
        return math.nan
    p = np.clip(p, _EPS, 1.0 - _EPS)
    return float(-np.mean(np.where(y > 0.5, np.log(p), np.log1p(-p))))


def brier(prob: np.ndarray, label: np.ndarray) -> float:
    """Mean squared difference between probabilities and binary labels."""
    p, y = _paired(prob, label)
    return float(np.mean((p - (y > 0.5)) ** 2)) if p.size else math.nan


def r2(pred: np.ndarray, target: np.ndarray) -> float:
    """Coefficient of determination; NaN when the target is constant."""
    p, t = _paired(pred, target)
    total = float(np.sum((t - t.mean()) ** 2)) if t.size else 0.0
    if total == 0.0:
        return math.nan
    return 1.0 - float(np.sum((t - p) ** 2)) / total


def spearman(pred: np.ndarray, target: np.ndarray) -> float:
    """Pearson correlation of the average ranks; NaN when either side is constant."""
    p, t = _paired(pred, target)
    if p.size < 2:
        return math.nan
    rp, rt = average_ranks(p), average_ranks(t)
    rp -= rp.mean()
    rt -= rt.mean()
    denom = math.sqrt(float(np.dot(rp, rp)) * float(np.dot(rt, rt)))
    return float(np.dot(rp, rt)) / denom if denom > 0 else math.nan


def rmse(pred: np.ndarray, target: np.ndarray) -> float:
    p, t = _paired(pred, target)
    return float(np.sqrt(np.mean((p - t) ** 2))) if p.size else math.nan


@dataclass(frozen=True)
class Scores:
    """One predictor on one split: the three figures quoted for its task type."""

    kind: str
    rows: int
    values: tuple[tuple[str, float], ...]

    def get(self, name: str) -> float:
        return dict(self.values)[name]

    def to_json(self) -> dict[str, float | int | str | None]:
        out: dict[str, float | int | str | None] = {"kind": self.kind, "rows": self.rows}
        out.update({k: None if math.isnan(v) else round(v, 6) for k, v in self.values})
        return out


def score(kind: str, pred: np.ndarray, truth: np.ndarray) -> Scores:
    """``kind`` is ``"classification"`` (AUC, log-loss, Brier) or ``"regression"`` (R², Spearman, RMSE)."""
    p, t = _paired(pred, truth)
    if kind == "classification":
        values = (("auc", auc(p, t)), ("log_loss", log_loss(p, t)), ("brier", brier(p, t)))
    elif kind == "regression":
        values = (("r2", r2(p, t)), ("spearman", spearman(p, t)), ("rmse", rmse(p, t)))
    else:
        raise ValueError(f"unknown task kind {kind!r}: expected classification or regression")
    return Scores(kind, int(p.size), values)
