"""The instructor guide (docs/instructors.md) as one runnable script.

    python examples/instructor.py [FOLDER] [--difficulty intermediate] [--n-leads N]

Generates, from one seed, the public bundle students get and the instructor bundle that holds
the answer key (into FOLDER/public and FOLDER/key, unless they exist), plays a student who trains
a model on the public bundle and hands in test-split predictions, and grades them against the
answer key: the student's ROC AUC next to the world's own ceiling on the same rows. Needs
scikit-learn (``pip install scikit-learn``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import leadforge
import pandas as pd
from leadforge.scoring import auc, brier, log_loss
from sklearn.ensemble import HistGradientBoostingClassifier

RECIPE = "b2b_saas_procurement_v1"
SEED = 11


def make_pair(folder: str, difficulty: str, n_leads: int) -> tuple[str, str]:
    """What the guide's two ``leadforge generate`` commands do: one world, two exposures."""
    from leadforge.api import Generator

    out = []
    for mode, name in (("student_public", "public"), ("research_instructor", "key")):
        path = Path(folder) / name
        if not path.exists():
            gen = Generator.from_recipe(
                RECIPE, seed=SEED, exposure_mode=mode, difficulty=difficulty, n_leads=n_leads
            )
            gen.generate().save(path)
        out.append(str(path))
    return out[0], out[1]


def student_predictions(public: str) -> pd.DataFrame:
    """A student's hand-in: a score for every test row of the public bundle."""
    task = leadforge.load(public).task(leadforge.load(public).task_ids[0])
    key, label = task.manifest.key_column, task.manifest.label_column
    numeric = [
        c
        for c in task.train.columns
        if c not in (key, label) and pd.api.types.is_numeric_dtype(task.train[c])
    ]
    model = HistGradientBoostingClassifier(random_state=0)
    model.fit(task.train[numeric].astype("float64"), task.train[label].astype(int))
    score = model.predict_proba(task.test[numeric].astype("float64"))[:, 1]
    return pd.DataFrame({key: task.test[key], "score": score})


def grade(key_path: str, predictions: pd.DataFrame) -> dict[str, float]:
    """The student's test scores next to the answer key's, on the same rows."""
    manifest = json.loads((Path(key_path) / "manifest.json").read_text(encoding="utf-8"))
    task_id = next(iter(manifest["oracles"]))
    entry = manifest["oracles"][task_id]
    answer = pd.concat(pd.read_parquet(Path(key_path) / f) for f in entry["files"])
    label = answer.columns[2]
    key = answer.columns[0]
    graded = answer[answer["split"] == "test"].merge(predictions, on=key, how="left")
    missing = int(graded["score"].isna().sum())
    graded["score"] = graded["score"].fillna(0.0)
    y = graded[label].astype(int).to_numpy()
    result = {
        "rows": float(len(graded)),
        "missing": float(missing),
        "student_auc": auc(graded["score"].to_numpy(), y),
        "ceiling_auc": auc(graded[entry["column"]].to_numpy(), y),
        "student_brier": brier(graded["score"].to_numpy(), y),
        "ceiling_brier": brier(graded[entry["column"]].to_numpy(), y),
        "ceiling_log_loss": log_loss(graded[entry["column"]].to_numpy(), y),
    }
    result["share_of_ceiling"] = (result["student_auc"] - 0.5) / (result["ceiling_auc"] - 0.5)
    print(
        f"{task_id}: {len(graded)} test rows ({missing} without a prediction); "
        f"student ROC AUC {result['student_auc']:.3f}, ceiling {result['ceiling_auc']:.3f} "
        f"({result['share_of_ceiling']:.0%} of the way from chance to the ceiling)"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("folder", nargs="?", default="course")
    parser.add_argument("--difficulty", default="intermediate", choices=("intro", "intermediate", "advanced"))
    parser.add_argument("--n-leads", type=int, default=5000, help="size of the bundles generated here")
    args = parser.parse_args()
    public, key = make_pair(args.folder, args.difficulty, args.n_leads)
    grade(key, student_predictions(public))


if __name__ == "__main__":
    main()
