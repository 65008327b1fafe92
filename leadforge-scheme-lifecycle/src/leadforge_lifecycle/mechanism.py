"""The mechanism that actually runs: a family's tables, modulated by the difficulty tier.

A tier changes the world in two ways. Its ``signal_strength`` sets how strongly latent traits,
usage depth, tickets, slumps and a customer's payment history (an open dunning, a recent or
repeated failure) drive the hazards, how reliably dunning recovers a first failure, and how
noisy the telemetry is. Its calibrated :class:`Multipliers` set the churn,
disengagement and expansion pressure so the tier's target rates are met.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from leadforge_lifecycle.families import RetentionMotif
from leadforge_lifecycle.params import LifecycleProfile

#: Churn lift per weekly support ticket over the last four weeks, at full signal strength.
TICKET_CHURN_LIFT = 0.10
#: Log-hazard slope of shallow usage (per unit of matured depth below the reference), at full signal.
DEPTH_CHURN_SLOPE = 25.0
#: Weekly churn hazard of a fully strained relationship, at full signal strength.
HEALTH_HAZARD = 0.30
#: Churn lift while an invoice is failed and its dunning is unresolved, at full signal strength.
DUNNING_CHURN_LIFT = 1.5
#: Contraction lift at full disengagement.
DISTRESS_CONTRACTION_LIFT = 3.0
#: Payment-failure lift at full disengagement.
DISTRESS_PAYMENT_LIFT = 1.5
#: Payment-failure lift within 13 weeks of an earlier failure, at full signal strength.
PAYMENT_RELAPSE_LIFT = 3.0
PAYMENT_RELAPSE_WEEKS = 13
#: Each earlier failure of a run of payment trouble multiplies the recovery chance by this, at full
#: signal strength (by 1 at none: a weak-signal world's failures do not remember each other).
RECOVERY_DECAY = 0.5
#: Failures less than this many weeks apart belong to the same run of payment trouble.
STRIKE_WEEKS = 26


@dataclass(frozen=True)
class Telemetry:
    """Measurement noise of recorded health signals (the customer lives the true values)."""

    active_users_sd: float
    depth_sd: float
    nps_sd: float

    @classmethod
    def for_signal(cls, signal_strength: float, scale: float = 1.0) -> Telemetry:
        """Noise that grows as the signal weakens; ``scale`` (the tier's ``telemetry_noise``)
        multiplies the noise of the feature-depth and NPS recordings, which the tables and the
        snapshot share, so both blur together. Active-user counts keep their noise: the
        still-active share the tier is calibrated on is read from them."""
        weak = 1.0 - signal_strength
        return cls(
            active_users_sd=0.05 + 0.20 * weak,
            depth_sd=(0.03 + 0.16 * weak) * scale,
            nps_sd=(0.8 + 0.6 * weak) * scale,
        )


@dataclass(frozen=True)
class Multipliers:
    """The tier's pressure on a family, solved by calibration.

    ``churn`` scales the background churn base rate and, as its square root, the payment-failure
    base rate; ``disengagement`` scales the onset of disengagement episodes; ``expansion``
    scales the expansion base rate; ``renewal`` scales the tier's ``renewal_churn_boost`` so
    the tier's share of churn at a term end is met.
    """

    churn: float
    disengagement: float
    expansion: float
    renewal: float = 1.0


@dataclass(frozen=True)
class Mechanism:
    motif: RetentionMotif
    signal_strength: float
    telemetry: Telemetry
    multipliers: Multipliers
    ticket_churn_lift: float = TICKET_CHURN_LIFT
    health_hazard: float = HEALTH_HAZARD
    depth_churn_slope: float = DEPTH_CHURN_SLOPE
    dunning_churn_lift: float = DUNNING_CHURN_LIFT
    distress_contraction_lift: float = DISTRESS_CONTRACTION_LIFT
    distress_payment_lift: float = DISTRESS_PAYMENT_LIFT
    payment_relapse_lift: float = PAYMENT_RELAPSE_LIFT
    recovery_decay: float = RECOVERY_DECAY
    midterm_churn_scale: float = 1.0
    renewal_churn_boost: float = 1.0
    sentiment_sd: float = 0.0
    detractor_renewal_lift: float = 1.0
    churn_drift: float = 0.0
    depth_effect_drift: float = 0.0
    expansion_ceiling: float = 6.0
    expansion_trait_scale: float | None = None
    expansion_step_spread: float = 0.0

    @classmethod
    def build(
        cls,
        motif: RetentionMotif,
        signal_strength: float,
        multipliers: Multipliers,
        *,
        midterm_churn_scale: float = 1.0,
        renewal_churn_boost: float = 1.0,
        sentiment_sd: float = 0.0,
        detractor_renewal_lift: float = 1.0,
        churn_drift: float = 0.0,
        depth_effect_drift: float = 0.0,
        telemetry_noise: float = 1.0,
        expansion_ceiling: float = 6.0,
        expansion_trait_scale: float | None = None,
        expansion_step_spread: float = 0.0,
    ) -> Mechanism:
        return cls(
            motif,
            signal_strength,
            Telemetry.for_signal(signal_strength, telemetry_noise),
            multipliers,
            ticket_churn_lift=TICKET_CHURN_LIFT * signal_strength,
            health_hazard=HEALTH_HAZARD * signal_strength**2,
            depth_churn_slope=DEPTH_CHURN_SLOPE * signal_strength**4,
            dunning_churn_lift=DUNNING_CHURN_LIFT * signal_strength**2,
            payment_relapse_lift=PAYMENT_RELAPSE_LIFT * signal_strength**2,
            recovery_decay=1.0 - (1.0 - RECOVERY_DECAY) * signal_strength**2,
            midterm_churn_scale=midterm_churn_scale,
            renewal_churn_boost=renewal_churn_boost,
            sentiment_sd=sentiment_sd,
            detractor_renewal_lift=detractor_renewal_lift,
            churn_drift=churn_drift,
            depth_effect_drift=depth_effect_drift,
            expansion_ceiling=expansion_ceiling,
            expansion_trait_scale=expansion_trait_scale,
            expansion_step_spread=expansion_step_spread,
        )

    @classmethod
    def for_profile(
        cls, motif: RetentionMotif, profile: LifecycleProfile, multipliers: Multipliers
    ) -> Mechanism:
        """The mechanism a difficulty tier runs (the world and its calibration build the same one)."""
        return cls.build(
            motif,
            profile.signal_strength,
            multipliers,
            midterm_churn_scale=profile.midterm_churn_scale,
            renewal_churn_boost=profile.renewal_churn_boost,
            sentiment_sd=profile.sentiment_sd,
            detractor_renewal_lift=profile.detractor_renewal_lift,
            churn_drift=profile.churn_drift,
            depth_effect_drift=profile.depth_effect_drift,
            telemetry_noise=profile.telemetry_noise,
            expansion_ceiling=profile.expansion_ceiling,
            expansion_trait_scale=profile.expansion_trait_scale,
            expansion_step_spread=profile.expansion_step_spread,
        )

    def cohort_drift(self, cohort: np.ndarray | None) -> tuple[np.ndarray | float, np.ndarray | float]:
        """Per-customer factors on the background churn and the usage-depth slope, by cohort.

        ``cohort`` is each customer's place in the acquisition window (0 = its first day, 1 = its
        last): the world drifts linearly across it, centred on the middle cohort so the tier's
        calibrated rates hold on average. ``None`` (or no drift) gives 1.
        """
        if cohort is None:
            return 1.0, 1.0
        c = np.asarray(cohort, dtype=np.float64) - 0.5
        churn = np.exp(self.churn_drift * c) if self.churn_drift else 1.0
        depth = np.maximum(1.0 + self.depth_effect_drift * c, 0.0) if self.depth_effect_drift else 1.0
        return churn, depth

    @property
    def first_failure_recovery(self) -> float:
        """Recovery chance of a first failure: ``r + (1 − r)·s²`` (``r`` the family's rate)."""
        r = self.motif.payment.recovery_rate
        return r + (1.0 - r) * self.signal_strength**2

    @property
    def renewal_latent_scale(self) -> float:
        """Exponent scale of the renewal decision's latent multiplier: ``2·s²``, like every hazard.

        Champion and fit also shape usage, which the snapshot shows; where the tier wants
        detractors to leave at renewal although traits barely drive churn, the hidden sentiment
        does it (``detractor_renewal_lift``), so the link is real but hard to observe.
        """
        return self.latent_scale

    @property
    def expansion_latent_scale(self) -> float:
        """Exponent scale of the expansion multiplier: the tier's ``expansion_trait_scale`` when it
        sets one, else :attr:`latent_scale`."""
        if self.expansion_trait_scale is None:
            return self.latent_scale
        return self.expansion_trait_scale

    @property
    def renewal_boost(self) -> float:
        """How much a term end concentrates the churn pressure (tier boost × calibrated multiplier)."""
        return self.renewal_churn_boost * self.multipliers.renewal

    @property
    def latent_scale(self) -> float:
        """Exponent scale of every latent multiplier: 2·s² (1.62 at s = 0.9, 0.5 at s = 0.5)."""
        return 2.0 * self.signal_strength**2

    def with_multipliers(self, multipliers: Multipliers) -> Mechanism:
        return replace(self, multipliers=multipliers)

    def summary(self) -> dict[str, Any]:
        """``mechanism_summary.json``: the family tables (spec 3.5 shape) plus what the tier changed."""
        m = self.motif
        return {
            "motif_family": m.name,
            "churn_hazard": {
                "base_weekly_rate": m.churn.base_weekly_rate,
                "latent_weights": dict(m.churn.latent_weights),
                "renewal_hazard_multiplier": m.churn.renewal_hazard_multiplier,
                "renewal_latent_weights": dict(m.churn.renewal_latent_weights),
            },
            "expansion_propensity": {
                "base_weekly_rate": m.expansion.base_weekly_rate,
                "latent_weights": dict(m.expansion.latent_weights),
                "expansion_mrr_frac_range": list(m.expansion.expansion_mrr_frac_range),
                "expansion_ceiling": self.expansion_ceiling,
                "expansion_latent_scale": round(self.expansion_latent_scale, 6),
                "expansion_step_spread": self.expansion_step_spread,
            },
            "payment_failure": {
                "base_monthly_rate": m.payment.base_monthly_rate,
                "latent_weights": dict(m.payment.latent_weights),
                "dunning_weeks": m.payment.dunning_weeks,
                "recovery_rate": m.payment.recovery_rate,
                "first_failure_recovery": round(self.first_failure_recovery, 6),
                "distress_lift": self.distress_payment_lift,
                "relapse_lift": self.payment_relapse_lift,
                "relapse_weeks": PAYMENT_RELAPSE_WEEKS,
                "recovery_decay_per_strike": self.recovery_decay,
                "strike_weeks": STRIKE_WEEKS,
            },
            "contraction_propensity": {
                "base_weekly_rate": m.contraction.base_weekly_rate,
                "latent_weights": dict(m.contraction.latent_weights),
                "contraction_mrr_frac_range": list(m.contraction.contraction_mrr_frac_range),
                "distress_lift": self.distress_contraction_lift,
            },
            "disengagement": {
                "base_weekly_onset": m.disengagement.base_weekly_onset,
                "onset_latent_weights": dict(m.disengagement.onset_latent_weights),
                "base_weekly_recovery": m.disengagement.base_weekly_recovery,
                "recovery_latent_weights": dict(m.disengagement.recovery_latent_weights),
            },
            "latent_biases": dict(m.latent_biases),
            "tier": {
                "signal_strength": self.signal_strength,
                "latent_weight_scale": round(self.latent_scale, 6),
                "churn_multiplier": round(self.multipliers.churn, 6),
                "payment_failure_multiplier": round(self.multipliers.churn**0.5, 6),
                "disengagement_onset_multiplier": round(self.multipliers.disengagement, 6),
                "health_churn_hazard": round(self.health_hazard, 6),
                "depth_churn_slope": round(self.depth_churn_slope, 6),
                "expansion_multiplier": round(self.multipliers.expansion, 6),
                "ticket_churn_lift": self.ticket_churn_lift,
                "dunning_churn_lift": self.dunning_churn_lift,
                "midterm_churn_scale": self.midterm_churn_scale,
                "sentiment_sd": self.sentiment_sd,
                "detractor_renewal_lift": self.detractor_renewal_lift,
                "cohort_drift": {
                    "churn_drift": self.churn_drift,
                    "depth_effect_drift": self.depth_effect_drift,
                    "first_cohort_churn_factor": round(math.exp(-0.5 * self.churn_drift), 6),
                    "last_cohort_churn_factor": round(math.exp(0.5 * self.churn_drift), 6),
                    "first_cohort_depth_slope_factor": round(
                        max(1.0 - 0.5 * self.depth_effect_drift, 0.0), 6
                    ),
                    "last_cohort_depth_slope_factor": round(max(1.0 + 0.5 * self.depth_effect_drift, 0.0), 6),
                },
                "renewal_churn_boost": round(self.renewal_churn_boost * self.multipliers.renewal, 6),
                "telemetry_noise": {
                    "active_users_sd": self.telemetry.active_users_sd,
                    "feature_depth_sd": self.telemetry.depth_sd,
                    "nps_sd": self.telemetry.nps_sd,
                },
            },
        }
