"""What a researcher may intervene on in a lead-scoring world, and how each lever acts.

Structural levers are do-operations on the hidden graph of *this* world (its sampled motif):
``node:<id>=VALUE`` holds a node at a standardised value for every lead, and
``edge:<src>-><dst>*FACTOR`` scales an edge's weight (``*0`` cuts it). Both act on the
equations after they were fitted: every node keeps the centre and scale it was standardised
with on the calibration population, and the disqualification and close-won calibration are the
factual world's, so nothing re-fits the intervention away. Policy levers change how the seller
works: ``policy:follow_up_speed`` scales every daily advance hazard of the funnel,
``policy:touch_cadence`` every lead's touch rate. Draws stay keyed by what they are for, so a
lead the intervention does not reach is byte-identical in both twins.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from leadforge.config import GenerationConfig
from leadforge.errors import UsageError
from leadforge.interventions import Intervention, Lever
from leadforge.rng import RNG

from leadforge_leadscoring.graph import HiddenGraph, sample_graph
from leadforge_leadscoring.mechanisms import Mechanisms, NodeEquation

#: Bounds of a node's standardised value (the calibration population lies within about ±4).
NODE_RANGE = (-4.0, 4.0)
#: Largest edge scale factor (beyond it the equations leave the range they were fitted on).
EDGE_MAX = 10.0
FOLLOW_UP_RANGE = (0.25, 4.0)
CADENCE_RANGE = (0.0, 4.0)
FOLLOW_UP = "policy:follow_up_speed"
CADENCE = "policy:touch_cadence"


@dataclass(frozen=True)
class Policy:
    """How the seller works: multipliers of the funnel's advance hazards and of touch rates."""

    follow_up_speed: float = 1.0
    touch_cadence: float = 1.0

    def under(self, interventions: Sequence[Intervention]) -> Policy:
        """This policy with the policy levers among ``interventions`` applied."""
        out = self
        for iv in interventions:
            if iv.lever == FOLLOW_UP:
                out = replace(out, follow_up_speed=iv.apply(out.follow_up_speed))
            elif iv.lever == CADENCE:
                out = replace(out, touch_cadence=iv.apply(out.touch_cadence))
        return out


def graph_levers(graph: HiddenGraph) -> list[Lever]:
    lo, hi = NODE_RANGE
    nodes = [
        Lever(
            f"node:{n.node_id}",
            f"hold the {n.node_type.replace('_', ' ')} node {n.label!r} at a standardised value",
            ops=("set",),
            low=lo,
            high=hi,
        )
        for n in graph.nodes
    ]
    edges = [
        Lever(
            f"edge:{e.source}->{e.target}",
            f"scale this edge's weight by a factor in [0, {EDGE_MAX:g}] (0 cuts it)",
            ops=("scale",),
        )
        for e in graph.edges
    ]
    return [*nodes, *edges]


POLICY_LEVERS = (
    Lever(
        FOLLOW_UP,
        "multiply every daily funnel advance hazard (faster follow-up), 1 = as is",
        ops=("set",),
        low=FOLLOW_UP_RANGE[0],
        high=FOLLOW_UP_RANGE[1],
    ),
    Lever(
        CADENCE,
        "multiply every lead's touch rate (nurture cadence), 1 = as is",
        ops=("set",),
        low=CADENCE_RANGE[0],
        high=CADENCE_RANGE[1],
    ),
)


def levers(config: GenerationConfig) -> list[Lever]:
    """The policy levers, then a lever per node and edge of this config's sampled graph."""
    return [*POLICY_LEVERS, *graph_levers(sample_graph(RNG(config.seed)))]


def _scaled(eq: NodeEquation, factors: dict[tuple[str, str], float]) -> NodeEquation:
    parents = tuple(replace(p, weight=p.weight * factors.get((p.source, p.target), 1.0)) for p in eq.parents)
    return replace(eq, parents=parents)


def apply(mechanisms: Mechanisms, graph: HiddenGraph, interventions: Sequence[Intervention]) -> Mechanisms:
    """The fitted mechanisms with the structural interventions applied (centres, scales and the
    hazard calibration kept); ``mechanisms`` itself when there are none."""
    nodes = {n.node_id for n in graph.nodes}
    edges = {(e.source, e.target) for e in graph.edges}
    fixed: list[tuple[str, float]] = []
    factors: dict[tuple[str, str], float] = {}
    for iv in interventions:
        kind, _, name = iv.lever.partition(":")
        if kind == "node":
            if name not in nodes:
                raise UsageError(f"--intervene {iv}: this world's graph has no node {name!r}")
            fixed.append((name, iv.value))
        elif kind == "edge":
            source, _, target = name.partition("->")
            if (source, target) not in edges:
                raise UsageError(f"--intervene {iv}: this world's graph has no edge {name!r}")
            if iv.op != "scale" or iv.value > EDGE_MAX:
                form = f"an edge takes *FACTOR with a factor in [0, {EDGE_MAX:g}]"
                raise UsageError(f"--intervene {iv}: {form}")
            factors[(source, target)] = iv.value
    if not fixed and not factors:
        return mechanisms
    model = mechanisms.model
    equations = tuple(_scaled(eq, factors) for eq in model.equations) if factors else model.equations
    return replace(mechanisms, model=replace(model, equations=equations, fixed=tuple(fixed)))
