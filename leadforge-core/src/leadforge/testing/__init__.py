"""The leadforge conformance kit: prove that a scheme plugin honours the platform contract.

One call::

    from leadforge.testing import check_scheme
    check_scheme("helpdesk_sla_v1")          # AssertionError listing every failure

or one pytest test per check::

    from leadforge.testing import SchemeConformance

    class TestHelpdesk(SchemeConformance):
        recipe_id = "helpdesk_sla_v1"

The checks are listed in :data:`CHECKS` (one module per concept in
:mod:`leadforge.testing.checks`); ``docs/plugins.md`` explains each. Importing this
package is cheap (its pytest plugin loads in every pytest run); the kit itself is imported on
first use of one of the names below.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from leadforge.testing.bundles import PINNED_TIMESTAMP, GeneratedBundle
    from leadforge.testing.checks import CHECKS, Check
    from leadforge.testing.report import CheckResult, ConformanceReport
    from leadforge.testing.runner import Conformance, check_scheme
    from leadforge.testing.suite import SchemeConformance, expected_failure

__all__ = [
    "CHECKS",
    "PINNED_TIMESTAMP",
    "Check",
    "CheckResult",
    "Conformance",
    "ConformanceReport",
    "GeneratedBundle",
    "SchemeConformance",
    "check_scheme",
    "expected_failure",
]

_HOME = {
    "CHECKS": "checks",
    "Check": "checks",
    "PINNED_TIMESTAMP": "bundles",
    "GeneratedBundle": "bundles",
    "CheckResult": "report",
    "ConformanceReport": "report",
    "Conformance": "runner",
    "check_scheme": "runner",
    "SchemeConformance": "suite",
    "expected_failure": "suite",
}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'leadforge.testing' has no attribute {name!r}")
    return getattr(importlib.import_module(f"leadforge.testing.{_HOME[name]}"), name)


def __dir__() -> list[str]:
    return sorted(__all__)
