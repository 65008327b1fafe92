"""The student quickstart (docs/quickstart.md) as one runnable script.

    python examples/quickstart.py [BUNDLE] [--n-leads N]

Opens the public lead-scoring bundle at BUNDLE (generating a small one there first if the folder
does not exist), trains a baseline on its train split, scores it on valid and test, and prints
what the dataset card says the task is. Needs scikit-learn (``pip install scikit-learn``).
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import leadforge
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OrdinalEncoder

RECIPE = "b2b_saas_procurement_v1"


def make_bundle(out: str, n_leads: int) -> None:
    """What ``leadforge generate --recipe b2b_saas_procurement_v1 --mode student_public ...`` does."""
    from leadforge.api import Generator

    gen = Generator.from_recipe(
        RECIPE, seed=7, exposure_mode="student_public", difficulty="intro", n_leads=n_leads
    )
    gen.generate().save(out)


def feature_columns(path: str, frame: pd.DataFrame) -> list[str]:
    """Every column the feature dictionary does not mark as an id, the target or a leakage risk."""
    with open(Path(path) / "feature_dictionary.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    known = {r["name"] for r in rows}
    skip = {r["name"] for r in rows if r["is_target"] == "True" or r["leakage_risk"] == "True"}
    skip |= {name for name in known if name.endswith("_id")}
    return [
        c
        for c in frame.columns
        if c in known and c not in skip and not pd.api.types.is_datetime64_any_dtype(frame[c])
    ]


def quickstart(path: str) -> dict[str, float]:
    """Steps 3 to 5 of the quickstart; returns the baseline's ROC AUC per split."""
    bundle = leadforge.load(path)
    task_id = bundle.task_ids[0]
    task = bundle.task(task_id)
    label = task.manifest.label_column
    train, valid, test = task.train, task.valid, task.test
    print(f"{task_id}: {len(train)} train / {len(valid)} valid / {len(test)} test rows")

    def table(frame: pd.DataFrame) -> pd.DataFrame:
        """Text columns as strings (missing: "(missing)"), every other feature as a float."""
        out = frame[features].copy()
        for c in features:
            out[c] = out[c].astype("string").fillna("(missing)") if c in text else out[c].astype("float64")
        return out

    features = feature_columns(path, train)
    text = [c for c in features if not pd.api.types.is_numeric_dtype(train[c])]
    encode = ColumnTransformer(
        [("text", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), text)],
        remainder="passthrough",
    )
    model = make_pipeline(encode, HistGradientBoostingClassifier(random_state=0))
    model.fit(table(train), train[label].astype(int))

    scores = {}
    for name, split in (("valid", valid), ("test", test)):
        auc = roc_auc_score(split[label].astype(int), model.predict_proba(table(split))[:, 1])
        print(f"baseline ROC AUC on {name}: {auc:.3f}")
        scores[name] = float(auc)

    card = (Path(path) / "dataset_card.md").read_text(encoding="utf-8")
    predicting = card.split("## What you are predicting", 1)[1].split("\n## ", 1)[0]
    print("What you are predicting:", " ".join(predicting.split()))
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("bundle", nargs="?", default="leads_intro")
    parser.add_argument("--n-leads", type=int, default=2000, help="size of a bundle generated here")
    args = parser.parse_args()
    if not Path(args.bundle).exists():
        make_bundle(args.bundle, args.n_leads)
    quickstart(args.bundle)


if __name__ == "__main__":
    main()
