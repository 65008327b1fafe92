"""Levers and twin worlds: do-operations reach exactly what the graph says, nothing else moves."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from leadforge.errors import UsageError
from leadforge.rng import hash_uniform
from leadforge_leadscoring import vocab as V
from leadforge_leadscoring.graph import OUTCOME
from leadforge_leadscoring.interventions import levers
from leadforge_leadscoring.world import LeadScoringWorld
from leadscoring_support import LABEL, RECIPE, ROOT, SMALL, TIMESTAMP, generator, table, task_rows

EVENTS = {"touches": "touch_id", "sessions": "session_id", "sales_activities": "activity_id"}


def digests(where: Path | str) -> dict[str, str]:
    root = Path(where)
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def world_of(*specs: str, seed: int = 42) -> LeadScoringWorld:
    world = generator(seed, **SMALL).intervened(list(specs)).generate().world
    assert isinstance(world, LeadScoringWorld)
    return world


def outcome_edge(world: LeadScoringWorld) -> str:
    edges = [e for e in world.graph.edges if e.target == OUTCOME]
    assert edges
    return f"edge:{edges[0].source}->{edges[0].target}"


def test_levers_list_the_policies_and_this_worlds_graph() -> None:
    world = world_of()
    names = {lv.name for lv in levers(world.config)}
    assert {"policy:follow_up_speed", "policy:touch_cadence"} <= names
    assert {f"node:{n.node_id}" for n in world.graph.nodes} <= names
    assert {f"edge:{e.source}->{e.target}" for e in world.graph.edges} <= names
    assert len(names) == 2 + len(world.graph.nodes) + len(world.graph.edges)


def test_no_intervention_leaves_every_byte(tmp_path: Path) -> None:
    generator(42, **SMALL).generate().save(tmp_path / "a", generation_timestamp=TIMESTAMP)
    generator(42, **SMALL).intervened([]).generate().save(tmp_path / "b", generation_timestamp=TIMESTAMP)
    assert digests(tmp_path / "a") == digests(tmp_path / "b")


def test_a_neutral_policy_leaves_every_table_and_split(tmp_path: Path) -> None:
    """``follow_up_speed=1`` and ``touch_cadence=1`` are the factual policy: only the manifest
    and card (which record the interventions) may differ."""
    spec = ["policy:follow_up_speed=1", "policy:touch_cadence=1"]
    generator(42, **SMALL).generate().save(tmp_path / "a", generation_timestamp=TIMESTAMP)
    generator(42, **SMALL).intervened(spec).generate().save(tmp_path / "b", generation_timestamp=TIMESTAMP)
    da, db = digests(tmp_path / "a"), digests(tmp_path / "b")
    data = [k for k in da if k.startswith(("tables/", "tasks/", "metadata/oracle/"))]
    assert data and all(da[k] == db[k] for k in data)


def test_interventions_keep_the_factual_calibration() -> None:
    factual = world_of()
    node = factual.graph.nodes[1].node_id
    cut = world_of(outcome_edge(factual) + "*0.5", f"node:{node}=1.5")
    fm, cm = factual.mechanisms, cut.mechanisms
    assert cm.engine == fm.engine  # qualify and win scales, loadings: all the factual world's
    assert [(q.centre, q.scale) for q in cm.model.equations] == [
        (q.centre, q.scale) for q in fm.model.equations
    ]
    assert cm.model.equations != fm.model.equations


def glitched(world: LeadScoringWorld, index: int) -> np.ndarray:
    """Leads with tracking glitches: their phantom records are spread over the whole life, so a
    later change moves them (the engine's rule, recomputed here)."""
    n = world.plan[index].n_leads
    rng = world.rng.shard(index)
    keys = [np.arange(n, dtype=np.uint64) * np.uint64(4) + np.uint64(kind) for kind in range(3)]
    rate = world.mechanisms.engine.glitch_rate
    return np.asarray(np.any([hash_uniform(key, rng.key("glitch")) < rate for key in keys], axis=0))


def _reached_negotiation(world: LeadScoringWorld, index: int) -> np.ndarray:
    sim = world.simulate(world.plan[index])
    return np.asarray((sim.states.history == V.NEGOTIATION).any(axis=0) | (sim.states.final == V.CLOSED_WON))


def test_cutting_an_edge_into_the_outcome_moves_nothing_before_negotiation() -> None:
    factual = world_of()
    cut = world_of(outcome_edge(factual) + "*0")
    for k in range(len(factual.plan)):
        a, b = factual.simulate(factual.plan[k]), cut.simulate(cut.plan[k])
        for name in ("engagement", "intent", "lead_state", "sales", "demo", "habit"):
            assert np.array_equal(getattr(a.drivers, name), getattr(b.drivers, name))
        assert not np.array_equal(a.drivers.outcome, b.drivers.outcome)
        hist_a, hist_b = a.states.history, b.states.history
        entered = np.where(
            (hist_a == V.NEGOTIATION).any(axis=0), (hist_a == V.NEGOTIATION).argmax(axis=0), 10**6
        )
        day = np.arange(hist_a.shape[0])[:, None]
        assert np.array_equal(np.where(day <= entered, hist_a, 0), np.where(day <= entered, hist_b, 0))
        never = entered == 10**6
        assert never.any() and (~never).any()
        assert np.array_equal(hist_a[:, never], hist_b[:, never])
        clean = ~glitched(factual, k)
        for kind in ("touches", "sessions", "activities"):
            ea, eb = getattr(a.events, kind), getattr(b.events, kind)
            before_a = (ea.day <= entered[ea.lead]) & clean[ea.lead]
            before_b = (eb.day <= entered[eb.lead]) & clean[eb.lead]
            assert np.array_equal(ea.lead[before_a], eb.lead[before_b])
            assert np.array_equal(ea.day[before_a], eb.day[before_b])
            assert np.array_equal(ea.kind[before_a], eb.kind[before_b])


def test_a_node_do_changes_its_descendants_only() -> None:
    import networkx as nx

    factual = world_of()
    g = factual.graph
    node = next(n.node_id for n in g.nodes if n.node_type == "lead_state")
    held = world_of(f"node:{node}=2")
    below = nx.descendants(g.digraph(), node)
    sim = factual.simulate(factual.plan[0])
    rng = factual.rng.shard(0)
    a = factual.mechanisms.model.node_values(sim.population, rng)
    b = held.mechanisms.model.node_values(sim.population, rng)
    assert np.all(b[node] == 2.0)
    for other in a:
        if other == node:
            continue
        same = np.array_equal(a[other], b[other])
        assert same == (other not in below), other
    assert below


def _rows_of(frame: pd.DataFrame, leads: set[str], key: str) -> pd.DataFrame:
    return frame[frame["lead_id"].isin(leads)].sort_values(key).reset_index(drop=True)


def test_twins_leave_leads_the_cut_cannot_reach_byte_identical(tmp_path: Path) -> None:
    factual_world = world_of()
    spec = outcome_edge(factual_world) + "*0"
    generator(42, **SMALL).intervened([spec]).save_twin(tmp_path / "t", generation_timestamp=TIMESTAMP)
    f, i = tmp_path / "t" / "factual", tmp_path / "t" / "intervened"
    reached = np.concatenate([_reached_negotiation(factual_world, k) for k in range(len(factual_world.plan))])
    leads_f = table(f, "leads")
    unreached = set(leads_f["lead_id"][~reached])
    assert 0 < len(unreached) < len(leads_f)
    pd.testing.assert_frame_equal(
        _rows_of(leads_f, unreached, "lead_id"), _rows_of(table(i, "leads"), unreached, "lead_id")
    )
    for name, key in {**EVENTS, "opportunities": "opportunity_id"}.items():
        a, b = _rows_of(table(f, name), unreached, key), _rows_of(table(i, name), unreached, key)
        # The edge feeds the deal's merit, which a rep hears on every call: an activity's outcome
        # is reached even where the lead's path is not. Every other cell, ids and instants
        # included, is the same row for row.
        if name == "sales_activities":
            a, b = a.drop(columns="activity_outcome"), b.drop(columns="activity_outcome")
        assert len(a)
        pd.testing.assert_frame_equal(a, b, obj=name)
    rows_f, rows_i = task_rows(f), task_rows(i)
    keep = sorted(unreached)
    pd.testing.assert_frame_equal(rows_f.loc[keep], rows_i.loc[keep])
    assert not rows_f.equals(rows_i)


def test_touch_cadence_changes_touches_not_the_funnel() -> None:
    factual, busy = world_of(), world_of("policy:touch_cadence=2")
    a, b = factual.simulate(factual.plan[0]), busy.simulate(busy.plan[0])
    assert np.array_equal(a.states.history, b.states.history)
    assert b.events.touches.lead.size > 1.5 * a.events.touches.lead.size


def test_faster_follow_up_converts_more() -> None:
    factual, fast = world_of(), world_of("policy:follow_up_speed=2")
    won = [np.mean(w.simulate(w.plan[0]).converted) for w in (factual, fast)]
    assert won[1] > won[0] + 0.03


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("policy:nope=1", "unknown lever"),
        ("policy:follow_up_speed=9", "values in [0.25, 4]"),
        ("node:conversion*2", "can only be set"),
        ("policy:follow_up_speed=fast", "is not a number"),
    ],
)
def test_bad_specs_are_one_line_listing_the_levers(spec: str, words: str) -> None:
    with pytest.raises(UsageError) as info:
        generator(42, **SMALL).intervened([spec])
    assert words in str(info.value) and "\n" not in str(info.value)


def test_an_edge_factor_beyond_its_bound_is_refused() -> None:
    edge = outcome_edge(world_of())
    with pytest.raises(UsageError, match=r"factor in \[0, 10\]"):
        generator(42, **SMALL).intervened([edge + "*50"]).generate()


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    exe = ROOT / ".venv" / "bin" / "leadforge"
    return subprocess.run([str(exe), *args], capture_output=True, text=True, check=False)


SMALL_FLAGS = ("--n-accounts", "360", "--n-contacts", "1000", "--n-leads", "1200")


def test_cli_refuses_a_bad_spec_in_one_line(tmp_path: Path) -> None:
    res = _cli("generate", "-r", RECIPE, "--intervene", "edge:nowhere->x*0", "--out", str(tmp_path / "x"))
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "policy:follow_up_speed" in lines[0] and "Traceback" not in res.stderr


def test_cli_twin_writes_effects_with_an_average_effect(tmp_path: Path) -> None:
    out = tmp_path / "twin"
    res = _cli(
        "generate", "-r", RECIPE, "--mode", "research_instructor", *SMALL_FLAGS,
        "--intervene", "policy:follow_up_speed=2", "--twin", "--out", str(out), "-q",
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    effects = pd.read_parquet(out / "intervened" / "metadata" / "effects.parquet")
    assert len(effects) == 1200
    mean, se = effects["effect"].mean(), effects["effect"].std() / np.sqrt(len(effects))
    assert mean > 3 * se
    assert effects["oracle_effect"].mean() > 0.02
    labels = task_rows(out / "factual")[LABEL]
    assert labels.size == 1200
