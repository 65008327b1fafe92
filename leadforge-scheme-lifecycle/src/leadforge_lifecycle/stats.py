"""Figures gathered while a bundle is written: row counts, label summaries and the world's tier rates.

They feed the dataset card and the instructor metadata; every figure adds up shard by shard.
``write_bundle`` returns the :class:`BundleStats`, and core hands them to ``write_metadata``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from leadforge_lifecycle.calendar import FORWARD_WINDOWS_DAYS
from leadforge_lifecycle.catalog import CHURN_TARGET, REVENUE_TARGETS
from leadforge_lifecycle.rates import RateCounts

EPOCH = dt.date(1970, 1, 1)


@dataclass(frozen=True)
class LabelSummary:
    """Cohort size, churn positives and zero-revenue counts per window of one regime."""

    rows: int = 0
    churned: int = 0
    zero_revenue: tuple[int, ...] = (0,) * len(FORWARD_WINDOWS_DAYS)
    revenue: tuple[float, ...] = (0.0,) * len(FORWARD_WINDOWS_DAYS)
    gone_by_end: tuple[int, ...] = (0,) * len(FORWARD_WINDOWS_DAYS)

    @classmethod
    def of(cls, snapshot: pa.Table, days_to_churn: np.ndarray) -> LabelSummary:
        """Summary of one snapshot chunk; ``days_to_churn`` is cutoff → churn per row (-1: never)."""
        churn = np.asarray(snapshot.column(CHURN_TARGET).to_numpy(zero_copy_only=False), dtype=bool)
        ltv = [np.asarray(snapshot.column(t).to_numpy(zero_copy_only=False)) for t in REVENUE_TARGETS]
        gone = (days_to_churn >= 0)[None, :] & (
            days_to_churn[None, :] <= np.array(FORWARD_WINDOWS_DAYS)[:, None]
        )
        return cls(
            rows=snapshot.num_rows,
            churned=int(churn.sum()),
            zero_revenue=tuple(int(np.count_nonzero(v == 0)) for v in ltv),
            revenue=tuple(float(v.sum()) for v in ltv),
            gone_by_end=tuple(int(g.sum()) for g in gone),
        )

    def __add__(self, other: LabelSummary) -> LabelSummary:
        def add(a: tuple[float, ...], b: tuple[float, ...]) -> tuple[float, ...]:
            return tuple(x + y for x, y in zip(a, b, strict=True))

        return LabelSummary(
            self.rows + other.rows,
            self.churned + other.churned,
            tuple(int(v) for v in add(self.zero_revenue, other.zero_revenue)),
            add(self.revenue, other.revenue),
            tuple(int(v) for v in add(self.gone_by_end, other.gone_by_end)),
        )

    @property
    def churn_rate(self) -> float:
        return self.churned / self.rows if self.rows else 0.0

    def zero_share(self, i: int) -> float:
        return self.zero_revenue[i] / self.rows if self.rows else 0.0

    def gone_share(self, i: int) -> float:
        """Share of the cohort that has churned by the end of window ``i`` (and pays nothing after)."""
        return self.gone_by_end[i] / self.rows if self.rows else 0.0

    def mean_revenue(self, i: int) -> float:
        return self.revenue[i] / self.rows if self.rows else 0.0


@dataclass(frozen=True)
class BundleStats:
    table_rows: Mapping[str, int]
    labels: Mapping[str, LabelSummary]
    rates: RateCounts
