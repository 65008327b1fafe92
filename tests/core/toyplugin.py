"""A tiny but complete scheme used to exercise core on its own (no other distribution needed)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from leadforge import hookimpl
from leadforge.bundle import BundleWriter, ManifestFields, StructuralRedactions, TaskSpec
from leadforge.bundle.reader import BundleView, Manifest
from leadforge.columns import id_range
from leadforge.config import GenerationConfig
from leadforge.enums import ExposureMode
from leadforge.errors import InvalidConfigError
from leadforge.features import FeatureSpec, catalog_schema
from leadforge.params import param
from leadforge.rng import RNG
from leadforge.schema import TableSchema
from leadforge.schemes import GenerateOption, SchemeInfo, options_from_params
from leadforge.validation import Finding

LEADFORGE_PLUGIN_API = (2, 2)
RECIPES = Path(__file__).parent / "toy_recipes"


@dataclass(frozen=True)
class ToyParams:
    n_rows: int = param(200, help="rows to simulate", minimum=1, maximum=1_000_000)
    chunk_rows: int = param(100, help="rows per shard", minimum=1)
    label_name: str = param("positive", help="name of the label column")
    snapshot_day: int | None = param(None, help="unused; exercises optional ints", minimum=1)

    def check(self) -> None:
        if self.label_name in ("row_id", "x1", "x2", "cat"):
            raise InvalidConfigError(
                f"label_name {self.label_name!r} collides with a feature", key="label_name"
            )


@dataclass(frozen=True)
class ToyProfile:
    noise: float
    description: str = ""


@dataclass
class ToyWorld:
    scheme: str
    config: GenerationConfig
    threshold: float

    def shards(self) -> list[tuple[int, int]]:
        p = self.config.params_as(ToyParams)
        return [(s, min(p.chunk_rows, p.n_rows - s)) for s in range(0, p.n_rows, p.chunk_rows)]


ROWS = TableSchema.of(
    [("row_id", "string"), ("x1", "Float64"), ("x2", "Int64"), ("cat", "string"), ("secret", "Float64")]
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
    return ToyWorld("toy", config, float(rng.generator("world").normal()))


@hookimpl
def write_bundle(world: Any, writer: BundleWriter) -> bool | None:
    if not isinstance(world, ToyWorld):
        return None
    p = world.config.params_as(ToyParams)
    public = writer.mode is ExposureMode.STUDENT_PUBLIC
    writer.declare_features(catalog(p.label_name))
    writer.set_manifest_fields(
        ManifestFields(
            config={"n_rows": p.n_rows},
            hidden={"threshold": world.threshold},
            relational_snapshot_safe=public,
            structural_redactions=StructuralRedactions(columns={"rows": ["secret"]} if public else {}),
            extra={"toy_extra": True},
        )
    )
    rows_schema = ROWS.without(["secret"]) if public else ROWS
    spec = TaskSpec("toy_task", "binary_classification", p.label_name, 30, "rows", "row_id", "Is x1 high?")
    rng = RNG(world.config.seed).child("shard")
    with (
        writer.open_table("rows", rows_schema) as table,
        writer.open_task(spec, catalog_schema(catalog(p.label_name))) as task,
    ):
        for i, (start, n) in enumerate(world.shards()):
            g = rng.generator(str(i))
            x1 = g.normal(size=n)
            x2 = g.poisson(3, size=n)
            cat = np.where(g.random(n) < 0.5, "a", "b").astype(object)
            secret = g.normal(size=n)
            ids = id_range("row", start + 1, n)
            data = {"row_id": ids, "x1": x1, "x2": x2, "cat": cat}
            if not public:
                data["secret"] = secret
            table.append(data)
            label = x1 + secret * 0.5 > world.threshold
            task.append({"row_id": ids, "x1": x1, "x2": x2, "cat": cat, "hint": secret, p.label_name: label})
            writer.progress("toy shards", i + 1, len(world.shards()))
    writer.write_dataset_card(
        f"# Toy Dataset — {world.config.difficulty.value.capitalize()} Tier\n\nToy rows.\n"
    )
    return True


@hookimpl
def write_metadata(world: Any, writer: BundleWriter) -> bool | None:
    if not isinstance(world, ToyWorld):
        return None
    writer.write_metadata_json("truth.json", {"threshold": world.threshold})
    return True


@hookimpl
def validate(bundle: BundleView, manifest: Manifest) -> list[Finding] | None:
    if manifest.scheme != "toy":
        return None
    rows = bundle.table("rows")
    if manifest.exposure_mode == "student_public" and "secret" in rows.column_names:
        return [Finding("toy.secret", "secret column in a public bundle", where="tables/rows.parquet:secret")]
    return []
