"""The hidden graph is the data-generating process, not a decoration.

Editing one edge (or dropping one node) of the sampled graph and simulating again moves the
data the way the edge says, and leaves everything the edge does not reach identical: the
population, every deal size, and every event before the first day the changed mechanism can
act.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import networkx as nx
import numpy as np
import pytest
from leadforge.rng import RNG
from leadforge_leadscoring import vocab as V
from leadforge_leadscoring.graph import HiddenGraph, sample_graph
from leadforge_leadscoring.mechanisms import EngineParams
from leadforge_leadscoring.world import LeadScoringWorld, build
from leadscoring_support import SMALL, generator

SEED = 25  # a fit_dominant world that keeps every optional node
SIZE = {"n_accounts": 1200, "n_contacts": 3400, "n_leads": 4000}
#: Nothing reaches negotiation (where the outcome node acts) before this day.
FIRST_NEGOTIATION_DAY = sum(EngineParams(touch_rate=0.0).min_dwell[: V.NEGOTIATION])


@dataclass
class Run:
    fit: np.ndarray
    maturity: np.ndarray
    sql_day: np.ndarray
    activities_30: np.ndarray
    touches_early: np.ndarray
    won: np.ndarray
    acv: np.ndarray
    early_touch_days: np.ndarray
    early_activity_days: np.ndarray
    population: list[np.ndarray]


def simulate(graph: HiddenGraph | None = None) -> Run:
    gen = generator(SEED, "research_instructor", "intro", **SIZE)
    world = build(gen.config, gen.narrative, RNG(SEED), graph=graph)
    assert isinstance(world, LeadScoringWorld)
    cols: dict[str, list[np.ndarray]] = {k: [] for k in Run.__dataclass_fields__}
    for sim in world.shards():
        pop, ev, n = sim.population, sim.events, sim.shard.n_leads
        cols["fit"].append(pop.lead_trait("latent_account_fit"))
        cols["maturity"].append(pop.accounts.maturity_band[pop.leads.account])
        cols["sql_day"].append(np.where(sim.states.sql_day >= 0, sim.states.sql_day, 99))
        a = ev.activities
        cols["activities_30"].append(np.bincount(a.lead[a.day <= 30], minlength=n))
        t = ev.touches
        early = t.day < FIRST_NEGOTIATION_DAY
        cols["touches_early"].append(np.bincount(t.lead[early], minlength=n))
        cols["won"].append(sim.converted)
        cols["acv"].append(sim.acv)
        cols["early_touch_days"].append(np.stack([t.lead[early], t.day[early], t.kind[early]]))
        ea = a.day < FIRST_NEGOTIATION_DAY
        cols["early_activity_days"].append(np.stack([a.lead[ea], a.day[ea]]))
        cols["population"].append(
            np.concatenate([pop.leads.source, pop.leads.created_day, pop.contacts.seniority])
        )
    return Run(*(np.concatenate(v, axis=-1) for v in cols.values()))  # type: ignore[arg-type]


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    rx = np.argsort(np.argsort(x, kind="stable"), kind="stable")
    ry = np.argsort(np.argsort(y, kind="stable"), kind="stable")
    return float(np.corrcoef(rx, ry)[0, 1])


@pytest.fixture(scope="module")
def graph() -> HiddenGraph:
    g = sample_graph(RNG(SEED))
    assert g.motif_family == "fit_dominant" and g.has_node("acct_maturity")
    return g


@pytest.fixture(scope="module")
def base(graph: HiddenGraph) -> Run:
    return simulate(graph)


def test_the_world_uses_the_sampled_graph(graph: HiddenGraph, base: Run) -> None:
    again = simulate()
    np.testing.assert_array_equal(again.won, base.won)
    np.testing.assert_array_equal(again.sql_day, base.sql_day)


def test_edge_weight_sets_the_sign_of_the_dependence(graph: HiddenGraph, base: Run) -> None:
    """acct_fit -> lead_state is positive: fitter accounts move faster through the funnel and
    get more sales attention. Zeroing the edge removes that; flipping it reverses it."""
    assert next(e for e in graph.edges if (e.source, e.target) == ("acct_fit", "lead_state")).weight > 0
    zero = simulate(graph.with_weight("acct_fit", "lead_state", 0.0))
    flipped = simulate(graph.with_weight("acct_fit", "lead_state", -0.8))
    r_base = spearman(base.fit, base.activities_30)
    r_zero = spearman(zero.fit, zero.activities_30)
    r_flip = spearman(flipped.fit, flipped.activities_30)
    assert r_base > 0.08
    assert abs(r_zero) < 0.04
    assert r_flip < -0.08
    assert spearman(base.fit, -base.sql_day) > spearman(zero.fit, -zero.sql_day) + 0.03
    # What the edge does not reach is untouched: the population and every deal size.
    np.testing.assert_array_equal(zero.population, base.population)
    np.testing.assert_array_equal(zero.acv, base.acv)


def test_an_edge_into_the_outcome_changes_only_the_close(graph: HiddenGraph, base: Run) -> None:
    """lead_state -> conversion: without it, a lead's early sales attention (driven by its lead
    state) tells much less about whether its deal closes; every touch and activity before the
    first possible negotiation day is identical, because nothing upstream of the close changed.

    Measured among leads that reached sales: whether a lead qualifies at all is the funnel's
    doing, not the edge's."""
    cut = simulate(graph.with_weight("lead_state", "conversion", 0.0))
    np.testing.assert_array_equal(cut.early_touch_days, base.early_touch_days)
    np.testing.assert_array_equal(cut.early_activity_days, base.early_activity_days)
    np.testing.assert_array_equal(cut.touches_early, base.touches_early)
    sales = base.sql_day < 99
    r_base = spearman(base.activities_30[sales], base.won[sales])
    r_cut = spearman(cut.activities_30[sales], cut.won[sales])
    assert r_base > r_cut + 0.05
    assert abs(cut.won.mean() - base.won.mean()) < 0.03  # the hazard is recalibrated to the tier's band


def test_dropping_a_node_removes_its_influence(graph: HiddenGraph, base: Run) -> None:
    """acct_maturity feeds lead_state; the maturity band (which sets the trait's mean) stops
    predicting funnel speed once the node is gone."""
    dropped = simulate(graph.without_node("acct_maturity"))
    high, low = V.MATURITY_BANDS.index("high"), V.MATURITY_BANDS.index("low")

    def gap(run: Run) -> float:
        return float(
            np.mean(run.activities_30[run.maturity == high]) - np.mean(run.activities_30[run.maturity == low])
        )

    assert gap(base) > 0.5
    assert abs(gap(dropped)) < 0.5 * gap(base)
    np.testing.assert_array_equal(dropped.population, base.population)


@pytest.mark.parametrize("tier", ["intro", "advanced"])
def test_exported_graph_shows_the_weights_that_ran(bundle_factory, tier: str) -> None:  # type: ignore[no-untyped-def]
    """graph.json / graph.graphml carry the post-difficulty weights the equations used."""
    root = bundle_factory(tier=tier, **SMALL) / "metadata"
    exported = json.loads((root / "graph.json").read_text())
    ran = json.loads((root / "mechanism_summary.json").read_text())["structural_model"]
    used = {(p["source"], node): p["weight"] for node, eq in ran["equations"].items() for p in eq["parents"]}
    edges = {(e["source"], e["target"]): e for e in exported["edges"]}
    assert set(edges) == set(used)
    s = exported["signal_strength"]
    assert s == ran["signal_strength"]
    for key, e in edges.items():
        assert e["weight"] == pytest.approx(used[key], abs=2e-6)
        assert e["weight"] == pytest.approx(s * e["metadata"]["sampled_weight"], abs=2e-6)
    graphml = nx.read_graphml(root / "graph.graphml")
    for (a, b), e in edges.items():
        assert graphml.edges[a, b]["weight"] == pytest.approx(e["weight"], abs=2e-6)
