"""The six relational tables, declared once: schemas, keys, time order and the public view.

Core writes and validates every lifecycle bundle against this contract. Accounts, customers and
subscriptions carry ids the scheme numbers from the population plan; the three event tables
are numbered by core per shard. A public bundle drops the end-of-simulation outcome columns
of ``subscriptions`` and cuts the event tables at the observation date.
"""

from __future__ import annotations

import datetime as dt

from leadforge.bundle import Cutoff, ForeignKey, PublicView, RelationalContract, TableContract
from leadforge.bundle.contract import DATE, UTC_TIMESTAMP, ColumnDoc
from leadforge.config import GenerationConfig
from leadforge.experiment import TREATMENT_COLUMN
from leadforge.schema import TableSchema

from leadforge_lifecycle.calendar import Calendar
from leadforge_lifecycle.engine import CHURN_REASONS, EVENT_TYPES, INVOICE_STATUSES
from leadforge_lifecycle.params import LifecycleParams
from leadforge_lifecycle.population import EMPLOYEE_BANDS, MATURITY_BANDS, PLANS, REVENUE_BANDS

ACCOUNTS = TableSchema.of(
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
)
CUSTOMERS = TableSchema.of(
    [
        ("customer_id", "string"),
        ("account_id", "string"),
        ("customer_start_at", "date"),
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
        ("subscription_start_at", "date"),
        ("current_mrr", "Int64"),
        ("contract_term_months", "Int64"),
        ("renewal_count", "Int64"),
        ("expansion_count", "Int64"),
        ("subscription_end_at", "date"),
        ("churn_at", "date"),
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
        ("event_timestamp", "timestamp"),
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
        ("period_start", "date"),
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
        ("invoice_date", "date"),
        ("amount_usd", "Int64"),
        ("payment_status", "string"),
    ]
)


MRR = "USD per month"
TERM = "Contract term in months (12 or 24)."


#: What every column of every table means.
DOCS: dict[str, dict[str, ColumnDoc]] = {
    "accounts": {
        "account_id": ColumnDoc.identifier("account"),
        "company_name": ColumnDoc(
            "Synthetic company name drawn from the recipe pack's word lists (never from the id)."
        ),
        "industry": ColumnDoc("Industry, one of the recipe narrative's target industries."),
        "region": ColumnDoc("Sales region, one of the recipe narrative's geographies."),
        "employee_band": ColumnDoc("Company size band.", "employees", EMPLOYEE_BANDS),
        "estimated_revenue_band": ColumnDoc("Annual revenue band.", "USD", REVENUE_BANDS),
        "process_maturity_band": ColumnDoc("Maturity of the buying process.", "", MATURITY_BANDS),
        "time_zone": ColumnDoc("IANA time zone of the account's main office (a zone of its region)."),
        "created_at": ColumnDoc(
            "Day the account entered the CRM, before any of its customers started.", DATE
        ),
    },
    "customers": {
        "customer_id": ColumnDoc.identifier("customer"),
        "account_id": ColumnDoc.reference("account"),
        "customer_start_at": ColumnDoc("Day the customer signed and its subscription started.", DATE),
        "initial_plan": ColumnDoc("Plan signed.", "", PLANS),
        "initial_mrr": ColumnDoc("Monthly recurring revenue at signing.", MRR),
        "contract_term_months": ColumnDoc(TERM, "months"),
        "csm_rep_id": ColumnDoc("Customer success manager assigned (rep_000001 …)."),
        "opportunity_id": ColumnDoc("Originating sales opportunity; not simulated, always empty."),
    },
    "subscriptions": {
        "subscription_id": ColumnDoc.identifier("subscription"),
        "customer_id": ColumnDoc.reference("customer"),
        "plan_name": ColumnDoc("Plan at signing.", "", PLANS),
        "subscription_status": ColumnDoc("Status at the end of the simulation.", "", ("active", "churned")),
        "subscription_start_at": ColumnDoc("Day the subscription started.", DATE),
        "current_mrr": ColumnDoc("Monthly recurring revenue at the end of the simulation.", MRR),
        "contract_term_months": ColumnDoc(TERM, "months"),
        "renewal_count": ColumnDoc("Renewals over the simulation.", "count"),
        "expansion_count": ColumnDoc("Expansions over the simulation.", "count"),
        "subscription_end_at": ColumnDoc("Day the subscription ended; empty while active.", DATE),
        "churn_at": ColumnDoc("Day the customer churned; empty while active.", DATE),
        "churn_reason": ColumnDoc("Why the customer churned; empty while active.", "", CHURN_REASONS),
        "current_plan": ColumnDoc("Plan at the end of the simulation.", "", PLANS),
        "downgrade_count": ColumnDoc("Contractions over the simulation.", "count"),
    },
    "subscription_events": {
        "event_id": ColumnDoc.identifier("subscription event"),
        "subscription_id": ColumnDoc.reference("subscription"),
        "customer_id": ColumnDoc.reference("customer"),
        "event_timestamp": ColumnDoc(
            "When the event happened: a working-hours time in the account's time zone for "
            "expansions and contractions, the term end for renewals, the billing date for payment "
            "events. Its UTC date is the day the event is dated on.",
            UTC_TIMESTAMP,
        ),
        "event_type": ColumnDoc("What happened to the subscription.", "", EVENT_TYPES),
        "mrr_before": ColumnDoc("Monthly recurring revenue just before the event.", MRR),
        "mrr_after": ColumnDoc("Monthly recurring revenue just after the event.", MRR),
        "contract_term_months_new": ColumnDoc(
            "New contract term of a renewal; empty for other events.", "months"
        ),
    },
    "health_signals": {
        "signal_id": ColumnDoc.identifier("health signal"),
        "customer_id": ColumnDoc.reference("customer"),
        "period_start": ColumnDoc("First day of the tenure week the signal covers.", DATE),
        "active_users": ColumnDoc("Users active in the week.", "users"),
        "feature_depth_score": ColumnDoc(
            "Breadth of product use in the week, 0 (none) to 1 (full).", "score 0-1"
        ),
        "support_tickets": ColumnDoc("Support tickets opened in the week.", "count"),
        "nps_score": ColumnDoc("Net Promoter Score answer, when surveyed and answered; else empty.", "0-10"),
    },
    "invoices": {
        "invoice_id": ColumnDoc.identifier("invoice"),
        "customer_id": ColumnDoc.reference("customer"),
        "invoice_date": ColumnDoc(
            "Day the invoice was issued: the monthly anniversary of the start (month-end clamped).", DATE
        ),
        "amount_usd": ColumnDoc("Amount invoiced.", "USD"),
        "payment_status": ColumnDoc(
            "Payment status; public bundles show it as of the observation date.", "", INVOICE_STATUSES
        ),
    },
}


def relational_contract(observation: dt.date, experiment: str | None = None) -> RelationalContract:
    """The contract for a world observed on ``observation`` (the public cutoff); with a designed
    ``experiment`` the customers carry their public arm."""
    cut = PublicView(cut=Cutoff(date=observation))
    customers, customer_docs = CUSTOMERS, DOCS["customers"]
    if experiment is not None:
        customers = TableSchema.of([*CUSTOMERS.columns, (TREATMENT_COLUMN, "boolean")])
        customer_docs = {
            **customer_docs,
            TREATMENT_COLUMN: ColumnDoc(
                f"Designed experiment ({experiment}: lever=value@treated share): the customer was "
                "randomised to the treatment, which acts from the first week after the observation "
                "date (False: the usual policy)."
            ),
        }
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
                column_docs=DOCS["accounts"],
            ),
            TableContract(
                "customers",
                customers,
                primary_key="customer_id",
                id_prefix="cust",
                foreign_keys=(ForeignKey("account_id", "accounts"),),
                time_column="customer_start_at",
                description="One row per won customer, as signed.",
                column_docs=customer_docs,
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
                column_docs=DOCS["subscriptions"],
            ),
            TableContract(
                "subscription_events",
                EVENTS,
                primary_key="event_id",
                id_prefix="subev",
                foreign_keys=(ForeignKey("subscription_id", "subscriptions"), customer),
                time_column="event_timestamp",
                numbering="owner",
                owner="customer_id",
                public=cut,
                description="Renewals, expansions, contractions, payment failures and recoveries, churn.",
                column_docs=DOCS["subscription_events"],
            ),
            TableContract(
                "health_signals",
                HEALTH,
                primary_key="signal_id",
                id_prefix="hsig",
                foreign_keys=(customer,),
                time_column="period_start",
                numbering="owner",
                owner="customer_id",
                public=cut,
                description="Weekly usage, support and survey telemetry per customer.",
                column_docs=DOCS["health_signals"],
            ),
            TableContract(
                "invoices",
                INVOICES,
                primary_key="invoice_id",
                id_prefix="inv",
                foreign_keys=(customer,),
                time_column="invoice_date",
                numbering="owner",
                owner="customer_id",
                public=cut,
                description="Monthly invoices; public bundles show each status as of the observation date.",
                column_docs=DOCS["invoices"],
            ),
        )
    )


def contract(config: GenerationConfig) -> RelationalContract:
    """``SchemeInfo.contract``: the contract of the world this configuration builds."""
    experiment = None if config.experiment is None else str(config.experiment)
    return relational_contract(Calendar.of(config.params_as(LifecycleParams)).observation_date, experiment)
