"""The lifecycle scheme's leadforge plugin: the hooks that make it a scheme."""

from __future__ import annotations

from typing import Any

from leadforge import hookimpl
from leadforge.bundle import BundleWriter
from leadforge.bundle.reader import BundleView, Manifest
from leadforge.config import GenerationConfig
from leadforge.narrative import Narrative
from leadforge.rng import RNG
from leadforge.schemes import GenerateOption, SchemeInfo, options_from_params
from leadforge.validation import Finding

from leadforge_lifecycle import checks, metadata, render, world
from leadforge_lifecycle.contract import contract
from leadforge_lifecycle.footprint import footprint
from leadforge_lifecycle.params import LifecycleParams, LifecycleProfile
from leadforge_lifecycle.stats import BundleStats
from leadforge_lifecycle.world import LifecycleWorld

LEADFORGE_PLUGIN_API = (2, 2)
VERSION = "2.0.0"


@hookimpl
def register_schemes() -> list[SchemeInfo]:
    return [
        SchemeInfo(
            name=world.SCHEME,
            title="B2B SaaS customer lifecycle (pLTV and churn)",
            version=VERSION,
            params_type=LifecycleParams,
            task_types=("regression", "binary_classification"),
            profile_type=LifecycleProfile,
            narrative_type=Narrative,
            description=(
                "Post-sale B2B SaaS customers simulated week by week: usage health, invoices, dunning, "
                "renewals, expansions, contractions and churn; pLTV regression and churn tasks."
            ),
            sample_params={"n_customers": 200},
            contract=contract,
            footprint=footprint,
        )
    ]


@hookimpl
def generate_options() -> list[GenerateOption]:
    return options_from_params(
        world.SCHEME, LifecycleParams, "n_customers", "observation_date", "early_tenure_weeks"
    )


@hookimpl
def build_world(scheme: str, config: GenerationConfig, narrative: Any, rng: RNG) -> LifecycleWorld | None:
    if scheme != world.SCHEME:
        return None
    if not isinstance(narrative, Narrative):
        raise TypeError(f"the lifecycle scheme needs a Narrative, got {type(narrative).__name__}")
    return world.build(config, narrative, rng)


@hookimpl
def write_bundle(world: Any, writer: BundleWriter) -> BundleStats | None:
    if not isinstance(world, LifecycleWorld):
        return None
    return render.write(world, writer)


@hookimpl
def write_metadata(world: Any, writer: BundleWriter, written: Any) -> bool | None:
    if not isinstance(world, LifecycleWorld):
        return None
    if not isinstance(written, BundleStats):
        raise TypeError(
            f"write_metadata expected the BundleStats of write_bundle, got {type(written).__name__}"
        )
    metadata.write(world, writer, written)
    return True


@hookimpl
def validate(bundle: BundleView, manifest: Manifest) -> list[Finding] | None:
    if manifest.scheme != world.SCHEME:
        return None
    return checks.run(bundle, manifest)
