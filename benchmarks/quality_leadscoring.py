"""Quality of the lead_scoring tiers: conversion rate and test ROC-AUC per seed and tier.

For each seed and tier a bundle of the default recipe (5,000 leads) is generated and the
task's splits are read back from disk. Two models are trained on ``train`` and scored on
``test`` with every split column except the ids, ``lead_created_at``, the leakage trap
``total_touches_all`` (it leaks post-anchor touches; ``benchmarks/lessons.py`` measures it)
and the label:
a default ``HistGradientBoostingClassifier`` (string columns one-hot), and a logistic
regression (numerics median-imputed and standard-scaled, strings one-hot).

    python benchmarks/quality_leadscoring.py               # seeds 42-46 x three tiers
    python benchmarks/quality_leadscoring.py --mode research_instructor

``rows(seeds, tiers)`` is imported by ``benchmarks/quality.py``; keep its signature.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

RECIPE = "b2b_saas_procurement_v1"
TIERS = ("intro", "intermediate", "advanced")
SEEDS = (42, 43, 44, 45, 46)
IDS = ("lead_id", "account_id", "contact_id", "lead_created_at")
#: The deliberate leakage trap (post-anchor touches): the tiers are measured on honest features.
TRAPS = ("total_touches_all",)
TIMESTAMP = "2026-01-01T00:00:00+00:00"


def model_frame(frame: pd.DataFrame, label: str) -> tuple[pd.DataFrame, np.ndarray]:
    """Features (every column but ids, timestamp, the trap and label) and the 0/1 target."""
    y = frame[label].astype(int).to_numpy()
    x = frame.drop(columns=[c for c in (*IDS, *TRAPS, label) if c in frame.columns])
    out = pd.DataFrame(index=x.index)
    for c in x.columns:
        if pd.api.types.is_bool_dtype(x[c]) or pd.api.types.is_numeric_dtype(x[c]):
            out[c] = x[c].astype("float64")
        else:
            out[c] = x[c].astype(object).where(x[c].notna(), "missing")
    return out, y


def auc_pair(train: pd.DataFrame, test: pd.DataFrame, label: str) -> tuple[float, float]:
    """Test ROC-AUC of the default gradient-boosted trees and of logistic regression."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    xtr, ytr = model_frame(train, label)
    xte, yte = model_frame(test, label)
    cats = [c for c in xtr.columns if xtr[c].dtype == object]
    nums = [c for c in xtr.columns if c not in cats]
    onehot = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
    gbm = make_pipeline(
        ColumnTransformer([("cat", onehot, cats)], remainder="passthrough"),
        HistGradientBoostingClassifier(random_state=0),
    )
    gbm.fit(xtr, ytr)
    lr = make_pipeline(
        ColumnTransformer(
            [
                ("cat", OneHotEncoder(handle_unknown="ignore"), cats),
                ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), nums),
            ]
        ),
        LogisticRegression(max_iter=1000),
    )
    lr.fit(xtr, ytr)
    return (
        float(roc_auc_score(yte, gbm.predict_proba(xte)[:, 1])),
        float(roc_auc_score(yte, lr.predict_proba(xte)[:, 1])),
    )


def generate(seed: int, tier: str, out: Path, mode: str = "student_public", **params: Any) -> Path:
    from leadforge.api import Generator

    gen = Generator.from_recipe(RECIPE, seed=seed, exposure_mode=mode, difficulty=tier, **params)
    return gen.generate().save(out, generation_timestamp=TIMESTAMP)


def read_split(bundle: Path, split: str) -> tuple[pd.DataFrame, str]:
    import json

    manifest = json.loads((bundle / "manifest.json").read_text())
    task = manifest["primary_task"]
    tm = json.loads((bundle / "tasks" / task / "task_manifest.json").read_text())
    return pd.read_parquet(bundle / "tasks" / task / f"{split}.parquet"), tm["label_column"]


def measure(bundle: Path) -> dict[str, Any]:
    import json

    manifest = json.loads((bundle / "manifest.json").read_text())
    train, label = read_split(bundle, "train")
    test, _ = read_split(bundle, "test")
    valid, _ = read_split(bundle, "valid")
    rate = float(pd.concat([train[label], valid[label], test[label]]).mean())
    gbm, lr = auc_pair(train, test, label)
    return {
        "seed": manifest["seed"],
        "tier": manifest["difficulty"],
        "motif": manifest.get("motif_family"),
        "conversion_rate": round(rate, 4),
        "gbm_auc": round(gbm, 4),
        "lr_auc": round(lr, 4),
        "gbm_minus_lr": round(gbm - lr, 4),
    }


def rows(
    seeds: Iterable[int] = SEEDS, tiers: Iterable[str] = TIERS, mode: str = "student_public"
) -> list[dict[str, Any]]:
    """One dict per seed x tier: seed, tier, motif (None in public bundles), conversion rate,
    GBM AUC, LR AUC and GBM - LR, each from a freshly generated default-size bundle."""
    out = []
    with tempfile.TemporaryDirectory(prefix="lf-quality-") as tmp:
        for seed in seeds:
            for tier in tiers:
                path = generate(seed, tier, Path(tmp) / f"{seed}-{tier}", mode)
                row = measure(path)
                if row["motif"] is None:
                    row["motif"] = _motif(seed)
                out.append(row)
    return out


def _motif(seed: int) -> str:
    """The seed's motif family (public manifests withhold it; the benchmark may look)."""
    from leadforge.rng import RNG
    from leadforge_leadscoring.graph import sample_graph

    return sample_graph(RNG(seed)).motif_family


def format_table(table: Sequence[dict[str, Any]]) -> str:
    header = ("seed", "tier", "motif", "conv. rate", "GBM AUC", "LR AUC", "GBM-LR")
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    for r in table:
        lines.append(
            f"| {r['seed']} | {r['tier']} | {r['motif']} | {r['conversion_rate']:.3f} | "
            f"{r['gbm_auc']:.3f} | {r['lr_auc']:.3f} | {r['gbm_minus_lr']:+.3f} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default=",".join(map(str, SEEDS)))
    ap.add_argument("--tiers", default=",".join(TIERS))
    ap.add_argument("--mode", default="student_public", choices=("student_public", "research_instructor"))
    args = ap.parse_args(argv)
    os.environ.setdefault("SOURCE_DATE_EPOCH", "0")
    table = rows([int(s) for s in args.seeds.split(",")], args.tiers.split(","), args.mode)
    print(format_table(table))


if __name__ == "__main__":
    main()
