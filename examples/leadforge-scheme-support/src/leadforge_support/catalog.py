"""The task table of the support scheme: one spec per column, and the task it serves.

The catalog drives the feature dictionary, the distortions and the task schema. Every feature
is known when a ticket is opened; the label is what the queue did afterwards.
"""

from __future__ import annotations

from leadforge.bundle import TaskSpec
from leadforge.features import FeatureSpec, catalog_schema
from leadforge.schema import TableSchema

from leadforge_support.params import SLA_DAYS

TASK_ID = "sla_breached"

CATALOG = (
    FeatureSpec(
        "ticket_id", "string", "Opaque ticket identifier (join key, not a feature).", "ids", distort=False
    ),
    FeatureSpec("customer_id", "string", "Opaque customer identifier (join key).", "ids", distort=False),
    FeatureSpec("plan", "string", "Customer's plan when the ticket was opened.", "customer"),
    FeatureSpec("seats", "Int64", "Licensed seats of the customer.", "customer", non_negative=True),
    FeatureSpec("priority", "string", "Ticket priority: urgent, high, normal or low.", "ticket"),
    FeatureSpec("channel", "string", "Channel the ticket came in through.", "ticket"),
    FeatureSpec("category", "string", "Ticket category.", "ticket"),
    FeatureSpec("created_weekday", "string", "Weekday the ticket was opened.", "ticket"),
    FeatureSpec("created_at", "string", "Date the ticket was opened (YYYY-MM-DD).", "ticket", distort=False),
    FeatureSpec(
        "message_chars", "Int64", "Length of the opening message in characters.", "ticket", non_negative=True
    ),
    FeatureSpec(
        "backlog_at_creation",
        "Int64",
        "Open tickets in the queue when the day began.",
        "queue",
        non_negative=True,
    ),
    FeatureSpec("agents_on_duty", "Int64", "Agents on duty that day.", "queue", non_negative=True),
    FeatureSpec(
        "customer_tickets_last_30d",
        "Int64",
        "Tickets the customer opened in the previous 30 days.",
        "history",
        non_negative=True,
    ),
    FeatureSpec(
        "customer_breaches_last_30d",
        "Int64",
        "Tickets of the customer whose SLA lapsed unresolved in the previous 30 days.",
        "history",
        non_negative=True,
    ),
    FeatureSpec(
        "customer_sentiment",
        "Float64",
        "Sentiment score of the customer's recent messages (noisy).",
        "history",
        # about its median and standard deviation in the default world: where outliers land, the
        # unit of the noise
        center=-0.13,
        spread=0.45,
    ),
    FeatureSpec(
        TASK_ID,
        "boolean",
        "Target: the ticket was not resolved within its priority's SLA "
        "(urgent 1, high 2, normal 4, low 7 days).",
        "target",
        is_target=True,
        distort=False,
    ),
)

TASK = TaskSpec(
    task_id=TASK_ID,
    task_type="binary_classification",
    label_column=TASK_ID,
    label_window_days=max(SLA_DAYS.values()),
    primary_table="tickets",
    key_column="ticket_id",
    description="Will this ticket breach its resolution SLA? Features are known when the ticket is "
    "opened; tickets of the first week (while the queue fills) and tickets whose SLA deadline falls "
    "after the horizon are left out.",
)


def task_schema() -> TableSchema:
    return catalog_schema(CATALOG)
