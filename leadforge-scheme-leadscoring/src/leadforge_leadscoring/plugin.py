"""The lead_scoring scheme's leadforge plugin: the hooks that make it a scheme."""

from __future__ import annotations

from typing import Any

from leadforge import hookimpl
from leadforge.bundle import BundleWriter
from leadforge.bundle.reader import BundleView, Manifest
from leadforge.config import GenerationConfig
from leadforge.rng import RNG
from leadforge.schemes import GenerateOption, SchemeInfo, options_from_params
from leadforge.validation import Finding

from leadforge_leadscoring import checks, metadata, render, world
from leadforge_leadscoring.contract import contract
from leadforge_leadscoring.footprint import footprint
from leadforge_leadscoring.params import LeadScoringParams, LeadScoringProfile
from leadforge_leadscoring.stats import RunStats
from leadforge_leadscoring.vocab import SCHEME
from leadforge_leadscoring.world import LeadScoringWorld

LEADFORGE_PLUGIN_API = (2, 2)
VERSION = "2.0.0"


@hookimpl
def register_schemes() -> list[SchemeInfo]:
    return [
        SchemeInfo(
            name=SCHEME,
            title="B2B lead scoring: a hidden causal graph drives a daily sales funnel",
            version=VERSION,
            params_type=LeadScoringParams,
            task_types=("binary_classification",),
            profile_type=LeadScoringProfile,
            description=(
                "Accounts, buyer contacts and leads move through a nine-stage funnel day by day; "
                "touches, web sessions, sales activities and opportunities are emitted along the way, "
                "and conversion is the simulated close-won event."
            ),
            sample_params={"n_accounts": 90, "n_contacts": 250, "n_leads": 300},
            contract=contract,
            footprint=footprint,
        )
    ]


@hookimpl
def generate_options() -> list[GenerateOption]:
    return options_from_params(
        SCHEME,
        LeadScoringParams,
        "n_accounts",
        "n_contacts",
        "n_leads",
        "horizon_days",
        "primary_task",
        "label_window_days",
        "snapshot_day",
    )


@hookimpl
def build_world(scheme: str, config: GenerationConfig, narrative: Any, rng: RNG) -> LeadScoringWorld | None:
    if scheme != SCHEME:
        return None
    return world.build(config, narrative, rng)


@hookimpl
def write_bundle(world: Any, writer: BundleWriter) -> RunStats | None:
    if not isinstance(world, LeadScoringWorld):
        return None
    return render.write(world, writer)


@hookimpl
def write_metadata(world: Any, writer: BundleWriter, written: Any) -> bool | None:
    if not isinstance(world, LeadScoringWorld):
        return None
    if not isinstance(written, RunStats):
        raise TypeError(f"write_metadata expects the RunStats write_bundle returned, got {type(written)}")
    metadata.write(world, writer, written)
    return True


@hookimpl
def validate(bundle: BundleView, manifest: Manifest) -> list[Finding] | None:
    if manifest.scheme != SCHEME:
        return None
    return checks.run(bundle, manifest)
