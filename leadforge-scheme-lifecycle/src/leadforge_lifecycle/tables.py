"""One simulated shard rendered as full (instructor) rows of the relational tables.

Accounts, customers and subscriptions carry their final ids (numbered from the population
plan). The event tables' keys are shard-local integers: core cuts a public bundle at the
observation date and numbers the rows it keeps. The one value a public bundle changes is
the scheme's own business: an invoice shows its payment status *as of* the observation date,
so a failure still in dunning at the cutoff reads ``failed``, whatever happened later.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from leadforge.calendar import (
    TIME_ZONES,
    US_PER_DAY,
    US_PER_HOUR,
    CalendarProfile,
    date_array,
    local_time_of_day_us,
    timestamp_array,
    utc_offsets_us,
)
from leadforge.columns import category_array, id_array
from leadforge.rng import KeyedUniforms, entity_keys, ordinals
from leadforge.schema import masked

from leadforge_lifecycle.calendar import Calendar, epoch_day
from leadforge_lifecycle.engine import (
    CHURN_REASONS,
    EVENT_TYPES,
    FAILED,
    INV_RECOVERED,
    INVOICE_STATUSES,
    NOT_ISSUED,
    RENEWAL,
    WRITTEN_OFF,
)
from leadforge_lifecycle.health import NPS_NULL
from leadforge_lifecycle.population import (
    EMPLOYEE_BANDS,
    MATURITY_BANDS,
    PLANS,
    REVENUE_BANDS,
    Accounts,
)
from leadforge_lifecycle.world import Shard

Rows = dict[str, Any]


@dataclass(frozen=True)
class _Frame:
    """What every table of a shard shares: ids, start days (relative to the observation date)."""

    shard: Shard
    observation: dt.date
    customer_ids: pa.Array
    subscription_ids: pa.Array
    start: np.ndarray

    @classmethod
    def of(cls, shard: Shard, observation: dt.date) -> _Frame:
        numbers = shard.customers.numbers
        return cls(
            shard,
            observation,
            id_array("cust", numbers),
            id_array("sub", numbers),
            -shard.customers.days_to_observation,
        )

    def dates(self, days: np.ndarray) -> pa.Array:
        """``date32`` of days counted from the observation date."""
        return date_array(epoch_day(self.observation) + np.asarray(days, dtype=np.int64))


def accounts_table(accounts: Accounts, calendar: Calendar, first: int = 0) -> Rows:
    """Accounts ``first …`` of the world (``accounts`` may be one block of them)."""
    ids = id_array("acct", np.arange(first + 1, first + len(accounts) + 1))
    assert accounts.company_name is not None and accounts.zone is not None
    return {
        "account_id": ids,
        "company_name": accounts.company_name.cast(pa.large_string()),
        "industry": category_array(accounts.industries, accounts.industry),
        "region": category_array(accounts.regions, accounts.region),
        "employee_band": category_array(EMPLOYEE_BANDS, accounts.employee_band),
        "estimated_revenue_band": category_array(REVENUE_BANDS, accounts.revenue_band),
        "process_maturity_band": category_array(MATURITY_BANDS, accounts.maturity),
        "time_zone": category_array(TIME_ZONES, accounts.zone),
        "created_at": date_array(epoch_day(calendar.accounts_anchor) - accounts.created_days_before_anchor),
    }


def shard_tables(
    shard: Shard, calendar: Calendar, zone: np.ndarray, g: np.random.Generator, *, as_of_observation: bool
) -> dict[str, Rows]:
    """The five customer-level tables of one shard; ``as_of_observation`` for public invoices.

    ``zone`` is each account's time-zone index; ``g`` draws the events' times of day.
    """
    f = _Frame.of(shard, calendar.observation_date)
    return {
        "customers": customers_table(f),
        "subscriptions": subscriptions_table(f),
        "subscription_events": events_table(f, zone[shard.customers.account], calendar.profile, g),
        "health_signals": health_table(f),
        "invoices": invoices_table(f, as_of_observation),
    }


def customers_table(f: _Frame) -> Rows:
    b = f.shard.customers
    return {
        "customer_id": f.customer_ids,
        "account_id": id_array("acct", b.account + 1),
        "customer_start_at": f.dates(f.start),
        "initial_plan": category_array(PLANS, b.initial_plan),
        "initial_mrr": b.initial_mrr,
        "contract_term_months": b.term_months,
        "csm_rep_id": id_array("rep", b.csm_rep + 1),
        "opportunity_id": pa.nulls(len(b), pa.large_string()),
    }


def subscriptions_table(f: _Frame) -> Rows:
    b, t = f.shard.customers, f.shard.trajectories
    churned = t.churn_week >= 0
    churn_dates = _null_where(~churned, f.dates(np.where(churned, f.start + t.churn_day, 0)))
    return {
        "subscription_id": f.subscription_ids,
        "customer_id": f.customer_ids,
        "plan_name": category_array(PLANS, b.initial_plan),
        "subscription_status": pa.array(np.where(churned, "churned", "active"), type=pa.large_string()),
        "subscription_start_at": f.dates(f.start),
        "current_mrr": t.final_mrr,
        "contract_term_months": b.term_months,
        "renewal_count": t.renewals,
        "expansion_count": t.expansions,
        "subscription_end_at": churn_dates,
        "churn_at": churn_dates,
        "churn_reason": _null_where(
            t.churn_reason < 0, category_array(CHURN_REASONS, np.maximum(t.churn_reason, 0))
        ),
        "current_plan": category_array(PLANS, t.final_plan),
        "downgrade_count": t.contractions,
    }


def events_table(f: _Frame, zone: np.ndarray, profile: CalendarProfile, g: np.random.Generator) -> Rows:
    ev = f.shard.trajectories.events
    who = pa.array(ev.customer)
    day = epoch_day(f.observation) + f.start[ev.customer] + ev.day
    return {
        "event_id": np.arange(len(ev), dtype=np.int64),
        "subscription_id": f.subscription_ids.take(who),
        "customer_id": f.customer_ids.take(who),
        "event_timestamp": timestamp_array(
            event_instants(ev.customer, day, zone[ev.customer], profile, event_uniforms(f, g))
        ),
        "event_type": category_array(EVENT_TYPES, ev.kind),
        "mrr_before": ev.mrr_before,
        "mrr_after": ev.mrr_after,
        "contract_term_months_new": masked(ev.term_new, ev.kind != RENEWAL),
    }


def event_uniforms(f: _Frame, g: np.random.Generator) -> np.random.Generator:
    """The per-event uniform source of a shard's events: each event's uniforms hash its own key
    (the customer's number and the event's place among that customer's events), so an
    intervention that changes one customer's events moves no other customer's times of day
    (one draw of ``g`` salts it)."""
    ev = f.shard.trajectories.events
    keys = entity_keys(f.shard.customers.numbers[ev.customer], ordinals(ev.customer))
    return KeyedUniforms(keys, int(g.integers(0, 2**62))).generator()


def health_table(f: _Frame) -> Rows:
    """One row per customer and tenure week lived (up to churn or the end of the simulation)."""
    h, t = f.shard.health, f.shard.trajectories
    weeks = np.arange(h.active_users.shape[1])
    rows, cols = np.nonzero(weeks[None, :] <= t.last_week[:, None])
    nps = h.nps[rows, cols]
    return {
        "signal_id": np.arange(rows.size, dtype=np.int64),
        "customer_id": f.customer_ids.take(pa.array(rows)),
        "period_start": f.dates(f.start[rows] + 7 * cols),
        "active_users": h.active_users[rows, cols],
        "feature_depth_score": h.depth[rows, cols],
        "support_tickets": h.tickets[rows, cols],
        "nps_score": masked(nps, nps == NPS_NULL),
    }


def invoices_table(f: _Frame, as_of_observation: bool) -> Rows:
    inv = f.shard.trajectories.invoices
    rows, slots = np.nonzero(inv.status != NOT_ISSUED)
    status = inv.status[rows, slots]
    if as_of_observation:
        status = status_as_of(status, f.start[rows] + inv.resolved_day[rows, slots], 0)
    return {
        "invoice_id": np.arange(rows.size, dtype=np.int64),
        "customer_id": f.customer_ids.take(pa.array(rows)),
        "invoice_date": f.dates(f.start[rows] + inv.day[rows, slots]),
        "amount_usd": inv.amount[rows, slots],
        "payment_status": category_array(INVOICE_STATUSES, status),
    }


def event_instants(
    customer: np.ndarray, day: np.ndarray, zone: np.ndarray, profile: CalendarProfile, g: np.random.Generator
) -> np.ndarray:
    """UTC instants (µs) of events dated ``day`` (epoch days) at a working-hours local time.

    The instant's UTC date is always ``day``: a local time whose UTC date would differ (a late
    afternoon on the US west coast) is folded back into the part of the business day that
    shares the UTC date, so every cutoff reads the same day as the engine did. One customer's
    events of one day keep their order (times sorted in event order).
    """
    tod = local_time_of_day_us(g, day.size, profile)
    offset = utc_offsets_us(day, zone)
    utc = tod - offset
    outside = (utc < 0) | (utc >= US_PER_DAY)
    lo = np.maximum(profile.business_hours[0] * US_PER_HOUR, offset)
    hi = np.minimum(profile.business_hours[1] * US_PER_HOUR, US_PER_DAY + offset)
    folded = lo + np.mod(tod - lo, np.maximum(hi - lo, 1))
    anywhere = np.clip(tod, np.maximum(offset, 0), np.minimum(US_PER_DAY, US_PER_DAY + offset) - 1)
    tod = np.where(outside, np.where(hi > lo, folded, anywhere), tod)
    instant = day * US_PER_DAY + tod - offset
    return np.asarray(instant[np.lexsort((instant, day, customer))], dtype=np.int64)


def status_as_of(status: np.ndarray, resolved_day: np.ndarray, cutoff_day: int) -> np.ndarray:
    """Invoice status known at ``cutoff_day``: a resolution dated after it is not yet known."""
    unresolved = ((status == INV_RECOVERED) | (status == WRITTEN_OFF)) & (resolved_day > cutoff_day)
    return np.where(unresolved, FAILED, status).astype(status.dtype)


def _null_where(null: np.ndarray, values: pa.Array) -> pa.Array:
    result: pa.Array = pc.if_else(pa.array(null), pa.scalar(None, values.type), values)
    return result
