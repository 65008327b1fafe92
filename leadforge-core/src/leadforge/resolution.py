"""How a run's configuration is resolved from its four layers.

Precedence, highest first: explicit CLI flags / API arguments > the ``--override`` file >
recipe defaults > scheme defaults (the field defaults of the scheme's params dataclass).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from leadforge.config import (
    CORE_KEYS,
    DEFAULT_DIFFICULTY,
    DEFAULT_MODE,
    DEFAULT_SEED,
    RESERVED,
    GenerationConfig,
)
from leadforge.enums import Difficulty, ExposureMode
from leadforge.errors import InvalidConfigError, InvalidRecipeError
from leadforge.params import brief, build_params, param_fields, unknown_key_error
from leadforge.recipes import PROFILES_FILE, Recipe, parse_profile
from leadforge.schemes import SchemeInfo


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

    base = recipe_params(recipe, scheme)
    merged: dict[str, Any] = {**base, **override, **explicit}
    derived = _derive_sizes(scheme, base, merged, given={*override, *explicit})
    seed = merged.pop("seed", DEFAULT_SEED)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InvalidConfigError(f"seed must be an integer, got {brief(seed)}", key="seed")
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
        derived=derived,
    )


def recipe_params(recipe: Recipe, scheme: SchemeInfo) -> dict[str, Any]:
    """The parameters the recipe gives by itself: scheme defaults under the recipe's own."""
    names = {f.name for f in param_fields(scheme.params_type)}
    return {**{f.name: f.default for f in param_fields(scheme.params_type)}, **recipe.param_defaults(names)}


def _derive_sizes(
    scheme: SchemeInfo, base: Mapping[str, Any], merged: dict[str, Any], *, given: set[str]
) -> tuple[str, ...]:
    """Give sizes the run left out the recipe's ratio to the size they follow (in place)."""
    derived: list[str] = []
    for size, anchor in scheme.derived_sizes.items():
        if size in given or anchor not in given:
            continue
        value, ref, to = merged.get(anchor), base.get(size), base.get(anchor)
        if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (value, ref, to)):
            continue  # a bad value is reported by the params check, with its key
        assert isinstance(value, int) and isinstance(ref, int) and isinstance(to, int)
        merged[size] = max(1, (value * ref + to // 2) // to)
        derived.append(f"{size}={merged[size]:,}")
    return tuple(derived)
