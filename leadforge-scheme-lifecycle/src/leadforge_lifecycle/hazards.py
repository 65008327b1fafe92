"""Hazard functions: weekly churn, expansion and contraction; per-invoice payment failure, recovery.

All are pure, vectorised functions of the mechanism, the effective latents and this week's
state; none draws random numbers. Latent effects use the proportional-hazards form
``M(W, x) = exp(λ · Σ_t W_t · (x_t − 0.5))`` with ``λ = 2s²``, where ``s`` is the tier's signal
strength (a weaker signal gives flatter, less predictable hazards). Every probability is capped
at 0.95.

The weekly churn hazard is a background part plus a health part:

    background = base · m · M(churn weights) · O(w) · exp(β · (0.55 − depth_w))
                     · (1 + τ · tickets_4w) · (1 + φ · dunning_w)
    health     = ψ · strain_w³
    p          = (background + health) · R_w · D on a contract term end (the renewal decision)
    p          = (background + health) · μ      on any other week (a rare mid-term exit)

* ``O(w) = 1 + 1.5·exp(−w/4)`` — onboarding elevation (2.5 in week 0, → 1);
* ``depth_w`` — the customer's matured usage depth this week (its depth target scaled by its
  engagement): shallow users churn more; ``β = 25·s⁴``;
* ``tickets_4w`` — mean weekly support tickets over the last four weeks; ``τ = 0.10·s``;
* ``dunning_w`` — 1 while a failed invoice's dunning is unresolved; ``φ = 1.5``;
* ``strain_w = clip((distress_w − 0.45) / 0.55, 0, 1)`` — how far the customer's disengagement
  episode has gone past the point where the relationship suffers: a brief dip adds nothing, a
  sustained slump adds up to ``ψ = 0.30·s²`` per week;
* ``R_w`` — the family's renewal multiplier × ``M(renewal weights)`` × the tier's
  ``renewal_churn_boost``: customers leave when their contract ends, so the decision
  concentrates the pressure of a whole term;
* ``D`` — the tier's ``detractor_renewal_lift``, a further factor of ``R_w`` for a customer whose
  true view is a detractor's (:mod:`leadforge_lifecycle.health`): detractors decline to renew;
* ``μ`` — the tier's ``midterm_churn_scale``: mid-term exits (bankruptcy, acquisition, a
  contract bought out) are rare; most mid-term loss is non-payment (dunning write-offs);
* ``m`` — the tier's calibrated churn pressure (see :mod:`leadforge_lifecycle.calibration`).

The world drifts across the acquisition window (the tier's ``churn_drift`` and
``depth_effect_drift``): with ``c`` a customer's place in the window (0 = first cohort, 1 =
last), ``base`` carries ``exp(churn_drift · (c − 0.5))`` (a product change raising or lowering
the churn of later cohorts) and ``β`` carries ``max(0, 1 + depth_effect_drift · (c − 0.5))``
(shallow usage mattering more or less for later cohorts). Both are per-customer constants of
:class:`Propensities`, so the engine and its calibration run the same drifted hazards.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from leadforge_lifecycle.latents import NEUTRAL, Latents
from leadforge_lifecycle.mechanism import Mechanism

PROBABILITY_CAP = 0.95
#: Matured usage depth at which shallow usage neither raises nor lowers churn.
DEPTH_REFERENCE = 0.55
#: Disengagement depth at which a slump starts to strain the relationship.
STRAIN_ONSET = 0.45
ONBOARDING_EXCESS = 1.5
ONBOARDING_WEEKS = 4.0


def latent_multiplier(w: Mapping[str, float], latents: Latents, strength: float = 1.0) -> np.ndarray:
    """``exp(strength · Σ w_t (x_t − 0.5))``; all-neutral latents (or strength 0) give 1."""
    z = np.zeros(len(latents), dtype=np.float64)
    for trait, weight in w.items():
        z += weight * (latents.trait(trait) - NEUTRAL)
    return np.asarray(np.exp(strength * z))


#: The onboarding multiplier of tenure weeks 0 … 4095, looked up for arrays of weeks.
_ONBOARDING = 1.0 + ONBOARDING_EXCESS * np.exp(-np.arange(4096) / ONBOARDING_WEEKS)


def onboarding_multiplier(week: int | np.ndarray) -> float | np.ndarray:
    """2.5 at week 0, ≈1.55 at week 4, → 1: new customers churn more (per customer for an array)."""
    if isinstance(week, np.ndarray):
        return np.asarray(_ONBOARDING[np.minimum(week, _ONBOARDING.size - 1)])
    return 1.0 + ONBOARDING_EXCESS * float(np.exp(-week / ONBOARDING_WEEKS))


@dataclass(frozen=True)
class Propensities:
    """The per-customer, time-invariant parts of every hazard (computed once per shard)."""

    churn: np.ndarray
    renewal_factor: np.ndarray
    expansion: np.ndarray
    contraction: np.ndarray
    payment_failure: np.ndarray
    dunning_weeks: int
    disengagement_onset: np.ndarray
    disengagement_recovery: np.ndarray
    depth_slope: np.ndarray | float = 0.0

    @classmethod
    def of(cls, mech: Mechanism, latents: Latents, cohort: np.ndarray | None = None) -> Propensities:
        """``cohort`` (each customer's place in the acquisition window, 0…1) applies the tier's
        drift across cohorts (:meth:`Mechanism.cohort_drift`); ``None`` runs the undrifted world."""
        m, s, k = mech.motif, mech.latent_scale, mech.multipliers
        churn_drift, depth_drift = mech.cohort_drift(cohort)
        return cls(
            churn=m.churn.base_weekly_rate
            * k.churn
            * churn_drift
            * latent_multiplier(m.churn.latent_weights, latents, s),
            renewal_factor=m.churn.renewal_hazard_multiplier
            * latent_multiplier(m.churn.renewal_latent_weights, latents, mech.renewal_latent_scale),
            expansion=m.expansion.base_weekly_rate
            * k.expansion
            * latent_multiplier(m.expansion.latent_weights, latents, mech.expansion_latent_scale),
            contraction=m.contraction.base_weekly_rate
            * latent_multiplier(m.contraction.latent_weights, latents, s),
            payment_failure=np.minimum(
                m.payment.base_monthly_rate
                * k.churn**0.5
                * latent_multiplier(m.payment.latent_weights, latents, s),
                PROBABILITY_CAP,
            ),
            dunning_weeks=m.payment.dunning_weeks,
            disengagement_onset=np.minimum(
                m.disengagement.base_weekly_onset
                * k.disengagement
                * latent_multiplier(m.disengagement.onset_latent_weights, latents, s),
                PROBABILITY_CAP,
            ),
            disengagement_recovery=np.minimum(
                m.disengagement.base_weekly_recovery
                * latent_multiplier(m.disengagement.recovery_latent_weights, latents, s),
                PROBABILITY_CAP,
            ),
            depth_slope=mech.depth_churn_slope * depth_drift,
        )


def churn_probability(
    p: Propensities,
    mech: Mechanism,
    week: int | np.ndarray,
    renewal: np.ndarray,
    distress: np.ndarray,
    depth_level: np.ndarray,
    tickets_4w: np.ndarray,
    dunning: np.ndarray,
    detractor: np.ndarray | None = None,
    scale: np.ndarray | None = None,
) -> np.ndarray:
    """This week's churn probability (see the module docstring for the formula); ``scale`` is a
    policy's factor on the hazard (a price change), applied before the cap."""
    background = p.churn * onboarding_multiplier(week) * (1.0 + mech.ticket_churn_lift * tickets_4w)
    background = background * np.exp(p.depth_slope * (DEPTH_REFERENCE - depth_level))
    background = np.where(dunning, background * (1.0 + mech.dunning_churn_lift), background)
    strain = np.clip((distress - STRAIN_ONSET) / (1.0 - STRAIN_ONSET), 0.0, 1.0)
    prob = background + mech.health_hazard * strain**3
    at_renewal = prob * p.renewal_factor * mech.renewal_boost
    if detractor is not None and mech.detractor_renewal_lift != 1.0:
        at_renewal = np.where(detractor, at_renewal * mech.detractor_renewal_lift, at_renewal)
    prob = np.where(renewal, at_renewal, prob * mech.midterm_churn_scale)
    if scale is not None:
        prob = prob * scale
    return np.asarray(np.minimum(prob, PROBABILITY_CAP))


def expansion_probability(
    p: Propensities, depth: np.ndarray, mrr: np.ndarray, ceiling: np.ndarray
) -> np.ndarray:
    """Expansion is likelier the deeper this week's product usage (depth 0.5 is neutral), and
    rarer as the account runs out of seats to add: the chance falls as ``1 − (MRR / ceiling)²``,
    to nothing at the ceiling, so no account compounds without bound."""
    room = np.clip(1.0 - np.square(mrr / ceiling), 0.0, 1.0)
    return np.asarray(np.minimum(p.expansion * (0.5 + depth), PROBABILITY_CAP) * room)


def contraction_probability(p: Propensities, mech: Mechanism, distress: np.ndarray) -> np.ndarray:
    """Contractions (seat or plan downgrades) rise with disengagement."""
    return np.asarray(
        np.minimum(p.contraction * (1.0 + mech.distress_contraction_lift * distress), PROBABILITY_CAP)
    )


def payment_failure_probability(
    p: Propensities, mech: Mechanism, distress: np.ndarray, recent_failure: np.ndarray
) -> np.ndarray:
    """Per-invoice failure probability.

    A disengaged customer lets invoices slip more often, and payment trouble clusters: a
    failure in the last quarter makes the next one likelier.
    """
    prob = p.payment_failure * (1.0 + mech.distress_payment_lift * distress)
    prob = np.where(recent_failure, prob * (1.0 + mech.payment_relapse_lift), prob)
    return np.asarray(np.minimum(prob, PROBABILITY_CAP))


def recovery_probability(mech: Mechanism, strikes: np.ndarray) -> np.ndarray:
    """Chance that dunning recovers a failed invoice.

    A first failure recovers with ``r + (1 − r)·s²`` (``r`` the family's recovery rate, ``s`` the
    signal strength); each earlier failure of the current run of payment trouble (failures less
    than 26 weeks apart) halves it. With a strong signal, write-offs follow a visible history of
    failures; with a weak one they come out of the blue.
    """
    return np.asarray(mech.first_failure_recovery * mech.recovery_decay ** np.maximum(strikes - 1, 0))
