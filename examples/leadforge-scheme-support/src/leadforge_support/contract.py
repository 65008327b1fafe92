"""The support scheme's tables, and what a public bundle keeps of them.

Core enforces this declaration: the writer applies the public projection, and ``validate``
checks keys, references, dtypes and time order from it. Customers and agents are numbered from
the parameters, known before anything is simulated. Tickets carry the queue's outcome (status,
resolution date, resolving agent), and the tickets opened after a given one are the load it
will face, so the public bundle omits the whole table: the task rows hold what was known when
each ticket was opened.
"""

from __future__ import annotations

from leadforge.bundle import ForeignKey, PublicView, RelationalContract, TableContract
from leadforge.config import GenerationConfig
from leadforge.schema import TableSchema

CUSTOMERS = TableSchema.of(
    [
        ("customer_id", "string"),
        ("plan", "string"),
        ("seats", "Int64"),
        ("signup_date", "string"),
        ("tickets_opened", "Int64"),
    ]
)
AGENTS = TableSchema.of([("agent_id", "string"), ("shift", "string")])
TICKETS = TableSchema.of(
    [
        ("ticket_id", "string"),
        ("customer_id", "string"),
        ("created_at", "string"),
        ("priority", "string"),
        ("channel", "string"),
        ("category", "string"),
        ("message_chars", "Int64"),
        ("status", "string"),
        ("resolved_at", "string"),
        ("resolved_by_agent_id", "string"),
    ]
)
#: What the queue did to a ticket: enough to rebuild the label.
TICKET_TRUTH = ("status", "resolved_at", "resolved_by_agent_id")
#: The customer record's running ticket count at export time counts tickets opened after any
#: task ticket, so it is end-of-horizon knowledge.
CUSTOMER_HORIZON = ("tickets_opened",)


def contract(config: GenerationConfig) -> RelationalContract:
    return RelationalContract(
        (
            TableContract(
                "customers",
                CUSTOMERS,
                primary_key="customer_id",
                id_prefix="cust",
                time_column="signup_date",
                public=PublicView(drop=CUSTOMER_HORIZON),
                description="One row per customer account: plan, seats and signup date.",
            ),
            TableContract(
                "agents",
                AGENTS,
                primary_key="agent_id",
                id_prefix="agent",
                description="One row per support agent and the shift they work.",
            ),
            TableContract(
                "tickets",
                TICKETS,
                primary_key="ticket_id",
                id_prefix="tkt",
                foreign_keys=(
                    ForeignKey("customer_id", "customers"),
                    ForeignKey("resolved_by_agent_id", "agents", nullable=True),
                ),
                time_column="created_at",
                public=PublicView(omit=True),
                description="One row per ticket, with how and when the queue resolved it.",
            ),
        )
    )
