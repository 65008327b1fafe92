"""From a world to bundle files: shard by shard into the tables and the task, then the card
and (instructor bundles) the hidden truth in ``metadata/``.

The scheme hands core full rows in every mode; core cuts, numbers and projects them as the
contract says, so nothing here branches on the exposure mode except what the card tells.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from leadforge.bundle import BundleWriter, ManifestFields, ShardOut, TaskSpec
from leadforge.bundle.tasks import OracleSpec
from leadforge.distortions import DistortionKnobs, distort
from leadforge.experiment import UPLIFT_COLUMN
from leadforge.features import FeatureSpec, catalog_schema
from leadforge.schema import Column, TableSchema

from leadforge_leadscoring import card, oracle, registry, snapshot, tables
from leadforge_leadscoring.catalog import acv_scale, task_catalog
from leadforge_leadscoring.stats import RunStats
from leadforge_leadscoring.world import LeadScoringWorld, SimulatedShard


def task_spec(world: LeadScoringWorld) -> TaskSpec:
    p = world.params
    label = p.primary_task
    window = p.feature_window
    return TaskSpec(
        task_id=label,
        task_type="binary_classification",
        label_column=label,
        label_window_days=p.label_window_days,
        primary_table="leads",
        key_column="lead_id",
        time_column="lead_created_at",
        segment_column="lead_source",
        description=(
            f"Will the lead close won within {p.label_window_days} days of its creation? The label is "
            f"the simulated close-won event (never sampled). Features describe each lead's first "
            f"{window} days (its snapshot anchor is lead_created_at + {window} days), except the "
            "deliberate leakage trap total_touches_all."
        ),
        oracle=OracleSpec(
            column=oracle.COLUMN,
            method="exact",
            description=oracle.DESCRIPTION,
            uplift=UPLIFT_COLUMN if world.config.experiment is not None else "",
        ),
    )


def catalog_of(world: LeadScoringWorld) -> tuple[FeatureSpec, ...]:
    p = world.params
    experiment = world.config.experiment is not None
    e = world.mechanisms.engine
    return task_catalog(
        p.primary_task,
        p.feature_window,
        p.label_window_days,
        experiment=experiment,
        acv=acv_scale(e.acv_medians, e.acv_sigma),
    )


def task_schema(world: LeadScoringWorld) -> TableSchema:
    """The task rows' columns: the catalog's, then the answer key's (which core keeps out of
    the splits)."""
    extra = [Column(oracle.COLUMN, "Float64")]
    if world.config.experiment is not None:
        extra.append(Column(UPLIFT_COLUMN, "Float64"))
    return TableSchema.of([*catalog_schema(catalog_of(world)).columns, *extra])


def manifest_fields(world: LeadScoringWorld) -> ManifestFields:
    p = world.params
    return ManifestFields(
        config={
            "n_accounts": p.n_accounts,
            "n_contacts": p.n_contacts,
            "n_leads": p.n_leads,
            "horizon_days": p.horizon_days,
            "primary_task": p.primary_task,
            "label_window_days": p.label_window_days,
            "snapshot_day": p.snapshot_day,
            "shard_accounts": p.shard_accounts,
            "shard_leads": p.shard_leads,
        },
        hidden={"motif_family": world.graph.motif_family},
    )


def task_rows(world: LeadScoringWorld, sim: SimulatedShard, knobs: DistortionKnobs) -> pa.Table:
    """One shard's snapshot rows after the tier's render-time distortions, with the answer key."""
    p = world.params
    features = snapshot.build(sim, world.vocab, p.feature_window, p.label_window_days, p.primary_task)
    rng = world.rng.shard(sim.shard.index).generator("snapshot_distortions")
    rows = within_window(distort(features, catalog_of(world), knobs, rng), p.feature_window)
    return rows.append_column(oracle.COLUMN, pa.array(answer_key(world, sim), type=pa.float64()))


def answer_key(world: LeadScoringWorld, sim: SimulatedShard) -> np.ndarray:
    """Each lead's oracle: P(closed won by the label window | its state at the anchor)."""
    p = world.params
    return oracle.at_anchor(
        sim.hazards, world.mechanisms.engine, sim.states, p.feature_window, p.label_window_days
    )


def true_uplift(world: LeadScoringWorld, sim: SimulatedShard) -> np.ndarray:
    """Each lead's true effect of the experiment's treatment on its label: the oracle from its
    creation (where the arm is assigned) under treatment minus under control."""
    assert sim.arms is not None
    p, e = world.params, world.mechanisms.engine
    treated = oracle.from_creation(sim.arms.treatment, e, p.horizon_days, p.label_window_days)
    control = oracle.from_creation(sim.arms.control, e, p.horizon_days, p.label_window_days)
    return np.asarray(treated - control)


#: Features measured in days before the anchor: a distortion must not push them past the window.
WINDOW_DAYS = ("days_since_first_touch", "days_since_last_touch")


def within_window(rows: pa.Table, window: int) -> pa.Table:
    """``rows`` with the day-count features clipped to ``[0, window]`` (nulls kept): noise and
    outliers may blur a value, never move it outside what it can mean."""
    for name in WINDOW_DAYS:
        if name not in rows.column_names:
            continue
        col = rows.column(name)
        clipped = pc.min_element_wise(pc.max_element_wise(col, pa.scalar(0.0)), pa.scalar(float(window)))
        rows = rows.set_column(rows.column_names.index(name), name, clipped)
    return rows


def write(world: LeadScoringWorld, writer: BundleWriter) -> RunStats:
    """Every shard's tables and task rows (on the writer's engine), then the card; returns what
    the run measured."""
    writer.declare_features(catalog_of(world))
    writer.set_manifest_fields(manifest_fields(world))
    writer.declare_task(task_spec(world), task_schema(world))
    per_shard = writer.map_shards(partial(write_shard, world), len(world.plan))
    stats = replace(sum(per_shard, RunStats.empty()), rows=writer.rows_written())
    writer.write_dataset_card(card.render(world, writer.mode, stats, writer.reproduce.markdown()))
    return stats


def write_shard(world: LeadScoringWorld, out: ShardOut) -> RunStats:
    """Simulate shard ``out.index`` and write its rows (and, with hidden truth, its registry lines)."""
    p = world.params
    label = p.primary_task
    sim = world.simulate(world.plan[out.index])
    rows = task_rows(world, sim, DistortionKnobs.of(world.profile))
    if sim.arms is not None:
        rows = rows.append_column(UPLIFT_COLUMN, pa.array(true_uplift(world, sim), type=pa.float64()))
    out.write(
        tables=tables.build(
            sim, world.vocab, world.rng.shard(sim.shard.index), label=label, label_window=p.label_window_days
        ),
        tasks={label: rows},
    )
    if out.writes_metadata:
        for k, data in enumerate(registry.parts(sim.shard, sim.population)):
            out.metadata_part(registry.part_key(k), data)
    labels = np.asarray(rows.column(label).to_numpy(zero_copy_only=False), dtype=bool)
    return RunStats.of_shard(sim, labels)
