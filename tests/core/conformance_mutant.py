"""``mut``: a small but complete scheme with switchable defects, for the conformance kit's own tests.

Three tables under a relational contract — ``groups`` (plan ids), ``items`` (plan ids, the
primary table of both tasks, its hidden column ``z`` dropped in public), ``events`` (core-
numbered, cut in public 30 days after its item was created) — and two tasks keyed by
``row_id``: ``hot`` (binary, ``x + z > 0``) and ``warm`` (regression). Every item has at least
one event before its cutoff; hot items have more events after it, so the cut removes rows
in a label-dependent way, which an honest bundle must not betray.

The clean scheme passes every check; each defect plants one fault. Defects that the writer
makes impossible from inside ``write_bundle`` (row order, split files) edit the finished files
after ``finalize`` and re-hash them, as a scheme writing behind the writer's back would.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from leadforge import hookimpl
from leadforge.bundle import (
    BundleWriter,
    Cutoff,
    ForeignKey,
    ManifestFields,
    PublicView,
    RelationalContract,
    SplitFractions,
    TableContract,
    TaskSpec,
)
from leadforge.bundle.reader import BundleView, Manifest
from leadforge.columns import date_array, id_array
from leadforge.config import GenerationConfig
from leadforge.enums import ExposureMode
from leadforge.features import FeatureSpec
from leadforge.params import param
from leadforge.plugins import PluginHost
from leadforge.rng import RNG
from leadforge.schema import TableSchema
from leadforge.schemes import SchemeInfo
from leadforge.validation import Finding
from leadforge.yamlfile import dump_json

PUBLIC = ExposureMode.STUDENT_PUBLIC
INSTRUCTOR = ExposureMode.RESEARCH_INSTRUCTOR
BASE = dt.date(2024, 1, 1)
CUTOFF_DAYS = 30

GROUPS = TableSchema.of([("group_id", "string"), ("size", "Int64")])
ITEMS = TableSchema.of(
    [
        ("row_id", "string"),
        ("group_id", "string"),
        ("created", "string"),
        ("x", "Float64"),
        ("k", "Int64"),
        ("z", "Float64"),
    ]
)
EVENTS = TableSchema.of([("event_id", "string"), ("row_id", "string"), ("at", "string")])
ALERTS = TableSchema.of([("alert_id", "string"), ("row_id", "string"), ("level", "Int64")])


@dataclass(frozen=True)
class MutParams:
    n_rows: int = param(150, help="rows to simulate", minimum=1, maximum=100_000)
    chunk_rows: int = param(50, help="rows per shard", minimum=1)


@dataclass(frozen=True)
class UncheckedParams:
    n_rows: int = param(150, help="rows to simulate, with no bounds declared")
    chunk_rows: int = param(50, help="rows per shard")


@dataclass
class MutWorld:
    """Full rows of every item and event, in simulation order (events grouped by item, in time)."""

    scheme: str
    config: GenerationConfig
    motif: str
    x: np.ndarray
    z: np.ndarray
    k: np.ndarray
    created: np.ndarray
    event_item: np.ndarray
    event_day: np.ndarray
    tilt: float = 0.0

    @property
    def hot(self) -> np.ndarray:
        return np.asarray(self.x + self.z + self.tilt * (self.created - 150) / 40 > 0)


def simulate_events(
    g: np.random.Generator, created: np.ndarray, hot: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """One event before each item's cutoff, a few more, and after it many for hot items, few for the rest."""
    before = 1 + g.poisson(1.0, size=created.size)
    after = g.poisson(np.where(hot, 3.0, 0.4))
    items, days = [], []
    for i in range(created.size):
        early = created[i] + np.sort(g.integers(0, CUTOFF_DAYS, size=before[i]))
        late = created[i] + np.sort(g.integers(CUTOFF_DAYS + 1, 120, size=after[i]))
        days.append(np.concatenate([early, late]))
        items.append(np.full(before[i] + after[i], i))
    return np.concatenate(items), np.concatenate(days)


def rewrite_after_finalize(writer: BundleWriter, edit: Callable[[Path], list[str]]) -> None:
    """Run ``edit`` on the finished bundle, then re-hash and re-count the files it names in manifest.json."""
    original = writer.finalize

    def finalize(**kwargs: Any) -> Manifest:
        manifest = original(**kwargs)
        root = writer.root
        raw = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
        for rel in edit(root):
            data = (root / rel).read_bytes()
            sha = hashlib.sha256(data).hexdigest()
            raw["files"][rel] = {"sha256": sha, "size": len(data)}
            rows = pq.ParquetFile(root / rel).metadata.num_rows
            parts = rel.removesuffix(".parquet").split("/")
            if parts[0] == "tasks":
                raw["tasks"][parts[1]].update({f"{parts[2]}_rows": rows, f"{parts[2]}_sha256": sha})
            elif parts[0] == "tables":
                raw["tables"][parts[1]].update({"row_count": rows, "sha256": sha})
        (root / "manifest.json").write_bytes(dump_json(raw))
        return manifest

    writer.finalize = finalize  # type: ignore[method-assign]


def sort_splits_by_label(root: Path) -> list[str]:
    out = []
    for split in ("train", "valid", "test"):
        rel = f"tasks/hot/{split}.parquet"
        table = pq.read_table(root / rel)
        pq.write_table(table.take(pc.sort_indices(table, sort_keys=[("hot", "ascending")])), root / rel)
        out.append(rel)
    return out


def move_warm_rows(root: Path) -> list[str]:
    """Move every third train row of ``warm`` to its test split: keys now sit in another split than in ``hot``."""
    train, test = (pq.read_table(root / f"tasks/warm/{s}.parquet") for s in ("train", "test"))
    moved = np.arange(train.num_rows) % 3 == 0
    keep = train.filter(pa.array(~moved))
    test = pa.concat_tables([test, train.filter(pa.array(moved))])
    test = test.take(pc.sort_indices(test, sort_keys=[("row_id", "ascending")]))
    pq.write_table(keep, root / "tasks/warm/train.parquet")
    pq.write_table(test, root / "tasks/warm/test.parquet")
    return ["tasks/warm/train.parquet", "tasks/warm/test.parquet"]


class Mutant:
    """A plugin object (pluggy registers its bound methods) for the ``mut`` scheme."""

    LEADFORGE_PLUGIN_API = (2, 2)

    def __init__(
        self, recipes: Path, defect: str | None = None, modes: tuple[ExposureMode, ...] = (PUBLIC, INSTRUCTOR)
    ):
        self.recipes = recipes
        self.defect = defect
        self.modes = modes
        self.builds: list[tuple[str, int]] = []

    def contract(self, config: GenerationConfig) -> RelationalContract:
        d, public = self.defect, config.exposure_mode is PUBLIC
        items_schema = ITEMS
        if d == "public_extra_column" and public:
            items_schema = TableSchema.of([*ITEMS.columns, ("extra", "Float64")])
        groups = TableContract("groups", GROUPS, "group_id", "grp")
        omit_groups = d == "undeclared_omission" and public
        items = TableContract(
            "items",
            items_schema,
            "row_id",
            "row",
            foreign_keys=() if omit_groups else (ForeignKey("group_id", "groups"),),
            time_column="created",
            public=PublicView(drop=("z",)),
        )
        if d == "hand_cut":
            events = TableContract(
                "events", EVENTS, "event_id", "evt", (ForeignKey("row_id", "items"),), time_column="at"
            )
        else:
            events = TableContract(
                "events",
                EVENTS,
                "event_id",
                "evt",
                (ForeignKey("row_id", "items"),),
                time_column="at",
                numbering="shard",
                public=PublicView(cut=Cutoff(via="row_id", anchor_column="created", offset_days=CUTOFF_DAYS)),
            )
        tables = [items, events] if omit_groups else [groups, items, events]
        if d in ("positives_only_table", "honest_alerts"):
            tables.append(
                TableContract(
                    "alerts", ALERTS, "alert_id", "alr", (ForeignKey("row_id", "items"),), numbering="shard"
                )
            )
        return RelationalContract(tuple(tables))

    @hookimpl
    def register_schemes(self) -> list[SchemeInfo]:
        params = UncheckedParams if self.defect == "no_count_check" else MutParams
        return [
            SchemeInfo(
                name="mut",
                title="Mutant",
                version="1",
                params_type=params,
                exposure_modes=self.modes,
                narrative_type=None,
                sample_params={"n_rows": 150},
                contract=self.contract,
            )
        ]

    @hookimpl
    def register_recipes(self) -> list[Path]:
        return [self.recipes]

    @hookimpl
    def build_world(self, scheme: str, config: GenerationConfig, narrative: Any, rng: RNG) -> MutWorld | None:
        if scheme != "mut":
            return None
        self.builds.append((config.exposure_mode.value, config.seed))
        if self.defect == "ignores_seed":
            rng = RNG(0)
        n = config.params.n_rows
        g = rng.generator("rows")
        x, z = g.normal(size=n), g.normal(size=n)
        k = g.poisson(2.0, size=n)
        created = g.integers(0, 300, size=n)
        tilt = 0.0
        if self.defect == "honest_time_signal":
            tilt = 1.0
            chunk = config.params.chunk_rows
            for start in range(0, n, chunk):
                created[start : start + chunk].sort()
        hot = x + z + tilt * (created - 150) / 40 > 0
        event_item, event_day = simulate_events(rng.generator("events"), created, hot)
        motif = ("ridge_motif", "valley_motif")[int(rng.generator("motif").integers(2))]
        return MutWorld("mut", config, motif, x, z, k, created, event_item, event_day, tilt)

    def catalog(self) -> list[FeatureSpec]:
        return [
            FeatureSpec("row_id", "string", "id", "ids", distort=False),
            FeatureSpec("x", "Float64", "signal", "features"),
            FeatureSpec("k", "Int64", "a count", "features", non_negative=True),
            FeatureSpec("hot", "boolean", "target", "target", is_target=self.defect != "label_not_target"),
            FeatureSpec("heat", "Float64", "regression target", "target", is_target=True),
        ]

    def row_ids(self, world: MutWorld) -> pa.Array:
        n = world.x.size
        if self.defect == "ids_by_label":
            rank = np.empty(n, dtype=np.int64)
            rank[np.lexsort((np.arange(n), world.hot))] = np.arange(n)
            return id_array("row", rank + 1)
        return id_array("row", np.arange(1, n + 1))

    @hookimpl
    def write_bundle(self, world: Any, writer: BundleWriter) -> bool | None:
        if not isinstance(world, MutWorld):
            return None
        d, public = self.defect, writer.mode is PUBLIC
        n = world.x.size
        hidden = {"motif_family": world.motif}
        config: dict[str, Any] = {"n_rows": n}
        if d == "hidden_in_config" and public:
            config, hidden = {**config, **hidden}, {}
        writer.declare_features(self.catalog())
        writer.set_manifest_fields(ManifestFields(config=config, hidden=hidden))
        split = SplitFractions(1.0, 0.0, 0.0) if d == "single_split" else SplitFractions()
        hot_schema = TableSchema.of(
            [("row_id", "string"), ("x", "Float64"), ("k", "Int64"), ("hot", "boolean")]
        )
        if d == "undocumented_column":
            hot_schema = TableSchema.of([*hot_schema.columns, ("extra_feature", "Float64")])
        writer.declare_task(
            TaskSpec(
                "hot", "binary_classification", "hot", 30, "items", "row_id", "Is the row hot?", split=split
            ),
            hot_schema,
        )
        writer.declare_task(
            TaskSpec(
                "warm", "regression", "heat", 30, "items", "row_id", "How warm is the row?", split=split
            ),
            TableSchema.of([("row_id", "string"), ("x", "Float64"), ("k", "Int64"), ("heat", "Float64")]),
        )
        if d == "rows_sorted_by_label":
            rewrite_after_finalize(writer, sort_splits_by_label)
        if d == "split_per_task":
            rewrite_after_finalize(writer, move_warm_rows)
        if not (public and d == "undeclared_omission"):
            writer.write_table(
                "groups", {"group_id": id_array("grp", np.arange(1, 4)), "size": np.array([5, 6, 7])}
            )
        ids = self.row_ids(world)
        label = world.hot
        if d == "constant_label":
            label = np.zeros(n, dtype=bool)
        heat = world.x + world.z + 0.1 * world.k
        events_written = 0
        chunk = world.config.params.chunk_rows
        for shard, start in enumerate(range(0, n, chunk)):
            rows = np.arange(start, min(start + chunk, n))
            tables = {
                "items": self.items(world, ids, rows, public),
                "events": self.events(world, ids, rows, events_written, public),
            }
            events_written += int(np.isin(world.event_item, rows).sum())
            if d in ("positives_only_table", "honest_alerts"):
                hot_rows = rows[label[rows]]
                if d == "honest_alerts":
                    hot_rows = rows[(world.x[rows] * 7919 % 1 < np.where(label[rows], 0.75, 0.35))]
                tables["alerts"] = {
                    "alert_id": np.arange(1, hot_rows.size + 1),
                    "row_id": ids.take(pa.array(hot_rows)),
                    "level": world.k[hot_rows],
                }
            x = np.round(world.x[rows], 1) if d == "public_features_differ" and public else world.x[rows]
            hot: dict[str, Any] = {
                "row_id": ids.take(pa.array(rows)),
                "x": x,
                "k": world.k[rows],
                "hot": label[rows],
            }
            if d == "undocumented_column":
                hot["extra_feature"] = world.z[rows]
            if d == "duplicate_keys":
                hot = {name: pa.concat_arrays([pa.array(v), pa.array(v)]) for name, v in hot.items()}
            warm = {"row_id": ids.take(pa.array(rows)), "x": x, "k": world.k[rows], "heat": heat[rows]}
            writer.write_shard(shard, tables, {"hot": hot, "warm": warm})
        card = f"# Mutant — {writer.mode.value}\n\n{n} rows.\n"
        if d == "wallclock":
            card += f"Generated at {time.time_ns()}.\n"
        if d == "card_leaks_hidden":
            card += f"The hidden motif is {world.motif}.\n"
        writer.write_dataset_card(card)
        if d == "stray_file":
            (writer.root / "scratch.log").write_text("written behind the writer's back\n")
        return True

    def items(self, world: MutWorld, ids: pa.Array, rows: np.ndarray, public: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "row_id": ids.take(pa.array(rows)),
            "group_id": id_array("grp", rows % 3 + 1),
            "created": date_array(BASE, world.created[rows]),
            "x": world.x[rows],
            "k": world.k[rows],
            "z": world.z[rows],
        }
        if self.defect == "public_extra_column" and public:
            out["extra"] = world.z[rows]
        return out

    def events(
        self, world: MutWorld, ids: pa.Array, rows: np.ndarray, before: int, public: bool
    ) -> dict[str, Any]:
        """The shard's events; ``before`` counts the events of earlier shards (only ``hand_cut`` uses it)."""
        d = self.defect
        mine = np.flatnonzero(np.isin(world.event_item, rows))
        if d == "events_by_label":
            mine = mine[np.argsort(world.hot[world.event_item[mine]], kind="stable")]
        local = np.arange(1, mine.size + 1)
        event_id: Any = local
        if d == "hand_cut":
            event_id = id_array("evt", before + local)
            if public:
                late = world.event_day[mine] > world.created[world.event_item[mine]] + CUTOFF_DAYS
                mine, event_id = mine[~late], event_id.filter(pa.array(~late))
        if d == "public_drops_negatives" and public:
            item = world.event_item[mine]
            dropped = ~world.hot[item] & (item % 5 < 3)
            mine, event_id = mine[~dropped], event_id[~dropped]
        return {
            "event_id": event_id,
            "row_id": ids.take(pa.array(world.event_item[mine])),
            "at": date_array(BASE, world.event_day[mine]),
        }

    @hookimpl
    def write_metadata(self, world: Any, writer: BundleWriter, written: Any) -> bool | None:
        if not isinstance(world, MutWorld):
            return None
        writer.write_metadata_json("truth.json", {"motif": world.motif, "z_mean": float(world.z.mean())})
        return True

    @hookimpl
    def validate(self, bundle: BundleView, manifest: Manifest) -> list[Finding] | None:
        if manifest.scheme != "mut":
            return None
        if self.defect == "false_positive":
            return [Finding("mut.sanity", "rows look suspicious", where="tables/items.parquet")]
        if self.defect == "fragile_validate":
            for name in manifest.tables:
                pq.read_table(bundle.root / "tables" / f"{name}.parquet")
        return []


RECIPE = """id: mut_v1
title: Mutant recipe
scheme: mut
description: A recipe for the conformance kit's own tests.
primary_task: hot
supported_modes: [{modes}]
supported_difficulty: [intro, intermediate]
"""


def write_recipe(folder: Path, modes: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "recipe.yaml").write_text(RECIPE.format(modes=modes))
    return folder


def mutant_host(recipe: Path, defect: str | None = None, **kw: Any) -> tuple[PluginHost, Mutant]:
    plugin = Mutant(recipe, defect, **kw)
    return PluginHost.from_plugins([("mut", plugin)], distribution="leadforge-scheme-mut"), plugin
