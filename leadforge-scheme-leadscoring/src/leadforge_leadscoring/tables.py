"""The nine relational tables (spec §5): schemas, and one shard's rows as Arrow tables.

Ids are global: a shard's entities are numbered from its plan offsets, and its events,
opportunities and customers from running offsets carried from shard to shard in plan
order, so ids never depend on which worker simulated a shard. The public projection
(§8.3, decision 7) cuts event rows at each lead's snapshot day and shows each
opportunity's stage as of that day.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from leadforge.columns import category_array, date_array, id_array
from leadforge.schema import TableSchema

from leadforge_leadscoring import vocab as V
from leadforge_leadscoring.population import Vocabulary
from leadforge_leadscoring.world import SimulatedShard

TABLE_ORDER = (
    "accounts",
    "contacts",
    "leads",
    "touches",
    "sessions",
    "sales_activities",
    "opportunities",
    "customers",
    "subscriptions",
)
PUBLIC_OMITTED = ("customers", "subscriptions")
#: Event tables, their timestamp column (cut at the snapshot day in public bundles) and key.
EVENT_TABLES = {
    "touches": ("touch_timestamp", "touch_id"),
    "sessions": ("session_timestamp", "session_id"),
    "sales_activities": ("activity_timestamp", "activity_id"),
    "opportunities": ("created_at", "opportunity_id"),
}
FOREIGN_KEYS = (
    ("contacts", "account_id", "accounts", "account_id"),
    ("leads", "account_id", "accounts", "account_id"),
    ("leads", "contact_id", "contacts", "contact_id"),
    ("touches", "lead_id", "leads", "lead_id"),
    ("sessions", "lead_id", "leads", "lead_id"),
    ("sales_activities", "lead_id", "leads", "lead_id"),
    ("opportunities", "lead_id", "leads", "lead_id"),
    ("customers", "opportunity_id", "opportunities", "opportunity_id"),
    ("customers", "account_id", "accounts", "account_id"),
    ("subscriptions", "customer_id", "customers", "customer_id"),
)
TERMINAL_COLUMNS = ("close_outcome", "closed_at")
#: Opportunity columns a public bundle drops. ``stage`` goes too (decision 7 allows either the
#: stage as of the cutoff or no stage): the public snapshot withholds the anchor stage as
#: ``leakage_risk``, and a table carrying it would add what the snapshot withholds.
PUBLIC_OPPORTUNITY_DROPS = ("stage", *TERMINAL_COLUMNS)


def schemas(label: str) -> dict[str, TableSchema]:
    """Full (instructor) schemas; ``label`` names the leads table's label column."""
    return {
        "accounts": TableSchema.of(
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
        ),
        "contacts": TableSchema.of(
            [
                ("contact_id", "string"),
                ("account_id", "string"),
                ("job_title", "string"),
                ("role_function", "string"),
                ("seniority", "string"),
                ("buyer_role", "string"),
                ("email_domain_type", "string"),
                ("created_at", "string"),
            ]
        ),
        "leads": TableSchema.of(
            [
                ("lead_id", "string"),
                ("contact_id", "string"),
                ("account_id", "string"),
                ("lead_created_at", "string"),
                ("lead_source", "string"),
                ("first_touch_channel", "string"),
                ("current_stage", "string"),
                ("owner_rep_id", "string"),
                ("is_sql", "boolean"),
                (label, "boolean"),
                ("conversion_timestamp", "string"),
            ]
        ),
        "touches": TableSchema.of(
            [
                ("touch_id", "string"),
                ("lead_id", "string"),
                ("touch_timestamp", "string"),
                ("touch_type", "string"),
                ("touch_channel", "string"),
                ("touch_direction", "string"),
                ("campaign_id", "string"),
            ]
        ),
        "sessions": TableSchema.of(
            [
                ("session_id", "string"),
                ("lead_id", "string"),
                ("session_timestamp", "string"),
                ("session_type", "string"),
                ("page_views", "Int64"),
                ("pricing_page_views", "Int64"),
                ("demo_page_views", "Int64"),
                ("session_duration_seconds", "Int64"),
            ]
        ),
        "sales_activities": TableSchema.of(
            [
                ("activity_id", "string"),
                ("lead_id", "string"),
                ("rep_id", "string"),
                ("activity_timestamp", "string"),
                ("activity_type", "string"),
                ("activity_outcome", "string"),
            ]
        ),
        "opportunities": TableSchema.of(
            [
                ("opportunity_id", "string"),
                ("lead_id", "string"),
                ("created_at", "string"),
                ("stage", "string"),
                ("estimated_acv", "Int64"),
                ("close_outcome", "string"),
                ("closed_at", "string"),
            ]
        ),
        "customers": TableSchema.of(
            [
                ("customer_id", "string"),
                ("opportunity_id", "string"),
                ("account_id", "string"),
                ("customer_start_at", "string"),
            ]
        ),
        "subscriptions": TableSchema.of(
            [
                ("subscription_id", "string"),
                ("customer_id", "string"),
                ("plan_name", "string"),
                ("subscription_start_at", "string"),
                ("subscription_status", "string"),
            ]
        ),
    }


def public_redactions(label: str) -> dict[str, list[str]]:
    """Columns the snapshot-safe export drops, by table (spec §8.3)."""
    return {"leads": sorted(["conversion_timestamp", label]), "opportunities": list(PUBLIC_OPPORTUNITY_DROPS)}


def public_schemas(label: str) -> dict[str, TableSchema]:
    full = schemas(label)
    drops = public_redactions(label)
    return {
        name: full[name].without(drops.get(name, ())) for name in TABLE_ORDER if name not in PUBLIC_OMITTED
    }


@dataclass(frozen=True)
class Offsets:
    """How many rows of each id-numbered table earlier shards wrote (ids stay dense: a gap
    in a public bundle would reveal how many rows the cutoff removed)."""

    touches: int = 0
    sessions: int = 0
    activities: int = 0
    opportunities: int = 0
    customers: int = 0


def _text(value: str) -> pa.Scalar:
    return pa.scalar(value, type=pa.large_string())


def _ids(prefix: str, start: int, local: np.ndarray) -> pa.Array:
    return id_array(prefix, start + np.asarray(local, dtype=np.int64) + 1)


def _nullable_dates(offsets: np.ndarray, valid: np.ndarray) -> pa.Array:
    dates = date_array(V.BASE_DATE, np.where(valid, offsets, 0))
    if valid.all():
        return dates
    return pc.if_else(pa.array(valid), dates, pa.scalar(None, type=pa.large_string()))


def _nullable_names(values: tuple[str, ...], codes: np.ndarray, valid: np.ndarray) -> pa.Array:
    labels = category_array(values, np.where(valid, codes, 0))
    if valid.all():
        return labels
    return pc.if_else(pa.array(valid), labels, pa.scalar(None, type=pa.large_string()))


@dataclass(frozen=True)
class ShardTables:
    """One shard's rows of every table (public: the snapshot-safe projection)."""

    tables: dict[str, pa.Table]
    offsets: Offsets


def build(
    sim: SimulatedShard,
    vocab: Vocabulary,
    offsets: Offsets,
    *,
    label: str,
    label_window: int,
    cutoff: int | None,
) -> ShardTables:
    """The shard's tables. ``cutoff`` (the snapshot day) selects the public projection."""
    shard, pop, ev, st = sim.shard, sim.population, sim.events, sim.states
    acc, con, ld = pop.accounts, pop.contacts, pop.leads
    n = shard.n_leads
    account_ids = _ids("acct", shard.account_start, np.arange(shard.n_accounts))
    lead_ids = _ids("lead", shard.lead_start, np.arange(n))
    lead_account = _ids("acct", shard.account_start, ld.account)
    created = ld.created_offset
    source = category_array(vocab.channels, ld.source)
    inbound = np.array([c.startswith("inbound") for c in vocab.channels])
    final = st.final
    won = final == V.CLOSED_WON
    terminal = final >= V.CLOSED_WON
    is_sql = st.sql_day >= 0
    out: dict[str, pa.Table] = {}

    out["accounts"] = pa.table(
        {
            "account_id": account_ids,
            "company_name": pc.binary_join_element_wise(_text("Company "), account_ids, _text("")),
            "industry": category_array(vocab.industries, acc.industry),
            "region": category_array(vocab.regions, acc.region),
            "employee_band": category_array(V.EMPLOYEE_BANDS, acc.employee_band),
            "estimated_revenue_band": category_array(V.REVENUE_BANDS, acc.revenue_band),
            "process_maturity_band": category_array(V.MATURITY_BANDS, acc.maturity_band),
            "created_at": date_array(V.BASE_DATE, acc.created_offset),
        }
    )
    out["contacts"] = pa.table(
        {
            "contact_id": _ids("cnt", shard.contact_start, np.arange(shard.n_contacts)),
            "account_id": _ids("acct", shard.account_start, con.account),
            "job_title": category_array(vocab.flat_titles, con.title),
            "role_function": category_array(vocab.roles, con.persona),
            "seniority": category_array(V.SENIORITY, con.seniority),
            "buyer_role": category_array(vocab.buyer_roles, con.persona),
            "email_domain_type": category_array(V.EMAIL_DOMAINS, con.email_domain),
            "created_at": date_array(V.BASE_DATE, con.created_offset),
        }
    )
    leads = {
        "lead_id": lead_ids,
        "contact_id": _ids("cnt", shard.contact_start, ld.contact),
        "account_id": lead_account,
        "lead_created_at": date_array(V.BASE_DATE, created),
        "lead_source": source,
        "first_touch_channel": source,
        "current_stage": category_array(V.STAGES, final),
        "owner_rep_id": id_array("rep", ld.rep + 1),
        "is_sql": is_sql,
    }
    if cutoff is None:
        leads[label] = won & (st.end_day <= label_window)
        leads["conversion_timestamp"] = _nullable_dates(created + st.end_day, won)
    out["leads"] = pa.table(leads)

    def events(lead: np.ndarray, day: np.ndarray) -> np.ndarray:
        return np.ones(lead.size, dtype=bool) if cutoff is None else day <= cutoff

    t = ev.touches
    keep = events(t.lead, t.day)
    t_lead, t_day, t_kind = t.lead[keep], t.day[keep], t.kind[keep]
    t_idx = np.flatnonzero(keep)
    out["touches"] = pa.table(
        {
            "touch_id": _ids("touch", offsets.touches, np.arange(t_idx.size)),
            "lead_id": lead_ids.take(pa.array(t_lead)),
            "touch_timestamp": date_array(V.BASE_DATE, created[t_lead] + t_day),
            "touch_type": category_array(V.TOUCH_TYPES, t_kind),
            "touch_channel": source.take(pa.array(t_lead)),
            "touch_direction": category_array(
                ("outbound", "inbound"), inbound[ld.source[t_lead]].astype(np.int64)
            ),
            "campaign_id": pa.nulls(t_lead.size, type=pa.large_string()),
        }
    )
    s = ev.sessions
    keep = events(s.lead, s.day)
    s_idx = np.flatnonzero(keep)
    out["sessions"] = pa.table(
        {
            "session_id": _ids("sess", offsets.sessions, np.arange(s_idx.size)),
            "lead_id": lead_ids.take(pa.array(s.lead[keep])),
            "session_timestamp": date_array(V.BASE_DATE, created[s.lead[keep]] + s.day[keep]),
            "session_type": category_array(V.SESSION_TYPES, s.kind[keep]),
            "page_views": s.page_views[keep],
            "pricing_page_views": s.pricing_views[keep],
            "demo_page_views": s.demo_views[keep],
            "session_duration_seconds": s.seconds[keep],
        }
    )
    a = ev.activities
    keep = events(a.lead, a.day)
    a_idx = np.flatnonzero(keep)
    out["sales_activities"] = pa.table(
        {
            "activity_id": _ids("act", offsets.activities, np.arange(a_idx.size)),
            "lead_id": lead_ids.take(pa.array(a.lead[keep])),
            "rep_id": id_array("rep", ld.rep[a.lead[keep]] + 1),
            "activity_timestamp": date_array(V.BASE_DATE, created[a.lead[keep]] + a.day[keep]),
            "activity_type": category_array(V.ACTIVITY_TYPES, a.kind[keep]),
            "activity_outcome": category_array(V.ACTIVITY_OUTCOMES, a.outcome[keep]),
        }
    )

    opp_lead = np.flatnonzero(is_sql)
    o_lead = opp_lead if cutoff is None else opp_lead[st.sql_day[opp_lead] <= cutoff]
    opps = {
        "opportunity_id": _ids("opp", offsets.opportunities, np.arange(o_lead.size)),
        "lead_id": lead_ids.take(pa.array(o_lead)),
        "created_at": date_array(V.BASE_DATE, created[o_lead] + st.sql_day[o_lead]),
    }
    if cutoff is None:
        opps["stage"] = category_array(V.STAGES, final[o_lead])
    opps["estimated_acv"] = sim.acv[o_lead]
    if cutoff is None:
        closed = terminal[o_lead]
        opps["close_outcome"] = _nullable_names(V.STAGES, final[o_lead], closed)
        opps["closed_at"] = _nullable_dates(created[o_lead] + st.end_day[o_lead], closed)
    out["opportunities"] = pa.table(opps)

    converted = np.flatnonzero(won)
    if cutoff is None:
        cust_ids = _ids("cust", offsets.customers, np.arange(converted.size))
        opp_of_lead = np.cumsum(is_sql) - 1
        acv = sim.acv[converted]
        plan = np.searchsorted(np.asarray(V.PLAN_THRESHOLDS), acv, side="right")
        start = date_array(V.BASE_DATE, created[converted] + st.end_day[converted])
        out["customers"] = pa.table(
            {
                "customer_id": cust_ids,
                "opportunity_id": _ids("opp", offsets.opportunities, opp_of_lead[converted]),
                "account_id": lead_account.take(pa.array(converted)),
                "customer_start_at": start,
            }
        )
        out["subscriptions"] = pa.table(
            {
                "subscription_id": _ids("sub", offsets.customers, np.arange(converted.size)),
                "customer_id": cust_ids,
                "plan_name": category_array(V.PLAN_NAMES, plan),
                "subscription_start_at": start,
                "subscription_status": pa.array(["active"] * converted.size, type=pa.large_string()),
            }
        )
    return ShardTables(
        out,
        Offsets(
            touches=offsets.touches + t_idx.size,
            sessions=offsets.sessions + s_idx.size,
            activities=offsets.activities + a_idx.size,
            opportunities=offsets.opportunities + o_lead.size,
            customers=offsets.customers + converted.size,
        ),
    )
