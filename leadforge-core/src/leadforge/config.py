"""The resolved configuration of one generation run, and how it is resolved.

Precedence, highest first: explicit CLI flags / API arguments > the ``--override`` file >
recipe defaults > scheme defaults (the field defaults of the scheme's params dataclass).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from leadforge.enums import Difficulty, ExposureMode
from leadforge.errors import InvalidConfigError, InvalidRecipeError, UsageError
from leadforge.params import build_params, param_fields, to_json, unknown_key_error
from leadforge.recipes import PROFILES_FILE, Recipe, parse_profile
from leadforge.schemes import SchemeInfo
from leadforge.yamlfile import load_mapping

P = TypeVar("P")

DEFAULT_SEED = 42
DEFAULT_MODE = ExposureMode.STUDENT_PUBLIC
DEFAULT_DIFFICULTY = Difficulty.INTERMEDIATE
CORE_KEYS = ("seed", "exposure_mode", "difficulty")
RESERVED = ("recipe_id", "scheme", "difficulty_params", *CORE_KEYS)


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
        return {
            "recipe_id": self.recipe_id,
            "scheme": self.scheme,
            "seed": self.seed,
            "exposure_mode": self.exposure_mode.value,
            "difficulty": self.difficulty.value,
            **to_json(self.params),
            "difficulty_params": profile,
        }

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


def resolve_config(
    recipe: Recipe,
    scheme: SchemeInfo,
    *,
    explicit: Mapping[str, Any] | None = None,
    override: Mapping[str, Any] | None = None,
) -> GenerationConfig:
    """Merge the four layers and validate the result (errors name the key)."""
    explicit = {k: v for k, v in (explicit or {}).items() if v is not None}
    override = dict(override or {})
    names = {f.name for f in param_fields(scheme.params_type)}
    clash = names & set(RESERVED)
    if clash:
        raise InvalidConfigError(f"scheme {scheme.name} declares reserved parameter(s) {sorted(clash)}")
    valid = names | set(CORE_KEYS)
    for key in override:
        if key not in valid:
            raise unknown_key_error(key, valid, "the override file")
    for key in explicit:
        if key not in valid:
            raise unknown_key_error(key, valid, "the arguments")

    merged: dict[str, Any] = {**recipe.param_defaults(names), **override, **explicit}
    seed = merged.pop("seed", DEFAULT_SEED)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InvalidConfigError(f"seed must be an integer, got {seed!r}", key="seed")
    if seed < 0:
        raise InvalidConfigError(f"seed must be non-negative, got {seed}", key="seed")
    mode = ExposureMode.parse(merged.pop("exposure_mode", DEFAULT_MODE), "exposure_mode")
    difficulty = Difficulty.parse(merged.pop("difficulty", DEFAULT_DIFFICULTY), "difficulty")
    if mode not in recipe.supported_modes or mode not in scheme.exposure_modes:
        allowed = [m.value for m in recipe.supported_modes if m in scheme.exposure_modes]
        raise InvalidRecipeError(
            f"recipe {recipe.id!r} does not support mode {mode.value!r}; supported: {', '.join(allowed)}"
        )
    if difficulty not in recipe.supported_difficulty:
        allowed = [d.value for d in recipe.supported_difficulty]
        raise InvalidRecipeError(
            f"recipe {recipe.id!r} does not support difficulty {difficulty.value!r}; "
            f"supported: {', '.join(allowed)}"
        )
    params = build_params(scheme.params_type, merged)
    profile = None
    if scheme.profile_type is not None:
        data = recipe.profile_mapping(difficulty)
        if data is None:
            raise InvalidRecipeError(
                f"recipe {recipe.id!r} has no {PROFILES_FILE}, which scheme {scheme.name!r} needs"
            )
        profile = parse_profile(
            scheme.profile_type, data, f"{recipe.path / PROFILES_FILE} [{difficulty.value}]"
        )
    return GenerationConfig(
        recipe_id=recipe.id,
        scheme=scheme.name,
        seed=seed,
        exposure_mode=mode,
        difficulty=difficulty,
        params=params,
        profile=profile,
    )
