"""The six relational tables: schemas, and one simulated shard rendered as Arrow chunks.

Event, health-signal and invoice ids are dense counters that run across shards in shard order
(:class:`Counters` carries the running offsets), so ids never depend on scheduling. A public
(``student_public``) chunk is the instructor chunk projected onto the observation date: rows
dated after it are dropped (their ids leave gaps), ``subscriptions`` keeps only its at-signing
identity columns, and each invoice shows its payment status *as of* the observation date
(decision 14): a failure still in dunning at the cutoff is ``failed``, whatever happened later.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from leadforge.columns import category_array, date_array, id_array
from leadforge.schema import TableSchema, masked

from leadforge_lifecycle.calendar import BASE_DATE
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

TABLE_ORDER = ("accounts", "customers", "subscriptions", "subscription_events", "health_signals", "invoices")

ACCOUNTS = TableSchema.of(
    [
        ("account_id", "string"),
        ("company_name", "string"),
        ("industry", "string"),
        ("region", "string"),
        ("employee_band", "string"),
        ("estimated_revenue_band", "string"),
        ("process_maturity_band", "string"),
        ("created_at", "string"),
    ]
)
CUSTOMERS = TableSchema.of(
    [
        ("customer_id", "string"),
        ("account_id", "string"),
        ("customer_start_at", "string"),
        ("initial_plan", "string"),
        ("initial_mrr", "Int64"),
        ("contract_term_months", "Int64"),
        ("csm_rep_id", "string"),
        ("opportunity_id", "string"),
    ]
)
SUBSCRIPTIONS = TableSchema.of(
    [
        ("subscription_id", "string"),
        ("customer_id", "string"),
        ("plan_name", "string"),
        ("subscription_status", "string"),
        ("subscription_start_at", "string"),
        ("current_mrr", "Int64"),
        ("contract_term_months", "Int64"),
        ("renewal_count", "Int64"),
        ("expansion_count", "Int64"),
        ("subscription_end_at", "string"),
        ("churn_at", "string"),
        ("churn_reason", "string"),
        ("current_plan", "string"),
        ("downgrade_count", "Int64"),
    ]
)
#: Public ``subscriptions`` keeps only what was known at signing.
PUBLIC_SUBSCRIPTION_COLUMNS = (
    "subscription_id",
    "customer_id",
    "plan_name",
    "subscription_start_at",
    "contract_term_months",
)
PUBLIC_SUBSCRIPTIONS = TableSchema.of(
    (c.name, c.dtype) for c in SUBSCRIPTIONS.columns if c.name in PUBLIC_SUBSCRIPTION_COLUMNS
)
#: End-of-simulation columns a public bundle drops from ``subscriptions``.
SUBSCRIPTION_OUTCOME_COLUMNS = tuple(n for n in SUBSCRIPTIONS.names if n not in PUBLIC_SUBSCRIPTION_COLUMNS)
EVENTS = TableSchema.of(
    [
        ("event_id", "string"),
        ("subscription_id", "string"),
        ("customer_id", "string"),
        ("event_timestamp", "string"),
        ("event_type", "string"),
        ("mrr_before", "Int64"),
        ("mrr_after", "Int64"),
        ("contract_term_months_new", "Int64"),
    ]
)
HEALTH = TableSchema.of(
    [
        ("signal_id", "string"),
        ("customer_id", "string"),
        ("period_start", "string"),
        ("active_users", "Int64"),
        ("feature_depth_score", "Float64"),
        ("support_tickets", "Int64"),
        ("nps_score", "Int64"),
    ]
)
INVOICES = TableSchema.of(
    [
        ("invoice_id", "string"),
        ("customer_id", "string"),
        ("invoice_date", "string"),
        ("amount_usd", "Int64"),
        ("payment_status", "string"),
    ]
)


def schemas(public: bool) -> dict[str, TableSchema]:
    return {
        "accounts": ACCOUNTS,
        "customers": CUSTOMERS,
        "subscriptions": PUBLIC_SUBSCRIPTIONS if public else SUBSCRIPTIONS,
        "subscription_events": EVENTS,
        "health_signals": HEALTH,
        "invoices": INVOICES,
    }


@dataclass(frozen=True)
class Counters:
    """Rows of each id-numbered table written by earlier shards (the running id offsets)."""

    events: int = 0
    signals: int = 0
    invoices: int = 0


def accounts_table(accounts: Accounts) -> pa.Table:
    ids = id_array("acct", np.arange(1, len(accounts) + 1))
    return ACCOUNTS.table(
        {
            "account_id": ids,
            "company_name": pc.binary_join_element_wise(
                pa.scalar("Company", pa.large_string()), ids, pa.scalar(" ", pa.large_string())
            ),
            "industry": category_array(accounts.industries, accounts.industry),
            "region": category_array(accounts.regions, accounts.region),
            "employee_band": category_array(EMPLOYEE_BANDS, accounts.employee_band),
            "estimated_revenue_band": category_array(REVENUE_BANDS, accounts.revenue_band),
            "process_maturity_band": category_array(MATURITY_BANDS, accounts.maturity),
            "created_at": date_array(BASE_DATE, -accounts.created_days_before_base),
        }
    )


def shard_tables(
    shard: Shard, observation: dt.date, counters: Counters, public: bool
) -> tuple[dict[str, pa.Table], Counters]:
    """The five customer-level tables of one shard, and the counters after it."""
    b, t, h = shard.customers, shard.trajectories, shard.health
    n = len(b)
    numbers = b.numbers
    cust_ids = id_array("cust", numbers)
    sub_ids = id_array("sub", numbers)
    start = -b.days_to_observation
    start_dates = date_array(observation, start)
    plan = category_array(PLANS, b.initial_plan)
    out: dict[str, pa.Table] = {
        "customers": CUSTOMERS.table(
            {
                "customer_id": cust_ids,
                "account_id": id_array("acct", b.account + 1),
                "customer_start_at": start_dates,
                "initial_plan": plan,
                "initial_mrr": b.initial_mrr,
                "contract_term_months": b.term_months,
                "csm_rep_id": id_array("rep", b.csm_rep + 1),
                "opportunity_id": pa.nulls(n, pa.large_string()),
            }
        )
    }
    churned = t.churn_week >= 0
    churn_dates = masked_dates(observation, start + 7 * t.churn_week, ~churned)
    if public:
        out["subscriptions"] = PUBLIC_SUBSCRIPTIONS.table(
            {
                "subscription_id": sub_ids,
                "customer_id": cust_ids,
                "plan_name": plan,
                "subscription_start_at": start_dates,
                "contract_term_months": b.term_months,
            }
        )
    else:
        out["subscriptions"] = SUBSCRIPTIONS.table(
            {
                "subscription_id": sub_ids,
                "customer_id": cust_ids,
                "plan_name": plan,
                "subscription_status": pa.array(
                    np.where(churned, "churned", "active"), type=pa.large_string()
                ),
                "subscription_start_at": start_dates,
                "current_mrr": t.final_mrr,
                "contract_term_months": b.term_months,
                "renewal_count": t.renewals,
                "expansion_count": t.expansions,
                "subscription_end_at": churn_dates,
                "churn_at": churn_dates,
                "churn_reason": _nullablelabels(CHURN_REASONS, t.churn_reason),
                "current_plan": category_array(PLANS, t.final_plan),
                "downgrade_count": t.contractions,
            }
        )

    ev = t.events
    ev_day = start[ev.customer] + 7 * ev.week
    ev_keep = ev_day <= 0 if public else np.ones(len(ev), dtype=bool)
    ev_numbers = counters.events + 1 + np.flatnonzero(ev_keep)
    sel = ev.customer[ev_keep]
    out["subscription_events"] = EVENTS.table(
        {
            "event_id": id_array("subev", ev_numbers),
            "subscription_id": sub_ids.take(pa.array(sel)),
            "customer_id": cust_ids.take(pa.array(sel)),
            "event_timestamp": date_array(observation, ev_day[ev_keep]),
            "event_type": category_array(EVENT_TYPES, ev.kind[ev_keep]),
            "mrr_before": ev.mrr_before[ev_keep],
            "mrr_after": ev.mrr_after[ev_keep],
            "contract_term_months_new": masked(ev.term_new[ev_keep], ev.kind[ev_keep] != RENEWAL),
        }
    )

    weeks = np.arange(h.active_users.shape[1])
    lived = weeks[None, :] <= t.last_week[:, None]
    rows, cols = np.nonzero(lived)
    day = start[rows] + 7 * cols
    keep = day <= 0 if public else np.ones(rows.size, dtype=bool)
    signal_numbers = counters.signals + 1 + np.flatnonzero(keep)
    rows, cols, day = rows[keep], cols[keep], day[keep]
    nps = h.nps[rows, cols]
    out["health_signals"] = HEALTH.table(
        {
            "signal_id": id_array("hsig", signal_numbers),
            "customer_id": cust_ids.take(pa.array(rows)),
            "period_start": date_array(observation, day),
            "active_users": h.active_users[rows, cols],
            "feature_depth_score": h.depth[rows, cols],
            "support_tickets": h.tickets[rows, cols],
            "nps_score": masked(nps, nps == NPS_NULL),
        }
    )

    inv = t.invoices
    irows, islots = np.nonzero(inv.status != NOT_ISSUED)
    iday = start[irows] + 7 * inv.weeks[islots]
    ikeep = iday <= 0 if public else np.ones(irows.size, dtype=bool)
    invoice_numbers = counters.invoices + 1 + np.flatnonzero(ikeep)
    irows, islots, iday = irows[ikeep], islots[ikeep], iday[ikeep]
    status = inv.status[irows, islots]
    if public:
        status = status_as_of(status, start[irows] + 7 * inv.resolved_week[irows, islots], 0)
    out["invoices"] = INVOICES.table(
        {
            "invoice_id": id_array("inv", invoice_numbers),
            "customer_id": cust_ids.take(pa.array(irows)),
            "invoice_date": date_array(observation, iday),
            "amount_usd": inv.amount[irows, islots],
            "payment_status": category_array(INVOICE_STATUSES, status),
        }
    )
    after = Counters(
        events=counters.events + len(ev),
        signals=counters.signals + int(lived.sum()),
        invoices=counters.invoices + int(np.count_nonzero(inv.status != NOT_ISSUED)),
    )
    return out, after


def status_as_of(status: np.ndarray, resolved_day: np.ndarray, cutoff_day: int) -> np.ndarray:
    """Invoice status known at ``cutoff_day``: a resolution dated after it is not yet known."""
    unresolved = ((status == INV_RECOVERED) | (status == WRITTEN_OFF)) & (resolved_day > cutoff_day)
    return np.where(unresolved, FAILED, status).astype(status.dtype)


def masked_dates(base: dt.date, offsets: np.ndarray, null: np.ndarray) -> pa.Array:
    return _null_where(null, date_array(base, np.where(null, 0, offsets)))


def _nullablelabels(vocab: tuple[str, ...], codes: np.ndarray) -> pa.Array:
    null = codes < 0
    return _null_where(null, category_array(vocab, np.where(null, 0, codes)))


def _null_where(null: np.ndarray, values: pa.Array) -> pa.Array:
    result: pa.Array = pc.if_else(pa.array(null), pa.scalar(None, values.type), values)
    return result
