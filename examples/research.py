"""The researcher's worked example (docs/research.md): a designed experiment and the answer key.

    python examples/research.py [BUNDLE] [--n-leads N] [--seed S]

Generates an instructor lead-scoring bundle at BUNDLE (unless it exists) in which a random half of
the leads get twice the follow-up speed (``--experiment 'policy:follow_up_speed=2@0.5'``), then:

1. estimates the average effect of the policy on conversion from the public ``treatment`` column
   (difference in means, 95 % interval) and checks it against the true average uplift from the
   answer key;
2. trains a gradient-boosted model on the train split and compares its test ROC AUC with the
   oracle's on the same rows — how much of the achievable signal the model found.

Needs scikit-learn (``pip install scikit-learn``).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path

import leadforge
import pandas as pd
from leadforge.scoring import auc
from sklearn.ensemble import HistGradientBoostingClassifier

RECIPE = "b2b_saas_procurement_v1"
EXPERIMENT = "policy:follow_up_speed=2@0.5"


@dataclass(frozen=True)
class Findings:
    estimate: float
    low: float
    high: float
    true_uplift: float
    model_auc: float
    oracle_auc: float

    @property
    def covered(self) -> bool:
        return self.low <= self.true_uplift <= self.high


def make_bundle(path: str, n_leads: int, seed: int) -> None:
    """What ``leadforge generate --recipe ... --mode research_instructor --experiment ...`` does."""
    from leadforge.api import Generator

    gen = Generator.from_recipe(
        RECIPE, seed=seed, exposure_mode="research_instructor", experiment=EXPERIMENT, n_leads=n_leads
    )
    gen.generate().save(path)


def answer_key(path: str) -> tuple[str, dict[str, object], pd.DataFrame]:
    """The task id, its manifest entry and the answer key's rows (every split)."""
    manifest = json.loads((Path(path) / "manifest.json").read_text(encoding="utf-8"))
    task_id = next(iter(manifest["oracles"]))
    entry = manifest["oracles"][task_id]
    key = pd.concat(pd.read_parquet(Path(path) / f) for f in entry["files"])
    return task_id, entry, key


def research(path: str) -> Findings:
    bundle = leadforge.load(path)
    task_id, entry, key = answer_key(path)
    task = bundle.task(task_id)
    label, key_column = task.manifest.label_column, task.manifest.key_column
    rows = pd.concat([task.train, task.valid, task.test])

    # 1. the experiment: difference in means between the arms, with a 95 % interval
    y, treated = rows[label].astype(float), rows["treatment"].astype(bool)
    estimate = y[treated].mean() - y[~treated].mean()
    se = math.sqrt(y[treated].var() / treated.sum() + y[~treated].var() / (~treated).sum())
    low, high = estimate - 1.96 * se, estimate + 1.96 * se
    true_uplift = float(key["uplift"].mean())
    print(
        f"average effect of {EXPERIMENT}: {estimate:+.4f} [{low:+.4f}, {high:+.4f}]; truth {true_uplift:+.4f}"
    )

    # 2. a model against the oracle on the test rows
    with open(Path(path) / "feature_dictionary.csv", newline="", encoding="utf-8") as f:
        leaky = {r["name"] for r in csv.DictReader(f) if r["leakage_risk"] == "True"}
    skip = {label, key_column, *leaky}
    train = task.train
    numeric = [c for c in train.columns if c not in skip and pd.api.types.is_numeric_dtype(train[c])]
    model = HistGradientBoostingClassifier(random_state=0)
    model.fit(task.train[numeric].astype("float64"), task.train[label].astype(int))
    test = task.test.merge(key[[key_column, str(entry["column"])]], on=key_column)
    truth = test[label].astype(int).to_numpy()
    model_auc = auc(model.predict_proba(test[numeric].astype("float64"))[:, 1], truth)
    oracle_auc = auc(test[str(entry["column"])].to_numpy(), truth)
    print(f"test ROC AUC: model {model_auc:.3f}, oracle {oracle_auc:.3f}")
    return Findings(estimate, low, high, true_uplift, model_auc, oracle_auc)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("bundle", nargs="?", default="experiment")
    parser.add_argument("--n-leads", type=int, default=20_000, help="size of a bundle generated here")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    if not Path(args.bundle).exists():
        make_bundle(args.bundle, args.n_leads, args.seed)
    research(args.bundle)


if __name__ == "__main__":
    main()
