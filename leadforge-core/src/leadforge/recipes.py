"""Recipes: vertical presets that name a scheme and carry its narrative and difficulty profiles.

Recipes arrive only through the ``register_recipes`` hook, as folders holding
``recipe.yaml`` (required), ``narrative.yaml`` and ``difficulty_profiles.yaml``.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leadforge.enums import Difficulty, ExposureMode
from leadforge.errors import InvalidConfigError, InvalidRecipeError
from leadforge.params import ParamField, coerce, unknown_key_error
from leadforge.yamlfile import Fields, load_mapping

RECIPE_FILE = "recipe.yaml"
NARRATIVE_FILE = "narrative.yaml"
PROFILES_FILE = "difficulty_profiles.yaml"

#: Top-level ``recipe.yaml`` keys that feed scheme parameters when the scheme declares them.
PARAM_KEYS = ("horizon_days", "primary_task", "label_window_days", "snapshot_day")


@dataclass(frozen=True)
class Recipe:
    """A parsed ``recipe.yaml`` plus where it came from."""

    id: str
    title: str
    vertical: str
    scheme: str
    description: str
    primary_task: str
    tasks: tuple[str, ...]
    supported_modes: tuple[ExposureMode, ...]
    supported_difficulty: tuple[Difficulty, ...]
    default_population: Mapping[str, int]
    parameters: Mapping[str, Any]
    requires: str | None
    path: Path
    provider: str

    @property
    def install_hint(self) -> str:
        """The ``pip install`` that makes this recipe's scheme available."""
        target = self.requires or f"leadforge-scheme-{self.scheme.replace('_', '')}"
        return f"pip install '{target}'"

    def param_defaults(self, param_names: set[str]) -> dict[str, Any]:
        """Recipe-level defaults for the scheme's parameters (the third resolution layer)."""
        out: dict[str, Any] = {}
        for key, value in self.parameters.items():
            if key in PARAM_KEYS and key not in param_names:
                continue
            if key not in param_names:
                raise InvalidRecipeError(
                    f"{self.path / RECIPE_FILE}: {unknown_key_error(key, param_names, 'the recipe')!s}"
                )
            out[key] = value
        return out

    def narrative_mapping(self) -> dict[str, Any] | None:
        path = self.path / NARRATIVE_FILE
        if not path.exists():
            return None
        return load_mapping(path) or None

    def profile_mapping(self, difficulty: Difficulty) -> dict[str, Any] | None:
        path = self.path / PROFILES_FILE
        if not path.exists():
            return None
        profiles = load_mapping(path)
        if difficulty.value not in profiles:
            raise InvalidRecipeError(f"{path}: no profile for difficulty {difficulty.value!r}")
        profile = profiles[difficulty.value]
        if not isinstance(profile, dict):
            raise InvalidRecipeError(f"{path}: {difficulty.value} must be a mapping")
        return profile


def load_recipe(folder: Path, provider: str) -> Recipe:
    """Parse ``folder/recipe.yaml``; every problem names the file and the key."""
    file = folder / RECIPE_FILE
    data = load_mapping(file)
    f = Fields(data, str(file))
    f.require("id", "title", "description", "supported_modes", "supported_difficulty")
    modes = tuple(_parse_enum(ExposureMode, v, f, "supported_modes") for v in f.strings("supported_modes"))
    tiers = tuple(
        _parse_enum(Difficulty, v, f, "supported_difficulty") for v in f.strings("supported_difficulty")
    )
    population = data.get("default_population") or {}
    if not isinstance(population, dict):
        raise f.fail("default_population", "must be a mapping of counts")
    pop = Fields(population, str(file), "default_population.")
    counts = {k: pop.integer(k) for k in population}
    extra = data.get("parameters") or {}
    if not isinstance(extra, dict):
        raise f.fail("parameters", "must be a mapping")
    parameters: dict[str, Any] = dict(counts)
    for key in PARAM_KEYS:
        if data.get(key) is not None:
            parameters[key] = data[key]
    parameters.update(extra)
    primary = f.string("primary_task") if "primary_task" in data else ""
    tasks = f.strings("tasks") if "tasks" in data else ((primary,) if primary else ())
    return Recipe(
        id=f.string("id"),
        title=f.string("title"),
        vertical=f.string("vertical") if "vertical" in data else "",
        scheme=f.string("scheme"),
        description=f.string("description"),
        primary_task=primary,
        tasks=tasks,
        supported_modes=modes,
        supported_difficulty=tiers,
        default_population=counts,
        parameters=parameters,
        requires=f.string("requires") if "requires" in data else None,
        path=folder,
        provider=provider,
    )


def parse_profile(profile_type: type, data: Mapping[str, Any], file: str) -> Any:
    """Build a scheme's difficulty-profile dataclass from one profile mapping.

    Fields without a default are required keys; unknown keys, wrong types and whatever the
    dataclass's ``check()`` rejects are errors naming ``file`` and the key.
    """
    hints = typing.get_type_hints(profile_type)
    fields = {fl.name: fl for fl in dataclasses.fields(profile_type)}
    missing = sorted(
        n
        for n, fl in fields.items()
        if n not in data and fl.default is dataclasses.MISSING and fl.default_factory is dataclasses.MISSING
    )
    if missing:
        raise InvalidRecipeError(f"{file}: missing required key(s): {', '.join(missing)}")
    kwargs = {}
    try:
        for key, value in data.items():
            if key not in fields:
                raise unknown_key_error(key, fields, "the difficulty profile")
            meta = fields[key].metadata
            declared = ParamField(
                key, hints[key], None, str(meta.get("help", "")), meta.get("minimum"), meta.get("maximum")
            )
            kwargs[key] = coerce(declared, value)
        profile = profile_type(**kwargs)
        check = getattr(profile, "check", None)
        if callable(check):
            check()
    except InvalidConfigError as exc:
        raise InvalidRecipeError(f"{file}: {exc}") from None
    return profile


def _parse_enum(enum: type[ExposureMode] | type[Difficulty], value: str, f: Fields, key: str) -> Any:
    try:
        return enum.parse(value, key)
    except InvalidConfigError:
        valid = ", ".join(m.value for m in enum)
        raise f.fail(key, f"has unknown value {value!r}; valid values: {valid}") from None
