"""Lifecycle quality benchmark: tier rates, churn ROC-AUC and pLTV Spearman / R² per seed and tier.

For every (seed, tier) a research_instructor bundle of the default size (24 000 customers; each
test split holds about 3 475 customers and 150+ churners) is generated; a default
``HistGradientBoostingClassifier`` is trained on the calendar ``churned_within_180d`` train split
and scored on its test split (ROC-AUC), beside a logistic regression (imputed, standardised:
``churn_auc_lr``), and a default ``HistGradientBoostingRegressor`` likewise on each
``pltv_revenue_{90,365,730}d`` task (Spearman correlation and R² of the test predictions with
the target): the scores a student gets from the bundle as shipped. Features: every column but
the ids, the cohort date, the target and the two leakage traps (what they add is the lessons
benchmark's trap lift), strings one-hot encoded.

``*_cv`` columns score the churn and 365-day models by 5-fold cross-validation over every row of
the task, a second view of the tier ordering that does not rest on one split.

World rates (first-year churn, first-year expansion, still-active share; defined in
``leadforge_lifecycle.rates``) come from the bundle's ``metadata/mechanism_summary.json``. Per
revenue window: the share of exact zeros and the share of the cohort churned by the window's end.

``--families`` adds the world rates of every family × tier (seed 42); ``--leak-probe`` adds the
cheating-student probe on every seed (``--leak-only``: the probe alone): a model on per-customer
aggregates of the public tables against one on the honest public snapshot features (5-fold CV
over all rows, averaged over five shufflings of the folds).

    .venv/bin/python benchmarks/quality_lifecycle.py [--seeds 42 43 44 45 46] [--tiers ...]
        [--families] [--leak-probe | --leak-only]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from leadforge.api import Generator
from scipy.stats import spearmanr
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import r2_score, roc_auc_score
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

RECIPE = "b2b_saas_ltv_v1"
SEEDS = (42, 43, 44, 45, 46)
TIERS = ("intro", "intermediate", "advanced")
IDS = ("customer_id", "account_id")
#: The task rows' cohort date: the out-of-time split's time column, not a feature.
TIME = ("customer_start_at",)
TRAPS = ("mrr_change_full_period", "last_health_signal_post_obs")
WINDOWS = (90, 365, 730)
OBSERVATION = pd.Timestamp("2025-01-27")
PINNED = "2026-01-01T00:00:00+00:00"
#: The metrics whose strict decrease intro > intermediate > advanced makes the tiers ordered.
ORDERED_METRICS = ("churn_auc_cv", "pltv365_spearman_cv")


def _split(bundle: Path, task: str, split: str) -> pd.DataFrame:
    return pd.read_parquet(bundle / "tasks" / task / f"{split}.parquet")


def _rows(bundle: Path, task: str) -> pd.DataFrame:
    return pd.concat([_split(bundle, task, s) for s in ("train", "valid", "test")], ignore_index=True)


def _table(bundle: Path, name: str) -> pd.DataFrame:
    return pd.read_parquet(bundle / "tables" / f"{name}.parquet")


def design(frame: pd.DataFrame, label: str, drop: tuple[str, ...] = ()) -> pd.DataFrame:
    """Every column but ids, the label and ``drop``; strings one-hot encoded."""
    x = frame.drop(columns=[c for c in (*IDS, label, *drop, *TIME) if c in frame])
    strings = [c for c in x.columns if x[c].dtype == "string"]
    return pd.get_dummies(x, columns=strings, dummy_na=True, dtype=float).astype("float64")


def _train_test(
    bundle: Path, task: str, label: str
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series]:
    train, test = _split(bundle, task, "train"), _split(bundle, task, "test")
    both = design(pd.concat([train, test], keys=["train", "test"]), label, TRAPS)
    return pd.DataFrame(both.loc["train"]), pd.DataFrame(both.loc["test"]), train[label], test[label]


def churn_auc(bundle: Path, task: str = "churned_within_180d") -> float:
    x_train, x_test, y_train, y_test = _train_test(bundle, task, "churned_within_180d")
    with threadpool_limits(1):  # one thread: same scores, far faster on a shared machine
        model = HistGradientBoostingClassifier(random_state=0).fit(x_train, y_train.astype(int))
        scores = model.predict_proba(x_test)[:, 1]
    return float(roc_auc_score(y_test.astype(int), scores))


def churn_auc_lr(bundle: Path, task: str = "churned_within_180d") -> float:
    """Test ROC-AUC of a logistic regression (median-imputed, standardised features)."""
    x_train, x_test, y_train, y_test = _train_test(bundle, task, "churned_within_180d")
    model = make_pipeline(
        SimpleImputer(strategy="median"), StandardScaler(), LogisticRegression(max_iter=2000)
    )
    with threadpool_limits(1):
        model.fit(x_train, y_train.astype(int))
        scores = model.predict_proba(x_test)[:, 1]
    return float(roc_auc_score(y_test.astype(int), scores))


def pltv_scores(bundle: Path, window: int) -> tuple[float, float]:
    """Test Spearman correlation and R² of the GBM regressor on ``pltv_revenue_<window>d``."""
    label = f"ltv_revenue_{window}d"
    x_train, x_test, y_train, y_test = _train_test(bundle, f"pltv_revenue_{window}d", label)
    with threadpool_limits(1):
        model = HistGradientBoostingRegressor(random_state=0).fit(x_train, y_train.astype(float))
        predicted = model.predict(x_test)
    y = y_test.astype(float).to_numpy()
    return float(spearmanr(predicted, y).statistic), float(r2_score(y, predicted))


def pltv_spearman(bundle: Path, task: str = "pltv_revenue_365d") -> float:
    return pltv_scores(bundle, int(task.removeprefix("pltv_revenue_").removesuffix("d")))[0]


def _cv_predictions(model: Any, x: pd.DataFrame, y: np.ndarray, folds: Any, proba: bool) -> np.ndarray:
    with threadpool_limits(1):
        if proba:
            return np.asarray(cross_val_predict(model, x, y, cv=folds, method="predict_proba")[:, 1])
        return np.asarray(cross_val_predict(model, x, y, cv=folds))


def churn_auc_cv(bundle: Path, task: str = "churned_within_180d") -> float:
    """ROC-AUC of 5-fold cross-validated predictions over every row of the task."""
    rows = _rows(bundle, task)
    y = rows.churned_within_180d.astype(int).to_numpy()
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    model = HistGradientBoostingClassifier(random_state=0)
    p = _cv_predictions(model, design(rows, "churned_within_180d", TRAPS), y, folds, proba=True)
    return float(roc_auc_score(y, p))


def pltv_spearman_cv(bundle: Path, task: str = "pltv_revenue_365d") -> float:
    """Spearman correlation of 5-fold cross-validated predictions over every row of the task."""
    rows = _rows(bundle, task)
    y = rows.ltv_revenue_365d.astype(float).to_numpy()
    folds = KFold(5, shuffle=True, random_state=0)
    model = HistGradientBoostingRegressor(random_state=0)
    p = _cv_predictions(model, design(rows, "ltv_revenue_365d", TRAPS), y, folds, proba=False)
    return float(spearmanr(p, y).statistic)


def window_shares(bundle: Path) -> dict[str, float]:
    """Per window: exact-zero revenue share, and share of the cohort churned by the window's end."""
    out = {}
    subs = _table(bundle, "subscriptions").set_index("customer_id")
    churn_day = (pd.to_datetime(subs.churn_at) - OBSERVATION).dt.days
    for w in WINDOWS:
        rows = _rows(bundle, f"pltv_revenue_{w}d")
        out[f"zero_share_{w}d"] = float((rows[f"ltv_revenue_{w}d"] == 0).mean())
        out[f"churned_by_end_{w}d"] = float((churn_day.loc[rows.customer_id] <= w).mean())
    return out


def pltv_columns(bundle: Path) -> dict[str, float]:
    out = {}
    for w in WINDOWS:
        out[f"pltv{w}_spearman"], out[f"pltv{w}_r2"] = pltv_scores(bundle, w)
    return out


def measure(bundle: Path) -> dict[str, Any]:
    manifest = json.loads((bundle / "manifest.json").read_text())
    summary = json.loads((bundle / "metadata" / "mechanism_summary.json").read_text())
    rates = summary["world_rates"]
    return {
        "family": manifest["motif_family"],
        "churn_rate": rates["first_year_churn"],
        "expansion_rate": rates["expansion_rate"],
        "still_active_share": rates["still_active_share"],
        "test_churners": int(_split(bundle, "churned_within_180d", "test").churned_within_180d.sum()),
        "churn_auc": churn_auc(bundle),
        "churn_auc_lr": churn_auc_lr(bundle),
        **pltv_columns(bundle),
        "churn_auc_cv": churn_auc_cv(bundle),
        "pltv365_spearman_cv": pltv_spearman_cv(bundle),
        **window_shares(bundle),
    }


def rows(
    seeds: tuple[int, ...] | list[int] = SEEDS,
    tiers: tuple[str, ...] | list[str] = TIERS,
    **params: Any,
) -> list[dict[str, Any]]:
    """One row per (seed, tier): family, world rates, churn AUC, pLTV-365 Spearman, window shares."""
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            for tier in tiers:
                gen = Generator.from_recipe(
                    RECIPE, seed=seed, exposure_mode="research_instructor", difficulty=tier, **params
                )
                path = gen.generate().save(Path(tmp) / f"{seed}_{tier}", generation_timestamp=PINNED)
                out.append({"seed": seed, "tier": tier, **measure(path)})
    return out


def family_rows(seed: int = 42, tiers: tuple[str, ...] | list[str] = TIERS) -> list[dict[str, Any]]:
    """World rates of every motif family in every tier (no bundle written: the world is simulated)."""
    from leadforge_lifecycle import rates
    from leadforge_lifecycle.families import FAMILY_NAMES

    out = []
    for family in FAMILY_NAMES:
        for tier in tiers:
            world = (
                Generator.from_recipe(RECIPE, seed=seed, difficulty=tier, motif_family=family)
                .generate()
                .world
            )
            counts = rates.RateCounts()
            for shard in world.shards():
                counts = counts + rates.of_trajectories(shard.trajectories, shard.health.active_users)
            out.append(
                {
                    "family": family,
                    "tier": tier,
                    "churn_rate": counts.first_year_churn,
                    "expansion_rate": counts.expansion_rate,
                    "still_active_share": counts.still_active_share,
                }
            )
    return out


def public_aggregates(bundle: Path) -> pd.DataFrame:
    """The cheating student's join: per-customer aggregates of every public table."""
    customers = _table(bundle, "customers").set_index("customer_id")
    health = _table(bundle, "health_signals")
    health["day"] = (pd.to_datetime(health.period_start) - OBSERVATION).dt.days
    invoices = _table(bundle, "invoices")
    invoices["day"] = (pd.to_datetime(invoices.invoice_date) - OBSERVATION).dt.days
    events = _table(bundle, "subscription_events")
    out = pd.DataFrame(index=customers.index)
    g = health.groupby("customer_id")
    for weeks in (4, 8, 12, 26):
        recent = health[health.day > -7 * weeks].groupby("customer_id")
        out[f"users_{weeks}w"] = recent.active_users.mean()
        out[f"depth_{weeks}w"] = recent.feature_depth_score.mean()
        out[f"tickets_{weeks}w"] = recent.support_tickets.sum()
    out["users_last"], out["depth_last"] = g.active_users.last(), g.feature_depth_score.last()
    out["users_peak_ratio"] = out.users_4w / g.active_users.max()
    out["nps_last"] = health.dropna(subset=["nps_score"]).groupby("customer_id").nps_score.last()
    out["signals"] = g.size()
    gi = invoices.groupby("customer_id")
    out["billed"], out["last_bill"] = gi.amount_usd.sum(), gi.amount_usd.last()
    for status in ("paid", "failed", "recovered", "written_off"):
        out[f"inv_{status}"] = invoices[invoices.payment_status == status].groupby("customer_id").size()
    out["days_since_trouble"] = invoices[invoices.payment_status != "paid"].groupby("customer_id").day.max()
    for kind in ("expansion", "contraction", "renewal", "payment_failure", "payment_recovered"):
        out[f"ev_{kind}"] = events[events.event_type == kind].groupby("customer_id").size()
    out["mrr_now"] = events.groupby("customer_id").mrr_after.last()
    out["initial_mrr"] = customers.initial_mrr
    out["term"] = customers.contract_term_months
    out["tenure"] = (OBSERVATION - pd.to_datetime(customers.customer_start_at)).dt.days
    counts = [c for c in out.columns if c.startswith(("inv_", "ev_", "tickets_"))]
    return out.fillna({c: 0.0 for c in counts}).astype("float64")


#: Shufflings of the leak probe's folds it averages over: on 6 000 customers the gain of one
#: shuffling swings by about ±0.02 AUC (seed 45 intermediate: −0.005 to +0.032, mean +0.012).
LEAK_REPEATS = 5


def _repeated_cv(x: pd.DataFrame, y: np.ndarray, churn: bool) -> float:
    """Mean 5-fold CV score over ``LEAK_REPEATS`` shufflings: ROC-AUC of the classifier on churn,
    Spearman of the regressor on revenue."""
    scores = []
    for rep in range(LEAK_REPEATS):
        if churn:
            folds: Any = StratifiedKFold(5, shuffle=True, random_state=rep)
            p = _cv_predictions(HistGradientBoostingClassifier(random_state=0), x, y, folds, proba=True)
            scores.append(roc_auc_score(y, p))
        else:
            folds = KFold(5, shuffle=True, random_state=rep)
            pred = _cv_predictions(HistGradientBoostingRegressor(random_state=0), x, y, folds, proba=False)
            scores.append(spearmanr(pred, y).statistic)
    return float(np.mean(scores))


def leak_probe(public_bundle: Path) -> dict[str, float]:
    """5-fold CV scores of the honest snapshot features and of the public-table aggregates, each
    the mean over ``LEAK_REPEATS`` shufflings of the folds."""
    agg = public_aggregates(public_bundle)
    churn = _rows(public_bundle, "churned_within_180d")
    revenue = _rows(public_bundle, "pltv_revenue_365d")
    y = churn.churned_within_180d.astype(int).to_numpy()
    r = revenue.ltv_revenue_365d.astype(float).to_numpy()
    return {
        "auc_snapshot": _repeated_cv(design(churn, "churned_within_180d", TRAPS), y, churn=True),
        "auc_tables": _repeated_cv(agg.loc[churn.customer_id], y, churn=True),
        "rho_snapshot": _repeated_cv(design(revenue, "ltv_revenue_365d", TRAPS), r, churn=False),
        "rho_tables": _repeated_cv(agg.loc[revenue.customer_id], r, churn=False),
    }


def leak_rows(seed: int = 42, tiers: tuple[str, ...] | list[str] = TIERS) -> list[dict[str, Any]]:
    """The leak probe on the shipped tiers' public bundles of 6 000 customers (snapshots distorted)."""
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for tier in tiers:
            gen = Generator.from_recipe(
                RECIPE, seed=seed, exposure_mode="student_public", difficulty=tier, n_customers=6000
            )
            path = gen.generate().save(Path(tmp) / tier, generation_timestamp=PINNED)
            out.append({"seed": seed, "tier": tier, **leak_probe(path)})
    return out


def format_rows(table: list[dict[str, Any]]) -> str:
    """A fixed-width text table of ``table`` (floats to 3 decimals)."""
    if not table:
        return "(no rows)"
    cols = list(table[0])
    cells = [[f"{r[c]:.3f}" if isinstance(r[c], float) else str(r[c]) for c in cols] for r in table]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    lines = ["  ".join(c.rjust(w) for c, w in zip(cols, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.rjust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(lines)


def ordered(table: list[dict[str, Any]], metric: str) -> dict[int, bool]:
    """Per seed: is ``metric`` strictly decreasing intro > intermediate > advanced?"""
    out = {}
    for seed in sorted({r["seed"] for r in table}):
        by_tier = {r["tier"]: r[metric] for r in table if r["seed"] == seed}
        if all(t in by_tier for t in TIERS):
            values = [by_tier[t] for t in TIERS]
            out[seed] = bool(np.all(np.diff(values) < 0))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    ap.add_argument("--tiers", nargs="+", default=list(TIERS), choices=TIERS)
    ap.add_argument("--family", default=None, help="force one motif family for every seed")
    ap.add_argument("--families", action="store_true", help="also print world rates per family x tier")
    ap.add_argument("--leak-probe", action="store_true", help="also run the public leak probe on every seed")
    ap.add_argument("--leak-only", action="store_true", help="run only the leak probe")
    args = ap.parse_args()
    params = {"motif_family": args.family} if args.family else {}
    if args.leak_only:
        print(format_rows(_leak_table(args.seeds, args.tiers)))
        return
    table = rows(args.seeds, args.tiers, **params)
    print(format_rows(table), flush=True)
    metrics = ("churn_auc", *(f"pltv{w}_{m}" for w in WINDOWS for m in ("spearman", "r2")), *ORDERED_METRICS)
    for metric in metrics:
        flags = ordered(table, metric)
        if flags:
            print(f"{metric} strictly decreasing intro > intermediate > advanced per seed: {flags}")
    if args.families:
        print("\nWorld rates per family and tier (seed 42)\n" + format_rows(family_rows(tiers=args.tiers)))
    if args.leak_probe:
        print("\nLeak probe, shipped public bundles\n" + format_rows(_leak_table(args.seeds, args.tiers)))


def _leak_table(seeds: list[int], tiers: list[str]) -> list[dict[str, Any]]:
    """The leak probe of every seed and tier, with the tables' gains over the snapshot."""
    out = []
    for seed in seeds:
        for row in leak_rows(seed, tiers):
            row["auc_gain"] = row["auc_tables"] - row["auc_snapshot"]
            row["rho_gain"] = row["rho_tables"] - row["rho_snapshot"]
            out.append(row)
    return out


if __name__ == "__main__":
    main()
