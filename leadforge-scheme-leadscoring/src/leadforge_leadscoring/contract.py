"""The nine relational tables and the promises core enforces for them.

Accounts, contacts and leads are numbered from the shard plan (their counts are fixed before
anything is simulated). Events, opportunities, customers and subscriptions only exist once a
shard has run, so core numbers them per shard. A public bundle is a snapshot: every event and
opportunity row lies on or before its lead's snapshot day, opportunities lose their stage and
outcome (the public task withholds the anchor stage, so a table must not carry it back),
leads lose the label and conversion date, and customers and subscriptions, which exist only
for converted leads, are withheld.
"""

from __future__ import annotations

from leadforge.bundle import Cutoff, ForeignKey, PublicView, RelationalContract, TableContract
from leadforge.bundle.contract import DATE, UTC_TIMESTAMP, ColumnDoc
from leadforge.calendar import TIME_ZONES
from leadforge.config import GenerationConfig
from leadforge.schema import TableSchema

from leadforge_leadscoring import vocab as V
from leadforge_leadscoring.catalog import TREATMENT
from leadforge_leadscoring.params import LeadScoringParams

TERMINAL_COLUMNS = ("close_outcome", "closed_at")
NARRATIVE = "one of the recipe narrative's"


def docs(label: str, label_window: int) -> dict[str, dict[str, ColumnDoc]]:
    """What every column of every table means; ``label`` and ``label_window`` as in :func:`schemas`."""
    return {
        "accounts": {
            "account_id": ColumnDoc.identifier("account"),
            "company_name": ColumnDoc(
                "Synthetic company name, drawn from the recipe's word lists (not derived from any id)."
            ),
            "industry": ColumnDoc(f"Industry, {NARRATIVE} target industries."),
            "region": ColumnDoc(f"Sales region, {NARRATIVE} geographies."),
            "employee_band": ColumnDoc("Company size band.", "employees", V.EMPLOYEE_BANDS),
            "estimated_revenue_band": ColumnDoc("Annual revenue band.", "USD", V.REVENUE_BANDS),
            "process_maturity_band": ColumnDoc("Maturity of the buying process.", "", V.MATURITY_BANDS),
            "time_zone": ColumnDoc(
                "IANA time zone of the account's office (from its country); event times are local "
                "business hours there, stored in UTC.",
                "",
                TIME_ZONES,
            ),
            "created_at": ColumnDoc("Day the account entered the CRM.", DATE),
        },
        "contacts": {
            "contact_id": ColumnDoc.identifier("contact"),
            "account_id": ColumnDoc.reference("account"),
            "first_name": ColumnDoc("Synthetic first name, drawn from the recipe's word lists."),
            "last_name": ColumnDoc("Synthetic last name, drawn from the recipe's word lists."),
            "email": ColumnDoc(
                "E-mail address: on the company's domain, or a personal mailbox, as "
                "email_domain_type says; empty when unknown."
            ),
            "job_title": ColumnDoc(f"Job title, from {NARRATIVE} persona titles."),
            "role_function": ColumnDoc(f"Persona (business function), {NARRATIVE} personas."),
            "seniority": ColumnDoc("Seniority level.", "", V.SENIORITY),
            "buyer_role": ColumnDoc(f"Part the persona plays in a purchase, from {NARRATIVE} personas."),
            "email_domain_type": ColumnDoc(
                "Kind of email domain the contact signed up with.", "", V.EMAIL_DOMAINS
            ),
            "created_at": ColumnDoc("Day the contact entered the CRM.", DATE),
        },
        "leads": {
            "lead_id": ColumnDoc.identifier("lead"),
            "contact_id": ColumnDoc.reference("contact"),
            "account_id": ColumnDoc.reference("account"),
            "lead_created_at": ColumnDoc(
                "Day the lead was created (spread over the acquisition window); its features are "
                "measured from here.",
                DATE,
            ),
            "lead_source": ColumnDoc(f"Acquisition channel, {NARRATIVE} channels."),
            "first_touch_channel": ColumnDoc("Channel of the lead's first touch (its acquisition channel)."),
            "current_stage": ColumnDoc("Funnel stage at the end of the simulated horizon.", "", V.STAGES),
            "owner_rep_id": ColumnDoc("Sales rep who owns the lead (rep_000001 …)."),
            "is_sql": ColumnDoc("Whether the lead became sales-qualified within the horizon."),
            label: ColumnDoc(f"Label: the lead closed won within {label_window} days of its creation."),
            "conversion_timestamp": ColumnDoc(
                "When the lead closed won (a business time on the close day); empty unless it converted.",
                UTC_TIMESTAMP,
            ),
        },
        "touches": {
            "touch_id": ColumnDoc.identifier("touch"),
            "lead_id": ColumnDoc.reference("lead"),
            "touch_timestamp": ColumnDoc("When the touch happened.", UTC_TIMESTAMP),
            "touch_type": ColumnDoc("Kind of marketing or SDR touch.", "", V.TOUCH_TYPES),
            "touch_channel": ColumnDoc("Channel of the touch (the lead's acquisition channel)."),
            "touch_direction": ColumnDoc(
                "Whether the lead or the seller started it.", "", ("outbound", "inbound")
            ),
            "campaign_id": ColumnDoc(
                "Marketing campaign of the touch (webinars, content offers, inbound nurture e-mails; "
                f"{V.CAMPAIGNS_PER_MONTH} of each a month); empty for one-to-one touches."
            ),
        },
        "sessions": {
            "session_id": ColumnDoc.identifier("website session"),
            "lead_id": ColumnDoc.reference("lead"),
            "session_timestamp": ColumnDoc("When the session started.", UTC_TIMESTAMP),
            "session_type": ColumnDoc(
                "Which part of the website the session centred on.", "", V.SESSION_TYPES
            ),
            "page_views": ColumnDoc("Pages viewed in the session.", "pages"),
            "pricing_page_views": ColumnDoc("Pricing-page views in the session.", "pages"),
            "demo_page_views": ColumnDoc("Demo-page views in the session.", "pages"),
            "session_duration_seconds": ColumnDoc("Length of the session.", "seconds"),
        },
        "sales_activities": {
            "activity_id": ColumnDoc.identifier("sales activity"),
            "lead_id": ColumnDoc.reference("lead"),
            "rep_id": ColumnDoc("Sales rep who performed the activity (the lead's owner)."),
            "activity_timestamp": ColumnDoc("When the activity happened.", UTC_TIMESTAMP),
            "activity_type": ColumnDoc("Kind of activity.", "", V.ACTIVITY_TYPES),
            "activity_outcome": ColumnDoc("What the activity achieved.", "", V.ACTIVITY_OUTCOMES),
        },
        "opportunities": {
            "opportunity_id": ColumnDoc.identifier("opportunity"),
            "lead_id": ColumnDoc.reference("lead"),
            "created_at": ColumnDoc("Day the lead became sales-qualified and the opportunity opened.", DATE),
            "stage": ColumnDoc("Stage at the end of the horizon.", "", V.STAGES),
            "estimated_acv": ColumnDoc("Estimated annual contract value of the deal.", "USD"),
            "close_outcome": ColumnDoc(
                "How the opportunity closed; empty while open.", "", V.STAGES[V.CLOSED_WON :]
            ),
            "closed_at": ColumnDoc("Day the opportunity closed; empty while open.", DATE),
        },
        "customers": {
            "customer_id": ColumnDoc.identifier("customer"),
            "opportunity_id": ColumnDoc("The won opportunity that made the account a customer."),
            "account_id": ColumnDoc.reference("account"),
            "customer_start_at": ColumnDoc("Day the deal closed won.", DATE),
        },
        "subscriptions": {
            "subscription_id": ColumnDoc.identifier("subscription"),
            "customer_id": ColumnDoc.reference("customer"),
            "plan_name": ColumnDoc("Plan bought, by the deal's estimated ACV.", "", V.PLAN_NAMES),
            "subscription_start_at": ColumnDoc("Day the subscription started (the close date).", DATE),
            "subscription_status": ColumnDoc("Status at the end of the horizon.", "", ("active",)),
        },
    }


def schemas(label: str) -> dict[str, TableSchema]:
    """Full (instructor) schemas in write order; ``label`` names the leads table's label column."""
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
                ("time_zone", "string"),
                ("created_at", "date"),
            ]
        ),
        "contacts": TableSchema.of(
            [
                ("contact_id", "string"),
                ("account_id", "string"),
                ("first_name", "string"),
                ("last_name", "string"),
                ("email", "string"),
                ("job_title", "string"),
                ("role_function", "string"),
                ("seniority", "string"),
                ("buyer_role", "string"),
                ("email_domain_type", "string"),
                ("created_at", "date"),
            ]
        ),
        "leads": TableSchema.of(
            [
                ("lead_id", "string"),
                ("contact_id", "string"),
                ("account_id", "string"),
                ("lead_created_at", "date"),
                ("lead_source", "string"),
                ("first_touch_channel", "string"),
                ("current_stage", "string"),
                ("owner_rep_id", "string"),
                ("is_sql", "boolean"),
                (label, "boolean"),
                ("conversion_timestamp", "timestamp"),
            ]
        ),
        "touches": TableSchema.of(
            [
                ("touch_id", "string"),
                ("lead_id", "string"),
                ("touch_timestamp", "timestamp"),
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
                ("session_timestamp", "timestamp"),
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
                ("activity_timestamp", "timestamp"),
                ("activity_type", "string"),
                ("activity_outcome", "string"),
            ]
        ),
        "opportunities": TableSchema.of(
            [
                ("opportunity_id", "string"),
                ("lead_id", "string"),
                ("created_at", "date"),
                ("stage", "string"),
                ("estimated_acv", "Int64"),
                ("close_outcome", "string"),
                ("closed_at", "date"),
            ]
        ),
        "customers": TableSchema.of(
            [
                ("customer_id", "string"),
                ("opportunity_id", "string"),
                ("account_id", "string"),
                ("customer_start_at", "date"),
            ]
        ),
        "subscriptions": TableSchema.of(
            [
                ("subscription_id", "string"),
                ("customer_id", "string"),
                ("plan_name", "string"),
                ("subscription_start_at", "date"),
                ("subscription_status", "string"),
            ]
        ),
    }


def contract(config: GenerationConfig) -> RelationalContract:
    """The tables of a lead-scoring bundle for ``config`` (the label column is ``primary_task``)."""
    p = config.params_as(LeadScoringParams)
    label = p.primary_task
    s = schemas(label)
    d = docs(label, p.label_window_days)
    if config.experiment is not None:
        # The designed experiment's arm is public: a lead's randomised assignment, known at creation.
        s["leads"] = TableSchema.of([*s["leads"].columns, (TREATMENT, "boolean")])
        d["leads"][TREATMENT] = ColumnDoc(
            f"Designed experiment: the lead was randomised at creation to {config.experiment.intervention} "
            "(False: the usual policy)."
        )
    # Public bundles require snapshot_day; without one the features see the whole horizon.
    snapshot = Cutoff(via="lead_id", anchor_column="lead_created_at", offset_days=p.feature_window)
    by_lead = (ForeignKey("lead_id", "leads"),)

    def events(name: str, key: str, prefix: str, time: str, description: str) -> TableContract:
        return TableContract(
            name,
            s[name],
            key,
            prefix,
            by_lead,
            time_column=time,
            numbering="owner",
            owner="lead_id",
            public=PublicView(cut=snapshot),
            description=description,
            column_docs=d[name],
        )

    return RelationalContract(
        (
            TableContract(
                "accounts",
                s["accounts"],
                "account_id",
                "acct",
                time_column="created_at",
                description="Buying companies: industry, region, size and revenue bands, process maturity.",
                column_docs=d["accounts"],
            ),
            TableContract(
                "contacts",
                s["contacts"],
                "contact_id",
                "cnt",
                (ForeignKey("account_id", "accounts"),),
                time_column="created_at",
                description="People at the accounts: title, persona role, seniority, buying role.",
                column_docs=d["contacts"],
            ),
            TableContract(
                "leads",
                s["leads"],
                "lead_id",
                "lead",
                (ForeignKey("contact_id", "contacts"), ForeignKey("account_id", "accounts")),
                time_column="lead_created_at",
                public=PublicView(drop=(label, "conversion_timestamp")),
                description="One row per lead: its contact, account, source and owner rep, final stage, "
                "label and conversion date.",
                column_docs=d["leads"],
            ),
            events("touches", "touch_id", "touch", "touch_timestamp", "Marketing and SDR touches."),
            events(
                "sessions",
                "session_id",
                "sess",
                "session_timestamp",
                "Website sessions with page, pricing and demo views.",
            ),
            events(
                "sales_activities",
                "activity_id",
                "act",
                "activity_timestamp",
                "Calls, emails, meetings and demos by the owner rep.",
            ),
            TableContract(
                "opportunities",
                s["opportunities"],
                "opportunity_id",
                "opp",
                by_lead,
                time_column="created_at",
                numbering="owner",
                owner="lead_id",
                rows_per_owner=1,
                public=PublicView(drop=("stage", *TERMINAL_COLUMNS), cut=snapshot),
                description="One per sales-qualified lead: stage, estimated ACV, close outcome and date.",
                column_docs=d["opportunities"],
            ),
            TableContract(
                "customers",
                s["customers"],
                "customer_id",
                "cust",
                (ForeignKey("opportunity_id", "opportunities"), ForeignKey("account_id", "accounts")),
                time_column="customer_start_at",
                numbering="owner",
                owner="opportunity_id",
                rows_per_owner=1,
                public=PublicView(omit=True),
                description="Accounts won through a lead's opportunity.",
                column_docs=d["customers"],
            ),
            TableContract(
                "subscriptions",
                s["subscriptions"],
                "subscription_id",
                "sub",
                (ForeignKey("customer_id", "customers"),),
                time_column="subscription_start_at",
                numbering="owner",
                owner="customer_id",
                rows_per_owner=1,
                public=PublicView(omit=True),
                description="The subscription each customer started.",
                column_docs=d["subscriptions"],
            ),
        )
    )
