"""Realism metrics: how a bundle's world compares with published B2B SaaS benchmarks.

A scheme measures its own world through the ``realism_metrics`` hook and states, for each
metric, the band a real B2B SaaS business falls in and where that band comes from. Core only
gathers the answers (:func:`leadforge.validation.measure_realism`), so ``benchmarks/realism.py``,
the report and the tests read one list whatever the scheme.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = ["RealismMetric"]


@dataclass(frozen=True)
class RealismMetric:
    """One measured figure and the band it should fall in (``None`` is an open end).

    ``hidden`` marks a metric computed from instructor-only metadata: it is measured only on
    instructor bundles and never shown in a public report.
    """

    name: str
    label: str
    value: float
    low: float | None = None
    high: float | None = None
    unit: str = ""
    source: str = ""
    hidden: bool = False

    def __post_init__(self) -> None:
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"realism metric {self.name}: band [{self.low}, {self.high}] is empty")

    @property
    def ok(self) -> bool:
        """Inside its band (a NaN value — nothing to measure — is never inside)."""
        if math.isnan(self.value):
            return False
        return (self.low is None or self.value >= self.low) and (self.high is None or self.value <= self.high)

    @property
    def band(self) -> str:
        lo = "" if self.low is None else f"{self.low:g}"
        hi = "" if self.high is None else f"{self.high:g}"
        return f"[{lo}, {hi}]" + (f" {self.unit}" if self.unit else "")

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "value": None if math.isnan(self.value) else self.value,
            "low": self.low,
            "high": self.high,
            "unit": self.unit,
            "source": self.source,
            "hidden": self.hidden,
            "ok": self.ok,
        }
