"""What a bundle teaches, measured on the bundle itself for its dataset card.

Two lessons any scheme's task can show, so core measures them for every bundle with its quick
baseline (:class:`leadforge.baseline.Baseline`) on the task's own rows:

* **the leakage trap** — the baseline's test score with the columns the feature dictionary flags
  ``leakage_risk`` minus without them: a trap uses information from after the anchor, and a
  model that trusts it looks better than it will be;
* **the next cohort** — the baseline trained on a random 70 % of the rows and scored on the rest,
  minus the same model trained on the earliest 70 % by the task's time column and scored on the
  latest 30 % (the task manifest's ``out_of_time`` split): positive when the world drifted, so a
  random split overrates a model that will score the next cohort;
* **relational features** (public bundles, whose tables stop at the snapshot anchor) — the
  baseline with the aggregates a student engineers from the tables that reference the task's
  primary table (:mod:`leadforge.bundle.engineered`) minus without them.

At most :data:`MAX_ROWS` rows are pooled (the first parts: shards are random slices of the
population), and the cut is found from a day histogram: memory stays flat in bundle size.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from leadforge.baseline import Baseline
from leadforge.bundle.engineered import Relations
from leadforge.bundle.manifest import OutOfTime
from leadforge.bundle.tasks import TaskSpec
from leadforge.calendar import NO_DAY, DayCounts, days_of
from leadforge.scoring import score

TRAIN_SHARE = 0.7
#: a lesson the card calls visible: a lift (or drop) of at least this much
VISIBLE = 0.01
MAX_ROWS = 50_000
EPOCH = dt.date(1970, 1, 1)


def _days(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Whole UTC days since 1970 of a date or timestamp column (nulls dropped)."""
    days = days_of(column)
    return np.asarray(days[days != NO_DAY])


def out_of_time(spec: TaskSpec, tables: Iterable[pa.Table]) -> OutOfTime | None:
    """The task's out-of-time split from a histogram of its rows' days; ``tables`` yields the
    task's rows part by part (at least its time column). ``None``: no time column, or every row
    on one day."""
    if not spec.time_column:
        return None
    per_day = DayCounts()
    for table in tables:
        per_day.add(days_of(table.column(spec.time_column)))
    first, counts = per_day.first, per_day.counts
    total = int(counts.sum())
    if total == 0:
        return None
    cumulative = np.cumsum(counts)
    last_train = int(np.searchsorted(cumulative, TRAIN_SHARE * total))
    train = int(cumulative[last_train])
    if train >= total:
        return None
    cut = EPOCH + dt.timedelta(days=first + last_train + 1)
    return OutOfTime(spec.time_column, TRAIN_SHARE, cut.isoformat(), train, total - train)


@dataclass(frozen=True)
class Lesson:
    """One task's two lessons: the metric, and the baseline's test figures they compare."""

    task_id: str
    metric: str
    rows: int
    honest: float
    with_trap: float
    next_cohort: float
    traps: tuple[str, ...]
    #: the honest score with the engineered features added (NaN: not measured), and their sources
    relational: float = math.nan
    related: tuple[str, ...] = ()

    @property
    def trap_lift(self) -> float:
        return self.with_trap - self.honest

    @property
    def cohort_drop(self) -> float:
        return self.honest - self.next_cohort

    @property
    def relational_gain(self) -> float:
        return self.relational - self.honest


def measure(
    spec: TaskSpec,
    tables: Iterable[pa.Table],
    leaky: Collection[str],
    cut: OutOfTime | None,
    relations: Relations | None = None,
) -> Lesson | None:
    """The lessons on up to :data:`MAX_ROWS` pooled rows of the task, read from ``tables`` (its
    rows part by part) until there are enough (``None``: no rows); the relational one when
    ``relations`` offers tables to join."""
    pooled_parts, n = [], 0
    for table in tables:
        pooled_parts.append(table)
        n += table.num_rows
        if n >= MAX_ROWS:
            break
    if not pooled_parts:
        return None
    tables = pooled_parts
    pooled = pa.concat_tables(tables).slice(0, MAX_ROWS)
    kind = "classification" if spec.task_type == "binary_classification" else "regression"
    metric = "auc" if kind == "classification" else "spearman"
    traps = tuple(c for c in pooled.column_names if c in leaky)
    honest_exclude = {spec.key_column, *leaky}
    order = np.random.default_rng(0).permutation(pooled.num_rows)
    split = int(TRAIN_SHARE * pooled.num_rows)
    fit_rows, score_rows = np.sort(order[:split]), np.sort(order[split:])
    train, test = pooled.take(fit_rows), pooled.take(score_rows)

    def fitted(fit_on: pa.Table, score_on: pa.Table, exclude: set[str]) -> float:
        model = Baseline.fit(fit_on, spec.label_column, binary=kind == "classification", exclude=exclude)
        if model is None or not score_on.num_rows:
            return math.nan
        return score(kind, *model.predict(score_on)).get(metric)

    honest = fitted(train, test, honest_exclude)
    with_trap = fitted(train, test, {spec.key_column}) if traps else math.nan
    next_cohort = math.nan
    if cut is not None:
        days = _days(pooled.column(cut.column)) if pooled.column(cut.column).null_count == 0 else None
        if days is not None:
            cut_day = (dt.date.fromisoformat(cut.cut) - EPOCH).days
            early = np.flatnonzero(days < cut_day)
            late = np.flatnonzero(days >= cut_day)
            if early.size and late.size:
                next_cohort = fitted(pooled.take(early), pooled.take(late), honest_exclude)
    relational = math.nan
    related: tuple[str, ...] = ()
    if relations is not None and relations.children:
        extra = relations.features(pooled.column(spec.key_column).combine_chunks())
        richer = pooled
        for name in extra.column_names:
            richer = richer.append_column(f"joined__{name}", extra.column(name))
        relational = fitted(richer.take(fit_rows), richer.take(score_rows), honest_exclude)
        related = tuple(c.name for c in relations.children)
    return Lesson(
        spec.task_id, metric, pooled.num_rows, honest, with_trap, next_cohort, traps, relational, related
    )


def _fmt(v: float) -> str:
    return "—" if math.isnan(v) else f"{v:.3f}"


def _delta(v: float) -> str:
    return "—" if math.isnan(v) else f"{v:+.3f}"


def card_section(found: Sequence[Lesson], cuts: Mapping[str, OutOfTime], *, public: bool = True) -> str:
    """The card's section: each task's trap lift, next-cohort drop and (public bundles) the gain of
    features engineered from the tables, with how to see them."""
    joined = any(not math.isnan(x.relational) for x in found)
    lines = [
        "## Lessons in this bundle",
        "",
        "Measured on this bundle's own task rows with a quick logistic (ridge) regression, on a "
        "random 70/30 split of the rows unless said otherwise; a stronger model shows the same "
        "direction.",
        "",
        "| task | metric | honest features | adding the leakage trap | next cohort (out of time) |"
        + (" adding features from the tables |" if joined else ""),
        "|---|---|---|---|---|" + ("---|" if joined else ""),
    ]
    for x in found:
        trap = f"{_fmt(x.with_trap)} ({_delta(x.trap_lift)})" if x.traps else "no trap"
        cohort = f"{_fmt(x.next_cohort)} ({_delta(-x.cohort_drop)})"
        row = f"| {x.task_id} | {x.metric} | {_fmt(x.honest)} | {trap} | {cohort} |"
        if joined:
            row += f" {_fmt(x.relational)} ({_delta(x.relational_gain)}) |" if x.related else " — |"
        lines.append(row)
    lines.append("")
    for x in found:
        if x.traps:
            names = ", ".join(f"`{t}`" for t in x.traps)
            shows = x.trap_lift >= VISIBLE
            effect = (
                "a model that trusts it scores better here than it ever will on a live entity"
                if shows
                else f"here it moves the quick model by only {_delta(x.trap_lift)}"
            )
            lines.append(
                f"- **{x.task_id}, the trap**: {names} uses information from after the snapshot "
                f"anchor (the feature dictionary flags it `leakage_risk`); {effect}."
            )
        cut = cuts.get(x.task_id)
        if cut is not None:
            effect = (
                "what drift over the acquisition window costs a model"
                if x.cohort_drop >= VISIBLE
                else "small here: this world drifts little over its acquisition window"
            )
            lines.append(
                f"- **{x.task_id}, the next cohort**: train on rows with `{cut.column}` before "
                f"{cut.cut} ({cut.train_rows:,} rows), test on the rest ({cut.test_rows:,}); the "
                f"split is in `task_manifest.json` (`out_of_time`). The difference to a random split "
                f"is {effect}."
            )
        if x.related and not math.isnan(x.relational):
            tables = ", ".join(f"`{t}`" for t in x.related)
            effect = (
                "what the tables hold that the flat snapshot summarises only coarsely"
                if x.relational_gain >= VISIBLE
                else "small for this linear model; a model that reads interactions (gradient "
                "boosting) or sharper features (recency, sequences) can find more"
            )
            lines.append(
                f"- **{x.task_id}, features from the tables**: per row, the row count, the days from "
                f"first to last row, the mean and maximum of each numeric column and the count of each "
                f"value of each category column of {tables}, joined on the task's key; the gain is "
                f"{effect}."
            )
    if not public:
        lines.append(
            "- **Features from the tables** are measured in the `student_public` bundle only: here "
            "the tables run past the snapshot anchor, so aggregates over them would leak the label."
        )
    lines.append("")
    return "\n".join(lines)
