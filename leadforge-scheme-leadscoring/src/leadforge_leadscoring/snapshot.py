"""The lead snapshot: 33 canonical columns per lead at its anchor day.

Every feature is computed from events on lead-relative days ``0 … W`` (``W`` = snapshot
day, inclusive; an event's day is its UTC calendar day minus the lead's creation day, the
public cut's rule, see :mod:`leadforge_leadscoring.timing`), and ``current_stage`` /
``is_sql`` are the values at the end of day ``W``.
The one exception is the deliberate trap ``total_touches_all``, which counts touches over
the whole horizon and is flagged ``leakage_risk``.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from leadforge.calendar import date_array
from leadforge.columns import category_array, id_array
from leadforge.schema import masked

from leadforge_leadscoring import vocab as V
from leadforge_leadscoring.catalog import TRAP, TREATMENT
from leadforge_leadscoring.population import Vocabulary
from leadforge_leadscoring.timing import lead_days
from leadforge_leadscoring.world import SimulatedShard


def _ids(prefix: str, start: int, local: np.ndarray) -> pa.Array:
    return id_array(prefix, start + local + 1)


def build(sim: SimulatedShard, vocab: Vocabulary, window: int, label_window: int, label: str) -> pa.Table:
    """The snapshot rows of one shard, in lead order, before distortion and redaction."""
    pop, shard, ev = sim.population, sim.shard, sim.events
    n = shard.n_leads
    leads, acc, con = pop.leads, pop.accounts, pop.contacts
    account = leads.account
    contact = leads.contact

    t = ev.touches
    t_day = lead_days(sim.times.touches, t.lead, pop)
    tw = t_day <= window
    tl = t.lead[tw]
    td = t_day[tw]
    touch_count = np.bincount(tl, minlength=n)
    inbound_lead = np.array([c.startswith("inbound") for c in vocab.channels])[leads.source]
    first = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    last = np.full(n, -1, dtype=np.int64)
    np.minimum.at(first, tl, td)
    np.maximum.at(last, tl, td)
    touched = touch_count > 0

    s = ev.sessions
    sw = lead_days(sim.times.sessions, s.lead, pop) <= window
    sl = s.lead[sw]

    a = ev.activities
    states = sim.states
    opp_created = (sim.opportunity_day >= 0) & (sim.opportunity_day <= window)
    is_sql = (states.sql_day >= 0) & (states.sql_day <= window)
    open_opp = opp_created & ((states.end_day < 0) | (states.end_day > window))
    acv = sim.acv.astype(np.float64)
    midpoint = np.asarray(V.REVENUE_MIDPOINTS)[acc.revenue_band[account]]
    converted = sim.converted & (states.end_day <= label_window)

    def counts(lead: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        return np.rint(np.bincount(lead, weights=weights, minlength=n)).astype(np.int64)

    columns: dict[str, pa.Array | np.ndarray] = {
        "account_id": _ids("acct", shard.account_start, account),
        "industry": category_array(vocab.industries, acc.industry[account]),
        "region": category_array(vocab.regions, acc.region[account]),
        "employee_band": category_array(V.EMPLOYEE_BANDS, acc.employee_band[account]),
        "estimated_revenue_band": category_array(V.REVENUE_BANDS, acc.revenue_band[account]),
        "process_maturity_band": category_array(V.MATURITY_BANDS, acc.maturity_band[account]),
        "contact_id": _ids("cnt", shard.contact_start, contact),
        "role_function": category_array(vocab.roles, con.persona[contact]),
        "seniority": category_array(V.SENIORITY, con.seniority[contact]),
        "buyer_role": category_array(vocab.buyer_roles, con.persona[contact]),
        "lead_id": _ids("lead", shard.lead_start, np.arange(n)),
        "lead_created_at": date_array(leads.created_day),
        "lead_source": category_array(vocab.channels, leads.source),
        "current_stage": category_array(V.STAGES, states.stage_at(window)),
        "is_sql": is_sql,
        "touch_count": touch_count,
        "inbound_touch_count": np.where(inbound_lead, touch_count, 0),
        "outbound_touch_count": np.where(inbound_lead, 0, touch_count),
        "session_count": counts(sl),
        "pricing_page_views": counts(sl, s.pricing_views[sw].astype(np.float64)),
        "demo_page_views": counts(sl, s.demo_views[sw].astype(np.float64)),
        "total_session_duration_seconds": counts(sl, s.seconds[sw].astype(np.float64)),
        "touches_days_0_7": np.bincount(tl[td <= 7], minlength=n),
        "touches_last_7_days": np.bincount(tl[td > window - 7], minlength=n),
        "days_since_first_touch": masked(np.where(touched, window - first, 0).astype(np.float64), ~touched),
        "activity_count": np.bincount(
            a.lead[lead_days(sim.times.activities, a.lead, pop) <= window], minlength=n
        ),
        "days_since_last_touch": masked(np.where(touched, window - last, 0).astype(np.float64), ~touched),
        "opportunity_created": opp_created,
        "has_open_opportunity": open_opp,
        "opportunity_estimated_acv": masked(np.where(open_opp, acv, 0.0), ~open_opp),
        "expected_acv": np.where(open_opp, acv, midpoint),
        TRAP: np.bincount(t.lead, minlength=n),
        **({TREATMENT: sim.arms.treated} if sim.arms is not None else {}),
        label: converted,
    }
    return pa.table(columns)
