"""What a scheme plugin declares about itself, and the minimal shape of the world it builds."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from leadforge.config import GenerationConfig, World
from leadforge.enums import TASK_TYPES, ExposureMode
from leadforge.narrative import Narrative
from leadforge.params import ParamField, param_fields

if TYPE_CHECKING:
    from leadforge.bundle.contract import RelationalContract
    from leadforge.footprint import Footprint
    from leadforge.interventions import Lever

__all__ = ["GenerateOption", "SchemeInfo", "World", "options_from_params"]


@dataclass(frozen=True)
class SchemeInfo:
    """A generation scheme, as returned by the ``register_schemes`` hook.

    ``params_type`` is a frozen dataclass of the scheme's knobs (see :mod:`leadforge.params`);
    its field defaults are the scheme defaults, the lowest layer of config resolution.
    ``profile_type`` is the dataclass one difficulty profile of a recipe parses into (fields
    without a default are required keys of the profile); ``None`` if the scheme reads none.
    ``narrative_type`` parses ``narrative.yaml`` (a ``from_mapping(data, file)`` classmethod);
    ``None`` if the scheme needs no narrative. ``sample_params`` are parameter values that
    give a small but complete bundle in a second or two; the conformance kit and smoke tests
    generate with them. ``contract`` returns the scheme's relational contract for a config
    (table schemas may depend on it, e.g. a label column named by a parameter); core writes
    and validates every bundle of the scheme against it. ``footprint`` estimates a run's peak
    memory and bundle size, so core refuses a run that cannot fit before it starts.
    ``derived_sizes`` maps a size parameter to the one it follows (``{"n_accounts": "n_leads"}``):
    when a run sets the second and not the first, the first keeps the recipe's ratio, so
    ``--n-leads 1000000`` alone gives a world shaped like the recipe, not a million leads
    crammed into the default number of accounts. ``levers`` lists what a researcher may
    intervene on in a world of this config (see :mod:`leadforge.interventions`); a scheme
    without it accepts no ``--intervene``.
    """

    name: str
    title: str
    version: str
    params_type: type
    task_types: tuple[str, ...] = ("binary_classification",)
    exposure_modes: tuple[ExposureMode, ...] = (
        ExposureMode.STUDENT_PUBLIC,
        ExposureMode.RESEARCH_INSTRUCTOR,
    )
    profile_type: type | None = None
    narrative_type: type | None = Narrative
    description: str = ""
    sample_params: Mapping[str, Any] = field(default_factory=dict)
    contract: Callable[[GenerationConfig], RelationalContract] | None = None
    footprint: Callable[[GenerationConfig], Footprint] | None = None
    derived_sizes: Mapping[str, str] = field(default_factory=dict)
    levers: Callable[[GenerationConfig], Sequence[Lever]] | None = None

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ValueError(f"scheme name must be an identifier, got {self.name!r}")
        bad = [t for t in self.task_types if t not in TASK_TYPES]
        if bad:
            raise ValueError(f"scheme {self.name}: unknown task types {bad}; use {TASK_TYPES}")
        names = {f.name for f in param_fields(self.params_type)}  # fails early on an undeclared default
        unknown = sorted({*self.derived_sizes, *self.derived_sizes.values()} - names)
        if unknown:
            raise ValueError(f"scheme {self.name}: derived_sizes names unknown parameters {unknown}")

    @property
    def params(self) -> list[ParamField]:
        return param_fields(self.params_type)


@dataclass(frozen=True)
class GenerateOption:
    """An extra ``leadforge generate`` option a scheme understands (``generate_options`` hook).

    ``key`` is the scheme parameter the option sets; ``type`` is ``int``, ``float`` or ``str``.
    """

    scheme: str
    flag: str
    key: str
    type: type
    help: str = ""
    metavar: str | None = field(default=None)

    def __post_init__(self) -> None:
        if not self.flag.startswith("--"):
            raise ValueError(f"option flag must start with '--', got {self.flag!r}")
        if self.type not in (int, float, str):
            raise ValueError(f"option {self.flag}: type must be int, float or str")


def options_from_params(scheme: str, params_type: type, *keys: str) -> list[GenerateOption]:
    """CLI options for the named parameters, taking type and help from their declaration."""
    fields = {f.name: f for f in param_fields(params_type)}
    return [
        GenerateOption(
            scheme=scheme,
            flag="--" + key.replace("_", "-"),
            key=key,
            type=fields[key].base_type,
            help=fields[key].help,
        )
        for key in keys
    ]
