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

    def __post_init__(self) -> None:
        object.__setattr__(self, "message", _one_line(self.message))
        if self.where is not None:
            object.__setattr__(self, "where", _one_line(self.where))

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


MAX_TEXT = 400


def _one_line(text: str) -> str:
    """Text from an untrusted bundle, safe to print: control characters escaped, length bounded,
    so a crafted name can neither forge output lines nor flood the terminal."""
    if text.isprintable() and len(text) <= MAX_TEXT:
        return text
    safe = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text[:MAX_TEXT])
    return safe if len(text) <= MAX_TEXT else safe + "…"
