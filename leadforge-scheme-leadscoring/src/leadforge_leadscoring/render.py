"""From a world to bundle files: shard by shard into the tables and the task, then the card
and (instructor bundles) the hidden truth in ``metadata/``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
from leadforge.bundle import BundleWriter, ManifestFields, StructuralRedactions, TaskSpec
from leadforge.distortions import DistortionKnobs, distort
from leadforge.enums import ExposureMode
from leadforge.features import catalog_schema

from leadforge_leadscoring import card, registry, snapshot, tables
from leadforge_leadscoring import vocab as V
from leadforge_leadscoring.world import LeadScoringWorld, SimulatedShard


@dataclass
class RunStats:
    """What the dataset card reports, counted while the shards stream by."""

    rows: dict[str, int] = field(default_factory=dict)
    leads: int = 0
    positives: int = 0
    converted_in_horizon: int = 0
    final_stages: np.ndarray = field(default_factory=lambda: np.zeros(len(V.STAGES), dtype=np.int64))

    def add(self, name: str, n: int) -> None:
        self.rows[name] = self.rows.get(name, 0) + n

    @property
    def positive_rate(self) -> float:
        return self.positives / self.leads if self.leads else 0.0


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
        description=(
            f"Will the lead close won within {p.label_window_days} days of its creation? The label is "
            f"the simulated close-won event (never sampled). Features describe each lead's first "
            f"{window} days (its snapshot anchor is lead_created_at + {window} days), except the "
            "deliberate leakage trap total_touches_all."
        ),
    )


def manifest_fields(world: LeadScoringWorld, public: bool) -> ManifestFields:
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
        },
        hidden={"motif_family": world.graph.motif_family},
        relational_snapshot_safe=public,
        structural_redactions=StructuralRedactions(
            columns=tables.public_redactions(p.primary_task), omitted_tables=tables.PUBLIC_OMITTED
        )
        if public
        else StructuralRedactions(),
    )


def task_rows(world: LeadScoringWorld, sim: SimulatedShard) -> pa.Table:
    """One shard's snapshot rows after the tier's render-time distortions."""
    p, profile = world.params, world.profile
    label = p.primary_task
    features = snapshot.build(sim, world.vocab, p.feature_window, p.label_window_days, label)
    knobs = DistortionKnobs(profile.noise_scale, profile.missing_rate, profile.outlier_rate)
    catalog = snapshot.catalog(label, p.feature_window, p.label_window_days)
    rng = world.shard_rng(sim.shard.index).generator("snapshot_distortions")
    return distort(features, catalog, knobs, rng)


def write(world: LeadScoringWorld, writer: BundleWriter) -> RunStats:
    p = world.params
    public = writer.mode is ExposureMode.STUDENT_PUBLIC
    label = p.primary_task
    catalog = snapshot.catalog(label, p.feature_window, p.label_window_days)
    writer.declare_features(catalog)
    writer.set_manifest_fields(manifest_fields(world, public))
    schemas = tables.public_schemas(label) if public else tables.schemas(label)
    sinks = {name: writer.open_table(name, schema) for name, schema in schemas.items()}
    task = writer.open_task(task_spec(world), catalog_schema(catalog))
    stats = RunStats()
    offsets = tables.Offsets()
    cutoff = p.snapshot_day if public else None
    total = len(world.plan)
    for i, sim in enumerate(world.shards()):
        built = tables.build(
            sim, world.vocab, offsets, label=label, label_window=p.label_window_days, cutoff=cutoff
        )
        offsets = built.offsets
        for name, sink in sinks.items():
            chunk = built.tables[name]
            if chunk.num_rows:
                sink.append(chunk)
            stats.add(name, chunk.num_rows)
        rows = task_rows(world, sim)
        if rows.num_rows:
            task.append(rows)
        labels = np.asarray(rows.column(label).to_numpy(zero_copy_only=False), dtype=bool)
        stats.leads += labels.size
        stats.positives += int(labels.sum())
        stats.converted_in_horizon += int(sim.converted.sum())
        stats.final_stages += np.bincount(sim.states.final, minlength=len(V.STAGES))
        writer.progress("simulating shards", i + 1, total)
    for sink in sinks.values():
        sink.close()
    task.close()
    writer.write_dataset_card(card.render(world, writer.mode, stats))
    return stats


def write_metadata(world: LeadScoringWorld, writer: BundleWriter) -> None:
    """Hidden truth: the graph that ran, every latent trait, and the mechanisms after difficulty."""
    s = world.mechanisms.model.signal_strength
    writer.write_metadata_json("graph.json", world.graph.to_json(s))
    writer.write_metadata_text("graph.graphml", world.graph.to_graphml(s))
    writer.write_metadata_text("latent_registry.json", registry.render(_populations(world)))
    writer.write_metadata_json("mechanism_summary.json", world.mechanisms.summary())


def _populations(world: LeadScoringWorld) -> Iterator[registry.ShardLatents]:
    for shard in world.plan:
        yield registry.ShardLatents.of(shard, world.population(shard))
