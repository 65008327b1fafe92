"""The lead snapshot: 33 canonical columns per lead at its anchor day.

Every feature is computed from events on lead-relative days ``0 … W`` (``W`` = snapshot
day, inclusive), and ``current_stage`` / ``is_sql`` are the values at the end of day ``W``.
The one exception is the deliberate trap ``total_touches_all``, which counts touches over
the whole horizon and is flagged ``leakage_risk``.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from leadforge.columns import category_array, date_array, id_array
from leadforge.enums import ExposureMode
from leadforge.features import FeatureSpec
from leadforge.schema import masked

from leadforge_leadscoring import vocab as V
from leadforge_leadscoring.population import Vocabulary
from leadforge_leadscoring.world import SimulatedShard

PUBLIC = frozenset({ExposureMode.STUDENT_PUBLIC})
TRAP = "total_touches_all"


def catalog(label: str, window_days: int, label_window: int) -> tuple[FeatureSpec, ...]:
    """The task table's columns in canonical order; ``label`` names the target column."""

    def ident(name: str, what: str, category: str) -> FeatureSpec:
        return FeatureSpec(name, "string", f"Opaque {what} identifier (join key, not a feature).", category)

    def cat(name: str, text: str, category: str) -> FeatureSpec:
        return FeatureSpec(name, "string", text, category)

    def count(name: str, text: str, category: str = "engagement") -> FeatureSpec:
        return FeatureSpec(name, "Int64", text, category, non_negative=True)

    w = f"days 0-{window_days} after lead creation"
    return (
        ident("account_id", "account", "account"),
        cat("industry", "Account industry (ICP vertical).", "account"),
        cat("region", "Account region (US or UK).", "account"),
        cat("employee_band", "Account headcount band: 200-499, 500-999, 1000-1999, 2000+.", "account"),
        cat("estimated_revenue_band", "Account annual revenue band.", "account"),
        cat("process_maturity_band", "Procurement/AP process maturity: low, medium, high.", "account"),
        ident("contact_id", "contact", "contact"),
        cat("role_function", "Contact's persona role (vp_finance, ap_manager, ...).", "contact"),
        cat("seniority", "Contact seniority, individual_contributor to c_suite.", "contact"),
        cat("buyer_role", "Contact's buying-committee role (follows role_function).", "contact"),
        ident("lead_id", "lead", "lead_meta"),
        cat("lead_created_at", "Date the lead was created (YYYY-MM-DD).", "lead_meta"),
        cat(
            "lead_source",
            "Acquisition channel: inbound_marketing, sdr_outbound, partner_referral.",
            "lead_meta",
        ),
        FeatureSpec(
            "current_stage",
            "string",
            f"Funnel stage at the end of day {window_days} (the snapshot anchor). Strongly tied to the "
            "label; withheld from student bundles.",
            "lead_meta",
            leakage_risk=True,
            redacted_in=PUBLIC,
        ),
        FeatureSpec(
            "is_sql",
            "boolean",
            f"Reached sales-qualified (or deeper) by day {window_days}. Withheld from student bundles.",
            "lead_meta",
            leakage_risk=True,
            redacted_in=PUBLIC,
        ),
        count("touch_count", f"Marketing/SDR touches on {w}."),
        count("inbound_touch_count", f"Inbound touches on {w} (inbound_marketing leads)."),
        count("outbound_touch_count", f"Outbound touches on {w} (SDR and partner leads)."),
        count("session_count", f"Website sessions on {w}."),
        count("pricing_page_views", f"Pricing-page views in sessions on {w}."),
        count("demo_page_views", f"Demo-page views in sessions on {w}."),
        count("total_session_duration_seconds", f"Total session time in seconds on {w}."),
        count("touches_days_0_7", "Touches on days 0-7 after lead creation."),
        count(
            "touches_last_7_days",
            f"Touches in the 7 days up to the anchor (days {max(window_days - 6, 0)}-{window_days}).",
        ),
        FeatureSpec(
            "days_since_first_touch",
            "Float64",
            f"Days from the first touch to the anchor (day {window_days}); null without a touch.",
            "engagement",
            non_negative=True,
        ),
        count("activity_count", f"Sales activities (calls, emails, meetings, demos) on {w}.", "sales"),
        FeatureSpec(
            "days_since_last_touch",
            "Float64",
            f"Days from the last touch to the anchor (day {window_days}); null without a touch.",
            "sales",
            non_negative=True,
        ),
        FeatureSpec(
            "opportunity_created", "boolean", f"An opportunity was opened by day {window_days}.", "sales"
        ),
        FeatureSpec(
            "has_open_opportunity",
            "boolean",
            f"An opportunity was open at the end of day {window_days}.",
            "sales",
        ),
        FeatureSpec(
            "opportunity_estimated_acv",
            "Float64",
            "Estimated annual contract value of the open opportunity (USD); null if none is open.",
            "sales",
            non_negative=True,
        ),
        FeatureSpec(
            "expected_acv",
            "Float64",
            "Open opportunity's estimated ACV, else the midpoint of the account's revenue band (USD).",
            "sales",
            non_negative=True,
        ),
        FeatureSpec(
            TRAP,
            "Int64",
            "LEAKAGE TRAP: touches over the whole simulated horizon, including days after the anchor. "
            "Kept on purpose to teach leakage; do not use it as a feature.",
            "engagement",
            leakage_risk=True,
            distort=False,
        ),
        FeatureSpec(
            label,
            "boolean",
            f"Target: the lead closed won within {label_window} days of its creation (from the simulated "
            "close event; never sampled).",
            "target",
            is_target=True,
            distort=False,
        ),
    )


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
    tw = t.day <= window
    tl = t.lead[tw]
    td = t.day[tw]
    touch_count = np.bincount(tl, minlength=n)
    inbound_lead = np.array([c.startswith("inbound") for c in vocab.channels])[leads.source]
    first = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    last = np.full(n, -1, dtype=np.int64)
    np.minimum.at(first, tl, td)
    np.maximum.at(last, tl, td)
    touched = touch_count > 0

    s = ev.sessions
    sw = s.day <= window
    sl = s.lead[sw]

    a = ev.activities
    states = sim.states
    opp_created = (states.sql_day >= 0) & (states.sql_day <= window)
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
        "lead_created_at": date_array(V.BASE_DATE, leads.created_offset),
        "lead_source": category_array(vocab.channels, leads.source),
        "current_stage": category_array(V.STAGES, states.stage_at(window)),
        "is_sql": opp_created,
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
        "activity_count": np.bincount(a.lead[a.day <= window], minlength=n),
        "days_since_last_touch": masked(np.where(touched, window - last, 0).astype(np.float64), ~touched),
        "opportunity_created": opp_created,
        "has_open_opportunity": open_opp,
        "opportunity_estimated_acv": masked(np.where(open_opp, acv, 0.0), ~open_opp),
        "expected_acv": np.where(open_opp, acv, midpoint),
        TRAP: np.bincount(t.lead, minlength=n),
        label: converted,
    }
    return pa.table(columns)
