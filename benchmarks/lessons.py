"""The three lessons a teacher uses a bundle for, measured on public bundles per scheme, tier and seed.

    .venv/bin/python benchmarks/lessons.py [--scheme lead_scoring] [--seeds 42 43 44 45 46]
        [--tiers intro intermediate advanced] [--json lessons.json]

For every task of the recipe's public bundle (default size), with scikit-learn's defaults —
logistic regression (one-hot + median imputation + scaling) and histogram gradient boosting:

* **trap**: test AUC (Spearman for regression tasks) with the columns the feature dictionary
  flags ``leakage_risk`` (those the task's rows carry) minus without them — a trap that teaches
  lifts both models clearly;
* **relational**: GBM score on the snapshot plus features engineered from the public tables
  minus the snapshot alone, averaged over a 5-fold cross-validation of the pooled task rows
  (a single test split is too small to resolve a few points). The features are generic and
  driven by the relational contract, as a student would write them: for every table with a
  foreign key to the task's primary table, per parent row: row count, rows in the last 7 and 30
  days before the latest event, days from the first to the latest event, the mean and max of
  each numeric column, and row counts per value of each low-cardinality text column;
* **out-of-time**: the task's rows pooled; a model trained and tested on a random 70/30 cut of
  them, minus the same model trained on the earliest 70 % by the primary table's time column
  and tested on the latest 30 % — positive when the next cohort is harder, as it should be.

Prints one table per scheme and writes every figure as JSON with ``--json``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

RECIPES = {"lead_scoring": "b2b_saas_procurement_v1", "lifecycle": "b2b_saas_ltv_v1"}
TIERS = ("intro", "intermediate", "advanced")
PINNED = "2026-01-01T00:00:00+00:00"
MAX_LEVELS = 12
SEED = 0
#: folds of the relational lesson's cross-validation
FOLDS = 5


@dataclass(frozen=True)
class Lesson:
    """One task's three lessons in one bundle (NaN: not measurable there, e.g. no trap flagged)."""

    scheme: str
    tier: str
    seed: int
    task: str
    metric: str
    trap_lr: float
    trap_gbm: float
    relational_gbm: float
    out_of_time_lr: float
    out_of_time_gbm: float


def frame(x: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(index=x.index)
    for c in x.columns:
        col = x[c]
        if pd.api.types.is_datetime64_any_dtype(col) or c.endswith("_id"):
            continue
        if pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col):
            out[c] = col.astype("float64")
        else:
            out[c] = col.astype(object).where(col.notna(), "missing").astype(str)
    return out


def fit_score(train: pd.DataFrame, test: pd.DataFrame, label: str, model: str, regression: bool) -> float:
    from scipy.stats import spearmanr
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    xtr, xte = frame(train.drop(columns=[label])), frame(test.drop(columns=[label]))
    ytr, yte = train[label].astype("float64"), test[label].astype("float64")
    nums = [c for c in xtr.columns if pd.api.types.is_numeric_dtype(xtr[c])]
    cats = [c for c in xtr.columns if c not in nums]
    if model == "gbm":
        prep = ColumnTransformer(
            [("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False, max_categories=30), cats)],
            remainder="passthrough",
        )
        est: Any = (
            HistGradientBoostingRegressor(random_state=SEED)
            if regression
            else HistGradientBoostingClassifier(random_state=SEED)
        )
    else:
        prep = ColumnTransformer(
            [
                ("cat", OneHotEncoder(handle_unknown="ignore", max_categories=30), cats),
                ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), nums),
            ]
        )
        est = Ridge() if regression else LogisticRegression(max_iter=2000)
    pipe = make_pipeline(prep, est)
    pipe.fit(xtr, ytr)
    if regression:
        return float(spearmanr(pipe.predict(xte), yte).statistic)
    return float(roc_auc_score(yte, pipe.predict_proba(xte)[:, 1]))


def engineered(root: Path, manifest: dict[str, Any], primary: str, key: str) -> pd.DataFrame:
    """Generic relational features per row of ``primary``, from every public table that hangs off it."""
    contract = manifest["relational_contract"]
    tables = set(manifest["tables"])
    features: list[pd.DataFrame] = []
    # a child table referencing the primary table directly, or through one intermediate table
    for name, t in contract.items():
        if name not in tables or name == primary:
            continue
        fks = {fk["column"]: fk["parent"] for fk in t.get("foreign_keys", [])}
        via = next((c for c, p in fks.items() if p == primary), None)
        if via is None:
            continue
        child = pd.read_parquet(root / manifest["tables"][name]["file"])
        features.append(_aggregate(child, via, key, name, t.get("time_column")))
    return pd.concat(features, axis=1) if features else pd.DataFrame()


def _aggregate(child: pd.DataFrame, via: str, key: str, name: str, time_column: str | None) -> pd.DataFrame:
    g = child.groupby(via, sort=False)
    out = pd.DataFrame({f"{name}__rows": g.size()})
    if time_column and time_column in child:
        when = pd.to_datetime(child[time_column], utc=True, errors="coerce")
        last = when.groupby(child[via]).transform("max")
        age = (last - when).dt.total_seconds() / 86400.0
        out[f"{name}__last7"] = (age <= 7).groupby(child[via]).sum()
        out[f"{name}__last30"] = (age <= 30).groupby(child[via]).sum()
        first = when.groupby(child[via]).min()
        out[f"{name}__span_days"] = (when.groupby(child[via]).max() - first).dt.total_seconds() / 86400.0
    for c in child.columns:
        if c in (via, time_column) or c.endswith("_id"):
            continue
        col = child[c]
        if pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col):
            v = col.astype("float64").groupby(child[via])
            out[f"{name}__{c}__mean"] = v.mean()
            out[f"{name}__{c}__max"] = v.max()
        elif col.nunique() <= MAX_LEVELS and not pd.api.types.is_datetime64_any_dtype(col):
            counts = pd.crosstab(child[via], col.astype(str))
            counts.columns = [f"{name}__{c}={v}" for v in counts.columns]
            out = out.join(counts)
    out.index.name = key
    return out


def measure(scheme: str, tier: str, seed: int) -> list[Lesson]:
    from leadforge.api import Generator

    gen = Generator.from_recipe(RECIPES[scheme], seed=seed, difficulty=tier, exposure_mode="student_public")
    lessons = []
    with tempfile.TemporaryDirectory() as tmp:
        root = gen.generate().save(Path(tmp) / "b", generation_timestamp=PINNED)
        manifest = json.loads((root / "manifest.json").read_text())
        dictionary = pd.read_csv(root / "feature_dictionary.csv")
        traps = set(dictionary.loc[dictionary["leakage_risk"].astype(str) == "True", "name"])
        for task_id in sorted(manifest["tasks"]):
            tm = json.loads((root / "tasks" / task_id / "task_manifest.json").read_text())
            lessons.append(_lessons(root, manifest, tm, traps, scheme, tier, seed))
    return lessons


def _lessons(
    root: Path,
    manifest: dict[str, Any],
    tm: dict[str, Any],
    traps: set[str],
    scheme: str,
    tier: str,
    seed: int,
) -> Lesson:
    label, key, primary = tm["label_column"], tm["key_column"], tm["primary_table"]
    regression = tm["task_type"] == "regression"
    split = {
        s: pd.read_parquet(root / "tasks" / tm["task_id"] / f"{s}.parquet")
        for s in ("train", "valid", "test")
    }
    train, test = split["train"], split["test"]
    not_features = {key, tm.get("out_of_time", {}).get("column")}
    honest = [c for c in train.columns if c not in traps and c not in not_features]
    full = [c for c in train.columns if c not in not_features]
    nan = math.nan

    def gain(model: str) -> float:
        if not traps & set(train.columns):
            return nan
        with_trap = fit_score(train[full], test[full], label, model, regression)
        return with_trap - fit_score(train[honest], test[honest], label, model, regression)

    pooled = pd.concat(split.values(), ignore_index=True)
    extra = engineered(root, manifest, primary, key)
    relational = nan if extra.empty else _cv_gain(pooled, extra, honest, key, label, regression)
    when = _entry_time(root, manifest, primary, key, pooled[key])
    oot_lr = oot_gbm = nan
    if when is not None:
        order = np.argsort(when.to_numpy(), kind="stable")
        cut = int(len(order) * 0.7)
        early, late = pooled.iloc[order[:cut]], pooled.iloc[order[cut:]]
        shuffled = pooled.sample(frac=1.0, random_state=SEED)
        rand_tr, rand_te = shuffled.iloc[:cut], shuffled.iloc[cut:]
        cols = honest
        oot_lr = fit_score(rand_tr[cols], rand_te[cols], label, "lr", regression) - fit_score(
            early[cols], late[cols], label, "lr", regression
        )
        oot_gbm = fit_score(rand_tr[cols], rand_te[cols], label, "gbm", regression) - fit_score(
            early[cols], late[cols], label, "gbm", regression
        )
    return Lesson(
        scheme, tier, seed, tm["task_id"], "spearman" if regression else "auc",
        gain("lr"), gain("gbm"), relational, oot_lr, oot_gbm,
    )  # fmt: skip


def _cv_gain(
    pooled: pd.DataFrame, extra: pd.DataFrame, honest: list[str], key: str, label: str, regression: bool
) -> float:
    """Mean over 5 folds of the pooled task rows of GBM with the engineered features minus without
    (one test split of a default bundle holds ~100 positives: its AUC moves by ±0.03 by chance)."""
    from sklearn.model_selection import KFold, StratifiedKFold

    folds = (KFold if regression else StratifiedKFold)(FOLDS, shuffle=True, random_state=SEED)
    richer = _joined(pooled, extra, key, honest)
    gains = []
    for tr, te in folds.split(pooled, pooled[label]):
        base = fit_score(pooled.iloc[tr][honest], pooled.iloc[te][honest], label, "gbm", regression)
        gains.append(fit_score(richer.iloc[tr], richer.iloc[te], label, "gbm", regression) - base)
    return float(np.mean(gains))


def _joined(rows: pd.DataFrame, extra: pd.DataFrame, key: str, columns: list[str]) -> pd.DataFrame:
    """Task rows with the engineered features of their key (zero where a row has no children)."""
    out = rows[[key, *columns]].join(extra, on=key).drop(columns=[key])
    filled = [c for c in extra.columns if c.endswith(("__rows", "__last7", "__last30")) or "=" in c]
    out[filled] = out[filled].fillna(0.0)
    return out


def _entry_time(
    root: Path, manifest: dict[str, Any], primary: str, key: str, keys: pd.Series
) -> pd.Series | None:
    time_column = manifest["relational_contract"].get(primary, {}).get("time_column")
    if not time_column or primary not in manifest["tables"]:
        return None
    table = pd.read_parquet(root / manifest["tables"][primary]["file"], columns=[key, time_column])
    when: pd.Series = pd.to_datetime(table.set_index(key)[time_column], utc=True, errors="coerce")
    return when.reindex(keys.to_numpy())


def render(lessons: list[Lesson]) -> str:
    head = [
        "tier",
        "seed",
        "task",
        "metric",
        "trap LR",
        "trap GBM",
        "relational GBM",
        "OOT drop LR",
        "OOT drop GBM",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for x in lessons:
        cells = [x.tier, str(x.seed), x.task, x.metric]
        cells += [
            "—" if math.isnan(v) else f"{v:+.3f}"
            for v in (x.trap_lr, x.trap_gbm, x.relational_gbm, x.out_of_time_lr, x.out_of_time_gbm)
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scheme", choices=sorted(RECIPES), action="append")
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 43, 44, 45, 46])
    parser.add_argument("--tiers", nargs="+", default=list(TIERS), choices=TIERS)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    found: list[Lesson] = []
    for scheme in args.scheme or sorted(RECIPES):
        print(f"## {scheme}\n\n" + "\n".join(render([]).splitlines()[:2]), flush=True)
        mine: list[Lesson] = []
        for t in args.tiers:
            for s in args.seeds:
                got = measure(scheme, t, s)
                print("\n".join(render(got).splitlines()[2:]), flush=True)
                mine += got
        print(flush=True)
        found += mine
    if args.json:
        args.json.write_text(json.dumps([asdict(x) for x in found], indent=2, allow_nan=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
