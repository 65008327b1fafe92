"""The recipe under test, as the checks see it: its host, scheme, modes and bundles.

Checks receive a :class:`Subject`; :class:`~leadforge.testing.runner.Conformance` adds the
running on top, so the checks never import the runner that imports them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from leadforge.config import DEFAULT_DIFFICULTY
from leadforge.enums import Difficulty, ExposureMode
from leadforge.errors import UsageError
from leadforge.plugins import PluginHost
from leadforge.testing.bundles import BundleFactory, GeneratedBundle

DEFAULT_SEED = 7


class Subject:
    """One recipe under test: its host, scheme, supported modes, and its bundles (made once).

    ``params`` are merged over the scheme's ``SchemeInfo.sample_params`` and passed as explicit
    arguments, so they override the recipe's defaults. Only the exposure modes both the recipe
    and the scheme support are generated. ``cross_process`` (default: when plugins come from
    installed entry points, i.e. ``host`` is ``None``) adds a determinism run through the CLI in
    a fresh interpreter.
    """

    def __init__(
        self,
        recipe_id: str,
        *,
        workdir: Path,
        params: Mapping[str, Any] | None = None,
        host: PluginHost | None = None,
        seed: int = DEFAULT_SEED,
        difficulty: str | None = None,
        cross_process: bool | None = None,
    ) -> None:
        self.host = host if host is not None else PluginHost.discover(report=False)
        self.recipe = self.host.recipe(recipe_id)
        self.scheme = self.host.scheme_for(self.recipe)
        self.params: dict[str, Any] = {**self.scheme.sample_params, **(params or {})}
        self.modes = tuple(
            m for m in ExposureMode if m in self.recipe.supported_modes and m in self.scheme.exposure_modes
        )
        if not self.modes:
            raise UsageError(f"recipe {recipe_id!r} and scheme {self.scheme.name!r} share no exposure mode")
        tiers = self.recipe.supported_difficulty
        if difficulty is not None:
            self.difficulty = Difficulty.parse(difficulty, "difficulty")
        else:
            self.difficulty = DEFAULT_DIFFICULTY if DEFAULT_DIFFICULTY in tiers else tiers[0]
        self.seed = seed
        self.other_seed = seed + 1
        self.cross_process = host is None if cross_process is None else cross_process
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.factory = BundleFactory(self.host, recipe_id, self.difficulty, self.params, self.workdir)

    @property
    def primary_mode(self) -> ExposureMode:
        """The mode single-bundle checks use: ``student_public`` when supported (it ships to students)."""
        return ExposureMode.STUDENT_PUBLIC if ExposureMode.STUDENT_PUBLIC in self.modes else self.modes[0]

    def bundle(
        self, mode: ExposureMode | None = None, *, seed: int | None = None, run: str = "first"
    ) -> GeneratedBundle:
        return self.factory.get(mode or self.primary_mode, self.seed if seed is None else seed, run)
