"""The resolved configuration of one generation run, and the world a scheme builds from it.

How a configuration is resolved from its layers is :mod:`leadforge.resolution`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol, TypeVar, runtime_checkable

from leadforge.enums import Difficulty, ExposureMode
from leadforge.errors import UsageError
from leadforge.experiment import Experiment
from leadforge.interventions import Intervention
from leadforge.params import build_params, to_json
from leadforge.yamlfile import load_mapping

P = TypeVar("P")

DEFAULT_SEED = 42
DEFAULT_MODE = ExposureMode.STUDENT_PUBLIC
DEFAULT_DIFFICULTY = Difficulty.INTERMEDIATE
CORE_KEYS = ("seed", "exposure_mode", "difficulty")
RESERVED = ("recipe_id", "scheme", "difficulty_params", "interventions", "experiment", *CORE_KEYS)


@dataclass(frozen=True)
class GenerationConfig:
    """Everything that determines a bundle, besides package versions.

    ``params`` is the scheme's own params dataclass; ``profile`` the parsed difficulty
    profile of the chosen tier (or ``None`` for a scheme without profiles).
    """

    recipe_id: str
    scheme: str
    seed: int
    exposure_mode: ExposureMode
    difficulty: Difficulty
    params: Any
    profile: Any | None = None
    #: sizes the user left out that followed the recipe's ratios (``"n_accounts=300,000"``), to say so
    derived: tuple[str, ...] = field(default=(), compare=False)
    #: do-operations and policy changes applied to the world (empty: the factual world)
    interventions: tuple[Intervention, ...] = ()
    #: a randomised policy change for a share of entities (``None``: no experiment)
    experiment: Experiment | None = None

    def params_as(self, params_type: type[P]) -> P:
        if not isinstance(self.params, params_type):
            raise TypeError(f"config params are {type(self.params).__name__}, not {params_type.__name__}")
        return self.params

    def with_params(self, **changes: Any) -> GenerationConfig:
        """A copy with some parameters changed, re-validated like any other input."""
        merged = {**to_json(self.params), **changes}
        params = build_params(type(self.params), merged, where="the generate() arguments")
        return replace(self, params=params)

    def to_json(self) -> dict[str, Any]:
        """Flat JSON view: core fields, then scheme parameters, then ``difficulty_params``."""
        profile = to_json(self.profile) if self.profile is not None else None
        out = {
            "recipe_id": self.recipe_id,
            "scheme": self.scheme,
            "seed": self.seed,
            "exposure_mode": self.exposure_mode.value,
            "difficulty": self.difficulty.value,
            **to_json(self.params),
            "difficulty_params": profile,
        }
        if self.interventions:  # absent when empty, so the factual world's digest never changes
            out["interventions"] = [str(iv) for iv in self.interventions]
        if self.experiment is not None:
            out["experiment"] = str(self.experiment)
        return out

    def intervention(self, lever: str) -> Intervention | None:
        """The intervention on ``lever``, if the user asked for one."""
        return next((iv for iv in self.interventions if iv.lever == lever), None)

    def digest(self) -> str:
        """SHA-256 of the canonical JSON of :meth:`to_json` (sorted keys, compact, ASCII)."""
        text = json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        return hashlib.sha256(text.encode("ascii")).hexdigest()


def load_override(path: str | Path) -> dict[str, Any]:
    """Read an ``--override`` YAML/JSON mapping; any problem is a one-line :class:`UsageError`."""
    p = Path(path)
    if not p.exists():
        raise UsageError(f"override file not found: {p}")
    if p.is_dir():
        raise UsageError(f"override file is a directory: {p}")
    return load_mapping(p, error=UsageError)


@runtime_checkable
class World(Protocol):
    """What core needs from a scheme's world: which scheme built it, from which config.

    Everything else (graph, population plan, shards) is the scheme's own business.
    """

    scheme: str
    config: GenerationConfig
