"""The base test class a scheme author subclasses: one pytest test per contract check.

::

    from leadforge.testing import SchemeConformance

    class TestHelpdeskConformance(SchemeConformance):
        recipe_id = "helpdesk_sla_v1"

The standard tests cannot be quietly neutered: overriding one without
:func:`expected_failure` (which needs a reason) is a ``TypeError`` when the class is created,
so the test module fails to import and the run fails. A check declared an expected failure
still runs, and the test fails as soon as the check passes again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import pytest

from leadforge.plugins import PluginHost
from leadforge.testing.checks import CHECKS, Check, check_named
from leadforge.testing.report import CheckResult
from leadforge.testing.runner import Conformance
from leadforge.testing.subject import DEFAULT_SEED

F = TypeVar("F", bound=Callable[..., Any])
_REASON = "__leadforge_expected_failure__"
#: ``test_<check>`` for every contract check.
STANDARD_TESTS: dict[str, str] = {f"test_{c.name}": c.name for c in CHECKS}
#: Attributes a subclass must not replace (they would bypass the checks).
PROTECTED = ("leadforge_conformance",)


def expected_failure(reason: str) -> Callable[[F], F]:
    """Declare, with a reason, that this scheme is known to fail one standard check.

    Decorate an override of the standard test; its body is not run. The check still runs:
    the test is reported as xfailed while the check fails, and fails once the check passes
    (remove the decorator then)::

        @expected_failure("tickets are split by creation week, not by a hash of their id")
        def test_splits(self): ...
    """
    if not isinstance(reason, str) or not reason.strip():
        raise TypeError(
            "expected_failure() needs a reason: @expected_failure('why this scheme fails the check')"
        )

    def mark(fn: F) -> F:
        setattr(fn, _REASON, reason.strip())
        return fn

    return mark


class SchemeConformance:
    """Subclass it, set ``recipe_id``, and pytest runs every leadforge contract check.

    Optional class attributes: ``params`` (merged over the scheme's ``sample_params``),
    ``seed`` and ``difficulty``. Override :meth:`leadforge_host` to check plugins that are not
    installed (e.g. a ``PluginHost.from_plugins(...)``). Each bundle is generated once per
    class and shared by its tests.
    """

    recipe_id: ClassVar[str] = ""
    params: ClassVar[Mapping[str, Any] | None] = None
    seed: ClassVar[int] = DEFAULT_SEED
    difficulty: ClassVar[str | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in PROTECTED:
            if name in cls.__dict__:
                raise TypeError(
                    f"{cls.__qualname__} redefines {name!r}, which would bypass the leadforge conformance "
                    "checks; set recipe_id/params/seed/difficulty or override leadforge_host() instead"
                )
        for test_name, check_name in STANDARD_TESTS.items():
            if test_name not in cls.__dict__:
                continue
            reason = getattr(cls.__dict__[test_name], _REASON, None)
            if reason is None:
                raise TypeError(
                    f"{cls.__qualname__}.{test_name} overrides a standard leadforge conformance test "
                    f"without a reason. If the scheme cannot pass the {check_name!r} check, decorate the "
                    "override with @leadforge.testing.expected_failure('why'); otherwise remove the override."
                )
            setattr(cls, test_name, _expected_failure_test(check_named(check_name), reason))

    @classmethod
    def leadforge_host(cls) -> PluginHost | None:
        """The plugins to test with; ``None`` means the installed ones (entry points)."""
        return None

    @pytest.fixture(scope="class")
    @classmethod
    def leadforge_conformance(
        cls, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
    ) -> Conformance:
        """The recipe under test, whose bundles the class's tests share."""
        if request.cls is not None:
            cls = request.cls
        if not cls.recipe_id:
            pytest.fail(f"{cls.__qualname__} must set recipe_id = '<the recipe to check>'", pytrace=False)
        workdir: Path = tmp_path_factory.mktemp(f"conformance-{cls.recipe_id}")
        return Conformance(
            cls.recipe_id,
            workdir=workdir,
            params=cls.params,
            host=cls.leadforge_host(),
            seed=cls.seed,
            difficulty=cls.difficulty,
        )


def _report(result: CheckResult) -> str:
    return f"leadforge conformance check {result.name!r} failed:\n" + "\n".join(
        f"  - {f}" for f in result.failures
    )


def _standard_test(check: Check) -> Callable[[SchemeConformance, Conformance], None]:
    def test(self: SchemeConformance, leadforge_conformance: Conformance) -> None:
        result = leadforge_conformance.run(check.name)
        if result.skipped is not None:
            pytest.skip(result.skipped)
        if not result.ok:
            pytest.fail(_report(result), pytrace=False)

    test.__name__ = test.__qualname__ = f"test_{check.name}"
    test.__doc__ = check.summary
    return test


def _expected_failure_test(check: Check, reason: str) -> Callable[[SchemeConformance, Conformance], None]:
    def test(self: SchemeConformance, leadforge_conformance: Conformance) -> None:
        result = leadforge_conformance.run(check.name)
        if result.skipped is not None:
            pytest.skip(result.skipped)
        if result.ok:
            pytest.fail(
                f"the {check.name!r} check is declared an expected failure ({reason}) but it passes now; "
                "remove @expected_failure",
                pytrace=False,
            )
        pytest.xfail(f"{reason} ({len(result.failures)} failure(s); first: {result.failures[0]})")

    test.__name__ = test.__qualname__ = f"test_{check.name}"
    test.__doc__ = f"{check.summary} (expected to fail: {reason})"
    setattr(test, _REASON, reason)
    return test


for _c in CHECKS:
    setattr(SchemeConformance, f"test_{_c.name}", _standard_test(_c))
