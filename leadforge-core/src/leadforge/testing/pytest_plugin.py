"""pytest plugin of the leadforge conformance kit, loaded through the ``pytest11`` entry point.

It loads in every pytest run of anyone who installs ``leadforge-core``, so it imports nothing
heavy: the kit is imported only when one of its fixtures is used.

Fixtures:
  ``leadforge_check_scheme`` — ``leadforge_check_scheme("my_recipe_v1")`` runs
  :func:`leadforge.testing.check_scheme` with bundles kept under the test's ``tmp_path``, and
  returns the report (an ``AssertionError`` lists every failure).

For one pytest test per contract check, subclass :class:`leadforge.testing.SchemeConformance`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pytest

if TYPE_CHECKING:
    from leadforge.testing.report import ConformanceReport


class CheckSchemeFixture(Protocol):
    def __call__(self, recipe_id: str, **kwargs: Any) -> ConformanceReport: ...


@pytest.fixture
def leadforge_check_scheme(tmp_path: Path) -> CheckSchemeFixture:
    """Run the full conformance kit against a recipe; bundles stay under ``tmp_path``."""
    from leadforge.testing.runner import check_scheme

    def run(recipe_id: str, **kwargs: Any) -> ConformanceReport:
        kwargs.setdefault("workdir", tmp_path / recipe_id)
        return check_scheme(recipe_id, **kwargs)

    return run
