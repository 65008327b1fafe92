"""Solve a tier's multipliers so a family's world lands on the tier's target rates.

A difficulty profile states target bands (first-year churn, expansion rate) and a still-active
share. The family's ``churn_position``/``expansion_position`` pick a target inside each band.
A fixed calibration cohort (its own seed, independent of the world seed) is simulated for its
first two years with common random numbers while three multipliers are adjusted: the onset of
disengagement episodes (it sets how many leavers visibly slump first, i.e. the still-active
share), the background churn pressure (first-year churn; it also scales payment failures by its
square root) and the expansion pressure. The solved multipliers are constants of (family, tier),
cached per process and written to ``mechanism_summary.json``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, replace

import numpy as np
from leadforge.rng import RNG

from leadforge_lifecycle import rates
from leadforge_lifecycle.calendar import ACQUISITION_DAYS, DEFAULT_OBSERVATION
from leadforge_lifecycle.engine import simulate
from leadforge_lifecycle.families import FAMILIES, RetentionMotif
from leadforge_lifecycle.hazards import Propensities
from leadforge_lifecycle.health import HealthHistory, simulate_health
from leadforge_lifecycle.mechanism import Mechanism, Multipliers
from leadforge_lifecycle.params import LifecycleProfile
from leadforge_lifecycle.population import CustomerBlock, draw_accounts, draw_customers, n_accounts

CALIBRATION_SEED = 20_240_101
COHORT = 2500
#: Share of a band kept free at each end, so sampling noise stays inside the band.
BAND_MARGIN = 0.2
TOLERANCE = 0.003
ONSET_TOLERANCE = 0.01


@dataclass(frozen=True)
class Targets:
    first_year_churn: float
    expansion_rate: float
    still_active_share: float
    term_end_share: float | None = None

    @classmethod
    def of(cls, motif: RetentionMotif, profile: LifecycleProfile) -> Targets:
        return cls(
            first_year_churn=_inside(profile.churn_band, motif.churn_position),
            expansion_rate=_inside(profile.expansion_band, motif.expansion_position),
            still_active_share=profile.still_active_share,
            term_end_share=profile.term_end_share,
        )


def _inside(band: tuple[float, float], position: float) -> float:
    lo, hi = band
    return lo + (BAND_MARGIN + (1.0 - 2.0 * BAND_MARGIN) * position) * (hi - lo)


@dataclass(frozen=True)
class Calibration:
    targets: Targets
    multipliers: Multipliers
    achieved: rates.RateCounts

    def summary(self) -> dict[str, object]:
        a = self.achieved
        return {
            "cohort_customers": a.customers,
            "targets": {
                "first_year_churn": round(self.targets.first_year_churn, 6),
                "expansion_rate": round(self.targets.expansion_rate, 6),
                "still_active_share": round(self.targets.still_active_share, 6),
                "term_end_share": self.targets.term_end_share,
            },
            "achieved_on_cohort": {
                "first_year_churn": round(a.first_year_churn, 6),
                "expansion_rate": round(a.expansion_rate, 6),
                "still_active_share": round(a.still_active_share, 6),
                "term_end_share": round(a.term_end_share, 6),
            },
        }


class _Cohort:
    """The calibration customers and a two-year run for given multipliers."""

    def __init__(self, mech: Mechanism, two_year_share: float) -> None:
        rng = RNG(CALIBRATION_SEED).child(mech.motif.name)
        accounts = draw_accounts(
            n_accounts(COHORT), mech.motif, ("a", "b"), ("a", "b"), rng.generator("accounts")
        )
        self.block: CustomerBlock = draw_customers(
            0, 0, COHORT, accounts, mech.motif, rng.generator("customers"), two_year_share=two_year_share
        )
        self.mech = mech
        self.rng = rng
        self.last_week = np.full(COHORT, rates.MEASURED_WEEKS - 1, dtype=np.int64)

    @functools.lru_cache(maxsize=64)  # noqa: B019 - a cohort lives for one calibration
    def health(self, disengagement: float) -> HealthHistory:
        """The cohort's health for one onset multiplier (the only multiplier health depends on)."""
        mech = self.mech.with_multipliers(Multipliers(1.0, disengagement, 1.0))
        b = self.block
        p = Propensities.of(mech, b.effective, b.cohort(ACQUISITION_DAYS))
        g = self.rng.generator("health")
        return simulate_health(
            p,
            b.effective,
            b.initial_plan,
            mech.telemetry,
            rates.MEASURED_WEEKS,
            g,
            sentiment_sd=mech.sentiment_sd,
            nps_lift=mech.motif.nps_lift,
        )

    @functools.lru_cache(maxsize=256)  # noqa: B019 - a cohort lives for one calibration
    def run(self, k: Multipliers) -> rates.RateCounts:
        mech = self.mech.with_multipliers(k)
        b = self.block
        health = self.health(k.disengagement)
        g = self.rng.generator("engine")
        p = Propensities.of(mech, b.effective, b.cohort(ACQUISITION_DAYS))
        start = b.start_days(DEFAULT_OBSERVATION)
        t = simulate(mech, p, health, b.initial_mrr, b.initial_plan, b.term_months, start, self.last_week, g)
        return rates.of_trajectories(t, health.active_users)


@functools.lru_cache(maxsize=64)
def calibrate(motif_name: str, profile: LifecycleProfile) -> Calibration:
    """Multipliers that put ``motif_name`` on ``profile``'s targets (cached per process)."""
    motif = FAMILIES[motif_name]
    targets = Targets.of(motif, profile)
    neutral = Multipliers(1.0, 1.0, 1.0)
    cohort = _Cohort(Mechanism.for_profile(motif, profile, neutral), profile.two_year_share)
    k = _solve_onset(cohort, neutral, targets)
    if targets.term_end_share is not None:
        k = _solve_renewal(cohort, k, targets, targets.term_end_share)
    k = _solve(cohort, k, "expansion", "expansion_rate", targets.expansion_rate)
    return Calibration(targets, k, cohort.run(k))


def _rate_step(target: float, achieved: float) -> float:
    """Multiplicative first guess for a rate that behaves like ``1 − exp(−m·H)``."""
    achieved = min(max(achieved, 1e-4), 0.999)
    return float(np.clip(math.log1p(-target) / math.log1p(-achieved), 0.25, 4.0))


def _solve(cohort: _Cohort, k: Multipliers, knob: str, rate: str, target: float) -> Multipliers:
    """Secant search on one multiplier until ``rate`` is within tolerance of ``target``.

    The first step assumes the rate is proportional to the multiplier's hazard; later steps use
    the measured slope, which copes with rates that only partly depend on the multiplier.
    """
    x0 = getattr(k, knob)
    f0 = getattr(cohort.run(k), rate)
    if abs(f0 - target) < TOLERANCE:
        return k
    x1 = x0 * _rate_step(target, f0)
    for _ in range(8):
        k = replace(k, **{knob: x1})
        f1 = getattr(cohort.run(k), rate)
        if abs(f1 - target) < TOLERANCE:
            break
        slope = (f1 - f0) / (x1 - x0) if x1 != x0 else 0.0
        x2 = x1 + (target - f1) / slope if slope > 0 else x1 * _rate_step(target, f1)
        x0, f0, x1 = x1, f1, float(np.clip(x2, x1 / 4.0, x1 * 4.0))
    return k


def _solve_renewal(cohort: _Cohort, k: Multipliers, targets: Targets, target: float) -> Multipliers:
    """Put the share of churn at a term end on target by the renewal multiplier (log-scale secant).

    A stronger renewal decision moves churn from mid-term to the term end; every trial re-solves
    the churn pressure, so first-year churn stays on its target.
    """

    def run(x: float) -> tuple[float, Multipliers]:
        trial = _solve(
            cohort, replace(k, renewal=math.exp(x)), "churn", "first_year_churn", targets.first_year_churn
        )
        return cohort.run(trial).term_end_share - target, trial

    x0 = math.log(k.renewal)
    f0, k0 = run(x0)
    best = (abs(f0), k0)
    x1 = x0 + (math.log(1.5) if f0 < 0 else -math.log(1.5))
    for _ in range(8):
        if best[0] < ONSET_TOLERANCE:
            break
        f1, k1 = run(x1)
        if abs(f1) < best[0]:
            best = (abs(f1), k1)
        slope = (f1 - f0) / (x1 - x0)
        step = -f1 / slope if slope > 0 else (math.log(1.5) if f1 < 0 else -math.log(1.5))
        x0, f0, x1 = x1, f1, x1 + float(np.clip(step, -math.log(3.0), math.log(3.0)))
    return best[1]


def _solve_onset(cohort: _Cohort, k: Multipliers, targets: Targets) -> Multipliers:
    """Put the still-active share on target by the disengagement onset multiplier.

    More onsets mean more leavers whose usage visibly slumped first, so the share falls as the
    multiplier grows. Every trial re-solves the churn pressure, so first-year churn stays on
    its target. The root is bracketed by doubling, then found by regula falsi (log scale).
    """
    target = targets.still_active_share
    warm = [k]

    def gap(x: float) -> tuple[float, Multipliers]:
        trial = replace(warm[-1], disengagement=math.exp(x))
        trial = _solve(cohort, trial, "churn", "first_year_churn", targets.first_year_churn)
        warm.append(trial)
        return cohort.run(trial).still_active_share - target, trial

    a = math.log(k.disengagement)
    fa, ka = gap(a)
    best = (abs(fa), ka)
    step = math.log(1.5) if fa > 0 else -math.log(1.5)
    b, fb, kb = a, fa, ka
    for _ in range(8):
        b = a + step
        fb, kb = gap(b)
        if abs(fb) < best[0]:
            best = (abs(fb), kb)
        if fb * fa <= 0 or abs(fb) < ONSET_TOLERANCE:
            break
        a, fa, step = b, fb, step * 2.0
    side = 0
    for _ in range(10):
        if best[0] < ONSET_TOLERANCE or fa * fb > 0:
            break
        c = (a * fb - b * fa) / (fb - fa)
        fc, kc = gap(c)
        if abs(fc) < best[0]:
            best = (abs(fc), kc)
        if fc * fb < 0:
            a, fa = b, fb
            side = 0
        else:
            fa = fa / 2.0 if side == 1 else fa
            side = 1
        b, fb = c, fc
    return best[1]
