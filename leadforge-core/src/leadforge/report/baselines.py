"""Task baselines: what a quick, honest model scores on each split, in numpy alone.

A binary task gets an L2-regularised logistic regression (a few Newton steps) scored by ROC
AUC; a regression task gets ridge regression scored by R². Features are the split's numeric
and boolean columns plus one-hot codes of low-cardinality text columns, fitted on the train
split only; ids, times and columns the feature dictionary marks as leakage risks are left
out, so the number is what a careful first model gets, not a leak. Each split is an even
sample of at most :data:`~leadforge.report.read.SAMPLE_ROWS` rows, so the cost is flat in
bundle size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from leadforge.bundle.manifest import SPLITS, TaskManifest
from leadforge.bundle.reader import discover
from leadforge.errors import BundleError
from leadforge.report.model import Figure, Section
from leadforge.report.read import SAMPLE_ROWS, Reader, is_numeric, is_temporal, label_of, numbers, strings

#: Text columns with at most this many distinct training values are one-hot coded.
MAX_LEVELS = 30
RIDGE = 1.0
NEWTON_STEPS = 25
#: Training rows the model is fitted on at most (an even sample of the train split).
FIT_ROWS = 20_000
ORACLE = "instructor bundles whose scheme writes an answer key only"


@dataclass(frozen=True)
class Score:
    task_id: str
    task_type: str
    metric: str
    by_split: tuple[float, ...]
    rows: tuple[int, ...]
    features: int
    #: the answer key's own score per split (NaN: no answer key in this bundle)
    oracle: tuple[float, ...] = (float("nan"),) * len(SPLITS)


def section(reader: Reader) -> Section:
    scores: list[Score] = []
    problems: list[list[str]] = []
    for task_id in sorted(reader.manifest.tasks):
        tm = reader.task(task_id)
        if tm is None:
            problems.append([task_id, "task_manifest.json is unreadable"])
            continue
        try:
            score = baseline(reader, tm)
        except (BundleError, pa.ArrowException, np.linalg.LinAlgError, ValueError) as exc:
            problems.append([task_id, f"{type(exc).__name__}: {exc}"[:200]])
            continue
        if score is None:
            problems.append([task_id, "the splits lack a usable label or any feature"])
        else:
            scores.append(score)
    rows = [
        [s.task_id, s.task_type, s.metric, *(_fmt(v) for v in s.by_split), f"{s.features}", _ceiling(s)]
        for s in scores
    ]
    table = Figure(
        "baselines",
        "Baseline scores per task and split",
        "table",
        {
            "columns": ["task", "type", "metric", *SPLITS, "features", "oracle ceiling"],
            "rows": rows + [[t, "", "not available", "", "", "", "", ""] for t, _ in problems],
            "problems": problems,
        },
        caption="Logistic regression (binary tasks, ROC AUC) or ridge regression (R²), fitted on train. "
        f"The oracle ceiling (the answer key's own score on test) is shown for {ORACLE}.",
    )
    figures = [table]
    for metric in ("ROC AUC", "R²"):
        chosen = [s for s in scores if s.metric == metric]
        if chosen:
            figures.append(
                Figure(
                    f"baselines-{'auc' if metric == 'ROC AUC' else 'r2'}",
                    f"Baseline {metric} by split",
                    "bars",
                    {
                        "labels": [s.task_id for s in chosen],
                        "series": {split: [s.by_split[i] for s in chosen] for i, split in enumerate(SPLITS)},
                        "ylabel": metric,
                    },
                    caption="A large train–test gap means the quick model overfits; test near valid means "
                    "the splits agree.",
                )
            )
    return Section(
        "baselines",
        "Task baselines",
        tuple(figures),
        intro="A quick model per task, to show how learnable each task is before any feature work.",
    )


def _ceiling(s: Score) -> str:
    test = s.oracle[SPLITS.index("test")]
    return "not available" if not np.isfinite(test) else f"{test:.3f}"


def _fmt(v: float) -> str:
    return "—" if not np.isfinite(v) else f"{v:.3f}"


def baseline(reader: Reader, tm: TaskManifest) -> Score | None:
    names = reader.split_columns(tm.task_id)
    if tm.label_column not in names:
        return None
    leaky = _leaky(reader)
    train = reader.split(tm.task_id, "train", names)
    if train is None or train.num_rows < 10:
        return None
    numeric, levels = _design(train, tm, leaky)
    if not numeric and not levels:
        return None
    x_train, y_train = _matrix(train, tm, numeric, levels)
    keep = np.isfinite(y_train)
    x_train, y_train = x_train[keep], y_train[keep]
    if len(y_train) > FIT_ROWS:
        pick = np.linspace(0, len(y_train) - 1, FIT_ROWS).astype(np.int64)
        x_train, y_train = x_train[pick], y_train[pick]
    medians = _medians(x_train)
    x_train = _filled(x_train, medians)
    mean, sd = x_train.mean(axis=0), x_train.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    binary = tm.task_type == "binary_classification"
    z = (x_train - mean) / sd
    w = _logistic(z, y_train) if binary else _ridge(z, y_train)
    scores, counts = [], []
    for split in SPLITS:
        part = train if split == "train" else reader.split(tm.task_id, split, names)
        if part is None:
            scores.append(float("nan"))
            counts.append(0)
            continue
        x, y = _matrix(part, tm, numeric, levels)
        ok = np.isfinite(y)
        pred = np.einsum("ij,j->i", np.c_[np.ones(int(ok.sum())), (_filled(x[ok], medians) - mean) / sd], w)
        scores.append(_auc(pred, y[ok]) if binary else _r2(pred, y[ok]))
        counts.append(int(ok.sum()))
    return Score(
        tm.task_id,
        tm.task_type,
        "ROC AUC" if binary else "R²",
        tuple(scores),
        tuple(counts),
        x_train.shape[1],
        _oracle(reader, tm, binary),
    )


def _oracle(reader: Reader, tm: TaskManifest, binary: bool) -> tuple[float, ...]:
    """The answer key's score per split: its oracle value (the file's last column) against the label."""
    none = (float("nan"),) * len(SPLITS)
    if reader.manifest.is_public:
        return none
    base = f"metadata/oracle/{tm.task_id}"
    files = (
        (f"{base}.parquet",)
        if reader.bundle.exists(f"{base}.parquet")
        else discover(reader.bundle.root, base)
    )
    names = reader.columns_of(files)
    if len(names) < 4 or "split" not in names or tm.label_column not in names:
        return none
    table = reader.read_files(files, ["split", tm.label_column, names[-1]], SAMPLE_ROWS)
    if table is None:
        return none
    codes = pc.index_in(strings(table.column("split")), value_set=pa.array(SPLITS, pa.large_string()))
    split = np.asarray(pc.fill_null(codes, -1).to_numpy(zero_copy_only=False), dtype=np.int64)
    y, value = label_of(table.column(tm.label_column)), numbers(table.column(names[-1]))
    out = []
    for i in range(len(SPLITS)):
        keep = (split == i) & np.isfinite(y) & np.isfinite(value)
        out.append(_auc(value[keep], y[keep]) if binary else _r2(value[keep], y[keep]))
    return tuple(out)


def _leaky(reader: Reader) -> set[str]:
    try:
        return {r["name"] for r in reader.bundle.dictionary if r.get("leakage_risk") == "True"}
    except BundleError:
        return set()


def _design(train: pa.Table, tm: TaskManifest, leaky: set[str]) -> tuple[list[str], dict[str, list[str]]]:
    numeric: list[str] = []
    levels: dict[str, list[str]] = {}
    for field in train.schema:
        name = field.name
        if name in (tm.label_column, tm.key_column) or name in leaky or name.endswith("_id"):
            continue
        if is_temporal(field.type):
            continue
        if is_numeric(field.type):
            numeric.append(name)
        elif (
            pa.types.is_string(field.type)
            or pa.types.is_large_string(field.type)
            or pa.types.is_dictionary(field.type)
        ):
            col = strings(
                train.column(name).combine_chunks()
                if not pa.types.is_dictionary(field.type)
                else pc.cast(train.column(name), pa.large_string())
            )
            counts = pc.value_counts(col.drop_null())
            if 1 < len(counts) <= MAX_LEVELS:
                values = counts.field("values").to_pylist()
                if all(isinstance(v, str) and not _looks_like_time(v) for v in values):
                    levels[name] = sorted(values)
    return numeric, levels


def _looks_like_time(v: str) -> bool:
    return len(v) >= 10 and v[4] == "-" and v[7] == "-" and v[:4].isdigit()


def _matrix(
    table: pa.Table, tm: TaskManifest, numeric: Sequence[str], levels: dict[str, list[str]]
) -> tuple[np.ndarray, np.ndarray]:
    cols = [numbers(table.column(c)) for c in numeric]
    for name, values in levels.items():
        col = strings(pc.cast(table.column(name), pa.large_string()))
        idx = np.asarray(
            pc.fill_null(pc.index_in(col, value_set=pa.array(values, pa.large_string())), -1).to_numpy(
                zero_copy_only=False
            )
        )
        for i in range(1, len(values)):
            cols.append((idx == i).astype(np.float64))
    x = np.column_stack(cols) if cols else np.zeros((table.num_rows, 0))
    return x, label_of(table.column(tm.label_column))


def _medians(x: np.ndarray) -> np.ndarray:
    """Each column's median over its non-missing values (0 for a column with none)."""
    out = np.zeros(x.shape[1])
    for j in range(x.shape[1]):
        col = x[:, j][~np.isnan(x[:, j])]
        if col.size:
            out[j] = float(np.median(col))
    return out


def _filled(x: np.ndarray, medians: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(x), medians, x)


def _logistic(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Newton steps on the penalised log-likelihood. Products go through ``einsum``, not BLAS:
    a threaded BLAS on a busy machine can be a hundred times slower for these thin matrices."""
    x = np.c_[np.ones(len(z)), z]
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


def _ridge(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    x = np.c_[np.ones(len(z)), z]
    penalty = np.full(x.shape[1], RIDGE)
    penalty[0] = 0.0
    gram = np.einsum("ij,ik->jk", x, x, optimize=False)
    return np.linalg.solve(gram + np.diag(penalty), np.einsum("ij,i->j", x, y))


def _auc(score: np.ndarray, y: np.ndarray) -> float:
    from leadforge.testing.stats import auc

    return auc(score, y > 0.5)


def _r2(pred: np.ndarray, y: np.ndarray) -> float:
    if y.size < 2:
        return float("nan")
    total = float(np.sum((y - y.mean()) ** 2))
    return float("nan") if total == 0 else 1.0 - float(np.sum((y - pred) ** 2)) / total
