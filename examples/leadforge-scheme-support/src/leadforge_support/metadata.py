"""Hidden truth for instructor bundles: the latent traits and the mechanism that ran."""

from __future__ import annotations

from leadforge.bundle import BundleWriter

from leadforge_support.params import SLA_DAYS
from leadforge_support.render import BundleStats
from leadforge_support.world import SupportWorld


def write(world: SupportWorld, writer: BundleWriter, stats: BundleStats) -> None:
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
            "task_breach_rate": round(stats.breach_rate, 6),
        },
    )
