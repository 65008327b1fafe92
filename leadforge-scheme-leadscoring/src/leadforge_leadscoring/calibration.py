"""Resolving the graph and the tier into calibrated mechanisms.

Two rates are calibrated on a stand-in population, in order: the early disqualification scale,
so that the tier's ``opportunity_rate`` of leads reaches sales (it does not depend on the close
hazard), then the close-won hazard's base rate, so that the population converts at the tier's
target rate. Finding it runs the funnel engine, which itself reads the mechanisms' types, so
the loop lives here, above both :mod:`~leadforge_leadscoring.mechanisms` and
:mod:`~leadforge_leadscoring.engine`.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from leadforge.narrative import Narrative
from leadforge.rng import RNG

from leadforge_leadscoring.engine import (
    commercial_fit,
    deal_prospects,
    draw_acv,
    drift_share,
    funnel_rates,
    source_lift,
)
from leadforge_leadscoring.graph import HiddenGraph
from leadforge_leadscoring.mechanisms import (
    Calibration,
    Drivers,
    EngineParams,
    Mechanisms,
    draw_fit_tables,
    drift_params,
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
#: Bracket of the log disqualification scale searched (1 = the engine's default hazards).
LOG_QUALIFY_RANGE = (-3.0, 5.0)
QUALIFY_STEPS = 20


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
    world = rng.child("world")
    tables = draw_fit_tables(vocab, world)
    engine = engine_params(motif, profile, narrative, tables, vocab)
    engine = replace(engine, **drift_params(profile, vocab, tables, world))
    drivers = model.drivers(pop, cal_rng)
    codes = pop.lead_codes()
    share = drift_share(pop.leads.created_day, engine)
    commercial = commercial_fit(codes, draw_acv(codes["employee_band"], engine, cal_rng), engine, share)
    lift = source_lift(codes, engine, share)
    engine_rng = cal_rng.child("engine")
    prospects = deal_prospects(drivers, engine, commercial, lift)
    engine = replace(
        engine, prospect_centre=float(prospects.mean()), prospect_scale=float(max(prospects.std(), 1e-6))
    )
    if profile.opportunity_rate is not None:
        scale = _qualify_scale(drivers, engine, commercial, lift, profile.opportunity_rate, engine_rng)
        engine = replace(engine, qualify_scale=scale)
    target = profile.target_rate
    log_base, achieved = _log_win_base(drivers, engine, commercial, lift, target, engine_rng)
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


def _qualify_scale(
    drivers: Drivers, engine: EngineParams, commercial: np.ndarray, lift: np.ndarray, target: float, rng: RNG
) -> float:
    """The disqualification scale at which ``target`` of the leads open an opportunity (bisection
    on its log; more disqualification, fewer opportunities)."""

    def rate(log_scale: float) -> float:
        e = replace(engine, qualify_scale=float(np.exp(log_scale)))
        return funnel_rates(drivers, e, commercial, lift, CALIBRATION_DAYS, rng)[0]

    lo, hi = LOG_QUALIFY_RANGE
    for _ in range(QUALIFY_STEPS):
        mid = (lo + hi) / 2
        if rate(mid) > target:
            lo = mid
        else:
            hi = mid
    return float(np.exp((lo + hi) / 2))


def _log_win_base(
    drivers: Drivers,
    engine: EngineParams,
    commercial: np.ndarray,
    lift: np.ndarray,
    target: float,
    rng: RNG,
) -> tuple[float, float]:
    """The close-won log base rate whose conversion rate meets ``target`` (bisection), and
    the rate it achieves; the top of the bracket if even that converts too few."""

    def rate(log_base: float) -> float:
        e = replace(engine, log_win_base=log_base)
        return funnel_rates(drivers, e, commercial, lift, CALIBRATION_DAYS, rng)[1]

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
