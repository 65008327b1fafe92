"""The hidden causal graph: five motif families, stochastic rewiring, validity, export.

The sampled graph is the world's data-generating process, not a decoration: every node becomes a
structural equation over its parents (see :mod:`leadforge_leadscoring.mechanisms`), so a
dropped node, a jittered weight or the confounder changes the data.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import networkx as nx
import numpy as np
from leadforge.errors import GenerationError
from leadforge.rng import RNG

NODE_TYPES = (
    "global_context",
    "account_latent",
    "contact_latent",
    "lead_state",
    "engagement_state",
    "sales_process_state",
    "observable_feature_source",
    "outcome",
    "post_conversion_state",
)
ROOT_TYPES = ("global_context", "account_latent", "contact_latent")
LEAF_TYPES = ("outcome", "post_conversion_state")
MOTIF_FAMILIES = (
    "fit_dominant",
    "intent_dominant",
    "sales_execution_sensitive",
    "demo_trial_mediated",
    "buying_committee_friction",
)
OUTCOME = "conversion"
CONFOUNDER = "latent_confounder"
DROP_PROBABILITY = 0.4
JITTER = 0.15
CONFOUNDER_PROBABILITY = 0.35
ATTEMPTS = 20

#: How a parent's value travels along an edge: as is, saturating (tanh: more engagement
#: stops helping), or as a threshold (only values above the typical level count).
TRANSFERS = ("linear", "saturating", "threshold", "peaked")


@dataclass(frozen=True)
class Node:
    node_id: str
    node_type: str
    label: str
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    weight: float
    transfer: str = "linear"


@dataclass(frozen=True)
class _NodeDef:
    node_id: str
    node_type: str
    label: str
    optional: bool = False


@dataclass(frozen=True)
class Motif:
    name: str
    nodes: tuple[_NodeDef, ...]
    edges: tuple[tuple[str, str, float], ...]


def _n(node_id: str, node_type: str, label: str, optional: bool = False) -> _NodeDef:
    return _NodeDef(node_id, node_type, label, optional)


_GLOBAL = _n("global_ctx", "global_context", "Global context")
_CONVERSION = _n(OUTCOME, "outcome", "Converted within 90 days")

MOTIFS: dict[str, Motif] = {
    "fit_dominant": Motif(
        "fit_dominant",
        (
            _GLOBAL,
            _n("acct_fit", "account_latent", "Account fit"),
            _n("acct_maturity", "account_latent", "Process maturity", optional=True),
            _n("contact_authority", "contact_latent", "Contact authority", optional=True),
            _n("budget_readiness", "account_latent", "Budget readiness"),
            _n("lead_state", "lead_state", "Lead state"),
            _n("engagement", "engagement_state", "Engagement signal"),
            _CONVERSION,
        ),
        (
            ("global_ctx", "acct_fit", 0.3),
            ("global_ctx", "acct_maturity", 0.2),
            ("acct_fit", "lead_state", 0.7),
            ("acct_fit", "engagement", 0.5),
            ("acct_maturity", "lead_state", 0.4),
            ("budget_readiness", "lead_state", 0.5),
            ("contact_authority", "lead_state", 0.3),
            ("lead_state", "engagement", 0.4),
            ("lead_state", OUTCOME, 0.6),
            ("engagement", OUTCOME, 0.3),
        ),
    ),
    "intent_dominant": Motif(
        "intent_dominant",
        (
            _GLOBAL,
            _n("acct_fit", "account_latent", "Account fit", optional=True),
            _n("problem_awareness", "contact_latent", "Problem awareness"),
            _n("urgency", "lead_state", "Urgency / timing"),
            _n("engagement", "engagement_state", "Engagement signal"),
            _n("intent_score", "observable_feature_source", "Intent signal proxy"),
            _CONVERSION,
        ),
        (
            ("global_ctx", "problem_awareness", 0.25),
            ("acct_fit", "engagement", 0.2),
            ("problem_awareness", "urgency", 0.6),
            ("problem_awareness", "engagement", 0.6),
            ("urgency", "intent_score", 0.7),
            ("engagement", "intent_score", 0.6),
            ("intent_score", OUTCOME, 0.8),
            ("urgency", OUTCOME, 0.4),
        ),
    ),
    "sales_execution_sensitive": Motif(
        "sales_execution_sensitive",
        (
            _GLOBAL,
            _n("acct_fit", "account_latent", "Account fit"),
            _n("contact_responsiveness", "contact_latent", "Contact responsiveness", optional=True),
            _n("lead_state", "lead_state", "Lead state"),
            _n("sales_process", "sales_process_state", "Sales process quality"),
            _n("rep_quality", "sales_process_state", "Rep execution quality"),
            _n("sales_friction", "sales_process_state", "Process friction", optional=True),
            _CONVERSION,
        ),
        (
            ("global_ctx", "acct_fit", 0.3),
            ("global_ctx", "rep_quality", 0.2),
            ("acct_fit", "lead_state", 0.4),
            ("contact_responsiveness", "lead_state", 0.35),
            ("lead_state", "sales_process", 0.5),
            ("rep_quality", "sales_process", 0.6),
            ("rep_quality", "sales_friction", -0.5),
            ("sales_process", OUTCOME, 0.6),
            ("sales_friction", OUTCOME, -0.4),
        ),
    ),
    "demo_trial_mediated": Motif(
        "demo_trial_mediated",
        (
            _GLOBAL,
            _n("acct_fit", "account_latent", "Account fit"),
            _n("problem_awareness", "contact_latent", "Problem awareness"),
            _n("engagement", "engagement_state", "Top-of-funnel engagement"),
            _n("demo_completion", "lead_state", "Demo / trial completion"),
            _n("trial_depth", "observable_feature_source", "Trial depth proxy", optional=True),
            _n("sales_process", "sales_process_state", "Post-demo sales process"),
            _CONVERSION,
        ),
        (
            ("global_ctx", "acct_fit", 0.3),
            ("acct_fit", "engagement", 0.4),
            ("problem_awareness", "engagement", 0.5),
            ("engagement", "demo_completion", 0.6),
            ("acct_fit", "demo_completion", 0.4),
            ("demo_completion", "trial_depth", 0.7),
            ("demo_completion", "sales_process", 0.5),
            ("trial_depth", OUTCOME, 0.6),
            ("sales_process", OUTCOME, 0.4),
        ),
    ),
    "buying_committee_friction": Motif(
        "buying_committee_friction",
        (
            _GLOBAL,
            _n("acct_fit", "account_latent", "Account fit"),
            _n("contact_authority", "contact_latent", "Primary contact authority"),
            _n("committee_alignment", "contact_latent", "Committee alignment", optional=True),
            _n("lead_state", "lead_state", "Lead state"),
            _n("approval_friction", "sales_process_state", "Approval friction", optional=True),
            _n("engagement", "engagement_state", "Multi-stakeholder engagement"),
            _CONVERSION,
        ),
        (
            ("global_ctx", "acct_fit", 0.3),
            ("global_ctx", "committee_alignment", 0.2),
            ("acct_fit", "lead_state", 0.45),
            ("contact_authority", "lead_state", 0.5),
            ("committee_alignment", "approval_friction", -0.6),
            ("lead_state", "engagement", 0.4),
            ("engagement", "approval_friction", -0.3),
            ("contact_authority", "approval_friction", -0.4),
            ("approval_friction", OUTCOME, -0.5),
            ("lead_state", OUTCOME, 0.4),
            ("engagement", OUTCOME, 0.3),
        ),
    ),
}

#: The exogenous term of each node: the latent trait it carries (for roots, its value; for
#: derived nodes, the part its parents do not explain). Nodes not listed get fresh
#: lead-level noise; ``global_ctx`` is a market condition per industry x region segment and
#: ``rep_quality`` a property of the lead's sales rep.
EXOGENOUS = {
    "global_ctx": "segment",
    "acct_fit": "latent_account_fit",
    "acct_maturity": "latent_process_maturity",
    "budget_readiness": "latent_budget_readiness",
    "contact_authority": "latent_contact_authority",
    "problem_awareness": "latent_problem_awareness",
    "contact_responsiveness": "latent_responsiveness",
    "committee_alignment": "latent_committee_alignment",
    "engagement": "latent_engagement_propensity",
    "sales_friction": "latent_sales_friction",
    "approval_friction": "latent_sales_friction",
    "rep_quality": "rep",
}


def exogenous_for(node_id: str) -> str:
    if node_id.startswith(CONFOUNDER):
        return CONFOUNDER
    return EXOGENOUS.get(node_id, "noise")


_SATURATING_SOURCES = ("engagement_state", "observable_feature_source")
_THRESHOLD_SOURCES = ("budget_readiness", "contact_authority", "committee_alignment")


def transfer_for(node: Node, target: str = "") -> str:
    """Engagement saturates, and peaks on its way into the outcome; budget and authority only
    count above their typical level."""
    if node.node_type in _SATURATING_SOURCES:
        return "peaked" if target == OUTCOME else "saturating"
    if node.node_id in _THRESHOLD_SOURCES:
        return "threshold"
    return "linear"


@dataclass(frozen=True)
class HiddenGraph:
    """A sampled, validated causal graph: nodes in declaration order, edges grouped by source."""

    motif_family: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]

    def __post_init__(self) -> None:
        problems = graph_problems(
            [(n.node_id, n.node_type) for n in self.nodes], [(e.source, e.target) for e in self.edges]
        )
        if problems:
            raise GenerationError(f"invalid hidden graph ({self.motif_family}): {'; '.join(problems)}")

    def node(self, node_id: str) -> Node:
        for n in self.nodes:
            if n.node_id == node_id:
                return n
        raise KeyError(node_id)

    def has_node(self, node_id: str) -> bool:
        return any(n.node_id == node_id for n in self.nodes)

    def digraph(self) -> nx.DiGraph:
        g = nx.DiGraph()
        for n in self.nodes:
            g.add_node(n.node_id, node_type=n.node_type, label=n.label)
        for e in self.edges:
            g.add_edge(e.source, e.target, weight=e.weight)
        return g

    def topological_order(self) -> list[str]:
        """A deterministic topological order (ties broken by declaration order)."""
        rank = {n.node_id: i for i, n in enumerate(self.nodes)}
        return list(nx.lexicographical_topological_sort(self.digraph(), key=lambda v: rank[v]))

    def parents(self, node_id: str) -> list[Edge]:
        return [e for e in self.edges if e.target == node_id]

    def nodes_of_type(self, node_type: str) -> list[Node]:
        return [n for n in self.nodes if n.node_type == node_type]

    # -- ablations (what-if worlds for instructors and tests) ---------------------------------

    def with_weight(self, source: str, target: str, weight: float) -> HiddenGraph:
        """The same graph with one edge's weight replaced (0 removes the dependency)."""
        if not any(e.source == source and e.target == target for e in self.edges):
            raise KeyError(f"no edge {source} -> {target}")
        edges = tuple(
            replace(e, weight=weight) if (e.source, e.target) == (source, target) else e for e in self.edges
        )
        return replace(self, edges=edges)

    def without_node(self, node_id: str) -> HiddenGraph:
        """The graph with one node and its edges removed (must stay a valid graph)."""
        self.node(node_id)
        return replace(
            self,
            nodes=tuple(n for n in self.nodes if n.node_id != node_id),
            edges=tuple(e for e in self.edges if node_id not in (e.source, e.target)),
        )

    # -- export ---------------------------------------------------------------------------------

    def to_json(self, signal_strength: float = 1.0) -> dict[str, object]:
        """``graph.json``: nodes in topological order, edges grouped by source (declaration order).

        ``weight`` is what ran: the sampled weight times the tier's signal strength (the
        sampled value stays in the edge metadata).
        """
        order = self.topological_order()
        by_id = {n.node_id: n for n in self.nodes}
        rank = {n.node_id: i for i, n in enumerate(self.nodes)}
        edges = sorted(enumerate(self.edges), key=lambda ie: (rank[ie[1].source], ie[0]))
        if any(e.source == CONFOUNDER for e in self.edges):
            edges = [ie for ie in edges if ie[1].source != CONFOUNDER] + [
                ie for ie in edges if ie[1].source == CONFOUNDER
            ]
        return {
            "motif_family": self.motif_family,
            "signal_strength": signal_strength,
            "nodes": [
                {
                    "node_id": v,
                    "node_type": by_id[v].node_type,
                    "label": by_id[v].label,
                    "metadata": dict(by_id[v].metadata),
                }
                for v in order
            ],
            "edges": [
                {
                    "source": e.source,
                    "target": e.target,
                    "weight": round(signal_strength * e.weight, 6),
                    "metadata": {"transfer": e.transfer, "sampled_weight": round(e.weight, 6)},
                }
                for _, e in edges
            ],
        }

    def to_graphml(self, signal_strength: float = 1.0) -> str:
        """``graph.graphml``: the same graph and effective weights as :meth:`to_json`."""
        g = nx.DiGraph()
        for n in self.nodes:
            g.add_node(n.node_id, node_type=n.node_type, label=n.label, **dict(n.metadata))
        for e in self.edges:
            g.add_edge(
                e.source,
                e.target,
                weight=float(round(signal_strength * e.weight, 6)),
                sampled_weight=float(round(e.weight, 6)),
                transfer=e.transfer,
            )
        buf = io.BytesIO()
        nx.write_graphml(g, buf, encoding="utf-8", prettyprint=True)
        return buf.getvalue().decode("utf-8")


def graph_problems(nodes: list[tuple[str, str]], edges: list[tuple[str, str]]) -> list[str]:
    """Why a node/edge list is not a valid hidden graph; empty when it is."""
    problems: list[str] = []
    types = dict(nodes)
    if len(types) != len(nodes):
        problems.append("duplicate node ids")
    if len(nodes) < 2 or not edges:
        problems.append("degenerate graph: needs at least 2 nodes and 1 edge")
    for node_id, node_type in nodes:
        if node_type not in NODE_TYPES:
            problems.append(f"node {node_id} has unknown type {node_type!r}")
    g = nx.DiGraph()
    g.add_nodes_from(types)
    for s, t in edges:
        if s not in types or t not in types:
            problems.append(f"edge {s} -> {t} names an unknown node")
            continue
        g.add_edge(s, t)
    if not nx.is_directed_acyclic_graph(g):
        problems.append(f"graph has a cycle: {nx.find_cycle(g)}")
        return problems
    for node_id, node_type in nodes:
        if node_type not in NODE_TYPES:
            continue
        if g.in_degree(node_id) == 0 and node_type not in ROOT_TYPES:
            problems.append(f"node {node_id} ({node_type}) needs at least one parent")
        if node_type in LEAF_TYPES and g.out_degree(node_id) > 0:
            problems.append(f"node {node_id} ({node_type}) must be a leaf")
    outcomes = [n for n, t in nodes if t == "outcome"]
    if not outcomes:
        problems.append("no outcome node")
    roots = [n for n in g if g.in_degree(n) == 0]
    for o in outcomes:
        if o in g and not any(nx.has_path(g, r, o) for r in roots if r != o):
            problems.append(f"outcome {o} is not reachable from any root")
    return problems


def rewire(motif: Motif, g: np.random.Generator) -> HiddenGraph:
    """Drop optional nodes, jitter weights, maybe add a confounder, in that order: the steps
    share one stream, so their order fixes every draw."""
    kept = [d for d in motif.nodes if not (d.optional and g.random() < DROP_PROBABILITY)]
    ids = {d.node_id for d in kept}
    nodes = [Node(d.node_id, d.node_type, d.label, {"exogenous": exogenous_for(d.node_id)}) for d in kept]
    edges: list[tuple[str, str, float]] = []
    for s, t, w in motif.edges:
        if s in ids and t in ids:
            edges.append((s, t, float(np.clip(w + g.uniform(-JITTER, JITTER), -1.0, 1.0))))
    if g.random() < CONFOUNDER_PROBABILITY:
        target = next((n.node_id for n in nodes if n.node_type == "lead_state"), None)
        if target is not None:
            name, k = CONFOUNDER, 2
            while name in ids:
                name, k = f"{CONFOUNDER}_{k}", k + 1
            nodes.append(Node(name, "account_latent", "Latent confounder", {"exogenous": CONFOUNDER}))
            edges.append((name, target, float(g.uniform(0.1, 0.5))))
    by_id = {n.node_id: n for n in nodes}
    return HiddenGraph(
        motif.name,
        tuple(nodes),
        tuple(Edge(s, t, w, transfer_for(by_id[s], t)) for s, t, w in edges),
    )


def sample_graph(rng: RNG) -> HiddenGraph:
    """Choose a motif family and rewire it, from the ``hidden_graph`` substream only."""
    g = rng.generator("hidden_graph")
    motif = MOTIFS[MOTIF_FAMILIES[int(g.integers(0, len(MOTIF_FAMILIES)))]]
    last: GenerationError | None = None
    for _ in range(ATTEMPTS):
        attempt = np.random.Generator(np.random.PCG64(int(g.integers(0, 2**31))))
        try:
            return rewire(motif, attempt)
        except GenerationError as exc:
            last = exc
    raise GenerationError(f"could not sample a valid {motif.name} graph in {ATTEMPTS} attempts: {last}")
