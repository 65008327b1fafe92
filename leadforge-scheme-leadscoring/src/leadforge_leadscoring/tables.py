"""One shard's full (instructor) rows of the nine tables, one builder per table.

Accounts, contacts and leads carry their final ids, numbered from the shard plan. Events,
opportunities, customers and subscriptions carry shard-local integer keys (and integer
references to each other); core numbers them, applies a public bundle's cut and drops its
withheld columns (see :mod:`leadforge_leadscoring.contract`).

Each lead's events sit together, ordered by day: the ids core assigns to one lead's rows are
then consecutive, so neither their spacing nor their order reflects the days on which other
leads were active.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from leadforge.columns import category_array, date_array, id_array

from leadforge_leadscoring import vocab as V
from leadforge_leadscoring.population import Vocabulary
from leadforge_leadscoring.world import SimulatedShard

Rows = dict[str, pa.Array | np.ndarray]


def build(sim: SimulatedShard, vocab: Vocabulary, *, label: str, label_window: int) -> dict[str, Rows]:
    """Every table's rows for the shard, in contract order."""
    return {
        "accounts": accounts(sim, vocab),
        "contacts": contacts(sim, vocab),
        "leads": leads(sim, vocab, label, label_window),
        "touches": touches(sim, vocab),
        "sessions": sessions(sim),
        "sales_activities": sales_activities(sim),
        "opportunities": opportunities(sim),
        "customers": customers(sim),
        "subscriptions": subscriptions(sim),
    }


def _plan_ids(prefix: str, start: int, local: np.ndarray) -> pa.Array:
    return id_array(prefix, start + np.asarray(local, dtype=np.int64) + 1)


def _lead_ids(sim: SimulatedShard) -> pa.Array:
    return _plan_ids("lead", sim.shard.lead_start, np.arange(sim.n_leads))


def _lead_account_ids(sim: SimulatedShard) -> pa.Array:
    return _plan_ids("acct", sim.shard.account_start, sim.population.leads.account)


def _dates(offsets: np.ndarray) -> pa.Array:
    return date_array(V.BASE_DATE, offsets)


def _nullable(values: pa.Array, valid: np.ndarray) -> pa.Array:
    if valid.all():
        return values
    return pc.if_else(pa.array(valid), values, pa.scalar(None, type=pa.large_string()))


def _local_keys(n: int) -> np.ndarray:
    return np.arange(n, dtype=np.int64)


def _by_lead(lead: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Row order grouping each lead's events, by day within a lead (stable for equal days)."""
    span = int(day.max()) + 1 if day.size else 1
    return np.argsort(lead.astype(np.int64) * span + day, kind="stable")


def accounts(sim: SimulatedShard, vocab: Vocabulary) -> Rows:
    acc, shard = sim.population.accounts, sim.shard
    ids = _plan_ids("acct", shard.account_start, np.arange(shard.n_accounts))
    text = pa.scalar("Company ", type=pa.large_string())
    return {
        "account_id": ids,
        "company_name": pc.binary_join_element_wise(text, ids, pa.scalar("", type=pa.large_string())),
        "industry": category_array(vocab.industries, acc.industry),
        "region": category_array(vocab.regions, acc.region),
        "employee_band": category_array(V.EMPLOYEE_BANDS, acc.employee_band),
        "estimated_revenue_band": category_array(V.REVENUE_BANDS, acc.revenue_band),
        "process_maturity_band": category_array(V.MATURITY_BANDS, acc.maturity_band),
        "created_at": _dates(acc.created_offset),
    }


def contacts(sim: SimulatedShard, vocab: Vocabulary) -> Rows:
    con, shard = sim.population.contacts, sim.shard
    return {
        "contact_id": _plan_ids("cnt", shard.contact_start, np.arange(shard.n_contacts)),
        "account_id": _plan_ids("acct", shard.account_start, con.account),
        "job_title": category_array(vocab.flat_titles, con.title),
        "role_function": category_array(vocab.roles, con.persona),
        "seniority": category_array(V.SENIORITY, con.seniority),
        "buyer_role": category_array(vocab.buyer_roles, con.persona),
        "email_domain_type": category_array(V.EMAIL_DOMAINS, con.email_domain),
        "created_at": _dates(con.created_offset),
    }


def leads(sim: SimulatedShard, vocab: Vocabulary, label: str, label_window: int) -> Rows:
    """Leads with their final stage; the label is a close won within ``label_window`` days."""
    ld, st = sim.population.leads, sim.states
    won = sim.converted
    source = category_array(vocab.channels, ld.source)
    return {
        "lead_id": _lead_ids(sim),
        "contact_id": _plan_ids("cnt", sim.shard.contact_start, ld.contact),
        "account_id": _lead_account_ids(sim),
        "lead_created_at": _dates(ld.created_offset),
        "lead_source": source,
        "first_touch_channel": source,
        "current_stage": category_array(V.STAGES, st.final),
        "owner_rep_id": id_array("rep", ld.rep + 1),
        "is_sql": st.sql_day >= 0,
        label: won & (st.end_day <= label_window),
        "conversion_timestamp": _nullable(_dates(np.where(won, ld.created_offset + st.end_day, 0)), won),
    }


def touches(sim: SimulatedShard, vocab: Vocabulary) -> Rows:
    t, ld = sim.events.touches, sim.population.leads
    order = _by_lead(t.lead, t.day)
    lead, day = t.lead[order], t.day[order]
    inbound = np.array([c.startswith("inbound") for c in vocab.channels])[ld.source[lead]]
    return {
        "touch_id": _local_keys(lead.size),
        "lead_id": _lead_ids(sim).take(pa.array(lead)),
        "touch_timestamp": _dates(ld.created_offset[lead] + day),
        "touch_type": category_array(V.TOUCH_TYPES, t.kind[order]),
        "touch_channel": category_array(vocab.channels, ld.source[lead]),
        "touch_direction": category_array(("outbound", "inbound"), inbound.astype(np.int64)),
        "campaign_id": pa.nulls(lead.size, type=pa.large_string()),
    }


def sessions(sim: SimulatedShard) -> Rows:
    s, ld = sim.events.sessions, sim.population.leads
    order = _by_lead(s.lead, s.day)
    lead = s.lead[order]
    return {
        "session_id": _local_keys(lead.size),
        "lead_id": _lead_ids(sim).take(pa.array(lead)),
        "session_timestamp": _dates(ld.created_offset[lead] + s.day[order]),
        "session_type": category_array(V.SESSION_TYPES, s.kind[order]),
        "page_views": s.page_views[order],
        "pricing_page_views": s.pricing_views[order],
        "demo_page_views": s.demo_views[order],
        "session_duration_seconds": s.seconds[order],
    }


def sales_activities(sim: SimulatedShard) -> Rows:
    a, ld = sim.events.activities, sim.population.leads
    order = _by_lead(a.lead, a.day)
    lead = a.lead[order]
    return {
        "activity_id": _local_keys(lead.size),
        "lead_id": _lead_ids(sim).take(pa.array(lead)),
        "rep_id": id_array("rep", ld.rep[lead] + 1),
        "activity_timestamp": _dates(ld.created_offset[lead] + a.day[order]),
        "activity_type": category_array(V.ACTIVITY_TYPES, a.kind[order]),
        "activity_outcome": category_array(V.ACTIVITY_OUTCOMES, a.outcome[order]),
    }


def _opportunity_leads(sim: SimulatedShard) -> np.ndarray:
    """The leads that opened an opportunity (one each, on the day they became SQL), in lead order."""
    return np.flatnonzero(sim.states.sql_day >= 0)


def opportunities(sim: SimulatedShard) -> Rows:
    st, created = sim.states, sim.population.leads.created_offset
    lead = _opportunity_leads(sim)
    final = st.final[lead]
    closed = final >= V.CLOSED_WON
    return {
        "opportunity_id": _local_keys(lead.size),
        "lead_id": _lead_ids(sim).take(pa.array(lead)),
        "created_at": _dates(created[lead] + st.sql_day[lead]),
        "stage": category_array(V.STAGES, final),
        "estimated_acv": sim.acv[lead],
        "close_outcome": _nullable(category_array(V.STAGES, final), closed),
        "closed_at": _nullable(_dates(np.where(closed, created[lead] + st.end_day[lead], 0)), closed),
    }


def _customer_leads(sim: SimulatedShard) -> np.ndarray:
    """The leads that closed won, in lead order: one customer each."""
    return np.flatnonzero(sim.converted)


def _start_dates(sim: SimulatedShard, lead: np.ndarray) -> pa.Array:
    return _dates(sim.population.leads.created_offset[lead] + sim.states.end_day[lead])


def customers(sim: SimulatedShard) -> Rows:
    lead = _customer_leads(sim)
    opportunity = np.searchsorted(_opportunity_leads(sim), lead)
    return {
        "customer_id": _local_keys(lead.size),
        "opportunity_id": opportunity.astype(np.int64),
        "account_id": _lead_account_ids(sim).take(pa.array(lead)),
        "customer_start_at": _start_dates(sim, lead),
    }


def subscriptions(sim: SimulatedShard) -> Rows:
    """One active subscription per customer, on the plan its deal size buys."""
    lead = _customer_leads(sim)
    plan = np.searchsorted(np.asarray(V.PLAN_THRESHOLDS), sim.acv[lead], side="right")
    return {
        "subscription_id": _local_keys(lead.size),
        "customer_id": _local_keys(lead.size),
        "plan_name": category_array(V.PLAN_NAMES, plan),
        "subscription_start_at": _start_dates(sim, lead),
        "subscription_status": pa.array(["active"] * lead.size, type=pa.large_string()),
    }
