"""The task table's catalog: every snapshot column with its dtype, description, category and
exposure, in canonical order (it drives the feature dictionary, redaction and distortions)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from leadforge.enums import ExposureMode
from leadforge.features import FeatureSpec

PUBLIC = frozenset({ExposureMode.STUDENT_PUBLIC})
TRAP = "total_touches_all"
#: The designed experiment's public arm column (see :mod:`leadforge.experiment`).
TREATMENT = "treatment"


def treatment_feature() -> FeatureSpec:
    return FeatureSpec(
        TREATMENT,
        "boolean",
        "Designed experiment: the lead was randomised at creation to the treated policy (False: "
        "the usual policy). Independent of everything else about the lead.",
        "experiment",
        distort=False,
    )


def acv_scale(medians: Sequence[float], sigma: float) -> tuple[float, float]:
    """A deal size's typical value and spread: the geometric mean of the bands' medians, and the
    standard deviation of a lognormal deal size at the mean of those medians."""
    centre = float(np.exp(np.mean(np.log(np.asarray(medians, dtype=np.float64)))))
    return centre, float(np.mean(medians) * math.exp(sigma**2 / 2) * math.sqrt(math.expm1(sigma**2)))


#: :func:`acv_scale` of the engine's default deal sizes ($20k–$80k medians, sigma 0.7); the
#: catalogs read back from a bundle use it (only the world's own catalog distorts).
DEFAULT_ACV_SCALE = acv_scale((20_000.0, 33_000.0, 52_000.0, 80_000.0), 0.7)


def task_catalog(
    label: str,
    window_days: int,
    label_window: int,
    *,
    experiment: bool = False,
    acv: tuple[float, float] = DEFAULT_ACV_SCALE,
) -> tuple[FeatureSpec, ...]:
    """The task table's columns in canonical order; ``label`` names the target column, and a
    world with a designed experiment adds its ``treatment`` column before it.

    Centres and spreads (where render-time outliers land and the unit of the noise, about each
    feature's median and standard deviation): a recency spans the feature window, so both are
    shares of it (most leads are first touched on day 0, so the first touch sits near the
    window's end with a spread of a sixth; the last touch near a fifth of it, spread a quarter);
    deal sizes take ``acv``, the world's typical deal size and spread (:func:`acv_scale`)."""
    days = max(window_days, 1)

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
        FeatureSpec("lead_created_at", "date", "Date the lead was created (UTC calendar day).", "lead_meta"),
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
            spread=days / 6,
            center=float(days),
        ),
        count("activity_count", f"Sales activities (calls, emails, meetings, demos) on {w}.", "sales"),
        FeatureSpec(
            "days_since_last_touch",
            "Float64",
            f"Days from the last touch to the anchor (day {window_days}); null without a touch.",
            "sales",
            non_negative=True,
            spread=days / 4,
            center=days / 5,
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
            center=acv[0],
            spread=acv[1],
        ),
        FeatureSpec(
            "expected_acv",
            "Float64",
            "Open opportunity's estimated ACV, else the midpoint of the account's revenue band (USD).",
            "sales",
            non_negative=True,
            center=acv[0],
            spread=acv[1],
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
        *((treatment_feature(),) if experiment else ()),
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
