"""The world's calendar: observation date, acquisition window, per-customer horizons, billing weeks.

Everything in the engine runs on *tenure weeks* (week ``w`` of a customer is the calendar day
``start + 7·w``), so a customer's trajectory does not depend on when it started; the calendar
only decides how many weeks each customer is simulated and where the cutoffs fall.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from leadforge_lifecycle.params import LifecycleParams

BASE_DATE = dt.date(2024, 1, 1)
#: The default observation date sits 52 + 4 weeks after the base date (2025-01-27).
DEFAULT_OBSERVATION = BASE_DATE + dt.timedelta(weeks=56)
ACQUISITION_DAYS = 364
#: Accounts exist before their first customer signs: they are created relative to a day this
#: long before the acquisition window opens (for the default observation date, ``BASE_DATE``).
ACCOUNTS_LEAD_DAYS = 28
FORWARD_WINDOWS_DAYS = (90, 365, 730)
CHURN_WINDOW_DAYS = 180


@dataclass(frozen=True)
class Calendar:
    """Observation date, early anchor and the forward horizon every target needs."""

    observation_date: dt.date
    early_tenure_weeks: int
    horizon_days: int = max(FORWARD_WINDOWS_DAYS)

    @classmethod
    def of(cls, params: LifecycleParams) -> Calendar:
        """The calendar a configuration asks for (the one place its observation date is derived)."""
        return cls(params.observation or DEFAULT_OBSERVATION, params.early_tenure_weeks)

    @property
    def acquisition_start(self) -> dt.date:
        return self.observation_date - dt.timedelta(days=ACQUISITION_DAYS)

    @property
    def accounts_anchor(self) -> dt.date:
        """Accounts are created 30…730 days before this day, so every account predates its customers
        whatever the observation date."""
        return self.acquisition_start - dt.timedelta(days=ACCOUNTS_LEAD_DAYS)

    @property
    def early_anchor_days(self) -> int:
        return 7 * self.early_tenure_weeks

    @property
    def n_weeks(self) -> int:
        """Tenure weeks an engine must hold so that every customer's horizon fits."""
        return (max(ACQUISITION_DAYS, self.early_anchor_days) + self.horizon_days) // 7 + 1

    def last_week(self, days_to_observation: np.ndarray) -> np.ndarray:
        """Last simulated tenure week: the later of both cutoffs plus the full forward horizon.

        ``days_to_observation`` is ``observation_date − start`` in days (1…364).
        """
        anchor = np.maximum(days_to_observation, self.early_anchor_days)
        return np.asarray((anchor + self.horizon_days) // 7, dtype=np.int64)


def invoice_weeks(n_weeks: int) -> np.ndarray:
    """Tenure weeks on which a monthly invoice is issued (0, 5, 9, 13, 18, …: one per 52/12 weeks)."""
    w = np.arange(n_weeks, dtype=np.int64)
    month = (w * 12) // 52
    first = np.ones(n_weeks, dtype=bool)
    first[1:] = month[1:] > month[:-1]
    return np.flatnonzero(first)
