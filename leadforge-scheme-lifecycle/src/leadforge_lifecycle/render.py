"""``write_bundle``: stream a world into the bundle, one shard at a time.

Each shard hands the writer full rows of the five customer-level tables and every task's
snapshot rows; core projects them for the exposure mode, numbers the event tables and
assigns splits (one per customer, decided by the calendar churn task, declared first).
Snapshot distortions draw from ``distortions::<regime>::<shard>``, so each regime has its own
substream and a shard's noise does not depend on any other shard.
"""

from __future__ import annotations

import pyarrow as pa
from leadforge.bundle import BundleWriter, ManifestFields
from leadforge.distortions import DistortionKnobs, distort

from leadforge_lifecycle import card, rates
from leadforge_lifecycle.calendar import FORWARD_WINDOWS_DAYS
from leadforge_lifecycle.catalog import CALENDAR, CATALOG, REGIMES, Regime, task_schema, tasks
from leadforge_lifecycle.snapshot import days_to_churn, snapshot
from leadforge_lifecycle.stats import BundleStats, LabelSummary
from leadforge_lifecycle.tables import accounts_table, shard_tables
from leadforge_lifecycle.world import LifecycleWorld, Shard


def manifest_fields(world: LifecycleWorld) -> ManifestFields:
    return ManifestFields(
        hidden={"motif_family": world.motif.name},
        extra={
            "observation_date": world.calendar.observation_date.isoformat(),
            "forward_windows_days": list(FORWARD_WINDOWS_DAYS),
            "early_tenure_weeks": world.calendar.early_tenure_weeks,
            "n_customers": world.n_customers,
        },
    )


def regimes_for(public: bool) -> tuple[Regime, ...]:
    """Public bundles omit the early regime: its windows overlap the published history."""
    return (CALENDAR,) if public else REGIMES


def write(world: LifecycleWorld, writer: BundleWriter) -> BundleStats:
    """Write every table, task and the card; return the figures ``write_metadata`` needs."""
    regimes = regimes_for(writer.public)
    writer.declare_features(CATALOG)
    for regime in regimes:
        for spec in tasks(regime):
            writer.declare_task(spec, task_schema(spec.label_column))
    writer.set_manifest_fields(manifest_fields(world))
    accounts = accounts_table(world.accounts, world.calendar)
    writer.write_table("accounts", accounts)
    labels = {r.name: LabelSummary() for r in regimes}
    knobs = DistortionKnobs.of(world.profile)
    world_rates = rates.RateCounts()
    for shard in world.shards():
        tables = shard_tables(shard, world.calendar, as_of_observation=writer.public)
        task_rows: dict[str, pa.Table] = {}
        for regime in regimes:
            summary, snaps = _snapshots(world, shard, regime, knobs)
            labels[regime.name] = labels[regime.name] + summary
            task_rows.update(snaps)
        writer.write_shard(shard.index, tables=tables, tasks=task_rows)
        world_rates = world_rates + rates.of_trajectories(shard.trajectories, shard.health.active_users)
        writer.progress(
            "simulating customers", shard.customers.first + len(shard.customers), world.n_customers
        )
        del shard, tables, task_rows
    stats = BundleStats(table_rows=writer.rows_written(), labels=labels, rates=world_rates)
    writer.write_dataset_card(card.render(world, writer.mode, stats))
    return stats


def _snapshots(
    world: LifecycleWorld, shard: Shard, regime: Regime, knobs: DistortionKnobs
) -> tuple[LabelSummary, dict[str, pa.Table]]:
    """The regime's label summary and, per task, its distorted snapshot rows of one shard."""
    snap = snapshot(shard, world.accounts, world.calendar, regime)
    summary = LabelSummary.of(snap, days_to_churn(shard, world.calendar, regime))
    g = world.rng.child("distortions").child(regime.name).generator(str(shard.index))
    snap = distort(snap, CATALOG, knobs, g)
    return summary, {
        spec.task_id: snap.select(task_schema(spec.label_column).names) for spec in tasks(regime)
    }
