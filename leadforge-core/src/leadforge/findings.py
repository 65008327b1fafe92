"""What a check reports: findings and their severity (no dependencies, so anything may import it)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


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
