"""A tiny but complete scheme used to exercise core on its own (no other distribution needed).

Two tables: ``rows`` (plan-numbered, with a ``secret`` column public bundles drop) and
``events`` (shard-numbered children of rows; a public bundle keeps only the events of the first
``PUBLIC_EVENT_DAYS`` days after their row's day), so every piece of the relational contract —
drop, cut, cascade, numbering, foreign-key remapping — runs in every toy bundle.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from leadforge import hookimpl
from leadforge.bundle import (
    BundleWriter,
    Cutoff,
    ForeignKey,
    ManifestFields,
    OracleSpec,
    PublicView,
    RelationalContract,
    TableContract,
    TaskSpec,
)
from leadforge.bundle.reader import BundleView, Manifest
from leadforge.columns import date_array, id_range
from leadforge.config import GenerationConfig
from leadforge.enums import ExposureMode
from leadforge.errors import InvalidConfigError
from leadforge.experiment import TREATMENT_COLUMN, UPLIFT_COLUMN
from leadforge.features import FeatureSpec, catalog_schema
from leadforge.interventions import Lever
from leadforge.params import param
from leadforge.rng import RNG
from leadforge.schema import TableSchema
from leadforge.schemes import GenerateOption, SchemeInfo, options_from_params
from leadforge.validation import Finding

LEADFORGE_PLUGIN_API = (2, 2)
RECIPES = Path(__file__).parent / "toy_recipes"
BASE = dt.date(2025, 1, 1)
PUBLIC_EVENT_DAYS = 7
#: the label is x1 + NOISE * secret > threshold, with secret ~ N(0, 1): the oracle is exact
NOISE = 0.5
ORACLE_COLUMN = "p_true"
_ERF = np.frompyfunc(math.erf, 1, 1)


def truth(x1: np.ndarray, threshold: np.ndarray | float) -> np.ndarray:
    """P(label | x1): the toy's exact answer key."""
    z = (x1 - threshold) / (NOISE * math.sqrt(2.0))
    return np.asarray(0.5 * (1.0 + _ERF(z).astype(np.float64)))


@dataclass(frozen=True)
class ToyParams:
    n_rows: int = param(200, help="rows to simulate", minimum=1, maximum=1_000_000)
    chunk_rows: int = param(100, help="rows per shard", minimum=1)
    label_name: str = param("positive", help="name of the label column")
    snapshot_day: int | None = param(None, help="unused; exercises optional ints", minimum=1)

    def check(self) -> None:
        if self.label_name in ("row_id", "x1", "x2", "cat", "hint"):
            raise InvalidConfigError(
                f"label_name {self.label_name!r} collides with a feature", key="label_name"
            )


@dataclass(frozen=True)
class ToyProfile:
    noise: float
    description: str = ""


@dataclass(frozen=True)
class ToyWorld:
    scheme: str
    config: GenerationConfig
    rng: RNG
    threshold: float

    def shards(self) -> list[tuple[int, int]]:
        p = self.config.params_as(ToyParams)
        return [(s, min(p.chunk_rows, p.n_rows - s)) for s in range(0, p.n_rows, p.chunk_rows)]


@dataclass(frozen=True)
class ToyStats:
    """What ``write_bundle`` hands ``write_metadata``."""

    rows: int
    events: int


ROWS = TableSchema.of(
    [
        ("row_id", "string"),
        ("day", "string"),
        ("x1", "Float64"),
        ("x2", "Int64"),
        ("cat", "string"),
        ("secret", "Float64"),
    ]
)
EVENTS = TableSchema.of(
    [("event_id", "string"), ("row_id", "string"), ("at", "string"), ("amount", "Float64")]
)


def contract(config: GenerationConfig) -> RelationalContract:
    return RelationalContract(
        (
            TableContract(
                "rows", ROWS, "row_id", "row", time_column="day", public=PublicView(drop=("secret",))
            ),
            TableContract(
                "events",
                EVENTS,
                "event_id",
                "evt",
                foreign_keys=(ForeignKey("row_id", "rows"),),
                time_column="at",
                numbering="shard",
                public=PublicView(
                    cut=Cutoff(via="row_id", anchor_column="day", offset_days=PUBLIC_EVENT_DAYS)
                ),
            ),
        )
    )


def catalog(label: str) -> list[FeatureSpec]:
    return [
        FeatureSpec("row_id", "string", "id", "ids", distort=False),
        FeatureSpec("x1", "Float64", "signal", "features"),
        FeatureSpec("x2", "Int64", "a count", "features", non_negative=True),
        FeatureSpec("cat", "string", "a category", "features"),
        FeatureSpec(
            "hint",
            "Float64",
            "instructor-only hint",
            "features",
            redacted_in=frozenset({ExposureMode.STUDENT_PUBLIC}),
        ),
        FeatureSpec(label, "boolean", "target", "target", is_target=True, distort=False),
    ]


@hookimpl
def register_schemes() -> list[SchemeInfo]:
    return [
        SchemeInfo(
            name="toy",
            title="Toy scheme",
            version="1.0",
            params_type=ToyParams,
            profile_type=ToyProfile,
            narrative_type=None,
            sample_params={"n_rows": 120},
            contract=contract,
            levers=levers,
        )
    ]


@hookimpl
def register_recipes() -> list[Path]:
    return [RECIPES / "toy_v1"]


@hookimpl
def generate_options() -> list[GenerateOption]:
    return options_from_params("toy", ToyParams, "n_rows", "label_name")


@hookimpl
def build_world(scheme: str, config: GenerationConfig, narrative: Any, rng: RNG) -> ToyWorld | None:
    if scheme != "toy":
        return None
    threshold = float(rng.generator("world").normal())
    shift = config.intervention("policy:threshold")
    return ToyWorld("toy", config, rng, shift.apply(threshold) if shift else threshold)


def levers(config: GenerationConfig) -> list[Lever]:
    return [Lever("policy:threshold", "the score a row must beat to be positive", low=-5.0, high=5.0)]


@hookimpl
def write_bundle(world: Any, writer: BundleWriter) -> ToyStats | None:
    if not isinstance(world, ToyWorld):
        return None
    p = world.config.params_as(ToyParams)
    experiment = world.config.experiment
    features = catalog(p.label_name)
    oracle = None
    if experiment is not None:  # the designed experiment: a public arm, an exact oracle and uplift
        features.insert(-1, FeatureSpec(TREATMENT_COLUMN, "boolean", "the experiment's arm", "features"))
        oracle = OracleSpec(ORACLE_COLUMN, description="exact normal probability", uplift=UPLIFT_COLUMN)
    writer.declare_features(features)
    schema = catalog_schema(features)
    if oracle is not None:
        schema = TableSchema.of(
            [*schema.columns, *TableSchema.of([(c, "Float64") for c in oracle.hidden]).columns]
        )
    writer.declare_task(
        TaskSpec(
            "toy_task",
            "binary_classification",
            p.label_name,
            30,
            "rows",
            "row_id",
            "Is x1 high?",
            oracle=oracle,
        ),
        schema,
    )
    writer.set_manifest_fields(
        ManifestFields(
            config={"n_rows": p.n_rows}, hidden={"threshold": world.threshold}, extra={"toy_extra": True}
        )
    )
    shards = world.shards()
    events = 0
    for i, (start, n) in enumerate(shards):
        g = world.rng.shard(i).generator("rows")
        day = g.integers(0, 60, size=n)
        x1 = g.normal(size=n)
        x2 = g.poisson(3, size=n)
        cat = np.where(g.random(n) < 0.5, "a", "b").astype(object)
        secret = g.normal(size=n)
        per_row = g.poisson(2, size=n)
        owner = np.repeat(np.arange(n), per_row)
        ids = id_range("row", start + 1, n)
        rows = {"row_id": ids, "day": date_array(BASE, day), "x1": x1, "x2": x2, "cat": cat, "secret": secret}
        event_rows = {
            "event_id": np.arange(owner.size),
            "row_id": ids.take(owner),
            "at": date_array(BASE, day[owner] + g.integers(0, 20, size=owner.size)),
            "amount": g.gamma(2.0, 5.0, size=owner.size),
        }
        threshold: np.ndarray | float = world.threshold
        task: dict[str, Any] = {"row_id": ids, "x1": x1, "x2": x2, "cat": cat, "hint": secret}
        if experiment is not None:
            treated = experiment.treated(np.arange(start, start + n), world.rng)
            treated_threshold = experiment.intervention.apply(world.threshold)
            threshold = np.where(treated, treated_threshold, world.threshold)
            task[TREATMENT_COLUMN] = treated
            task[ORACLE_COLUMN] = truth(x1, threshold)
            task[UPLIFT_COLUMN] = truth(x1, treated_threshold) - truth(x1, world.threshold)
        task[p.label_name] = x1 + secret * NOISE > threshold
        writer.write_shard(i, tables={"rows": rows, "events": event_rows}, tasks={"toy_task": task})
        events += owner.size
        writer.progress("toy shards", i + 1, len(shards))
    writer.write_dataset_card(
        f"# Toy Dataset — {world.config.difficulty.value.capitalize()} Tier\n\nToy rows.\n"
    )
    return ToyStats(p.n_rows, events)


@hookimpl
def write_metadata(world: Any, writer: BundleWriter, written: ToyStats) -> bool | None:
    if not isinstance(world, ToyWorld):
        return None
    writer.write_metadata_json("truth.json", {"threshold": world.threshold, "events": written.events})
    return True


@hookimpl
def validate(bundle: BundleView, manifest: Manifest) -> list[Finding] | None:
    if manifest.scheme != "toy":
        return None
    if "amount" not in bundle.schema(bundle.table_files("events")).names:
        return []
    amounts = bundle.table("events", ["amount"]).column("amount")
    if amounts.null_count or (len(amounts) and min(amounts.to_pylist()) <= 0):
        return [Finding("toy.amount", "event amounts must be positive", where="tables/events.parquet:amount")]
    return []
