"""What a conformance run found: one result per contract check, and the whole report."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one contract check.

    ``failures`` are one-line, self-contained messages (empty when the check passed);
    ``skipped`` says why a check did not apply (e.g. a scheme with a single exposure mode
    has no monotonicity to check).
    """

    name: str
    failures: tuple[str, ...] = ()
    skipped: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures

    def describe(self) -> str:
        if self.skipped is not None:
            return f"{self.name}: skipped ({self.skipped})"
        if self.ok:
            return f"{self.name}: ok ({self.seconds:.2f}s)"
        lines = [f"{self.name}: {len(self.failures)} failure(s)"]
        lines += [f"  - {f}" for f in self.failures]
        return "\n".join(lines)


@dataclass(frozen=True)
class ConformanceReport:
    """Every check run against one recipe, in the order they ran."""

    recipe_id: str
    scheme: str
    results: tuple[CheckResult, ...]
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    @property
    def failures(self) -> list[str]:
        """Every failure message, prefixed with the name of its check."""
        return [f"{r.name}: {f}" for r in self.results for f in r.failures]

    def result(self, name: str) -> CheckResult:
        for r in self.results:
            if r.name == name:
                return r
        raise KeyError(name)

    def summary(self) -> str:
        head = (
            f"leadforge conformance of recipe {self.recipe_id!r} (scheme {self.scheme!r}): "
            f"{'ok' if self.ok else f'{len(self.failures)} failure(s)'} in {self.seconds:.1f}s"
        )
        return "\n".join([head, *(r.describe() for r in self.results)])

    def raise_for_failures(self) -> None:
        """Raise an :class:`AssertionError` that lists every failure, if there is any."""
        if not self.ok:
            raise AssertionError(self.summary())
