"""Hidden truth for instructor bundles: the graph that ran, every latent trait, and the
mechanisms after difficulty next to the rates the run realised."""

from __future__ import annotations

from leadforge.bundle import BundleWriter

from leadforge_leadscoring import registry
from leadforge_leadscoring.stats import RunStats
from leadforge_leadscoring.world import LeadScoringWorld


def write(world: LeadScoringWorld, writer: BundleWriter, stats: RunStats) -> None:
    """Hidden truth: the graph that ran, every latent trait (from the parts each shard wrote), and
    the mechanisms after difficulty next to the rates the run realised."""
    s = world.mechanisms.model.signal_strength
    writer.write_metadata_json("graph.json", world.graph.to_json(s))
    writer.write_metadata_text("graph.graphml", world.graph.to_graphml(s))
    writer.write_metadata_chunks("latent_registry.json", registry.assemble(writer.metadata_parts))
    writer.write_metadata_json(
        "mechanism_summary.json", {**world.mechanisms.summary(), "realised": stats.to_json()}
    )
