"""The answer key: each lead's exact probability of closing won by its label window.

At the snapshot anchor (the end of day ``W``) a lead is in some stage with some dwell; from
there its future is a Markov chain driven by its own daily hazards, exactly as
:func:`~leadforge_leadscoring.engine.simulate_states` runs it: per day, a churn draw first,
then (once the stage's minimum dwell has passed) an advance draw, or at negotiation a close-won
draw. Dwell beyond the minimum changes nothing, so the chain's state is (stage, dwell capped at
the stage's minimum): 38 states, propagated forward for all open leads of a shard at once (see
:func:`conversion_probability` for how). Each draw compares a float32 uniform (a multiple of
2^-24) with the hazard, so the probability of an event is the hazard rounded up to that grid:
the oracle is the chain's exact answer, not an approximation of it.
"""

from __future__ import annotations

import numpy as np

from leadforge_leadscoring import vocab as V
from leadforge_leadscoring.engine import Hazards, States
from leadforge_leadscoring.mechanisms import EngineParams

COLUMN = "oracle_conversion_probability"
DESCRIPTION = (
    "The lead's exact probability of closing won within the label window, given its stage and "
    "dwell at the end of the anchor day and its own daily hazards (a forward pass over the "
    "funnel's Markov chain for the remaining days); leads already closed at the anchor get 0 or 1."
)
#: float32 uniforms are k * 2^-24: P(u < h) is h rounded up to that grid.
GRID = float(2**24)


def _p(h: np.ndarray) -> np.ndarray:
    return np.asarray(np.minimum(np.ceil(h * GRID) / GRID, 1.0))


def anchor_state(states: States, day: int) -> tuple[np.ndarray, np.ndarray]:
    """Each lead's stage at the end of ``day`` and its dwell there (days in the stage, the
    value the engine's minimum-dwell test reads the next morning). Stages never repeat, so the
    dwell is the number of days up to ``day`` spent in the final stage."""
    last = min(day, states.history.shape[0] - 1)
    stage = np.asarray(states.history[last])
    dwell = np.count_nonzero(states.history[: last + 1] == stage[None, :], axis=0)
    return stage, dwell.astype(np.int64)


def conversion_probability(
    h: Hazards,
    e: EngineParams,
    stage: np.ndarray,
    dwell: np.ndarray,
    first_day: int,
    last_day: int,
    won_by_then: np.ndarray,
) -> np.ndarray:
    """P(close won on a day in ``first_day … last_day``) for each lead starting that day in
    ``stage`` with ``dwell``; ``won_by_then`` says which leads count as won already (closed
    leads get it as 0 or 1, whatever the chain does).

    Only open leads are propagated. Within a stage, mass below the minimum dwell only ages and
    survives, so it is not stepped day by day: it is booked, already discounted, into a ring of
    arrivals at the stage's ready state, which keeps each day linear in the number of stages."""
    out = won_by_then.astype(np.float64)
    lead = np.flatnonzero(stage < V.OPEN_STAGES)
    days = max(0, last_day - first_day + 1)
    if not lead.size or not days:
        return np.where(stage < V.OPEN_STAGES, 0.0, out)
    k = stage[lead].astype(np.int64)
    d = np.asarray(dwell, dtype=np.int64)[lead]
    min_dwell = [int(m) for m in e.min_dwell]
    survive = 1.0 - _p(h.churn[:, lead])
    rate = [_p(h.win[lead]) if s == V.NEGOTIATION else _p(h.advance[s, lead]) for s in range(len(min_dwell))]
    go_rate = [survive[s] * rate[s] for s in range(len(min_dwell))]
    stay_rate = [survive[s] - go_rate[s] for s in range(len(min_dwell))]
    delay = [survive[s] ** max(m - 1, 0) for s, m in enumerate(min_dwell)]
    ready, rings, go = [], [], [np.empty(lead.size) for _ in min_dwell]
    for s, m in enumerate(min_dwell):
        here = k == s
        ready.append(np.where(here & (d >= m), 1.0, 0.0))
        ring = np.zeros((max(m, 1), lead.size))
        for pos in range(m):  # mass below the minimum dwell reaches it after m - pos more days
            at = here & (d == pos)
            ring[(m - pos - 1) % m, at] = survive[s, at] ** (m - pos)
        rings.append(ring)
    won = np.zeros(lead.size)
    for i in range(days):
        for s, m in enumerate(min_dwell):
            np.multiply(ready[s], go_rate[s], out=go[s])
            ready[s] *= stay_rate[s]
            if i < m or (m > 1 and s > 0):  # the first stage's ring only holds the start
                ready[s] += rings[s][i % m]
            if s == 0:
                continue
            if m > 1:  # entering mass arrives m - 1 days on; its slot was read yesterday (or holds the start)
                slot = rings[s][(i - 1) % m]
                if i == 0:
                    slot += go[s - 1] * delay[s]
                else:
                    np.multiply(go[s - 1], delay[s], out=slot)
            else:
                ready[s] += go[s - 1]
        won += go[V.NEGOTIATION]
    out[lead] = won
    return out


def at_anchor(h: Hazards, e: EngineParams, states: States, anchor: int, label_window: int) -> np.ndarray:
    """The oracle for every lead of a shard: closed won by ``label_window`` given its state at
    the end of day ``anchor``."""
    stage, dwell = anchor_state(states, anchor)
    last = min(label_window, states.history.shape[0] - 1)
    won = (stage == V.CLOSED_WON) & (states.end_day <= label_window)
    return conversion_probability(h, e, stage, dwell, anchor + 1, last, won)


def from_creation(h: Hazards, e: EngineParams, horizon: int, label_window: int) -> np.ndarray:
    """Each lead's probability of closing won by ``label_window`` seen from its creation (stage
    mql, no dwell, day 0): what a treatment assigned at creation changes."""
    n = h.win.size
    zero = np.zeros(n, dtype=np.int64)
    last = min(label_window, horizon - 1)
    return conversion_probability(h, e, zero.astype(np.int8), zero, 0, last, np.zeros(n, dtype=bool))
