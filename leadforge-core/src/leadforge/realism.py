"""Realism metrics: how a bundle's world compares with published B2B SaaS benchmarks.

A scheme measures its own world through the ``realism_metrics`` hook and states, for each
metric, the band a real B2B SaaS business falls in and where that band comes from. Core only
gathers the answers, so ``benchmarks/realism.py``, the report and the tests read one list
whatever the scheme.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leadforge.errors import UsageError

if TYPE_CHECKING:
    from leadforge.plugins import PluginHost

__all__ = ["RealismMetric", "measure_realism"]


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


def measure_realism(root: Path, host: PluginHost | None = None) -> list[RealismMetric]:
    """Every plugin's realism metrics for the bundle at ``root`` (envelope checked, not validated)."""
    from leadforge.bundle.reader import BundleView, Manifest
    from leadforge.plugins import get_host
    from leadforge.validation import check_bundle_dir

    check_bundle_dir(root)
    manifest = Manifest.load(root)
    host = host or get_host()
    bundle = BundleView(root, manifest)
    metrics: list[RealismMetric] = []
    for batch in host.hook.realism_metrics(bundle=bundle, manifest=manifest):
        if batch is None:
            continue
        if not isinstance(batch, Sequence) or not all(isinstance(m, RealismMetric) for m in batch):
            raise UsageError("a realism_metrics hook did not return a list of RealismMetric")
        metrics.extend(m for m in batch if not (m.hidden and manifest.is_public))
    return metrics
