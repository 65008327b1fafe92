"""The world's calendar: observation date, acquisition window, per-customer horizons, billing dates.

The engine runs on *tenure weeks* (week ``w`` of a customer covers the tenure days
``7·w … 7·w + 6`` after its start), so a customer's health does not depend on when it started;
billing dates and contract term ends are the start's monthly anniversaries (month-end
clamped), so the calendar decides on which tenure day of a week they fall. Customers start
inside the acquisition window, which ends the day before the observation date; its length and
its weekday, month and quarter-end intensity come from the recipe narrative's ``calendar:``
section (core's :class:`leadforge.calendar.CalendarProfile`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from leadforge.calendar import CalendarProfile

if TYPE_CHECKING:
    from leadforge_lifecycle.params import LifecycleParams

BASE_DATE = dt.date(2024, 1, 1)
#: The default observation date sits 52 + 4 weeks after the base date (2025-01-27).
DEFAULT_OBSERVATION = BASE_DATE + dt.timedelta(weeks=56)
#: Acquisition window of a world whose narrative sets none (and of the calibration cohort).
ACQUISITION_DAYS = 364
#: Accounts exist before their first customer signs: they are created relative to a day this
#: long before the acquisition window opens (for the default observation date, ``BASE_DATE``).
ACCOUNTS_LEAD_DAYS = 28
FORWARD_WINDOWS_DAYS = (90, 365, 730)
_EPOCH = dt.date(1970, 1, 1)
CHURN_WINDOW_DAYS = 180


@dataclass(frozen=True)
class Calendar:
    """Observation date, early anchor and the forward horizon every target needs."""

    observation_date: dt.date
    early_tenure_weeks: int
    horizon_days: int = max(FORWARD_WINDOWS_DAYS)
    acquisition_days: int = ACQUISITION_DAYS
    profile: CalendarProfile = dataclasses.field(default_factory=CalendarProfile)

    @classmethod
    def of(cls, params: LifecycleParams, profile: CalendarProfile | None = None) -> Calendar:
        """The calendar a configuration asks for (the one place its observation date is derived).

        With a narrative ``profile``, its ``window_days`` is the acquisition window (ending the
        day before the observation date) and its intensities shape when customers sign.
        """
        observation = params.observation or DEFAULT_OBSERVATION
        if profile is None:
            return cls(observation, params.early_tenure_weeks)
        start = observation - dt.timedelta(days=profile.window_days)
        return cls(
            observation,
            params.early_tenure_weeks,
            acquisition_days=profile.window_days,
            profile=dataclasses.replace(profile, start=start),
        )

    @property
    def acquisition_start(self) -> dt.date:
        return self.observation_date - dt.timedelta(days=self.acquisition_days)

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
        return (max(self.acquisition_days, self.early_anchor_days) + self.horizon_days) // 7 + 1

    def last_week(self, days_to_observation: np.ndarray) -> np.ndarray:
        """Last simulated tenure week: the later of both cutoffs plus the full forward horizon.

        ``days_to_observation`` is ``observation_date − start`` in days (1…acquisition window).
        """
        anchor = np.maximum(days_to_observation, self.early_anchor_days)
        return np.asarray((anchor + self.horizon_days) // 7, dtype=np.int64)


def epoch_day(day: dt.date) -> int:
    """Days since 1970-01-01."""
    return (day - _EPOCH).days


def add_months(start: np.ndarray, months: np.ndarray) -> np.ndarray:
    """Epoch day of the ``months``-th monthly anniversary of each ``start`` (epoch days).

    The anniversary keeps the start's day of the month, clamped to the month's last day (a
    customer who signed on 31 January is billed on 28/29 February and 31 March), the way
    subscription billing systems date renewals and invoices. Broadcasts like numpy.
    """
    day = np.asarray(start, dtype=np.int64).astype("datetime64[D]")
    month = day.astype("datetime64[M]")
    dom = (day - month.astype("datetime64[D]")).astype(np.int64)
    target = month + np.asarray(months, dtype=np.int64)
    first = target.astype("datetime64[D]")
    length = ((target + 1).astype("datetime64[D]") - first).astype(np.int64)
    return np.asarray(first.astype(np.int64) + np.minimum(dom, length - 1), dtype=np.int64)


def anniversary_offsets(start: np.ndarray, step_months: np.ndarray, count: int) -> np.ndarray:
    """Tenure days of the anniversaries ``1·step … count·step`` months after each start (one row
    per start); ``step_months`` 1 gives the monthly billing dates after the first, the contract
    term gives the term ends."""
    start = np.asarray(start, dtype=np.int64)[:, None]
    k = np.arange(1, count + 1, dtype=np.int64)[None, :] * np.asarray(step_months, dtype=np.int64)[:, None]
    return add_months(start, k) - start


def next_term_end(start: np.ndarray, term_months: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Tenure day of each customer's first contract term end strictly after tenure day ``day``."""
    day = np.asarray(day, dtype=np.int64)
    ends = anniversary_offsets(start, term_months, int(day.max(initial=0)) // 365 + 2)
    passed = np.count_nonzero(ends <= day[:, None], axis=1)
    return np.asarray(ends[np.arange(day.size), passed], dtype=np.int64)
