"""A quick, honest baseline model for any task split, in numpy alone.

What a careful first model scores is the yardstick next to the answer key's ceiling (in the
dataset card) and in the report: an L2-regularised logistic regression (a few Newton steps)
for binary tasks, ridge regression for regression tasks, on the split's numeric and boolean
columns plus one-hot codes of low-cardinality text columns, fitted on the train split only.
Ids, times and every column the caller excludes (the key, the label, columns flagged as
leakage risks) are left out, so the number is never a leak.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["Baseline", "is_numeric", "is_text", "label_values", "numeric_values"]

#: Text columns with at most this many distinct training values are one-hot coded.
MAX_LEVELS = 30
RIDGE = 1.0
NEWTON_STEPS = 25
#: Training rows the model is fitted on at most (an even sample of what it is given).
FIT_ROWS = 20_000


def numeric_values(values: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A numeric or boolean column as float64, nulls as NaN."""
    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if pa.types.is_boolean(arr.type):
        arr = pc.cast(arr, pa.int8())
    return np.asarray(pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)


def label_values(values: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A task label as float64 (booleans 0/1; strings "true"/"false" too), nulls as NaN."""
    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        lowered = pc.utf8_lower(arr)
        null = np.asarray(pc.is_null(lowered).to_numpy(zero_copy_only=False), dtype=bool)
        true = pc.equal(lowered, "true").fill_null(False)
        return np.where(null, np.nan, np.asarray(true.to_numpy(zero_copy_only=False), dtype=float))
    return numeric_values(arr)


def is_numeric(t: pa.DataType) -> bool:
    return bool(pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t))


def is_text(t: pa.DataType) -> bool:
    return bool(pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_dictionary(t))


@dataclass(frozen=True)
class Baseline:
    """A fitted baseline: which columns it reads, how it fills and scales them, its weights."""

    binary: bool
    label: str
    numeric: tuple[str, ...]
    levels: tuple[tuple[str, tuple[str, ...]], ...]
    medians: np.ndarray
    mean: np.ndarray
    sd: np.ndarray
    weights: np.ndarray

    @property
    def features(self) -> int:
        return int(self.medians.size)

    @classmethod
    def fit(
        cls, train: pa.Table, label: str, *, binary: bool, exclude: Collection[str] = ()
    ) -> Baseline | None:
        """Fitted on ``train``; ``None`` when it has no usable feature or too few labelled rows."""
        numeric, levels = _design(train, label, set(exclude))
        if not numeric and not levels:
            return None
        x, y = _matrix(train, label, numeric, levels)
        keep = np.isfinite(y)
        x, y = x[keep], y[keep]
        if y.size > FIT_ROWS:
            pick = np.linspace(0, y.size - 1, FIT_ROWS).astype(np.int64)
            x, y = x[pick], y[pick]
        if y.size < 10 or (binary and np.unique(y).size < 2):
            return None
        medians = np.array([float(np.median(c[~np.isnan(c)])) if (~np.isnan(c)).any() else 0.0 for c in x.T])
        x = np.where(np.isnan(x), medians, x)
        mean, sd = x.mean(axis=0), x.std(axis=0)
        sd = np.where(sd > 0, sd, 1.0)
        z = np.c_[np.ones(len(x)), (x - mean) / sd]
        weights = _logistic(z, y) if binary else _ridge(z, y)
        return cls(binary, label, tuple(numeric), tuple(levels.items()), medians, mean, sd, weights)

    def predict(self, table: pa.Table) -> tuple[np.ndarray, np.ndarray]:
        """Scores (probabilities for binary tasks) and the labels of ``table``'s rows."""
        x, y = _matrix(table, self.label, self.numeric, dict(self.levels))
        x = (np.where(np.isnan(x), self.medians, x) - self.mean) / self.sd
        raw = np.einsum("ij,j->i", np.c_[np.ones(len(x)), x], self.weights)
        return (1.0 / (1.0 + np.exp(-np.clip(raw, -30, 30))) if self.binary else raw), y


def _design(train: pa.Table, label: str, exclude: set[str]) -> tuple[list[str], dict[str, tuple[str, ...]]]:
    numeric: list[str] = []
    levels: dict[str, tuple[str, ...]] = {}
    for field in train.schema:
        name = field.name
        if name == label or name in exclude or name.endswith("_id"):
            continue
        if pa.types.is_timestamp(field.type) or pa.types.is_date(field.type):
            continue
        if is_numeric(field.type):
            numeric.append(name)
        elif is_text(field.type):
            col = pc.cast(train.column(name), pa.large_string())
            counts = pc.value_counts(col.drop_null())
            values = counts.field("values").to_pylist()
            if 1 < len(values) <= MAX_LEVELS and not any(_looks_like_time(v) for v in values):
                levels[name] = tuple(sorted(values))
    return numeric, levels


def _matrix(
    table: pa.Table, label: str, numeric: tuple[str, ...] | list[str], levels: dict[str, tuple[str, ...]]
) -> tuple[np.ndarray, np.ndarray]:
    cols = [numeric_values(table.column(c)) for c in numeric]
    for name, values in levels.items():
        col = pc.cast(table.column(name), pa.large_string())
        idx = pc.fill_null(pc.index_in(col, value_set=pa.array(values, pa.large_string())), -1)
        codes = np.asarray(idx.to_numpy(zero_copy_only=False))
        cols.extend((codes == i).astype(np.float64) for i in range(1, len(values)))
    x = np.column_stack(cols) if cols else np.zeros((table.num_rows, 0))
    return x, label_values(table.column(label))


def _looks_like_time(v: object) -> bool:
    """An ISO date or time stored as text (older bundles): a time, not a category."""
    return isinstance(v, str) and len(v) >= 10 and v[4] == "-" and v[7] == "-" and v[:4].isdigit()


def _logistic(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Newton steps on the penalised log-likelihood. Products go through ``einsum``, not BLAS:
    a threaded BLAS on a busy machine can be a hundred times slower for these thin matrices."""
    w = np.zeros(x.shape[1])
    penalty = np.full(x.shape[1], RIDGE)
    penalty[0] = 0.0
    for _ in range(NEWTON_STEPS):
        p = 1.0 / (1.0 + np.exp(-np.clip(np.einsum("ij,j->i", x, w), -30, 30)))
        grad = np.einsum("ij,i->j", x, p - y) + penalty * w
        hess = np.einsum("ij,ik->jk", x * (p * (1 - p))[:, None], x, optimize=False) + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.max(np.abs(step)) < 1e-4:
            break
    return w


def _ridge(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    penalty = np.full(x.shape[1], RIDGE)
    penalty[0] = 0.0
    gram = np.einsum("ij,ik->jk", x, x, optimize=False)
    return np.asarray(np.linalg.solve(gram + np.diag(penalty), np.einsum("ij,i->j", x, y)))
