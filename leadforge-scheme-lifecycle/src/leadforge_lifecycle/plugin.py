"""The lifecycle scheme's leadforge plugin: the hooks that make it a scheme.

Top-level imports stay light (no numpy/pyarrow): every ``leadforge`` command loads this module
to list schemes and options, so the simulation, rendering and checks are imported inside the
hooks that need them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from leadforge import hookimpl
from leadforge.narrative import Narrative
from leadforge.schemes import GenerateOption, SchemeInfo, options_from_params

from leadforge_lifecycle.footprint import footprint
from leadforge_lifecycle.params import LifecycleParams, LifecycleProfile

if TYPE_CHECKING:
    from leadforge.bundle import BundleWriter, RelationalContract
    from leadforge.bundle.reader import BundleView, Manifest
    from leadforge.config import GenerationConfig
    from leadforge.findings import Finding
    from leadforge.interventions import Lever
    from leadforge.realism import RealismMetric
    from leadforge.report.model import Section
    from leadforge.rng import RNG

    from leadforge_lifecycle.stats import BundleStats
    from leadforge_lifecycle.world import LifecycleWorld

LEADFORGE_PLUGIN_API = (2, 2)
VERSION = "2.0.0"
#: Equal to ``leadforge_lifecycle.world.SCHEME``, repeated here so listing schemes imports no numpy.
SCHEME = "lifecycle"


def contract(config: GenerationConfig) -> RelationalContract:
    """The scheme's relational contract, imported on first use (it needs pyarrow)."""
    from leadforge_lifecycle.contract import contract as build

    return build(config)


def levers(config: GenerationConfig) -> list[Lever]:
    """The scheme's policy levers, imported on first use (the module needs numpy)."""
    from leadforge_lifecycle.interventions import levers as build

    return build(config)


@hookimpl
def register_schemes() -> list[SchemeInfo]:
    return [
        SchemeInfo(
            name=SCHEME,
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
            levers=levers,
        )
    ]


@hookimpl
def generate_options() -> list[GenerateOption]:
    return options_from_params(
        SCHEME, LifecycleParams, "n_customers", "observation_date", "early_tenure_weeks"
    )


@hookimpl
def build_world(scheme: str, config: GenerationConfig, narrative: Any, rng: RNG) -> LifecycleWorld | None:
    if scheme != SCHEME:
        return None
    if not isinstance(narrative, Narrative):
        raise TypeError(f"the lifecycle scheme needs a Narrative, got {type(narrative).__name__}")
    from leadforge_lifecycle import world

    return world.build(config, narrative, rng)


@hookimpl
def write_bundle(world: Any, writer: BundleWriter) -> BundleStats | None:
    if getattr(world, "scheme", None) != SCHEME:
        return None
    from leadforge_lifecycle import render
    from leadforge_lifecycle.world import LifecycleWorld

    if not isinstance(world, LifecycleWorld):
        return None
    return render.write(world, writer)


@hookimpl
def write_metadata(world: Any, writer: BundleWriter, written: Any) -> bool | None:
    if getattr(world, "scheme", None) != SCHEME:
        return None
    from leadforge_lifecycle import metadata
    from leadforge_lifecycle.stats import BundleStats
    from leadforge_lifecycle.world import LifecycleWorld

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
    if manifest.scheme != SCHEME:
        return None
    from leadforge_lifecycle import checks

    return checks.run(bundle, manifest)


@hookimpl
def realism_metrics(bundle: BundleView, manifest: Manifest) -> list[RealismMetric] | None:
    if manifest.scheme != SCHEME:
        return None
    from leadforge_lifecycle import realism

    return realism.metrics(bundle, manifest)


@hookimpl
def report_sections(bundle: BundleView, manifest: Manifest) -> list[Section] | None:
    if manifest.scheme != SCHEME:
        return None
    from leadforge_lifecycle import report

    return report.sections(bundle, manifest)
