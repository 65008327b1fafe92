"""Task baselines: what a quick, honest model scores on each split, next to the answer key.

The model is :class:`leadforge.baseline.Baseline` (the one the dataset card quotes), scored by
ROC AUC (binary tasks) or R² (regression), fitted on the train split with the columns the
feature dictionary marks as leakage risks left out. Each split is an even sample of at most
:data:`SCORE_ROWS` rows (a score's sampling error there is about half a hundredth or less):
the model is fitted on the train sample (at most :data:`~leadforge.baseline.FIT_ROWS` rows, so
the train score is the in-sample one) and scored on each split's. The answer key is scored on
an even sample of at most three times as many rows. A bundle with many tasks costs a few
reads of small samples per task, flat in bundle size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from leadforge.baseline import FIT_ROWS, Baseline, label_values, numeric_values
from leadforge.bundle.manifest import SPLITS, TaskManifest
from leadforge.bundle.reader import discover
from leadforge.errors import BundleError
from leadforge.report.model import Figure, Section
from leadforge.report.read import Reader, is_temporal, sampled_from, strings
from leadforge.scoring import auc, r2

ORACLE = "instructor bundles whose scheme writes an answer key only"
#: Rows of each split a baseline is fitted or scored on at most (an even sample).
SCORE_ROWS = FIT_ROWS


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
    #: whether the splits were scored on an even sample of their rows
    sampled: bool = False


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
        f"The oracle ceiling (the answer key's own score on test) is shown for {ORACLE}." + _sampled(scores),
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


def _sampled(scores: list[Score]) -> str:
    chosen = [s for s in scores if s.sampled]
    if not chosen:
        return ""
    rows = ", ".join(f"{s.task_id} {sum(s.rows):,}" for s in chosen)
    return (
        f" Fitted and scored on an even sample of each split (at most {SCORE_ROWS:,} rows each; {rows} "
        "rows in all)."
    )


def _ceiling(s: Score) -> str:
    test = s.oracle[SPLITS.index("test")]
    return "not available" if not np.isfinite(test) else f"{test:.3f}"


def _fmt(v: float) -> str:
    return "—" if not np.isfinite(v) else f"{v:.3f}"


def baseline(reader: Reader, tm: TaskManifest) -> Score | None:
    label = tm.label_column
    exclude = {tm.key_column, *_leaky(reader)}
    try:
        schema = reader.bundle.schema(reader.bundle.split_files(tm.task_id, "train"))
    except BundleError:
        return None
    if label not in schema.names:
        return None
    # only what the model can use is read: ids, times and excluded columns never are
    names = [
        f.name
        for f in schema
        if f.name == label or not (f.name in exclude or f.name.endswith("_id") or is_temporal(f.type))
    ]
    train = reader.split(tm.task_id, "train", names, limit=SCORE_ROWS)
    if train is None or train.num_rows < 10:
        return None
    binary = tm.task_type == "binary_classification"
    model = Baseline.fit(_fit_rows(train, label), label, binary=binary, exclude=exclude)
    if model is None:
        return None
    names = [label, *model.numeric, *(name for name, _ in model.levels)]
    scores, counts, sampled = [], [], False
    for split in SPLITS:
        part = (
            train
            if split == "train"
            else reader.split(tm.task_id, split, list(dict.fromkeys(names)), limit=SCORE_ROWS)
        )
        sampled = sampled or sampled_from(part) is not None
        if part is None:
            scores.append(float("nan"))
            counts.append(0)
            continue
        pred, truth = _predict(model, part)
        paired = ~(np.isnan(pred) | np.isnan(truth))
        scores.append((auc if binary else r2)(pred[paired], truth[paired]))
        counts.append(int(paired.sum()))
    return Score(
        tm.task_id,
        tm.task_type,
        "ROC AUC" if binary else "R²",
        tuple(scores),
        tuple(counts),
        model.features,
        _oracle(reader, tm, binary),
        sampled,
    )


#: Rows scored at a time: the design matrix of a slice, not of the whole sample, is in memory.
PREDICT_ROWS = 32_768


def _predict(model: Baseline, table: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    if table.num_rows <= PREDICT_ROWS:
        return model.predict(table)
    parts = [model.predict(table.slice(i, PREDICT_ROWS)) for i in range(0, table.num_rows, PREDICT_ROWS)]
    return np.concatenate([p for p, _ in parts]), np.concatenate([y for _, y in parts])


def _fit_rows(train: pa.Table, label: str) -> pa.Table:
    """The (at most) :data:`FIT_ROWS` labelled train rows :meth:`Baseline.fit` would keep, picked
    before its design matrix is built so a large train sample is not expanded whole."""
    y = label_values(train.column(label))
    keep = np.flatnonzero(np.isfinite(y))
    if keep.size <= FIT_ROWS:
        return train
    return train.take(pa.array(keep[np.linspace(0, keep.size - 1, FIT_ROWS).astype(np.int64)]))


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
    table = reader.read_files(files, ["split", tm.label_column, names[-1]], 3 * SCORE_ROWS)
    if table is None:
        return none
    codes = pc.index_in(strings(table.column("split")), value_set=pa.array(SPLITS, pa.large_string()))
    split = np.asarray(pc.fill_null(codes, -1).to_numpy(zero_copy_only=False), dtype=np.int64)
    y, value = label_values(table.column(tm.label_column)), numeric_values(table.column(names[-1]))
    out = []
    for i in range(len(SPLITS)):
        keep = split == i
        out.append(auc(value[keep], y[keep]) if binary else r2(value[keep], y[keep]))
    return tuple(out)


def _leaky(reader: Reader) -> set[str]:
    try:
        return {r["name"] for r in reader.bundle.dictionary if r.get("leakage_risk") == "True"}
    except BundleError:
        return set()
