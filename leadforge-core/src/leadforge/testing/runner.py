"""Running the contract checks against one recipe: :class:`Conformance` and :func:`check_scheme`."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from leadforge.config import DEFAULT_DIFFICULTY
from leadforge.enums import Difficulty, ExposureMode
from leadforge.errors import UsageError
from leadforge.plugins import PluginHost
from leadforge.testing.bundles import BundleFactory, GeneratedBundle, GenerationFailed
from leadforge.testing.checks import CHECKS, Check, Skip
from leadforge.testing.report import CheckResult, ConformanceReport

DEFAULT_SEED = 7
#: More failures than this from one check are summarised, so a report stays readable.
MAX_FAILURES_PER_CHECK = 25


class Conformance:
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

    def run(self, name: str) -> CheckResult:
        """Run one check by name; a crash inside it is a failure, never an exception."""
        check = _check(name)
        started = time.perf_counter()
        failures: list[str] = []
        skipped: str | None = None
        try:
            failures = list(check.run(self))
        except Skip as exc:
            skipped = str(exc)
        except GenerationFailed as exc:
            failures = [str(exc)]
        except Exception as exc:
            failures = [f"the check could not finish: {type(exc).__name__}: {exc}"]
        if len(failures) > MAX_FAILURES_PER_CHECK:
            rest = len(failures) - MAX_FAILURES_PER_CHECK
            failures = [*failures[:MAX_FAILURES_PER_CHECK], f"... and {rest} more"]
        return CheckResult(name, tuple(failures), skipped, time.perf_counter() - started)

    def run_all(self) -> ConformanceReport:
        started = time.perf_counter()
        results = tuple(self.run(c.name) for c in CHECKS)
        return ConformanceReport(self.recipe.id, self.scheme.name, results, time.perf_counter() - started)


def check_scheme(
    recipe_id: str,
    *,
    params: Mapping[str, Any] | None = None,
    host: PluginHost | None = None,
    workdir: str | Path | None = None,
    seed: int = DEFAULT_SEED,
    difficulty: str | None = None,
    cross_process: bool | None = None,
) -> ConformanceReport:
    """Prove that the scheme behind ``recipe_id`` honours the leadforge plugin contract.

    Generates small bundles (the scheme's ``sample_params``, updated with ``params``) in every
    exposure mode it supports and runs every check in :data:`leadforge.testing.CHECKS`.
    Raises :class:`AssertionError` listing every failure; returns the report otherwise.
    ``host`` defaults to the installed plugins; ``workdir`` (default: a temporary folder,
    removed afterwards) keeps the bundles for inspection.
    """
    with tempfile.TemporaryDirectory(prefix="leadforge-conformance-") as tmp:
        conformance = Conformance(
            recipe_id,
            workdir=Path(workdir) if workdir is not None else Path(tmp),
            params=params,
            host=host,
            seed=seed,
            difficulty=difficulty,
            cross_process=cross_process,
        )
        report = conformance.run_all()
    report.raise_for_failures()
    return report


def _check(name: str) -> Check:
    for check in CHECKS:
        if check.name == name:
            return check
    raise KeyError(f"unknown conformance check {name!r}; known: {', '.join(c.name for c in CHECKS)}")
