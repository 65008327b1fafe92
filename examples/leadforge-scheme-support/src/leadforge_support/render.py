"""From a simulated helpdesk to bundle files: tables, the SLA task, the card, hidden truth."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from leadforge.bundle import BundleWriter, ManifestFields, StructuralRedactions, TaskSpec
from leadforge.columns import date_array, id_array, id_range
from leadforge.distortions import DistortionKnobs, distort
from leadforge.enums import ExposureMode
from leadforge.features import FeatureSpec, catalog_schema
from leadforge.rng import RNG
from leadforge.schema import TableSchema

from leadforge_support.params import PRIORITIES, SLA_DAYS
from leadforge_support.world import BASE_DATE, CHANNELS, SupportWorld

TASK_ID = "sla_breached"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TICKET_TRUTH = ("status", "resolved_at", "resolved_by_agent_id")

CUSTOMERS = TableSchema.of(
    [("customer_id", "string"), ("plan", "string"), ("seats", "Int64"), ("signup_date", "string")]
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


def write(world: SupportWorld, writer: BundleWriter) -> None:
    t = world.tickets
    public = writer.mode is ExposureMode.STUDENT_PUBLIC
    writer.declare_features(CATALOG)
    writer.set_manifest_fields(
        ManifestFields(
            config={
                "n_customers": world.params.n_customers,
                "n_agents": world.params.n_agents,
                "horizon_days": world.params.horizon_days,
            },
            hidden={"load_factor": world.profile.load_factor},
            relational_snapshot_safe=public,
            structural_redactions=StructuralRedactions(omitted_tables=("tickets",) if public else ()),
        )
    )
    plans = np.array([p.name for p in world.narrative.plans], dtype=object)
    c = world.customers
    writer.write_table(
        "customers",
        CUSTOMERS,
        {
            "customer_id": id_range("cust", 1, c.plan.size),
            "plan": plans[c.plan],
            "seats": c.seats,
            "signup_date": date_array(BASE_DATE, c.signup_offset),
        },
    )
    writer.write_table(
        "agents",
        AGENTS,
        {
            "agent_id": id_range("agent", 1, world.agent_skill.size),
            "shift": np.where(world.agent_weekend, "weekend", "weekday").astype(object),
        },
    )
    ticket_ids = id_range("tkt", 1, t.day.size)
    customer_ids = id_array("cust", t.customer + 1)
    created = date_array(BASE_DATE, t.day)
    cats = np.array([x.name for x in world.narrative.categories], dtype=object)
    if not public:
        resolved = t.resolved_day >= 0
        writer.write_table(
            "tickets",
            TICKETS,
            {
                "ticket_id": ticket_ids,
                "customer_id": customer_ids,
                "created_at": created,
                "priority": np.array(PRIORITIES, dtype=object)[t.priority],
                "channel": np.array(CHANNELS, dtype=object)[t.channel],
                "category": cats[t.category],
                "message_chars": t.message_chars,
                "status": np.where(resolved, "resolved", "open").astype(object),
                "resolved_at": pa.array(
                    date_array(BASE_DATE, np.maximum(t.resolved_day, 0)).to_pylist(), mask=~resolved
                ),
                "resolved_by_agent_id": _agent_ids(t.resolved_by),
            },
        )
    features = snapshot(world, ticket_ids, customer_ids, created, plans, cats)
    knobs = DistortionKnobs(world.profile.noise_scale, world.profile.missing_rate, world.profile.outlier_rate)
    features = distort(features, CATALOG, knobs, RNG(world.config.seed).generator("snapshot_distortions"))
    spec = TaskSpec(
        task_id=TASK_ID,
        task_type="binary_classification",
        label_column=TASK_ID,
        label_window_days=max(SLA_DAYS.values()),
        primary_table="tickets",
        key_column="ticket_id",
        description="Will this ticket breach its resolution SLA? Features are known when the ticket is "
        "opened; tickets whose SLA deadline falls after the horizon are left out.",
    )
    with writer.open_task(spec, catalog_schema(CATALOG)) as task:
        task.append(features)
    writer.write_dataset_card(
        card(
            world,
            writer,
            int(features.num_rows),
            float(np.mean(features.column(TASK_ID).to_numpy(zero_copy_only=False)))
            if features.num_rows
            else 0.0,
        )
    )


def _agent_ids(index: np.ndarray) -> pa.Array:
    ids = id_array("agent", np.maximum(index, 0) + 1)
    return pa.array(ids.to_pylist(), mask=index < 0, type=pa.large_string())


def snapshot(
    world: SupportWorld,
    ticket_ids: pa.Array,
    customer_ids: pa.Array,
    created: pa.Array,
    plans: np.ndarray,
    cats: np.ndarray,
) -> pa.Table:
    """One row per ticket whose SLA deadline lies inside the horizon; features known at opening."""
    t = world.tickets
    days = world.params.horizon_days
    span = days + 64
    key = t.customer * span + t.day
    opened = np.sort(key)
    recent = np.searchsorted(opened, key, "left") - np.searchsorted(opened, key - 30, "left")
    breached = t.breached
    lapse = np.sort((t.customer * span + t.deadline + 1)[breached])
    breaches = np.searchsorted(lapse, key, "right") - np.searchsorted(lapse, key - 30, "right")
    g = RNG(world.config.seed).generator("sentiment")
    sentiment = -0.6 * np.log(world.customers.demand[t.customer]) + g.normal(0.0, 0.35, t.day.size)
    weekday = (t.day + BASE_DATE.weekday()) % 7
    keep = t.deadline < days
    table = pa.table(
        {
            "ticket_id": ticket_ids,
            "customer_id": customer_ids,
            "plan": plans[world.customers.plan[t.customer]],
            "seats": world.customers.seats[t.customer],
            "priority": np.array(PRIORITIES, dtype=object)[t.priority],
            "channel": np.array(CHANNELS, dtype=object)[t.channel],
            "category": cats[t.category],
            "created_weekday": np.array(WEEKDAYS, dtype=object)[weekday],
            "created_at": created,
            "message_chars": t.message_chars,
            "backlog_at_creation": t.backlog,
            "agents_on_duty": t.agents_on_duty,
            "customer_tickets_last_30d": recent,
            "customer_breaches_last_30d": breaches,
            "customer_sentiment": sentiment,
            TASK_ID: breached,
        }
    )
    return catalog_schema(CATALOG).table(table.filter(pa.array(keep)))


def card(world: SupportWorld, writer: BundleWriter, rows: int, rate: float) -> str:
    cfg = world.config
    public = writer.mode is ExposureMode.STUDENT_PUBLIC
    tables = "customers, agents" if public else "customers, agents, tickets"
    return "\n".join(
        [
            f"# Support SLA Dataset — {cfg.difficulty.value.capitalize()} Tier",
            "",
            f"Synthetic helpdesk data for **{world.narrative.product}** by {world.narrative.company}: "
            f"{world.params.n_customers} customers raise tickets over {world.params.horizon_days} days and "
            f"{world.params.n_agents} agents work the queue by priority, then age.",
            "",
            "## Task",
            "",
            f"`{TASK_ID}`: will a ticket stay unresolved past its SLA "
            "(urgent 1, high 2, normal 4, low 7 days)? "
            f"{rows} tickets, {rate:.1%} breached. Splits are 70/15/15, stratified by the label, assigned "
            "from a hash of the ticket id and the seed.",
            "",
            "## Tables",
            "",
            f"This {writer.mode.value} bundle ships: {tables}."
            + (
                " The tickets table is withheld: its resolution columns would give the label away, and later "
                "tickets reveal the queue a ticket will face."
                if public
                else ""
            ),
            "",
            "## Reproducibility",
            "",
            f"Recipe `{cfg.recipe_id}`, seed {cfg.seed}, scheme `{cfg.scheme}`, "
            f"difficulty `{cfg.difficulty.value}`:",
            "",
            f"    leadforge generate --recipe {cfg.recipe_id} --seed {cfg.seed} --mode {writer.mode.value} "
            f"--difficulty {cfg.difficulty.value} --out <dir>",
        ]
    )


def write_metadata(world: SupportWorld, writer: BundleWriter) -> None:
    writer.write_metadata_json(
        "latents.json",
        {
            "customer_demand": {
                f"cust_{i + 1:06d}": round(float(v), 6) for i, v in enumerate(world.customers.demand)
            },
            "agent_skill": {
                f"agent_{i + 1:06d}": round(float(v), 6) for i, v in enumerate(world.agent_skill)
            },
        },
    )
    writer.write_metadata_json(
        "mechanism_summary.json",
        {
            "queue_discipline": "priority, then age, then ticket order",
            "sla_days": SLA_DAYS,
            "load_factor": world.profile.load_factor,
            "mean_ticket_effort": round(float(world.tickets.effort.mean()), 6)
            if world.tickets.effort.size
            else None,
        },
    )
