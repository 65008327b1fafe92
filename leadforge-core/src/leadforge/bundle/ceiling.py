"""The ceiling: how well the world's own answer scores each task split, next to a quick baseline.

For every task with an answer key, core scores the oracle value against the label on each split
(AUC, log-loss and Brier for classification; R², Spearman and RMSE for regression) and does the
same for :class:`leadforge.baseline.Baseline` fitted on the train split — on the same rows, so a
teacher grades against what is achievable and a researcher sees how much signal the tier left
in the features. At most :data:`MAX_ROWS` rows per split are scored (the first parts, which are
shards of the population like any other), so the cost stays flat in bundle size.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from leadforge.baseline import Baseline, label_values
from leadforge.bundle.oracle import SPLIT_COLUMN
from leadforge.bundle.splits import SPLITS
from leadforge.bundle.tasks import TaskSpec
from leadforge.scoring import Scores, score

MAX_ROWS = 50_000
CEILING_FILE = "metadata/oracle/ceiling.json"


@dataclass(frozen=True)
class Ceiling:
    """One task: the oracle's and the baseline's scores per split (train, valid, test)."""

    task_id: str
    kind: str
    method: str
    replicates: int
    oracle: tuple[Scores, ...]
    baseline: tuple[Scores | None, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "task_id": self.task_id,
            "kind": self.kind,
            "method": self.method,
            "replicates": self.replicates,
            "splits": {
                split: {"oracle": o.to_json(), "baseline": None if b is None else b.to_json()}
                for split, o, b in zip(SPLITS, self.oracle, self.baseline, strict=True)
            },
        }


def ceiling(spec: TaskSpec, rows: Sequence[tuple[pa.Table, np.ndarray]], exclude: Collection[str]) -> Ceiling:
    """``rows[i]``: split ``SPLITS[i]``'s rows (at most :data:`MAX_ROWS`) and their oracle values."""
    assert spec.oracle is not None
    kind = "classification" if spec.task_type == "binary_classification" else "regression"
    model = Baseline.fit(rows[0][0], spec.label_column, binary=kind == "classification", exclude=exclude)
    oracle, baseline = [], []
    for table, value in rows:
        label = label_values(table.column(spec.label_column)) if table.num_rows else np.zeros(0)
        oracle.append(score(kind, value, label))
        baseline.append(None if model is None or not table.num_rows else score(kind, *model.predict(table)))
    return Ceiling(
        spec.task_id, kind, spec.oracle.method, spec.oracle.replicates, tuple(oracle), tuple(baseline)
    )


def split_rows(
    root: Path, files: Sequence[str], oracle_files: Sequence[str], split: str, spec: TaskSpec
) -> tuple[pa.Table, np.ndarray]:
    """Up to :data:`MAX_ROWS` of a split's rows and their oracle values, aligned part by part."""
    assert spec.oracle is not None
    tables, values, n = [], [], 0
    for rel, oracle_rel in zip(files, oracle_files, strict=True):
        table = pq.read_table(root / rel)
        key = pq.read_table(root / oracle_rel, columns=[SPLIT_COLUMN, spec.oracle.column])
        mine = key.filter(pc.equal(key.column(SPLIT_COLUMN), split)).column(1)
        if len(mine) != table.num_rows:
            raise ValueError(f"{oracle_rel} holds {len(mine)} {split} rows for {table.num_rows} in {rel}")
        tables.append(table)
        values.append(np.asarray(mine.to_numpy(), dtype=np.float64))
        n += table.num_rows
        if n >= MAX_ROWS:
            break
    return pa.concat_tables(tables).slice(0, MAX_ROWS), np.concatenate(values)[:MAX_ROWS]


def card_section(ceilings: Sequence[Ceiling]) -> str:
    """The dataset card's table: per task and split, the oracle next to the baseline."""
    lines = [
        "## The answer key",
        "",
        "`metadata/oracle/<task_id>.parquet` holds, for every task row, what the world itself knew at "
        "the snapshot anchor: the true probability of the label (or the expected target). Scored "
        "against the labels it is the ceiling a model can reach; the baseline is a quick logistic "
        "(ridge) regression fitted on train. Figures for every split are in "
        "`metadata/oracle/ceiling.json`.",
        "",
    ]
    for c in ceilings:
        names = [name for name, _ in c.oracle[0].values]
        how = f"{c.method}" + (f", {c.replicates} replicates" if c.replicates else "")
        lines += [f"**{c.task_id}** (oracle: {how})", ""]
        lines.append("| split | rows | " + " | ".join(f"oracle {n} | baseline {n}" for n in names) + " |")
        lines.append("|---|---|" + "---|---|" * len(names))
        for split, o, b in zip(SPLITS, c.oracle, c.baseline, strict=True):
            cells = [split, f"{o.rows:,}"]
            for name in names:
                cells += [_fmt(o.get(name)), "—" if b is None else _fmt(b.get(name))]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def _fmt(v: float) -> str:
    return "—" if math.isnan(v) else f"{v:.3f}"
