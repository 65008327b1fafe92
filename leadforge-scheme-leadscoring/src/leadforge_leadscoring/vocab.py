"""Closed value sets of the lead-scoring world (entity attributes, event kinds) and the funnel's stage codes.

Everything here is a fact of the contract: a notebook written against an older bundle
expects exactly these strings.
"""

from __future__ import annotations

SCHEME = "lead_scoring"
DEFAULT_TASK = "converted_within_90_days"

#: How long before the acquisition window opens an account entered the CRM (days).
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
#: Mailboxes of contacts who signed up with a personal address.
PERSONAL_MAIL_DOMAINS = ("gmail.com", "outlook.com", "yahoo.com", "icloud.com", "hotmail.com")

#: Plan thresholds on ACV: below 30k starter, below 80k growth, otherwise enterprise.
PLAN_NAMES = ("starter", "growth", "enterprise")
PLAN_THRESHOLDS = (30_000, 80_000)

TOUCH_TYPES = ("email", "call", "linkedin_message", "content_download", "webinar")
#: Touch kinds marketing runs as campaigns (e-mails only for inbound leads: outbound e-mail is
#: one-to-one SDR work), and how many campaigns of each kind run in a month.
CAMPAIGN_TOUCHES = ("email", "content_download", "webinar")
CAMPAIGNS_PER_MONTH = 2
SESSION_TYPES = ("website", "pricing_page", "demo_page")
ACTIVITY_TYPES = ("call", "email", "meeting", "demo")
ACTIVITY_OUTCOMES = ("connected", "no_answer", "left_voicemail", "meeting_set", "demo_completed")
PAGE_VIEWS = (1, 10)

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
