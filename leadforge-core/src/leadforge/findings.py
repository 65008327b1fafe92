"""What a check reports: findings and their severity (depends on nothing but the errors, so any
module may import it)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from leadforge.errors import BundleError


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    """One problem found in a bundle. ``where`` names the file, table or column concerned."""

    check: str
    message: str
    where: str | None = None
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        loc = f"{self.where}: " if self.where else ""
        return f"[{self.check}] {loc}{self.message}"

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["severity"] = self.severity.value
        return d


def guarded(check: str, fn: Callable[..., Iterable[Finding]], *args: Any) -> list[Finding]:
    """Run one check function, turning an unreadable file into a finding instead of a crash."""
    found: list[Finding] = []
    try:
        for f in fn(*args):
            found.append(f)
    except BundleError as exc:
        found.append(Finding(check, str(exc)))
    except Exception as exc:  # a malformed bundle must not stop the other checks
        text = " ".join(str(exc).split())[:200]
        found.append(Finding(check, f"check could not finish: {type(exc).__name__}: {text}"))
    return found
