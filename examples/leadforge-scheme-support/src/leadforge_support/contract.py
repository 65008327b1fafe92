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
from leadforge.bundle.contract import ColumnDoc
from leadforge.config import GenerationConfig
from leadforge.schema import TableSchema

from leadforge_support.params import PRIORITIES
from leadforge_support.world import CHANNELS

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
DATE = "ISO 8601 date"
#: What every column means (plans and categories come from the recipe's parameters).
DOCS: dict[str, dict[str, ColumnDoc]] = {
    "customers": {
        "customer_id": ColumnDoc("Identifier of the customer."),
        "plan": ColumnDoc("Support plan, one of the recipe's plans (cheapest first)."),
        "seats": ColumnDoc("Licensed seats.", "seats"),
        "signup_date": ColumnDoc("Day the customer signed up.", DATE),
        "tickets_opened": ColumnDoc("Tickets the customer opened over the whole horizon.", "count"),
    },
    "agents": {
        "agent_id": ColumnDoc("Identifier of the support agent."),
        "shift": ColumnDoc("Shift the agent works.", "", ("weekday", "weekend")),
    },
    "tickets": {
        "ticket_id": ColumnDoc("Identifier of the ticket."),
        "customer_id": ColumnDoc("The customer who opened the ticket."),
        "created_at": ColumnDoc("Day the ticket was opened.", DATE),
        "priority": ColumnDoc("Priority set when the ticket was opened.", "", PRIORITIES),
        "channel": ColumnDoc("Channel the ticket arrived through.", "", CHANNELS),
        "category": ColumnDoc("Topic of the ticket, one of the recipe's categories."),
        "message_chars": ColumnDoc("Length of the first message.", "characters"),
        "status": ColumnDoc("Status at the end of the horizon.", "", ("resolved", "open")),
        "resolved_at": ColumnDoc("Day the ticket was resolved; empty while open.", DATE),
        "resolved_by_agent_id": ColumnDoc("Agent who resolved the ticket; empty while open."),
    },
}


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
                column_docs=DOCS["customers"],
            ),
            TableContract(
                "agents",
                AGENTS,
                primary_key="agent_id",
                id_prefix="agent",
                description="One row per support agent and the shift they work.",
                column_docs=DOCS["agents"],
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
                column_docs=DOCS["tickets"],
            ),
        )
    )
