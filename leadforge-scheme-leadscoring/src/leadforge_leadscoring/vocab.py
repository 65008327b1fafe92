"""Closed value sets of the lead-scoring world (entity attributes, event kinds) and the funnel's stage codes.

Everything here is a fact of the contract: a notebook written against an older bundle
expects exactly these strings.
"""

from __future__ import annotations

import datetime as dt

SCHEME = "lead_scoring"
DEFAULT_TASK = "converted_within_90_days"

#: Day 0 of the world calendar; leads are created on days 0–29 after it.
BASE_DATE = dt.date(2024, 1, 1)
LEAD_CREATION_DAYS = 30
ACCOUNT_AGE_DAYS = (30, 730)
CONTACT_LAG_DAYS = 30
N_REPS = 10

EMPLOYEE_BANDS = ("200-499", "500-999", "1000-1999", "2000+")
EMPLOYEE_WEIGHTS = (0.35, 0.35, 0.20, 0.10)
REVENUE_BANDS = ("$1M-$10M", "$10M-$50M", "$50M-$200M", "$200M+")
REVENUE_WEIGHTS = (0.25, 0.40, 0.25, 0.10)
#: ``expected_acv`` falls back to these when a lead has no open opportunity.
REVENUE_MIDPOINTS = (25_000.0, 55_000.0, 85_000.0, 140_000.0)
MATURITY_BANDS = ("low", "medium", "high")
MATURITY_WEIGHTS = (0.30, 0.45, 0.25)
MATURITY_MEANS = (0.25, 0.50, 0.75)
SENIORITY = ("individual_contributor", "manager", "director", "vp", "c_suite")
SENIORITY_WEIGHTS = (0.25, 0.30, 0.25, 0.15, 0.05)
EMAIL_DOMAINS = ("corporate", "personal", "unknown")
EMAIL_DOMAIN_WEIGHTS = (0.80, 0.12, 0.08)

#: Estimated ACV range (inclusive, USD) of an opportunity by the account's employee band.
ACV_RANGES = ((15_000, 50_000), (30_000, 80_000), (50_000, 120_000), (80_000, 200_000))
#: Plan thresholds on ACV: below 30k starter, below 80k growth, otherwise enterprise.
PLAN_NAMES = ("starter", "growth", "enterprise")
PLAN_THRESHOLDS = (30_000, 80_000)

TOUCH_TYPES = ("email", "call", "linkedin_message", "content_download", "webinar")
SESSION_TYPES = ("website", "pricing_page", "demo_page")
ACTIVITY_TYPES = ("call", "email", "meeting", "demo")
ACTIVITY_OUTCOMES = ("connected", "no_answer", "left_voicemail", "meeting_set", "demo_completed")
PAGE_VIEWS = (1, 10)
SESSION_SECONDS = (60, 600)

STAGES = (
    "mql",
    "sal",
    "sql",
    "demo_scheduled",
    "demo_completed",
    "proposal_sent",
    "negotiation",
    "closed_won",
    "closed_lost",
)
MQL, SAL, SQL, DEMO_SCHEDULED, DEMO_COMPLETED, PROPOSAL_SENT, NEGOTIATION, CLOSED_WON, CLOSED_LOST = range(9)
#: Stages a lead can be in while the funnel still runs (everything before a close).
OPEN_STAGES = 7
SALES_STAGES = (SAL, SQL, DEMO_SCHEDULED, DEMO_COMPLETED, PROPOSAL_SENT, NEGOTIATION)
DEMO_STAGES = (DEMO_SCHEDULED, DEMO_COMPLETED)
