"""The support scheme's leadforge plugin: the hooks that make it a scheme.

Top-level imports stay light (no numpy/pyarrow): every ``leadforge`` command, ``--help``
included, loads this module to list schemes and options, so the simulation, rendering and
checks are imported inside the hooks that need them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from leadforge import hookimpl
from leadforge.schemes import GenerateOption, SchemeInfo, options_from_params

from leadforge_support.params import SupportNarrative, SupportParams, SupportProfile

if TYPE_CHECKING:
    from leadforge.bundle import BundleWriter, RelationalContract
    from leadforge.bundle.reader import BundleView, Manifest
    from leadforge.config import GenerationConfig
    from leadforge.findings import Finding
    from leadforge.realism import RealismMetric
    from leadforge.report.model import Section
    from leadforge.rng import RNG

    from leadforge_support.render import BundleStats
    from leadforge_support.world import SupportWorld

LEADFORGE_PLUGIN_API = (2, 2)
RECIPES = Path(__file__).parent / "recipes"
#: Equal to ``leadforge_support.world.SCHEME``, repeated here so listing schemes imports no numpy.
SCHEME = "support"


def contract(config: GenerationConfig) -> RelationalContract:
    """The scheme's relational contract, imported on first use (it needs pyarrow)."""
    from leadforge_support.contract import contract as build

    return build(config)


@hookimpl
def register_schemes() -> list[SchemeInfo]:
    return [
        SchemeInfo(
            name=SCHEME,
            title="Helpdesk tickets and SLA breaches",
            version="0.1.0",
            params_type=SupportParams,
            profile_type=SupportProfile,
            narrative_type=SupportNarrative,
            description="Tickets arrive daily; a team works the queue by priority; SLA breaches emerge.",
            sample_params={"n_customers": 120, "n_agents": 3, "horizon_days": 60},
            contract=contract,
        )
    ]


@hookimpl
def register_recipes() -> list[Path]:
    return sorted(p for p in RECIPES.iterdir() if (p / "recipe.yaml").is_file())


@hookimpl
def generate_options() -> list[GenerateOption]:
    return options_from_params(SCHEME, SupportParams, "n_customers", "n_agents")


@hookimpl
def build_world(scheme: str, config: GenerationConfig, narrative: Any, rng: RNG) -> SupportWorld | None:
    if scheme != SCHEME:
        return None
    from leadforge_support import world

    return world.build(config, narrative, rng)


@hookimpl
def write_bundle(world: Any, writer: BundleWriter) -> BundleStats | None:
    if getattr(world, "scheme", None) != SCHEME:
        return None
    from leadforge_support import render
    from leadforge_support.world import SupportWorld

    if not isinstance(world, SupportWorld):
        return None
    return render.write(world, writer)


@hookimpl
def write_metadata(world: Any, writer: BundleWriter, written: BundleStats) -> bool | None:
    if getattr(world, "scheme", None) != SCHEME:
        return None
    from leadforge_support import metadata
    from leadforge_support.world import SupportWorld

    if not isinstance(world, SupportWorld):
        return None
    metadata.write(world, writer, written)
    return True


@hookimpl
def validate(bundle: BundleView, manifest: Manifest) -> list[Finding] | None:
    if manifest.scheme != SCHEME:
        return None
    from leadforge_support import checks

    return checks.run(bundle, manifest)


@hookimpl
def realism_metrics(bundle: BundleView, manifest: Manifest) -> list[RealismMetric] | None:
    if manifest.scheme != SCHEME:
        return None
    from leadforge_support import realism

    return realism.metrics(bundle)


@hookimpl
def report_sections(bundle: BundleView, manifest: Manifest) -> list[Section] | None:
    if manifest.scheme != SCHEME:
        return None
    from leadforge_support import report

    return report.sections(bundle, manifest)
