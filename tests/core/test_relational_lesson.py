"""The card's relational lesson: features a student engineers from the tables, measured by core.

A hand-made world of items, each with events of kind ``good`` or ``bad``: the label follows the
share of good events, which the task rows do not carry. A public bundle's card must show the
joined features lifting the baseline; when the kinds carry nothing it must show no gain; an
instructor bundle (whose tables run past the anchor) must not measure it at all. The aggregates
themselves must equal a pandas group-by, however many shards and row groups the tables have.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from leadforge.bundle import BundleWriter, RelationalContract, TableContract, TaskSpec
from leadforge.bundle.contract import ForeignKey
from leadforge.bundle.engineered import Relations
from leadforge.bundle.manifest import Manifest
from leadforge.bundle.shards import ShardOut
from leadforge.columns import id_range
from leadforge.config import GenerationConfig
from leadforge.enums import Difficulty, ExposureMode
from leadforge.features import FeatureSpec
from leadforge.params import param
from leadforge.schema import TableSchema

ITEMS = TableSchema.of([("item_id", "string"), ("size", "Float64")])
EVENTS = TableSchema.of(
    [("event_id", "string"), ("item_id", "string"), ("at", "date"), ("kind", "string"), ("value", "Float64")]
)
CONTRACT = RelationalContract(
    (
        TableContract("items", ITEMS, "item_id", "item"),
        TableContract(
            "events",
            EVENTS,
            "event_id",
            "event",
            foreign_keys=(ForeignKey("item_id", "items"),),
            time_column="at",
        ),
    )
)
TASK = TableSchema.of([("item_id", "string"), ("size", "Float64"), ("y", "boolean")])
CATALOG = [
    FeatureSpec("item_id", "string", "id", "ids", distort=False),
    FeatureSpec("size", "Float64", "a weak signal", "f"),
    FeatureSpec("y", "boolean", "label", "target", is_target=True, distort=False),
]
ROWS = 2500


@dataclass(frozen=True)
class P:
    n: int = param(1, help="n")


def _shard(signal: bool, out: ShardOut) -> None:
    g = np.random.default_rng(out.index)
    ids = id_range("item", out.index * ROWS + 1, ROWS)
    size = g.normal(size=ROWS)
    good_rate = g.uniform(0.1, 0.9, ROWS)
    n_events = g.integers(0, 12, ROWS)
    owner = np.repeat(np.arange(ROWS), n_events)
    good = g.uniform(size=owner.size) < good_rate[owner]
    score = (good_rate - 0.5) * 6.0 if signal else 0.0
    y = (0.3 * size + score + g.logistic(size=ROWS)) > 0
    events = {
        "event_id": id_range("event", out.index * 100_000 + 1, owner.size),
        "item_id": ids.take(pa.array(owner)),
        "at": pa.array(np.datetime64("2025-01-01") + g.integers(0, 90, owner.size), pa.date32()),
        "kind": pa.array(np.where(good, "good", "bad")),
        "value": g.normal(size=owner.size),
    }
    out.write(tables={"items": {"item_id": ids, "size": size}, "events": events},
              tasks={"t": {"item_id": ids, "size": size, "y": y}})  # fmt: skip


def write(root: Path, mode: ExposureMode, *, signal: bool = True, shards: int = 2) -> Path:
    config = GenerationConfig("r_v1", "s", 5, mode, Difficulty.INTRO, P())
    writer = BundleWriter(root, config, CONTRACT, split_salt=7)
    writer.declare_features(CATALOG)
    writer.declare_task(TaskSpec("t", "binary_classification", "y", 30, "items", "item_id", "d"), TASK)
    writer.map_shards(partial(_shard, signal), shards)
    writer.write_dataset_card("# card")
    writer.finalize(timestamp="t", plugins=[], package_version="0")
    return root


def _gain(card: str) -> float:
    line = next(line for line in card.splitlines() if line.startswith("| t |"))
    cell = [c.strip() for c in line.strip("|").split("|")][5]
    return float(re.search(r"\(([+-][0-9.]+)\)", cell).group(1))  # type: ignore[union-attr]


def test_the_card_shows_what_the_tables_add(tmp_path: Path) -> None:
    card = (write(tmp_path / "b", ExposureMode.STUDENT_PUBLIC) / "dataset_card.md").read_text()
    assert "adding features from the tables" in card and "of `events`, joined on the task's key" in card
    assert _gain(card) > 0.05


def test_tables_without_signal_add_nothing(tmp_path: Path) -> None:
    card = (write(tmp_path / "b", ExposureMode.STUDENT_PUBLIC, signal=False) / "dataset_card.md").read_text()
    assert abs(_gain(card)) < 0.03


def test_an_instructor_bundle_does_not_join_its_full_horizon_tables(tmp_path: Path) -> None:
    card = (write(tmp_path / "b", ExposureMode.RESEARCH_INSTRUCTOR) / "dataset_card.md").read_text()
    assert "adding features from the tables" not in card
    assert "measured in the `student_public` bundle only" in card


@pytest.mark.parametrize("shards", [1, 3])
def test_the_aggregates_equal_a_group_by_whatever_the_layout(tmp_path: Path, shards: int) -> None:
    root = write(tmp_path / "b", ExposureMode.STUDENT_PUBLIC, shards=shards)
    m = Manifest.load(root)
    files = {n: [root / f for f in t.files] for n, t in m.tables.items()}
    relations = Relations.of(m.contract, files, "items")
    events = pd.concat([pd.read_parquet(f) for f in files["events"]])
    events["at"] = pd.to_datetime(events["at"])
    # keys from the first shard only, one of them twice and one with no events at all
    items = pd.concat([pd.read_parquet(f) for f in files["items"]]).item_id
    keys = [*items.iloc[:40], items.iloc[3], "item_999999999"]
    got = relations.features(pa.array(keys)).to_pandas()
    g = events.groupby("item_id")
    want = pd.DataFrame(
        {
            "events__rows": g.size(),
            "events__value__mean": g.value.mean(),
            "events__value__max": g.value.max(),
            "events__kind=good": (events.kind == "good").groupby(events.item_id).sum(),
            "events__span_days": (g.at.max() - g.at.min()).dt.days,
        }
    ).reindex(keys)
    want[["events__rows", "events__kind=good"]] = want[["events__rows", "events__kind=good"]].fillna(0)
    for c in want:
        np.testing.assert_allclose(got[c].to_numpy(float), want[c].to_numpy(float), err_msg=c)


def test_row_groups_of_other_entities_are_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write(tmp_path / "b", ExposureMode.STUDENT_PUBLIC, shards=3)
    m = Manifest.load(root)
    files = {n: [root / f for f in t.files] for n, t in m.tables.items()}
    read: list[list[int]] = []
    real = pq.ParquetFile.iter_batches

    def spy(self: pq.ParquetFile, *args: object, row_groups: list[int] | None = None, **kw: object):  # type: ignore[no-untyped-def]
        read.append(list(row_groups or []))
        return real(self, *args, row_groups=row_groups, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", spy)
    first = pd.read_parquet(files["items"][0]).item_id.iloc[:10]
    Relations.of(m.contract, files, "items").features(pa.array(first))
    assert sum(len(groups) for groups in read) == 1, read
