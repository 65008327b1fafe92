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

import numpy as np
import pyarrow as pa
from leadforge.bundle import BundleWriter, ManifestFields, ShardOut
from leadforge.distortions import DistortionKnobs, distort
from leadforge.experiment import TREATMENT_COLUMN, UPLIFT_COLUMN

from leadforge_lifecycle import card, metadata, oracle, rates
from leadforge_lifecycle.calendar import FORWARD_WINDOWS_DAYS
from leadforge_lifecycle.catalog import (
    CALENDAR,
    CHURN_TARGET,
    ORACLE_COLUMNS,
    REGIMES,
    REPLICATES,
    REVENUE_TARGETS,
    Regime,
    catalog,
    task_schema,
    tasks,
)
from leadforge_lifecycle.snapshot import cohort, days_to_churn, snapshot
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


def replicates_for(public: bool) -> int:
    """Futures per task row of the answer key (0: none, as in a public bundle)."""
    return 0 if public else REPLICATES


def write(world: LifecycleWorld, writer: BundleWriter) -> BundleStats:
    """Write every table, task and the card; return the figures ``write_metadata`` needs."""
    regimes = regimes_for(writer.public)
    experiment = world.config.experiment is not None
    replicates = replicates_for(writer.public)
    writer.declare_features(catalog(experiment))
    for regime in regimes:
        for spec in tasks(regime, oracle=replicates > 0, experiment=experiment):
            schema = task_schema(spec.label_column, oracle=replicates > 0, experiment=experiment)
            writer.declare_task(spec, schema)
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
    shard = world.simulate(out.index, anchors=replicates_for(out.public) > 0)
    knobs = DistortionKnobs.of(world.profile)
    summaries: list[LabelSummary] = []
    task_rows: dict[str, pa.Table] = {}
    for regime in regimes_for(out.public):
        summary, snaps = _snapshots(world, shard, regime, knobs, replicates_for(out.public))
        summaries.append(summary)
        task_rows.update(snaps)
    assert world.accounts.zone is not None
    times = world.rng.shard(out.index).generator("event_times")
    tables = shard_tables(shard, world.calendar, world.accounts.zone, times, as_of_observation=out.public)
    if shard.treatment is not None:
        tables["customers"][TREATMENT_COLUMN] = shard.treatment
    out.write(tables=tables, tasks=task_rows)
    if out.writes_metadata:
        out.metadata_part(metadata.REGISTRY, metadata.customer_part(shard.customers))
    return ShardResult(tuple(summaries), rates.of_trajectories(shard.trajectories, shard.health.active_users))


def _snapshots(
    world: LifecycleWorld, shard: Shard, regime: Regime, knobs: DistortionKnobs, replicates: int
) -> tuple[LabelSummary, dict[str, pa.Table]]:
    """The regime's label summary and, per task, its distorted snapshot rows of one shard (with
    the experiment's arm and, for instructors, the answer key)."""
    snap = snapshot(shard, world.accounts, world.calendar, regime)
    summary = LabelSummary.of(snap, days_to_churn(shard, world.calendar, regime))
    g = world.rng.child("distortions").child(regime.name).generator(str(shard.index))
    experiment = shard.treatment is not None
    snap = distort(snap, catalog(), knobs, g)
    who, d = cohort(shard, world.calendar, regime)
    if shard.treatment is not None:
        snap = snap.append_column(TREATMENT_COLUMN, pa.array(shard.treatment[who], pa.bool_()))
    key = answer_key(world, shard, regime, who, d, replicates) if replicates else {}
    out: dict[str, pa.Table] = {}
    for spec in tasks(regime):
        rows = snap.select(task_schema(spec.label_column, experiment=experiment).names)
        if replicates:
            column = ORACLE_COLUMNS[spec.label_column]
            rows = rows.append_column(column, pa.array(key[column], pa.float64()))
            if experiment:
                rows = rows.append_column(UPLIFT_COLUMN, pa.array(key[f"{column}:uplift"], pa.float64()))
        out[spec.task_id] = rows
    return summary, out


def answer_key(
    world: LifecycleWorld, shard: Shard, regime: Regime, who: np.ndarray, d: np.ndarray, replicates: int
) -> dict[str, np.ndarray]:
    """Each target's oracle column for the cohort rows ``who`` (and ``<column>:uplift`` with an
    experiment: the oracle under treatment minus under control, from the row's own state)."""
    if shard.treatment is None:
        fut = oracle.futures(world, shard, regime, who, d, shard.policy, replicates)
        return _columns(fut)
    b = shard.customers
    control = _columns(
        oracle.futures(world, shard, regime, who, d, world.policy(b, shard.treatment, "control"), replicates)
    )
    treated = _columns(
        oracle.futures(world, shard, regime, who, d, world.policy(b, shard.treatment, "treated"), replicates)
    )
    arm = shard.treatment[who]
    out: dict[str, np.ndarray] = {}
    for name in control:
        out[name] = np.where(arm, treated[name], control[name])
        out[f"{name}:uplift"] = treated[name] - control[name]
    return out


def _columns(fut: oracle.Futures) -> dict[str, np.ndarray]:
    cols = {ORACLE_COLUMNS[CHURN_TARGET]: fut.churn}
    for window, label in zip(FORWARD_WINDOWS_DAYS, REVENUE_TARGETS, strict=True):
        cols[ORACLE_COLUMNS[label]] = fut.revenue[window]
    return cols
