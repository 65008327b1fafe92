"""The six relational tables, declared once: schemas, keys, time order and the public view.

Core writes and validates every lifecycle bundle against this contract. Accounts, customers and
subscriptions carry ids the scheme numbers from the population plan; the three event tables
are numbered by core per shard. A public bundle drops the end-of-simulation outcome columns
of ``subscriptions`` and cuts the event tables at the observation date.
"""

from __future__ import annotations

import datetime as dt

from leadforge.bundle import Cutoff, ForeignKey, PublicView, RelationalContract, TableContract
from leadforge.config import GenerationConfig
from leadforge.schema import TableSchema

from leadforge_lifecycle.calendar import Calendar
from leadforge_lifecycle.params import LifecycleParams

ACCOUNTS = TableSchema.of(
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
)
CUSTOMERS = TableSchema.of(
    [
        ("customer_id", "string"),
        ("account_id", "string"),
        ("customer_start_at", "string"),
        ("initial_plan", "string"),
        ("initial_mrr", "Int64"),
        ("contract_term_months", "Int64"),
        ("csm_rep_id", "string"),
        ("opportunity_id", "string"),
    ]
)
SUBSCRIPTIONS = TableSchema.of(
    [
        ("subscription_id", "string"),
        ("customer_id", "string"),
        ("plan_name", "string"),
        ("subscription_status", "string"),
        ("subscription_start_at", "string"),
        ("current_mrr", "Int64"),
        ("contract_term_months", "Int64"),
        ("renewal_count", "Int64"),
        ("expansion_count", "Int64"),
        ("subscription_end_at", "string"),
        ("churn_at", "string"),
        ("churn_reason", "string"),
        ("current_plan", "string"),
        ("downgrade_count", "Int64"),
    ]
)
#: What a public ``subscriptions`` keeps: the identity known at signing.
PUBLIC_SUBSCRIPTION_COLUMNS = (
    "subscription_id",
    "customer_id",
    "plan_name",
    "subscription_start_at",
    "contract_term_months",
)
#: End-of-simulation columns a public bundle drops from ``subscriptions``.
SUBSCRIPTION_OUTCOME_COLUMNS = tuple(n for n in SUBSCRIPTIONS.names if n not in PUBLIC_SUBSCRIPTION_COLUMNS)
EVENTS = TableSchema.of(
    [
        ("event_id", "string"),
        ("subscription_id", "string"),
        ("customer_id", "string"),
        ("event_timestamp", "string"),
        ("event_type", "string"),
        ("mrr_before", "Int64"),
        ("mrr_after", "Int64"),
        ("contract_term_months_new", "Int64"),
    ]
)
HEALTH = TableSchema.of(
    [
        ("signal_id", "string"),
        ("customer_id", "string"),
        ("period_start", "string"),
        ("active_users", "Int64"),
        ("feature_depth_score", "Float64"),
        ("support_tickets", "Int64"),
        ("nps_score", "Int64"),
    ]
)
INVOICES = TableSchema.of(
    [
        ("invoice_id", "string"),
        ("customer_id", "string"),
        ("invoice_date", "string"),
        ("amount_usd", "Int64"),
        ("payment_status", "string"),
    ]
)


def relational_contract(observation: dt.date) -> RelationalContract:
    """The contract for a world observed on ``observation`` (the public cutoff)."""
    cut = PublicView(cut=Cutoff(date=observation))
    customer = ForeignKey("customer_id", "customers")
    return RelationalContract(
        (
            TableContract(
                "accounts",
                ACCOUNTS,
                primary_key="account_id",
                id_prefix="acct",
                time_column="created_at",
                description="Companies that own one or more customers.",
            ),
            TableContract(
                "customers",
                CUSTOMERS,
                primary_key="customer_id",
                id_prefix="cust",
                foreign_keys=(ForeignKey("account_id", "accounts"),),
                time_column="customer_start_at",
                description="One row per won customer, as signed.",
            ),
            TableContract(
                "subscriptions",
                SUBSCRIPTIONS,
                primary_key="subscription_id",
                id_prefix="sub",
                foreign_keys=(customer,),
                time_column="subscription_start_at",
                public=PublicView(drop=SUBSCRIPTION_OUTCOME_COLUMNS),
                description="Each customer's subscription; instructor bundles hold its final state.",
            ),
            TableContract(
                "subscription_events",
                EVENTS,
                primary_key="event_id",
                id_prefix="subev",
                foreign_keys=(ForeignKey("subscription_id", "subscriptions"), customer),
                time_column="event_timestamp",
                numbering="shard",
                public=cut,
                description="Renewals, expansions, contractions, payment failures and recoveries, churn.",
            ),
            TableContract(
                "health_signals",
                HEALTH,
                primary_key="signal_id",
                id_prefix="hsig",
                foreign_keys=(customer,),
                time_column="period_start",
                numbering="shard",
                public=cut,
                description="Weekly usage, support and survey telemetry per customer.",
            ),
            TableContract(
                "invoices",
                INVOICES,
                primary_key="invoice_id",
                id_prefix="inv",
                foreign_keys=(customer,),
                time_column="invoice_date",
                numbering="shard",
                public=cut,
                description="Monthly invoices; public bundles show each status as of the observation date.",
            ),
        )
    )


def contract(config: GenerationConfig) -> RelationalContract:
    """``SchemeInfo.contract``: the contract of the world this configuration builds."""
    return relational_contract(Calendar.of(config.params_as(LifecycleParams)).observation_date)
