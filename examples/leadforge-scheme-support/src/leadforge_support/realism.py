"""How the helpdesk compares with real support queues: the share of tickets resolved in SLA."""

from __future__ import annotations

import numpy as np
from leadforge.bundle.reader import BundleView
from leadforge.realism import RealismMetric

from leadforge_support.checks import breached_by_ticket

#: Help-desk benchmark reports put first-resolution SLA attainment at roughly 70-95 %.
SLA_BAND = (0.70, 0.95)


def metrics(bundle: BundleView) -> list[RealismMetric]:
    """The tickets table is instructor-only, so its metric is hidden from public bundles."""
    breached = breached_by_ticket(bundle)
    if breached is None:
        return []
    late = breached[1]
    share = float(1.0 - np.mean(late)) if late.size else float("nan")
    return [
        RealismMetric(
            "sla_attainment",
            "tickets resolved within their SLA",
            share,
            *SLA_BAND,
            unit="share",
            source="help-desk benchmark reports (SLA attainment)",
            hidden=True,
        )
    ]
