"""The designed experiment in the dataset card: what was randomised and, for instructors, the truth.

Every bundle of a world with an experiment says which policy ran for which share of entities and
that the public ``treatment`` column records the arm. Instructor cards add, per task, the
difference in means between the arms (what a student estimates, with its 95 % interval) next to
the true average uplift from the answer key, so a grader sees at once whether an estimate covers
the truth. The sums are taken file by file, two columns at a time: memory stays flat.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from leadforge.bundle.tasks import UPLIFT, TaskSpec
from leadforge.experiment import TREATMENT_COLUMN

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Arms:
    """One task's rows by arm: counts and target sums (squares for the interval), and the truth."""

    task_id: str
    treated: int
    control: int
    treated_sum: float
    treated_squares: float
    control_sum: float
    control_squares: float
    true_uplift: float

    def _mean_var(self, n: int, total: float, squares: float) -> tuple[float, float]:
        if n == 0:
            return math.nan, math.nan
        mean = total / n
        return mean, max(squares / n - mean * mean, 0.0) * n / max(n - 1, 1)

    @property
    def estimate(self) -> tuple[float, float]:
        """Difference in means (treated − control) and its standard error."""
        mt, vt = self._mean_var(self.treated, self.treated_sum, self.treated_squares)
        mc, vc = self._mean_var(self.control, self.control_sum, self.control_squares)
        if self.treated == 0 or self.control == 0:
            return math.nan, math.nan
        return mt - mc, math.sqrt(vt / self.treated + vc / self.control)


def arms(spec: TaskSpec, tables: Iterable[pa.Table], true_uplift: float) -> Arms | None:
    """Sum the task's target by arm over its rows (``tables``: part by part, at least the arm and
    the label); ``None`` when the rows do not record the arm."""
    n = [0, 0]
    sums = [0.0, 0.0]
    squares = [0.0, 0.0]
    for table in tables:
        if TREATMENT_COLUMN not in table.column_names:
            return None
        treated = np.asarray(table.column(TREATMENT_COLUMN).to_numpy(zero_copy_only=False), dtype=bool)
        y = np.asarray(table.column(spec.label_column).to_numpy(zero_copy_only=False), dtype=np.float64)
        for arm, mask in ((0, treated), (1, ~treated)):
            n[arm] += int(mask.sum())
            sums[arm] += float(y[mask].sum())
            squares[arm] += float((y[mask] ** 2).sum())
    return Arms(spec.task_id, n[0], n[1], sums[0], squares[0], sums[1], squares[1], true_uplift)


def mean_uplift(root: Path, oracle_files: Sequence[str]) -> float:
    """The mean of the answer key's ``uplift`` column (NaN without one)."""
    total, rows = 0.0, 0
    for rel in oracle_files:
        if UPLIFT not in pq.read_schema(root / rel).names:
            return math.nan
        uplift = pq.read_table(root / rel, columns=[UPLIFT]).column(0).to_numpy(zero_copy_only=False)
        total += float(np.sum(uplift))
        rows += len(uplift)
    return total / rows if rows else math.nan


def card_section(experiment: str, found: Sequence[Arms], instructor: bool) -> str:
    """The card's section on the experiment; instructors get the estimate next to the truth."""
    lever, _, share = experiment.rpartition("@")
    lines = [
        "## The designed experiment",
        "",
        f"A randomised experiment ran in this world: `{lever}` for a random {float(share):.0%} of the "
        f"entities, the factual policy for the rest. The public column `{TREATMENT_COLUMN}` records each "
        "entity's arm; the assignment is a hash of the entity's number and the seed, independent of "
        "everything the entity is or does. Estimate the policy's effect from the arms (difference in "
        "means, or an uplift model per entity).",
        "",
    ]
    if not instructor:
        return "\n".join(lines)
    lines += [
        "For graders: each task's difference in means over all its rows, with a 95 % interval, next "
        f"to the true average uplift (the mean of the answer key's `{UPLIFT}` column: for every row, "
        "the oracle under treatment minus the oracle under control).",
        "",
        "| task | treated | control | difference in means | 95 % interval | true average uplift |",
        "|---|---|---|---|---|---|",
    ]
    for a in found:
        est, se = a.estimate
        interval = "—" if math.isnan(se) else f"[{est - Z95 * se:+.4f}, {est + Z95 * se:+.4f}]"
        truth = "—" if math.isnan(a.true_uplift) else f"{a.true_uplift:+.4f}"
        lines.append(f"| {a.task_id} | {a.treated:,} | {a.control:,} | {est:+.4f} | {interval} | {truth} |")
    lines.append("")
    return "\n".join(lines)
