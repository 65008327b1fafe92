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
from leadforge.config import GenerationConfig
from leadforge.schema import TableSchema

from leadforge_leadscoring.params import LeadScoringParams

TERMINAL_COLUMNS = ("close_outcome", "closed_at")


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
                *((c, "string") for c in TERMINAL_COLUMNS),
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


def contract(config: GenerationConfig) -> RelationalContract:
    """The tables of a lead-scoring bundle for ``config`` (the label column is ``primary_task``)."""
    p = config.params_as(LeadScoringParams)
    label = p.primary_task
    s = schemas(label)
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
            numbering="shard",
            public=PublicView(cut=snapshot),
            description=description,
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
            ),
            TableContract(
                "contacts",
                s["contacts"],
                "contact_id",
                "cnt",
                (ForeignKey("account_id", "accounts"),),
                time_column="created_at",
                description="People at the accounts: title, persona role, seniority, buying role.",
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
                numbering="shard",
                public=PublicView(drop=("stage", *TERMINAL_COLUMNS), cut=snapshot),
                description="One per sales-qualified lead: stage, estimated ACV, close outcome and date.",
            ),
            TableContract(
                "customers",
                s["customers"],
                "customer_id",
                "cust",
                (ForeignKey("opportunity_id", "opportunities"), ForeignKey("account_id", "accounts")),
                time_column="customer_start_at",
                numbering="shard",
                public=PublicView(omit=True),
                description="Accounts won through a lead's opportunity.",
            ),
            TableContract(
                "subscriptions",
                s["subscriptions"],
                "subscription_id",
                "sub",
                (ForeignKey("customer_id", "customers"),),
                time_column="subscription_start_at",
                numbering="shard",
                public=PublicView(omit=True),
                description="The subscription each customer started.",
            ),
        )
    )
