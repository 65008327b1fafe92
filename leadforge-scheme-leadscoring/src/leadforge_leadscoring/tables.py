"""One shard's full (instructor) rows of the nine tables, one builder per table.

Accounts, contacts and leads carry their final ids, numbered from the shard plan. Events,
opportunities, customers and subscriptions carry shard-local integer keys (and integer
references to each other); core numbers them, applies a public bundle's cut and drops its
withheld columns (see :mod:`leadforge_leadscoring.contract`).

Each lead's events sit together, ordered by time: the ids core assigns to one lead's rows are
then consecutive, so neither their spacing nor their order reflects the days on which other
leads were active.

Event times are ``timestamp[us, UTC]`` (a local business time in the account's zone, see
:mod:`leadforge_leadscoring.timing`); calendar days (creation, opportunity and close dates)
are ``date32``. Names, e-mail addresses and domains are drawn from the recipe's word lists
with the shard's own substreams, never derived from an id.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from leadforge import calendar as cal
from leadforge import vocabulary as words
from leadforge.columns import category_array, id_array
from leadforge.rng import RNG, stable_order

from leadforge_leadscoring import vocab as V
from leadforge_leadscoring.catalog import TREATMENT
from leadforge_leadscoring.population import Vocabulary
from leadforge_leadscoring.world import SimulatedShard

Rows = dict[str, pa.Array | np.ndarray]


def build(
    sim: SimulatedShard, vocab: Vocabulary, rng: RNG, *, label: str, label_window: int
) -> dict[str, Rows]:
    """Every table's rows for the shard, in contract order; ``rng`` is the shard's stream
    (names and contact details are drawn from it)."""
    company, domain = company_names(sim, vocab, rng)
    return {
        "accounts": accounts(sim, vocab, company),
        "contacts": contacts(sim, vocab, domain, rng),
        "leads": leads(sim, vocab, label, label_window, rng),
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


def _dates(days: np.ndarray) -> pa.Array:
    return cal.date_array(days)


def _nullable(values: pa.Array, valid: np.ndarray) -> pa.Array:
    if valid.all():
        return values
    return pc.if_else(pa.array(valid), values, pa.scalar(None, type=values.type))


def _text(values: pa.Array) -> pa.Array:
    return values.cast(pa.large_string())


def company_names(sim: SimulatedShard, vocab: Vocabulary, rng: RNG) -> tuple[pa.Array, pa.Array]:
    """Each account's company name (fitting its industry) and web domain (by its country)."""
    acc = sim.population.accounts
    industry = np.asarray(vocab.industries, dtype=object)[acc.industry]
    names = words.company_names(vocab.words, rng.generator("company_names"), acc.industry.size, industry)
    region = np.asarray(vocab.regions, dtype=object)[acc.region]
    return _text(names), _text(words.company_domains(names, region))


def _by_time(lead: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Row order grouping each lead's events, by time within a lead (stable for equal times):
    ``np.lexsort((at, lead))``, as two stable passes whose second is a radix sort for
    shard-sized lead numbers."""
    by_time = np.argsort(at, kind="stable")
    order: np.ndarray = by_time[stable_order(lead[by_time])]
    return order


def _local_keys(n: int) -> np.ndarray:
    return np.arange(n, dtype=np.int64)


def accounts(sim: SimulatedShard, vocab: Vocabulary, company: pa.Array) -> Rows:
    acc, shard = sim.population.accounts, sim.shard
    return {
        "account_id": _plan_ids("acct", shard.account_start, np.arange(shard.n_accounts)),
        "company_name": company,
        "industry": category_array(vocab.industries, acc.industry),
        "region": category_array(vocab.regions, acc.region),
        "employee_band": category_array(V.EMPLOYEE_BANDS, acc.employee_band),
        "estimated_revenue_band": category_array(V.REVENUE_BANDS, acc.revenue_band),
        "process_maturity_band": category_array(V.MATURITY_BANDS, acc.maturity_band),
        "time_zone": category_array(cal.TIME_ZONES, acc.zone),
        "created_at": _dates(acc.created_day),
    }


def contacts(sim: SimulatedShard, vocab: Vocabulary, domain: pa.Array, rng: RNG) -> Rows:
    """Buyer contacts: a drawn person name, a title from the persona, and an e-mail address on
    the company's domain (a personal mailbox, or none on record, by ``email_domain_type``)."""
    con, shard = sim.population.contacts, sim.shard
    g = rng.generator("person_names")
    first, last = words.person_names(vocab.words, g, con.account.size)
    personal = pa.array(V.PERSONAL_MAIL_DOMAINS, type=pa.string()).take(
        pa.array(
            np.minimum(
                (g.random(con.account.size) * len(V.PERSONAL_MAIL_DOMAINS)).astype(np.int64),
                len(V.PERSONAL_MAIL_DOMAINS) - 1,
            )
        )
    )
    kind = con.email_domain
    mailbox = pc.if_else(
        pa.array(kind == V.EMAIL_DOMAINS.index("personal")),
        personal,
        domain.cast(pa.string()).take(pa.array(con.account)),
    )
    email = words.email_addresses(first, last, mailbox, g)
    return {
        "contact_id": _plan_ids("cnt", shard.contact_start, np.arange(shard.n_contacts)),
        "account_id": _plan_ids("acct", shard.account_start, con.account),
        "first_name": _text(first),
        "last_name": _text(last),
        "email": _nullable(_text(email), kind != V.EMAIL_DOMAINS.index("unknown")),
        "job_title": category_array(vocab.flat_titles, con.title),
        "role_function": category_array(vocab.roles, con.persona),
        "seniority": category_array(V.SENIORITY, con.seniority),
        "buyer_role": category_array(vocab.buyer_roles, con.persona),
        "email_domain_type": category_array(V.EMAIL_DOMAINS, con.email_domain),
        "created_at": _dates(con.created_day),
    }


def leads(sim: SimulatedShard, vocab: Vocabulary, label: str, label_window: int, rng: RNG) -> Rows:
    """Leads with their final stage; the label is a close won within ``label_window`` days,
    and the conversion time a business time on the close day."""
    pop, st = sim.population, sim.states
    ld = pop.leads
    won = sim.converted
    source = category_array(vocab.channels, ld.source)
    close_day = ld.created_day + np.where(won, st.end_day, 0)
    zone = pop.accounts.zone[ld.account]
    closed_at = cal.business_times(rng.generator("time:conversion"), close_day, zone, vocab.calendar)
    return {
        "lead_id": _lead_ids(sim),
        "contact_id": _plan_ids("cnt", sim.shard.contact_start, ld.contact),
        "account_id": _lead_account_ids(sim),
        "lead_created_at": _dates(ld.created_day),
        "lead_source": source,
        "first_touch_channel": source,
        "current_stage": category_array(V.STAGES, st.final),
        "owner_rep_id": id_array("rep", ld.rep + 1),
        "is_sql": st.sql_day >= 0,
        label: won & (st.end_day <= label_window),
        "conversion_timestamp": _nullable(cal.timestamp_array(closed_at), won),
        **({TREATMENT: sim.arms.treated} if sim.arms is not None else {}),
    }


def campaigns(kind: np.ndarray, inbound: np.ndarray, at: np.ndarray, start_day: int) -> pa.Array:
    """The campaign of each marketing touch, null for one-to-one touches.

    Webinars, content downloads and inbound e-mails belong to campaigns; marketing runs
    ``CAMPAIGNS_PER_MONTH`` of each kind a month, so a touch's campaign follows from its kind,
    its month and (for the one of two that month) its time. Campaign numbers count months from
    the acquisition window's start: they carry the calendar, nothing about a lead.
    """
    kinds = np.asarray([V.TOUCH_TYPES.index(k) for k in V.CAMPAIGN_TOUCHES], dtype=np.int64)
    slot_of = np.full(len(V.TOUCH_TYPES), -1, dtype=np.int64)
    slot_of[kinds] = np.arange(kinds.size)
    slot = slot_of[kind]
    is_campaign = (slot >= 0) & ((kind != V.TOUCH_TYPES.index("email")) | inbound)
    day = at // cal.US_PER_DAY
    month = (day.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)) - int(
        np.datetime64(start_day, "D").astype("datetime64[M]").astype(np.int64)
    )
    month = np.maximum(month, 0)
    variant = (at // cal.US_PER_HOUR) % V.CAMPAIGNS_PER_MONTH
    number = (month * kinds.size + np.maximum(slot, 0)) * V.CAMPAIGNS_PER_MONTH + variant + 1
    return _nullable(id_array("cmp", number), is_campaign)


def touches(sim: SimulatedShard, vocab: Vocabulary) -> Rows:
    t, ld = sim.events.touches, sim.population.leads
    order = _by_time(t.lead, sim.times.touches)
    lead, at = t.lead[order], sim.times.touches[order]
    kind = t.kind[order]
    inbound = np.array([c.startswith("inbound") for c in vocab.channels])[ld.source[lead]]
    return {
        "touch_id": _local_keys(lead.size),
        "lead_id": _lead_ids(sim).take(pa.array(lead)),
        "touch_timestamp": cal.timestamp_array(at),
        "touch_type": category_array(V.TOUCH_TYPES, kind),
        "touch_channel": category_array(vocab.channels, ld.source[lead]),
        "touch_direction": category_array(("outbound", "inbound"), inbound.astype(np.int64)),
        "campaign_id": campaigns(kind, inbound, at, vocab.calendar.start_day),
    }


def sessions(sim: SimulatedShard) -> Rows:
    s = sim.events.sessions
    order = _by_time(s.lead, sim.times.sessions)
    lead = s.lead[order]
    return {
        "session_id": _local_keys(lead.size),
        "lead_id": _lead_ids(sim).take(pa.array(lead)),
        "session_timestamp": cal.timestamp_array(sim.times.sessions[order]),
        "session_type": category_array(V.SESSION_TYPES, s.kind[order]),
        "page_views": s.page_views[order],
        "pricing_page_views": s.pricing_views[order],
        "demo_page_views": s.demo_views[order],
        "session_duration_seconds": s.seconds[order],
    }


def sales_activities(sim: SimulatedShard) -> Rows:
    a, ld = sim.events.activities, sim.population.leads
    order = _by_time(a.lead, sim.times.activities)
    lead = a.lead[order]
    return {
        "activity_id": _local_keys(lead.size),
        "lead_id": _lead_ids(sim).take(pa.array(lead)),
        "rep_id": id_array("rep", ld.rep[lead] + 1),
        "activity_timestamp": cal.timestamp_array(sim.times.activities[order]),
        "activity_type": category_array(V.ACTIVITY_TYPES, a.kind[order]),
        "activity_outcome": category_array(V.ACTIVITY_OUTCOMES, a.outcome[order]),
    }


def _opportunity_leads(sim: SimulatedShard) -> np.ndarray:
    """The leads that opened an opportunity (one each, on the day they became SQL), in lead order."""
    return np.flatnonzero(sim.states.sql_day >= 0)


def opportunities(sim: SimulatedShard) -> Rows:
    st, created = sim.states, sim.population.leads.created_day
    lead = _opportunity_leads(sim)
    final = st.final[lead]
    closed = final >= V.CLOSED_WON
    return {
        "opportunity_id": _local_keys(lead.size),
        "lead_id": _lead_ids(sim).take(pa.array(lead)),
        "created_at": _dates(created[lead] + sim.opportunity_day[lead]),
        "stage": category_array(V.STAGES, final),
        "estimated_acv": sim.acv[lead],
        "close_outcome": _nullable(category_array(V.STAGES, final), closed),
        "closed_at": _nullable(_dates(np.where(closed, created[lead] + st.end_day[lead], 0)), closed),
    }


def _customer_leads(sim: SimulatedShard) -> np.ndarray:
    """The leads that closed won, in lead order: one customer each."""
    return np.flatnonzero(sim.converted)


def _start_dates(sim: SimulatedShard, lead: np.ndarray) -> pa.Array:
    return _dates(sim.population.leads.created_day[lead] + sim.states.end_day[lead])


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
