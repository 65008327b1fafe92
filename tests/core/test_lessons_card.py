"""The card's lessons and the task's out-of-time split, which core measures for every scheme.

A hand-made world where the label follows ``v`` early and ``-v`` late (drift), with a trap column
that peeks at the label (post-anchor information): the card must show the trap lifting the
baseline and the next cohort scoring worse than a random split; the task manifest must hold the
out-of-time cut a student can apply, computed from the rows' days alone.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from leadforge.bundle import BundleWriter, RelationalContract, TableContract, TaskSpec
from leadforge.bundle.manifest import Manifest, parse_task_manifest
from leadforge.bundle.shards import ShardOut
from leadforge.bundle.splits import SPLITS
from leadforge.columns import id_range
from leadforge.config import GenerationConfig
from leadforge.enums import Difficulty, ExposureMode
from leadforge.features import FeatureSpec
from leadforge.params import param
from leadforge.plugins import PluginHost
from leadforge.schema import TableSchema
from leadforge.validation import validate_bundle

ITEMS = TableSchema.of([("item_id", "string"), ("v", "Float64")])
CONTRACT = RelationalContract((TableContract("items", ITEMS, "item_id", "item"),))
ROWS = 3000
START = dt.date(2025, 1, 1)


@dataclass(frozen=True)
class P:
    n: int = param(1, help="n")


def _schema(time_type: str, trap: bool) -> TableSchema:
    created = TableSchema.of([("created", "timestamp" if time_type == "timestamp" else "date")])
    head = TableSchema.of([("item_id", "string")])
    tail = TableSchema.of([("v", "Float64"), ("w", "Float64"), ("peek", "Float64")])
    if not trap:
        tail = tail.without(["peek"])
    label = TableSchema.of([("y", "boolean")])
    return TableSchema.of([*head.columns, *created.columns, *tail.columns, *label.columns])


def _catalog(trap: bool) -> list[FeatureSpec]:
    out = [
        FeatureSpec("item_id", "string", "id", "ids", distort=False),
        FeatureSpec("created", "date", "the row's creation day", "ids", distort=False),
        FeatureSpec("v", "Float64", "a signal that flips sign over time", "f"),
        FeatureSpec("w", "Float64", "a steady signal", "f"),
    ]
    if trap:
        out.append(FeatureSpec("peek", "Float64", "post-anchor count", "f", leakage_risk=True))
    return [*out, FeatureSpec("y", "boolean", "label", "target", is_target=True, distort=False)]


def _rows(index: int, time_type: str, trap: bool, drift: bool) -> dict[str, object]:
    g = np.random.default_rng(index)
    day = g.integers(0, 365, ROWS)
    v, w = g.normal(size=ROWS), g.normal(size=ROWS)
    sign = np.where(day < 255, 1.0, -1.0) if drift else 1.0
    y = (sign * 1.5 * v + 0.7 * w + g.logistic(size=ROWS)) > 0
    days = np.array([START + dt.timedelta(days=int(d)) for d in day])
    created = pa.array(days, pa.date32())
    if time_type == "timestamp":
        created = pa.array([dt.datetime(d.year, d.month, d.day, 23, 30, tzinfo=dt.UTC) for d in days])
    rows: dict[str, object] = {
        "item_id": id_range("item", index * ROWS + 1, ROWS),
        "created": created,
        "v": v,
        "w": w,
        "y": y,
    }
    if trap:
        rows["peek"] = y * 2.0 + g.normal(size=ROWS)
    return rows


def write(
    root: Path, *, time_type: str = "date", trap: bool = True, drift: bool = True, shards: int = 2
) -> Path:
    config = GenerationConfig("r_v1", "s", 5, ExposureMode.RESEARCH_INSTRUCTOR, Difficulty.INTRO, P())
    writer = BundleWriter(root, config, CONTRACT, split_salt=99)
    writer.declare_features(_catalog(trap))
    spec = TaskSpec("t", "binary_classification", "y", 30, "items", "item_id", "d", time_column="created")
    writer.declare_task(spec, _schema(time_type, trap))
    writer.map_shards(partial(_shard, time_type, trap, drift), shards)
    writer.write_dataset_card("# card")
    writer.finalize(timestamp="t", plugins=[], package_version="0")
    return root


def _shard(time_type: str, trap: bool, drift: bool, out: ShardOut) -> None:
    out.write(tasks={"t": _rows(out.index, time_type, trap, drift)})


def _task_rows(root: Path) -> pd.DataFrame:
    m = Manifest.load(root)
    return pd.concat([pd.read_parquet(root / rel) for s in SPLITS for rel in m.split_files("t", s)])


def _lesson_row(card: str) -> list[str]:
    line = next(line for line in card.splitlines() if line.startswith("| t |"))
    return [c.strip() for c in line.strip("|").split("|")]


@pytest.mark.parametrize("time_type", ["date", "timestamp"])
def test_the_out_of_time_cut_holds_the_earliest_seventy_percent(
    tmp_path: Path, time_type: str, toy_host: PluginHost
) -> None:
    root = write(tmp_path / "b", time_type=time_type)
    tm, findings = parse_task_manifest(json.loads((root / "tasks/t/task_manifest.json").read_text()), "t")
    assert tm is not None and not findings and tm.out_of_time is not None
    cut = tm.out_of_time
    days = pd.to_datetime(_task_rows(root)["created"]).dt.date
    before = int((days < dt.date.fromisoformat(cut.cut)).sum())
    assert (cut.train_rows, cut.test_rows) == (before, len(days) - before)
    assert before >= 0.7 * len(days) and int(
        (days < dt.date.fromisoformat(cut.cut) - dt.timedelta(1)).sum()
    ) < 0.7 * len(days)
    assert validate_bundle(root, toy_host).ok


def test_the_card_shows_the_trap_lifting_and_the_next_cohort_falling(tmp_path: Path) -> None:
    card = (write(tmp_path / "b") / "dataset_card.md").read_text()
    assert "## Lessons in this bundle" in card and "`peek` uses information from after" in card
    _, metric, honest, trap, cohort = _lesson_row(card)
    lift = float(re.search(r"\(([+-][0-9.]+)\)", trap).group(1))  # type: ignore[union-attr]
    drop = float(re.search(r"\(([+-][0-9.]+)\)", cohort).group(1))  # type: ignore[union-attr]
    assert metric == "auc" and lift > 0.03 and drop < -0.05, (honest, trap, cohort)


def test_without_drift_the_next_cohort_is_no_harder(tmp_path: Path) -> None:
    card = (write(tmp_path / "b", drift=False) / "dataset_card.md").read_text()
    cohort = _lesson_row(card)[4]
    assert abs(float(re.search(r"\(([+-][0-9.]+)\)", cohort).group(1))) < 0.03  # type: ignore[union-attr]
    assert "this world drifts little" in card  # the card does not claim a lesson it cannot show


def test_a_task_without_a_time_column_or_trap_gets_no_lessons(tmp_path: Path) -> None:
    config = GenerationConfig("r_v1", "s", 5, ExposureMode.RESEARCH_INSTRUCTOR, Difficulty.INTRO, P())
    writer = BundleWriter(tmp_path / "b", config, CONTRACT, split_salt=99)
    writer.declare_features(_catalog(False))
    writer.declare_task(
        TaskSpec("t", "binary_classification", "y", 30, "items", "item_id", "d"), _schema("date", False)
    )
    writer.map_shards(partial(_shard, "date", False, True), 1)
    writer.write_dataset_card("# card")
    writer.finalize(timestamp="t", plugins=[], package_version="0")
    assert "## Lessons" not in (tmp_path / "b" / "dataset_card.md").read_text()
    assert "out_of_time" not in (tmp_path / "b" / "tasks/t/task_manifest.json").read_text()
