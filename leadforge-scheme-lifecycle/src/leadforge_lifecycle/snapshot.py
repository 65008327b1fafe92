"""Customer snapshots: cutoff-bounded features and forward targets, for either regime.

A cutoff is a day offset ``d`` from each customer's start: ``observation − start`` in the
calendar regime, ``7 · early_tenure_weeks`` in the early regime. Rows dated on or before the
cutoff are exactly the tenure weeks ``w ≤ T = d // 7``, so every feature reads the shard's
matrices and sorted events up to week ``T`` — never a later row — except the two documented
traps: ``mrr_change_full_period`` reads the MRR 180 days after the cutoff (zero once the customer
has left) and ``last_health_signal_post_obs`` the depth recorded in the customer's last week
within a year of the cutoff (its offboarding week if it left by then); each task carries only its
own (``catalog.TASK_TRAPS``). ``customer_start_at`` dates the customer's cohort (the task's time
column, for the out-of-time split). A customer is in the cohort iff it has not churned by the
cutoff (``churn_at > c``).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from leadforge.calendar import date_array
from leadforge.columns import category_array, id_array
from leadforge.schema import masked

from leadforge_lifecycle.calendar import CHURN_WINDOW_DAYS, FORWARD_WINDOWS_DAYS, Calendar, epoch_day
from leadforge_lifecycle.catalog import CHURN_TARGET, EARLY, REVENUE_TARGETS, SNAPSHOT_SCHEMA, Regime
from leadforge_lifecycle.engine import (
    CONTRACTION,
    EXPANSION,
    FAILURE,
    INV_RECOVERED,
    MRR_MOVES,
    PAID,
    RENEWAL,
    Events,
)
from leadforge_lifecycle.health import NPS_NULL, SURVEY_EVERY
from leadforge_lifecycle.population import EMPLOYEE_BANDS, PLANS, REVENUE_BANDS, Accounts
from leadforge_lifecycle.world import Shard

HEALTH_WINDOW_WEEKS = 12
#: The latest usage window, beside the 12-week one: a drop shows here first.
RECENT_WEEKS = 4
#: The ``mrr_change_full_period`` trap reads the MRR this many days after the cutoff (zero once
#: the customer has left): it tells on the revenue tasks' early leavers. Churn rows do not carry it
#: (over the churn window itself it would be the label).
TRAP_HORIZON_DAYS = 180
#: The ``last_health_signal_post_obs`` trap reads the customer's last week up to this many weeks
#: after the cutoff: a leaver's offboarding week if it leaves within a year, else an ordinary week.
TRAP_HEALTH_WEEKS = 52


def cutoff_days(shard: Shard, calendar: Calendar, regime: Regime) -> np.ndarray:
    """Each customer's cutoff as days after its start."""
    b = shard.customers
    if regime is EARLY:
        return np.full(len(b), calendar.early_anchor_days, dtype=np.int64)
    return np.asarray(b.days_to_observation, dtype=np.int64)


class _Before:
    """Counts and latest occurrence of one event kind per customer up to its cutoff day."""

    def __init__(self, ev: Events, select: np.ndarray, span: int, who: np.ndarray, cutoff_day: np.ndarray):
        self.index = np.flatnonzero(select)
        keys = ev.customer[self.index] * span + ev.day[self.index]
        hi = np.searchsorted(keys, who * span + cutoff_day, side="right")
        lo = np.searchsorted(keys, who * span, side="left")
        self.count = hi - lo
        self.last = np.where(self.count > 0, self.index[np.maximum(hi - 1, 0)] if self.index.size else 0, -1)

    def latest(self, values: np.ndarray, default: np.ndarray) -> np.ndarray:
        safe = np.maximum(self.last, 0)
        return np.where(self.count > 0, values[safe] if values.size else default, default)


def cohort(shard: Shard, calendar: Calendar, regime: Regime) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the customers alive at their cutoff (population order), and those cutoffs in days."""
    t = shard.trajectories
    d = cutoff_days(shard, calendar, regime)
    alive = (t.churn_day < 0) | (t.churn_day > d)
    who = np.flatnonzero(alive)
    return who, d[who]


def days_to_churn(shard: Shard, calendar: Calendar, regime: Regime) -> np.ndarray:
    """Days from each cohort member's cutoff to its churn (``-1`` if it never churns)."""
    who, d = cohort(shard, calendar, regime)
    day = shard.trajectories.churn_day[who]
    return np.where(day >= 0, day - d, -1)


def snapshot(shard: Shard, accounts: Accounts, calendar: Calendar, regime: Regime) -> pa.Table:
    """The regime's snapshot rows (cohort members, population order) with all catalog columns."""
    b, t, h = shard.customers, shard.trajectories, shard.health
    who, d = cohort(shard, calendar, regime)
    cut = d // 7
    ev = t.events
    span = 7 * (h.active_users.shape[1] + 2)

    moves = np.isin(ev.kind, MRR_MOVES)
    mrr_moves = _Before(ev, moves, span, who, d)
    expansions = _Before(ev, ev.kind == EXPANSION, span, who, d)
    contractions = _Before(ev, ev.kind == CONTRACTION, span, who, d)
    renewals = _Before(ev, ev.kind == RENEWAL, span, who, d)
    failures = _Before(ev, ev.kind == FAILURE, span, who, d)
    initial_mrr = b.initial_mrr[who]
    current_mrr = mrr_moves.latest(ev.mrr_after, initial_mrr)
    trap_end = d + TRAP_HORIZON_DAYS
    churn_day = t.churn_day[who]
    trap_end_mrr = np.where(
        (churn_day >= 0) & (churn_day <= trap_end),
        0,
        _Before(ev, moves, span, who, trap_end).latest(ev.mrr_after, initial_mrr),
    )
    current_plan = mrr_moves.latest(ev.plan_after.astype(np.int64), b.initial_plan[who].astype(np.int64))
    failure_day = failures.latest(ev.day, np.zeros_like(d))
    next_end = t.term_end_day[who, np.count_nonzero(t.term_end_day[who] <= d[:, None], axis=1)]

    health = _health_window(shard, who, cut)
    acct = b.account[who]
    last_depth = h.depth[who, np.minimum(t.last_week[who], cut + TRAP_HEALTH_WEEKS)]
    ltv = _forward_revenue(shard, who, d)
    churned_180 = (churn_day >= 0) & (churn_day <= d + CHURN_WINDOW_DAYS)

    columns: dict[str, object] = {
        "customer_id": id_array("cust", b.numbers[who]),
        "account_id": id_array("acct", acct + 1),
        "customer_start_at": date_array(epoch_day(calendar.observation_date) - b.days_to_observation[who]),
        "industry": category_array(accounts.industries, accounts.industry[acct]),
        "region": category_array(accounts.regions, accounts.region[acct]),
        "employee_band": category_array(EMPLOYEE_BANDS, accounts.employee_band[acct]),
        "estimated_revenue_band": category_array(REVENUE_BANDS, accounts.revenue_band[acct]),
        "tenure_weeks": cut,
        "initial_plan": category_array(PLANS, b.initial_plan[who]),
        "initial_mrr": initial_mrr,
        "current_mrr": current_mrr,
        "mrr_change_at_snapshot": current_mrr - initial_mrr,
        "renewal_count": renewals.count,
        "expansion_count": expansions.count,
        "contract_term_months": b.term_months[who],
        "weeks_to_next_renewal": (next_end - d) // 7,
        **health,
        "payment_failure_count": failures.count,
        "weeks_since_last_payment_failure": masked((d - failure_day) // 7, failures.count == 0),
        "current_plan": category_array(PLANS, current_plan),
        "downgrade_count": contractions.count,
        "mrr_change_full_period": trap_end_mrr - initial_mrr,
        "last_health_signal_post_obs": last_depth,
        **{label: ltv[w] for w, label in zip(FORWARD_WINDOWS_DAYS, REVENUE_TARGETS, strict=True)},
        CHURN_TARGET: churned_180,
    }
    return SNAPSHOT_SCHEMA.table(columns)


def _health_window(shard: Shard, who: np.ndarray, cut: np.ndarray) -> dict[str, object]:
    """Aggregates over the signal weeks ``max(0, T − 11) … T`` (users also over the latest four)
    and the latest NPS answer."""
    h = shard.health
    lo = np.maximum(cut - (HEALTH_WINDOW_WEEKS - 1), 0)
    n = (cut - lo + 1).astype(np.float64)
    weeks = np.arange(h.active_users.shape[1], dtype=np.float64)
    r = np.arange(who.size)

    def cumulative(matrix: np.ndarray) -> np.ndarray:
        rows = matrix[who].astype(np.float64)
        csum = np.zeros((who.size, rows.shape[1] + 1))
        np.cumsum(rows, axis=1, out=csum[:, 1:])
        return csum

    def window_sum(matrix: np.ndarray) -> np.ndarray:
        csum = cumulative(matrix)
        return np.asarray(csum[r, cut + 1] - csum[r, lo])

    users = cumulative(h.active_users)
    users_sum = np.asarray(users[r, cut + 1] - users[r, lo])
    lo_recent = np.maximum(cut - (RECENT_WEEKS - 1), 0)
    users_recent = (users[r, cut + 1] - users[r, lo_recent]) / (cut - lo_recent + 1)
    users_x_sum = window_sum(h.active_users * weeks[None, :])
    sx = (lo + cut) * n / 2.0
    sxx = _sum_squares(cut) - _sum_squares(lo - 1)
    denom = n * sxx - sx * sx
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = (n * users_x_sum - sx * users_sum) / denom
    nps = np.full(who.size, NPS_NULL, dtype=np.int64)
    for week in range(SURVEY_EVERY, int(cut.max(initial=0)) + 1, SURVEY_EVERY):
        answer = h.nps[who, week]
        nps = np.where((week <= cut) & (answer != NPS_NULL), answer, nps)
    return {
        "avg_active_users_l12w": users_sum / n,
        "avg_active_users_l4w": users_recent,
        "active_user_trend_l12w": masked(np.where(n >= 2, slope, 0.0), n < 2),
        "avg_feature_depth_l12w": window_sum(h.depth) / n,
        "support_ticket_count_l12w": np.rint(window_sum(h.tickets)).astype(np.int64),
        "last_nps_score": masked(nps, nps == NPS_NULL),
    }


def _sum_squares(k: np.ndarray) -> np.ndarray:
    k = k.astype(np.float64)
    return np.asarray(np.where(k >= 0, k * (k + 1) * (2 * k + 1) / 6.0, 0.0))


def _forward_revenue(shard: Shard, who: np.ndarray, d: np.ndarray) -> dict[int, np.ndarray]:
    """Revenue of invoices issued in ``(c, c + W]`` whose terminal status is paid or recovered."""
    inv = shard.trajectories.invoices
    status = inv.status[who]
    collected = np.where((status == PAID) | (status == INV_RECOVERED), inv.amount[who], 0)
    day = inv.day[who]
    after = day > d[:, None]
    out = {}
    for window in FORWARD_WINDOWS_DAYS:
        inside = after & (day <= (d + window)[:, None])
        out[window] = np.sum(np.where(inside, collected, 0), axis=1).astype(np.float64)
    return out
