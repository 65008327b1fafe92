"""Resolving the graph and the tier into calibrated mechanisms.

The close-won hazard's base rate is set so that a stand-in population converts at the tier's
target rate. Finding it runs the funnel engine, which itself reads the mechanisms' types, so
the loop lives here, above both :mod:`~leadforge_leadscoring.mechanisms` and
:mod:`~leadforge_leadscoring.engine`.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from leadforge.narrative import Narrative
from leadforge.rng import RNG

from leadforge_leadscoring.engine import commercial_fit, conversion_rate, draw_acv
from leadforge_leadscoring.graph import HiddenGraph
from leadforge_leadscoring.mechanisms import (
    Calibration,
    Drivers,
    EngineParams,
    Mechanisms,
    draw_fit_tables,
    engine_params,
    structural_model,
)
from leadforge_leadscoring.params import LeadScoringParams, LeadScoringProfile
from leadforge_leadscoring.population import Population, Shard, Vocabulary, apply_shifts, draw_population

CALIBRATION_LEADS = 6000
CALIBRATION_DAYS = 90
#: Bracket of the close-won log base rate searched, and bisection steps (2^-30 of its width).
LOG_BASE_RANGE = (-12.0, 1.5)
BISECTION_STEPS = 30


def calibration_population(
    params: LeadScoringParams, profile: LeadScoringProfile, vocab: Vocabulary, motif: str, rng: RNG
) -> Population:
    """A fixed-size stand-in population with the config's account/contact/lead ratios."""
    n_leads = CALIBRATION_LEADS
    n_acc = max(1, round(n_leads * params.n_accounts / params.n_leads))
    n_con = max(1, round(n_leads * params.n_contacts / params.n_leads))
    shard = Shard(0, 0, n_acc, 0, n_con, 0, n_leads)
    pop = draw_population(shard, vocab, motif, rng)
    return apply_shifts(pop, profile.category_shifts, vocab)


def build_mechanisms(
    graph: HiddenGraph,
    params: LeadScoringParams,
    profile: LeadScoringProfile,
    vocab: Vocabulary,
    narrative: Narrative,
    rng: RNG,
) -> Mechanisms:
    """Resolve the graph and the tier into equations and calibrated engine parameters."""
    motif = graph.motif_family
    cal_rng = rng.child("calibration")
    pop = calibration_population(params, profile, vocab, motif, cal_rng)
    model = structural_model(graph, profile, vocab, pop, rng)
    engine = engine_params(motif, profile, narrative, draw_fit_tables(vocab, rng.child("world")))
    drivers = model.drivers(pop, cal_rng)
    codes = pop.lead_codes()
    commercial = commercial_fit(codes, draw_acv(codes["employee_band"], cal_rng), engine)
    target = profile.target_rate
    log_base, achieved = _log_win_base(drivers, engine, commercial, target, cal_rng.child("engine"))
    shifts = tuple(
        {"field": c.field, "latent_trait": c.trait, "boosts": dict(c.boosts)} for c in profile.category_shifts
    )
    return Mechanisms(
        motif,
        model,
        replace(engine, log_win_base=log_base),
        Calibration(target, achieved, log_base, CALIBRATION_LEADS, CALIBRATION_DAYS),
        shifts,
    )


def _log_win_base(
    drivers: Drivers, engine: EngineParams, commercial: np.ndarray, target: float, rng: RNG
) -> tuple[float, float]:
    """The close-won log base rate whose conversion rate meets ``target`` (bisection), and
    the rate it achieves; the top of the bracket if even that converts too few."""

    def rate(log_base: float) -> float:
        return conversion_rate(
            drivers, replace(engine, log_win_base=log_base), commercial, CALIBRATION_DAYS, rng
        )

    lo, hi = LOG_BASE_RANGE
    rate_hi = rate(hi)
    if rate_hi <= target:
        return hi, rate_hi
    for _ in range(BISECTION_STEPS):
        mid = (lo + hi) / 2
        if rate(mid) < target:
            lo = mid
        else:
            hi = mid
    log_base = (lo + hi) / 2
    return log_base, rate(log_base)
