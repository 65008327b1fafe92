"""``write_bundle``: stream a world into the bundle, one shard at a time.

Every sink is opened once; each shard then appends one chunk to each relational table and to
each task (so every Parquet file gets one row group per shard, and memory holds one shard).
Snapshot distortions draw from ``distortions::<regime>::<shard>``, so each regime has its own
substream and a shard's noise does not depend on any other shard.
"""

from __future__ import annotations

from leadforge.bundle import BundleWriter, ManifestFields, StructuralRedactions
from leadforge.distortions import DistortionKnobs, distort
from leadforge.enums import ExposureMode

from leadforge_lifecycle import card, rates
from leadforge_lifecycle.calendar import FORWARD_WINDOWS_DAYS
from leadforge_lifecycle.catalog import CALENDAR, CATALOG, REGIMES, Regime, task_schema, tasks
from leadforge_lifecycle.snapshot import days_to_churn, snapshot
from leadforge_lifecycle.stats import BundleStats, LabelSummary
from leadforge_lifecycle.tables import (
    SUBSCRIPTION_OUTCOME_COLUMNS,
    Counters,
    accounts_table,
    schemas,
    shard_tables,
)
from leadforge_lifecycle.world import LifecycleWorld


def manifest_fields(world: LifecycleWorld, public: bool) -> ManifestFields:
    return ManifestFields(
        config={},
        hidden={"motif_family": world.motif.name},
        relational_snapshot_safe=public,
        structural_redactions=StructuralRedactions(
            columns={"subscriptions": SUBSCRIPTION_OUTCOME_COLUMNS} if public else {}
        ),
        extra={
            "observation_date": world.calendar.observation_date.isoformat(),
            "forward_windows_days": list(FORWARD_WINDOWS_DAYS),
            "early_tenure_weeks": world.calendar.early_tenure_weeks,
            "n_customers": world.n_customers,
        },
    )


def regimes_for(mode: ExposureMode) -> tuple[Regime, ...]:
    """Public bundles omit the early regime: its windows overlap the published history."""
    return (CALENDAR,) if mode is ExposureMode.STUDENT_PUBLIC else REGIMES


def write(world: LifecycleWorld, writer: BundleWriter) -> None:
    public = writer.mode is ExposureMode.STUDENT_PUBLIC
    writer.declare_features(CATALOG)
    writer.set_manifest_fields(manifest_fields(world, public))
    table_sinks = {name: writer.open_table(name, schema) for name, schema in schemas(public).items()}
    regimes = regimes_for(writer.mode)
    task_sinks = [
        (regime, spec, writer.open_task(spec, task_schema(spec.label_column)))
        for regime in regimes
        for spec in tasks(regime)
    ]
    profile = world.profile
    knobs = DistortionKnobs(profile.noise_scale, profile.missing_rate, profile.outlier_rate)
    observation = world.calendar.observation_date

    accounts = accounts_table(world.accounts)
    table_sinks["accounts"].append(accounts)
    rows = {name: 0 for name in table_sinks}
    rows["accounts"] = accounts.num_rows
    labels = {r.name: LabelSummary() for r in regimes}
    world_rates = rates.RateCounts()
    counters = Counters()
    for shard in world.shards():
        chunks, counters = shard_tables(shard, observation, counters, public)
        for name, chunk in chunks.items():
            table_sinks[name].append(chunk)
            rows[name] += chunk.num_rows
        world_rates = world_rates + rates.of_trajectories(shard.trajectories, shard.health.active_users)
        for regime in regimes:
            snap = snapshot(shard, world.accounts, world.calendar, regime)
            gone = days_to_churn(shard, world.calendar, regime)
            labels[regime.name] = labels[regime.name] + LabelSummary.of(snap, gone)
            g = world.rng.child("distortions").child(regime.name).generator(str(shard.index))
            snap = distort(snap, CATALOG, knobs, g)
            for r, spec, sink in task_sinks:
                if r is regime:
                    sink.append(snap.select(task_schema(spec.label_column).names))
        writer.progress(
            "simulating customers", shard.customers.first + len(shard.customers), world.n_customers
        )
        del shard, chunks
    for table_sink in table_sinks.values():
        table_sink.close()
    for _, _, task_sink in task_sinks:
        task_sink.close()
    stats = BundleStats(table_rows=rows, labels=labels, rates=world_rates)
    world.record.stats = stats
    writer.write_dataset_card(card.render(world, writer.mode, stats))
