"""The support scheme's leadforge plugin: the hooks that make it a scheme."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from leadforge import hookimpl
from leadforge.bundle import BundleWriter
from leadforge.bundle.reader import BundleView, Manifest
from leadforge.config import GenerationConfig
from leadforge.rng import RNG
from leadforge.schemes import GenerateOption, SchemeInfo, options_from_params
from leadforge.validation import Finding

from leadforge_support import checks, metadata, render, world
from leadforge_support.contract import contract
from leadforge_support.params import SupportNarrative, SupportParams, SupportProfile
from leadforge_support.world import SupportWorld

LEADFORGE_PLUGIN_API = (2, 2)
RECIPES = Path(__file__).parent / "recipes"


@hookimpl
def register_schemes() -> list[SchemeInfo]:
    return [
        SchemeInfo(
            name=world.SCHEME,
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
    return options_from_params(world.SCHEME, SupportParams, "n_customers", "n_agents")


@hookimpl
def build_world(scheme: str, config: GenerationConfig, narrative: Any, rng: RNG) -> world.SupportWorld | None:
    if scheme != world.SCHEME:
        return None
    return world.build(config, narrative, rng)


@hookimpl
def write_bundle(world: Any, writer: BundleWriter) -> render.BundleStats | None:
    if not isinstance(world, SupportWorld):
        return None
    return render.write(world, writer)


@hookimpl
def write_metadata(world: Any, writer: BundleWriter, written: render.BundleStats) -> bool | None:
    if not isinstance(world, SupportWorld):
        return None
    metadata.write(world, writer, written)
    return True


@hookimpl
def validate(bundle: BundleView, manifest: Manifest) -> list[Finding] | None:
    if manifest.scheme != world.SCHEME:
        return None
    return checks.run(bundle, manifest)
