"""What a run measured while its shards streamed by: the card's counts and the realised rates.

Its own module so the card (which prints it) and the renderer (which gathers it) do not
import each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from leadforge_leadscoring import vocab as V
from leadforge_leadscoring.world import SimulatedShard


@dataclass(frozen=True)
class RunStats:
    """Counts summed over shards; ``rows`` are the rows each bundle table holds (from the writer)."""

    rows: Mapping[str, int]
    leads: int
    positives: int
    converted_in_horizon: int
    final_stages: tuple[int, ...]

    @classmethod
    def empty(cls) -> RunStats:
        return cls({}, 0, 0, 0, (0,) * len(V.STAGES))

    @classmethod
    def of_shard(cls, sim: SimulatedShard, labels: np.ndarray) -> RunStats:
        """One shard's counts (table rows are taken from the writer once every shard is in)."""
        return cls(
            {},
            int(labels.size),
            int(labels.sum()),
            int(sim.converted.sum()),
            tuple(int(x) for x in np.bincount(sim.states.final, minlength=len(V.STAGES))),
        )

    def __add__(self, other: RunStats) -> RunStats:
        names = dict.fromkeys([*self.rows, *other.rows])
        return RunStats(
            {n: self.rows.get(n, 0) + other.rows.get(n, 0) for n in names},
            self.leads + other.leads,
            self.positives + other.positives,
            self.converted_in_horizon + other.converted_in_horizon,
            tuple(a + b for a, b in zip(self.final_stages, other.final_stages, strict=True)),
        )

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
        }
