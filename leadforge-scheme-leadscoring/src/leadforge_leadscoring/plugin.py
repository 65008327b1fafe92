"""The lead_scoring scheme's leadforge plugin: the hooks that make it a scheme.

Top-level imports stay light (no numpy/pyarrow): every ``leadforge`` command loads this module
to list schemes and options, so the simulation, rendering and checks are imported inside the
hooks that need them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from leadforge import hookimpl
from leadforge.schemes import GenerateOption, SchemeInfo, options_from_params

from leadforge_leadscoring.footprint import footprint
from leadforge_leadscoring.params import LeadScoringParams, LeadScoringProfile
from leadforge_leadscoring.vocab import SCHEME

if TYPE_CHECKING:
    from leadforge.bundle import BundleWriter, RelationalContract
    from leadforge.bundle.reader import BundleView, Manifest
    from leadforge.config import GenerationConfig
    from leadforge.findings import Finding
    from leadforge.interventions import Lever
    from leadforge.realism import RealismMetric
    from leadforge.report.model import Section
    from leadforge.rng import RNG

    from leadforge_leadscoring.stats import RunStats
    from leadforge_leadscoring.world import LeadScoringWorld

LEADFORGE_PLUGIN_API = (2, 2)
VERSION = "2.0.0"


def levers(config: GenerationConfig) -> list[Lever]:
    """What ``--intervene`` and ``--experiment`` accept for this config's world."""
    from leadforge_leadscoring.interventions import levers as of

    return of(config)


def contract(config: GenerationConfig) -> RelationalContract:
    """The scheme's relational contract, imported on first use (it needs pyarrow)."""
    from leadforge_leadscoring.contract import contract as build

    return build(config)


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
            derived_sizes={"n_accounts": "n_leads", "n_contacts": "n_leads"},
            levers=levers,
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
    from leadforge_leadscoring import world

    return world.build(config, narrative, rng)


@hookimpl
def write_bundle(world: Any, writer: BundleWriter) -> RunStats | None:
    if getattr(world, "scheme", None) != SCHEME:
        return None
    from leadforge_leadscoring import render
    from leadforge_leadscoring.world import LeadScoringWorld

    if not isinstance(world, LeadScoringWorld):
        return None
    return render.write(world, writer)


@hookimpl
def write_metadata(world: Any, writer: BundleWriter, written: Any) -> bool | None:
    if getattr(world, "scheme", None) != SCHEME:
        return None
    from leadforge_leadscoring import metadata
    from leadforge_leadscoring.stats import RunStats
    from leadforge_leadscoring.world import LeadScoringWorld

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
    from leadforge_leadscoring import checks

    return checks.run(bundle, manifest)


@hookimpl
def realism_metrics(bundle: BundleView, manifest: Manifest) -> list[RealismMetric] | None:
    if manifest.scheme != SCHEME:
        return None
    from leadforge_leadscoring import realism

    return realism.metrics(bundle, manifest)


@hookimpl
def report_sections(bundle: BundleView, manifest: Manifest) -> list[Section] | None:
    if manifest.scheme != SCHEME:
        return None
    from leadforge_leadscoring import report

    return report.sections(bundle, manifest)
