"""What a run measured while its shards streamed by: the card's counts and the realised rates.

Its own module so the card (which prints it) and the renderer (which gathers it) do not
import each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from leadforge_leadscoring import vocab as V
from leadforge_leadscoring.world import SimulatedShard

#: Log-spaced bins of the deal-size histogram (USD 100 to 100M, 1 % wide): quantiles summed
#: over shards stay within a percent of the exact ones.
ACV_BINS = np.logspace(2, 8, 1390)


@dataclass(frozen=True)
class DealSizes:
    """Estimated ACV of every opportunity, summed over shards: count, total, largest, histogram."""

    count: int
    total: float
    largest: float
    histogram: tuple[int, ...]

    @classmethod
    def empty(cls) -> DealSizes:
        return cls(0, 0.0, 0.0, (0,) * (ACV_BINS.size + 1))

    @classmethod
    def of(cls, acv: np.ndarray) -> DealSizes:
        values = np.asarray(acv, dtype=np.float64)
        bins = np.bincount(np.searchsorted(ACV_BINS, values), minlength=ACV_BINS.size + 1)
        return cls(
            int(values.size), float(values.sum()), float(values.max(initial=0.0)), tuple(int(x) for x in bins)
        )

    def __add__(self, other: DealSizes) -> DealSizes:
        return DealSizes(
            self.count + other.count,
            self.total + other.total,
            max(self.largest, other.largest),
            tuple(a + b for a, b in zip(self.histogram, other.histogram, strict=True)),
        )

    @property
    def mean(self) -> float:
        return self.total / self.count if self.count else 0.0

    def quantile(self, q: float) -> float:
        """The ``q`` quantile, to the histogram's resolution (the upper edge of its bin)."""
        if not self.count:
            return 0.0
        at = int(np.searchsorted(np.cumsum(self.histogram), q * self.count))
        return float(ACV_BINS[min(at, ACV_BINS.size - 1)])


@dataclass(frozen=True)
class RunStats:
    """Counts summed over shards; ``rows`` are the rows each bundle table holds (from the writer).

    ``events`` / ``phantoms`` count event records and the glitch records among them; ``deals``
    the opportunities' sizes and ``won_cycle_days`` the days from opportunity to close won,
    summed over won deals (the card's figures come from these, not from the narrative)."""

    rows: Mapping[str, int]
    leads: int
    positives: int
    converted_in_horizon: int
    final_stages: tuple[int, ...]
    events: int = 0
    phantoms: int = 0
    deals: DealSizes = field(default_factory=DealSizes.empty)
    won_cycle_days: int = 0

    @classmethod
    def empty(cls) -> RunStats:
        return cls({}, 0, 0, 0, (0,) * len(V.STAGES))

    @classmethod
    def of_shard(cls, sim: SimulatedShard, labels: np.ndarray) -> RunStats:
        """One shard's counts (table rows are taken from the writer once every shard is in)."""
        ev, st = sim.events, sim.states
        opened = st.sql_day >= 0
        won = sim.converted
        return cls(
            {},
            int(labels.size),
            int(labels.sum()),
            int(won.sum()),
            tuple(int(x) for x in np.bincount(st.final, minlength=len(V.STAGES))),
            int(ev.touches.lead.size + ev.sessions.lead.size + ev.activities.lead.size),
            int(ev.phantoms),
            DealSizes.of(sim.acv[opened]),
            int(np.sum(st.end_day[won] - st.sql_day[won])),
        )

    def __add__(self, other: RunStats) -> RunStats:
        names = dict.fromkeys([*self.rows, *other.rows])
        return RunStats(
            {n: self.rows.get(n, 0) + other.rows.get(n, 0) for n in names},
            self.leads + other.leads,
            self.positives + other.positives,
            self.converted_in_horizon + other.converted_in_horizon,
            tuple(a + b for a, b in zip(self.final_stages, other.final_stages, strict=True)),
            self.events + other.events,
            self.phantoms + other.phantoms,
            self.deals + other.deals,
            self.won_cycle_days + other.won_cycle_days,
        )

    @property
    def phantom_share(self) -> float:
        return self.phantoms / self.events if self.events else 0.0

    @property
    def won_cycle(self) -> float:
        """Mean days from opportunity to close won."""
        return self.won_cycle_days / self.converted_in_horizon if self.converted_in_horizon else 0.0

    @property
    def positive_rate(self) -> float:
        return self.positives / self.leads if self.leads else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "leads": self.leads,
            "positive_rate": round(self.positive_rate, 6),
            "converted_in_horizon_rate": round(self.converted_in_horizon / self.leads, 6)
            if self.leads
            else 0.0,
            "final_stage_counts": dict(zip(V.STAGES, self.final_stages, strict=True)),
            "event_records": self.events,
            "phantom_event_share": round(self.phantom_share, 6),
            "opportunities": self.deals.count,
            "acv_mean": round(self.deals.mean, 2),
            "acv_median": round(self.deals.quantile(0.5), 2),
            "acv_max": round(self.deals.largest, 2),
            "won_cycle_days_mean": round(self.won_cycle, 3),
        }
