"""From a simulated helpdesk to bundle files: full table rows, the SLA task and the card.

The scheme hands core full (instructor) rows in every exposure mode; the writer applies the
public projection declared in :mod:`leadforge_support.contract`, assigns the splits and
writes them in key order. The queue couples every ticket to every other, so the whole
helpdesk is one shard: ``write`` still hands it to ``writer.map_shards`` as a picklable task
(:func:`shard_task` bound to the world with ``functools.partial``), the one way a scheme's
shards reach core, so the same code runs in-process or on a Dask worker. Small world-level
tables (customers, agents) are written whole with ``writer.write_table``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import pyarrow as pa
from leadforge.bundle import BundleWriter, ManifestFields, ShardOut
from leadforge.columns import date_array, id_array, id_range
from leadforge.distortions import DistortionKnobs, distort
from leadforge.enums import ExposureMode

from leadforge_support.catalog import CATALOG, TASK, TASK_ID, task_schema
from leadforge_support.params import PRIORITIES
from leadforge_support.world import BASE_DATE, CHANNELS, WARMUP_DAYS, SupportWorld

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class BundleStats:
    """What rendering measured: the card reports it, and ``write_metadata`` receives it."""

    task_rows: int
    breached: int

    @property
    def breach_rate(self) -> float:
        return self.breached / self.task_rows if self.task_rows else 0.0


def write(world: SupportWorld, writer: BundleWriter) -> BundleStats:
    writer.declare_features(CATALOG)
    writer.declare_task(TASK, task_schema())
    writer.set_manifest_fields(
        ManifestFields(
            config={
                "n_customers": world.params.n_customers,
                "n_agents": world.params.n_agents,
                "horizon_days": world.params.horizon_days,
            },
            hidden={"load_factor": world.profile.load_factor},
        )
    )
    writer.write_table("customers", customers(world))
    writer.write_table("agents", agents(world))
    (stats,) = writer.map_shards(partial(shard_task, world), 1, stage="simulating the helpdesk")
    writer.write_dataset_card(card(world, writer, stats))
    return stats


def shard_task(world: SupportWorld, out: ShardOut) -> BundleStats:
    """The one shard: every ticket and the SLA task's rows; returns only the small figures."""
    knobs = DistortionKnobs.of(world.profile)
    features = distort(snapshot(world), CATALOG, knobs, world.rng.generator("snapshot_distortions"))
    out.write(tables={"tickets": tickets(world)}, tasks={TASK_ID: features})
    labels = features.column(TASK_ID).to_numpy(zero_copy_only=False)
    return BundleStats(features.num_rows, int(np.count_nonzero(labels)))


def _plans(world: SupportWorld) -> np.ndarray:
    return np.array([p.name for p in world.narrative.plans], dtype=object)


def _categories(world: SupportWorld) -> np.ndarray:
    return np.array([c.name for c in world.narrative.categories], dtype=object)


def customers(world: SupportWorld) -> dict[str, object]:
    c = world.customers
    return {
        "customer_id": id_range("cust", 1, c.plan.size),
        "plan": _plans(world)[c.plan],
        "seats": c.seats,
        "signup_date": date_array(BASE_DATE, c.signup_offset),
        "tickets_opened": np.bincount(world.tickets.customer, minlength=c.plan.size),
    }


def agents(world: SupportWorld) -> dict[str, object]:
    return {
        "agent_id": id_range("agent", 1, world.agent_skill.size),
        "shift": np.where(world.agent_weekend, "weekend", "weekday").astype(object),
    }


def tickets(world: SupportWorld) -> dict[str, object]:
    """Every ticket with its outcome; tickets are numbered in arrival order."""
    t = world.tickets
    resolved = t.resolved_day >= 0
    return {
        "ticket_id": id_range("tkt", 1, t.day.size),
        "customer_id": id_array("cust", t.customer + 1),
        "created_at": date_array(BASE_DATE, t.day),
        "priority": np.array(PRIORITIES, dtype=object)[t.priority],
        "channel": np.array(CHANNELS, dtype=object)[t.channel],
        "category": _categories(world)[t.category],
        "message_chars": t.message_chars,
        "status": np.where(resolved, "resolved", "open").astype(object),
        "resolved_at": pa.array(
            date_array(BASE_DATE, np.maximum(t.resolved_day, 0)).to_pylist(), mask=~resolved
        ),
        "resolved_by_agent_id": pa.array(
            id_array("agent", np.maximum(t.resolved_by, 0) + 1).to_pylist(), mask=t.resolved_by < 0
        ),
    }


def snapshot(world: SupportWorld) -> pa.Table:
    """One row per ticket opened after the warm-up whose SLA deadline lies inside the horizon;
    features known at opening."""
    t = world.tickets
    days = world.params.horizon_days
    span = days + 64
    key = t.customer * span + t.day
    opened = np.sort(key)
    recent = np.searchsorted(opened, key, "left") - np.searchsorted(opened, key - 30, "left")
    breached = t.breached
    lapse = np.sort((t.customer * span + t.deadline + 1)[breached])
    breaches = np.searchsorted(lapse, key, "right") - np.searchsorted(lapse, key - 30, "right")
    g = world.rng.generator("sentiment")
    sentiment = -0.6 * np.log(world.customers.demand[t.customer]) + g.normal(0.0, 0.35, t.day.size)
    weekday = (t.day + BASE_DATE.weekday()) % 7
    table = pa.table(
        {
            "ticket_id": id_range("tkt", 1, t.day.size),
            "customer_id": id_array("cust", t.customer + 1),
            "plan": _plans(world)[world.customers.plan[t.customer]],
            "seats": world.customers.seats[t.customer],
            "priority": np.array(PRIORITIES, dtype=object)[t.priority],
            "channel": np.array(CHANNELS, dtype=object)[t.channel],
            "category": _categories(world)[t.category],
            "created_weekday": np.array(WEEKDAYS, dtype=object)[weekday],
            "created_at": date_array(BASE_DATE, t.day),
            "message_chars": t.message_chars,
            "backlog_at_creation": t.backlog,
            "agents_on_duty": t.agents_on_duty,
            "customer_tickets_last_30d": recent,
            "customer_breaches_last_30d": breaches,
            "customer_sentiment": sentiment,
            TASK_ID: breached,
        }
    )
    return task_schema().table(table.filter(pa.array((t.day >= WARMUP_DAYS) & (t.deadline < days))))


def card(world: SupportWorld, writer: BundleWriter, stats: BundleStats) -> str:
    cfg = world.config
    public = writer.mode is ExposureMode.STUDENT_PUBLIC
    shipped = [t for t in writer.contract if not (public and t.public.omit)]
    tables = ", ".join(t.name for t in shipped)
    withheld = (
        " The tickets table is withheld: its resolution columns would give the label away, and later "
        "tickets reveal the queue a ticket will face. `customers.tickets_opened` (a count over the whole "
        "horizon) is dropped for the same reason."
    )
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
            f"{stats.task_rows} tickets, {stats.breach_rate:.1%} breached; tickets of the first "
            f"{WARMUP_DAYS} days, while the queue fills, are left out. Splits are 70/15/15, stratified by "
            "the label, assigned from a hash of the ticket id and the seed.",
            "",
            "## Tables",
            "",
            f"This {writer.mode.value} bundle ships: {tables}." + (withheld if public else ""),
            "",
            "## Reproducibility",
            "",
            f"Recipe `{cfg.recipe_id}`, seed {cfg.seed}, scheme `{cfg.scheme}`, "
            f"difficulty `{cfg.difficulty.value}`:",
            "",
            *writer.reproduce.markdown(),
        ]
    )
