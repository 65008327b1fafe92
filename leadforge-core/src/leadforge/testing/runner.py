"""Running the contract checks against one recipe: :class:`Conformance` and :func:`check_scheme`."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from leadforge.plugins import PluginHost
from leadforge.testing.bundles import GenerationFailed
from leadforge.testing.checks import CHECKS, Skip, check_named
from leadforge.testing.report import CheckResult, ConformanceReport
from leadforge.testing.subject import DEFAULT_SEED, Subject

__all__ = ["DEFAULT_SEED", "MAX_FAILURES_PER_CHECK", "Conformance", "check_scheme"]

#: More failures than this from one check are summarised, so a report stays readable.
MAX_FAILURES_PER_CHECK = 25


class Conformance(Subject):
    """A :class:`~leadforge.testing.subject.Subject` that runs the checks against itself."""

    def run(self, name: str) -> CheckResult:
        """Run one check by name; a crash inside it is a failure, never an exception."""
        check = check_named(name)
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
