"""The three world rates a difficulty tier targets, defined once and measured the same way everywhere.

* **first-year churn** — share of all customers whose churn falls in tenure weeks 0–52
  (any reason: voluntary, non-renewal or payment write-off);
* **expansion rate** — share of all customers with at least one expansion in tenure weeks 0–52;
* **still-active share** — of the customers who *chose* to leave (voluntary or non-renewal
  churn) in tenure weeks 13–104, the share who were still active users when they left: their
  mean weekly active users over the four weeks before the churn week was at least 75 % of
  their best earlier four-week mean. A low share means churn announces itself in usage (easy);
  a high share means customers leave while still using the product (hard);
* **term-end share** — of the customers who churn in tenure weeks 0–104 (any reason), the share
  whose churn falls within 30 days of one of their contract term ends: contract customers
  leave at renewal, so a low share means more out-of-the-blue mid-term loss (harder).

Every customer is simulated for at least 104 weeks, so none of the three is censored. The
engine's calibration, the benchmarks and the tests all call :func:`count`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from leadforge_lifecycle.engine import EXPANSION, NON_RENEWAL, VOLUNTARY, Trajectories

FIRST_YEAR_WEEKS = 52
LEAVER_WEEKS = (13, 104)
#: Weeks every customer is simulated for at least, so no rate is censored.
MEASURED_WEEKS = LEAVER_WEEKS[1] + 1
USAGE_WINDOW = 4
STILL_ACTIVE_RATIO = 0.75
TERM_END_WINDOW_DAYS = 30


@dataclass(frozen=True)
class RateCounts:
    """Counts behind the rates; they add up across shards."""

    customers: int = 0
    churned_first_year: int = 0
    expanded_first_year: int = 0
    leavers: int = 0
    leavers_still_active: int = 0
    churned: int = 0
    churned_near_term_end: int = 0

    def __add__(self, other: RateCounts) -> RateCounts:
        return RateCounts(
            self.customers + other.customers,
            self.churned_first_year + other.churned_first_year,
            self.expanded_first_year + other.expanded_first_year,
            self.leavers + other.leavers,
            self.leavers_still_active + other.leavers_still_active,
            self.churned + other.churned,
            self.churned_near_term_end + other.churned_near_term_end,
        )

    @property
    def term_end_share(self) -> float:
        return self.churned_near_term_end / self.churned if self.churned else float("nan")

    @property
    def first_year_churn(self) -> float:
        return self.churned_first_year / self.customers if self.customers else 0.0

    @property
    def expansion_rate(self) -> float:
        return self.expanded_first_year / self.customers if self.customers else 0.0

    @property
    def still_active_share(self) -> float:
        return self.leavers_still_active / self.leavers if self.leavers else float("nan")


def count(
    churn_week: np.ndarray,
    churn_reason: np.ndarray,
    first_expansion_week: np.ndarray,
    active_users: np.ndarray,
    churn_day: np.ndarray | None = None,
    term_end_day: np.ndarray | None = None,
) -> RateCounts:
    """Rate counts from per-customer arrays (``-1`` = never) and the customer × week users matrix;
    ``churn_day`` and the customer × term ``term_end_day`` (tenure days) give the term-end share."""
    churned = (churn_week >= 0) & (churn_week <= FIRST_YEAR_WEEKS)
    expanded = (first_expansion_week >= 0) & (first_expansion_week <= FIRST_YEAR_WEEKS)
    chose = (churn_reason == VOLUNTARY) | (churn_reason == NON_RENEWAL)
    leaver = np.flatnonzero(chose & (churn_week >= LEAVER_WEEKS[0]) & (churn_week <= LEAVER_WEEKS[1]))
    still = 0
    if leaver.size:
        users = active_users[leaver, : LEAVER_WEEKS[1] + 1].astype(np.float64)
        csum = np.zeros((leaver.size, users.shape[1] + 1))
        np.cumsum(users, axis=1, out=csum[:, 1:])
        window = (csum[:, USAGE_WINDOW:] - csum[:, :-USAGE_WINDOW]) / USAGE_WINDOW
        wc = churn_week[leaver]
        last = window[np.arange(leaver.size), wc - USAGE_WINDOW]
        starts = np.arange(window.shape[1])[None, :]
        earlier = np.where(starts <= (wc - 2 * USAGE_WINDOW)[:, None], window, -np.inf)
        best = earlier.max(axis=1)
        still = int(np.count_nonzero(last >= STILL_ACTIVE_RATIO * best))
    gone = np.flatnonzero((churn_week >= 0) & (churn_week <= LEAVER_WEEKS[1]))
    near = 0
    if churn_day is not None and term_end_day is not None and gone.size:
        gap = np.abs(term_end_day[gone] - churn_day[gone, None]).min(axis=1)
        near = int(np.count_nonzero(gap <= TERM_END_WINDOW_DAYS))
    return RateCounts(
        customers=int(churn_week.size),
        churned_first_year=int(np.count_nonzero(churned)),
        expanded_first_year=int(np.count_nonzero(expanded)),
        leavers=int(leaver.size),
        leavers_still_active=still,
        churned=int(gone.size),
        churned_near_term_end=near,
    )


def of_trajectories(t: Trajectories, active_users: np.ndarray) -> RateCounts:
    """Rate counts of one simulated shard."""
    n = t.churn_week.size
    return count(
        t.churn_week,
        t.churn_reason,
        t.events.first_week(EXPANSION, n),
        active_users,
        t.churn_day,
        t.term_end_day,
    )
