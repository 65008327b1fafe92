"""``write_bundle``: the world's shards simulated and written through core's ``map_shards``.

``render.write`` declares the features and tasks, writes the world-level accounts table once,
then hands :func:`shard_task` (bound to the world with ``functools.partial``) to
``writer.map_shards``: shard ``k`` is simulated, rendered as full rows of the five
customer-level tables and every task's snapshot rows, and written, in-process or on a Dask
worker. Core projects the rows for the exposure mode, numbers the event tables and assigns
splits (one per customer, decided by the calendar churn task, declared first). A shard task
returns only its small :class:`ShardResult`; the driver adds them in shard order, so the card
and metadata figures do not depend on where or in which order shards ran. Instructor bundles
also get each shard's slice of ``latent_registry.json`` as a metadata part.

Snapshot distortions draw from ``distortions::<regime>::<shard>``, so each regime has its own
substream and a shard's noise does not depend on any other shard.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import pyarrow as pa
from leadforge.bundle import BundleWriter, ManifestFields, ShardOut
from leadforge.distortions import DistortionKnobs, distort

from leadforge_lifecycle import card, metadata, rates
from leadforge_lifecycle.calendar import FORWARD_WINDOWS_DAYS
from leadforge_lifecycle.catalog import CALENDAR, CATALOG, REGIMES, Regime, task_schema, tasks
from leadforge_lifecycle.snapshot import days_to_churn, snapshot
from leadforge_lifecycle.stats import BundleStats, LabelSummary
from leadforge_lifecycle.tables import accounts_table, shard_tables
from leadforge_lifecycle.world import LifecycleWorld, Shard

#: Accounts per row group of ``accounts.parquet``: the table is world-level (a third as many
#: accounts as customers), so it is rendered and written block by block.
ACCOUNT_BLOCK = 100_000


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


@dataclass(frozen=True)
class ShardResult:
    """What one shard task sends back to the driver: label summaries per regime and rate counts."""

    labels: tuple[LabelSummary, ...]
    rates: rates.RateCounts


def write(world: LifecycleWorld, writer: BundleWriter) -> BundleStats:
    """Write every table, task and the card; return the figures ``write_metadata`` needs."""
    regimes = regimes_for(writer.public)
    writer.declare_features(CATALOG)
    for regime in regimes:
        for spec in tasks(regime):
            writer.declare_task(spec, task_schema(spec.label_column))
    writer.set_manifest_fields(manifest_fields(world))
    for first, block in world.accounts.blocks(ACCOUNT_BLOCK):
        writer.write_table("accounts", accounts_table(block, world.calendar, first))
    results = writer.map_shards(
        partial(shard_task, world), world.n_shards, stage="simulating customer shards"
    )
    labels = {r.name: LabelSummary() for r in regimes}
    world_rates = rates.RateCounts()
    for result in results:
        for regime, summary in zip(regimes, result.labels, strict=True):
            labels[regime.name] = labels[regime.name] + summary
        world_rates = world_rates + result.rates
    stats = BundleStats(table_rows=writer.rows_written(), labels=labels, rates=world_rates)
    writer.write_dataset_card(card.render(world, writer.mode, stats, writer.reproduce.markdown()))
    return stats


def shard_task(world: LifecycleWorld, out: ShardOut) -> ShardResult:
    """Simulate shard ``out.index``, write its rows (and registry part) and return its figures."""
    shard = world.simulate(out.index)
    knobs = DistortionKnobs.of(world.profile)
    summaries: list[LabelSummary] = []
    task_rows: dict[str, pa.Table] = {}
    for regime in regimes_for(out.public):
        summary, snaps = _snapshots(world, shard, regime, knobs)
        summaries.append(summary)
        task_rows.update(snaps)
    assert world.accounts.zone is not None
    times = world.rng.shard(out.index).generator("event_times")
    tables = shard_tables(shard, world.calendar, world.accounts.zone, times, as_of_observation=out.public)
    out.write(tables=tables, tasks=task_rows)
    if out.writes_metadata:
        out.metadata_part(metadata.REGISTRY, metadata.customer_part(shard.customers))
    return ShardResult(tuple(summaries), rates.of_trajectories(shard.trajectories, shard.health.active_users))


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
