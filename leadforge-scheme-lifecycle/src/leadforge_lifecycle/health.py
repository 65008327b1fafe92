"""Customer health: a weekly engagement process, and the telemetry that records it.

Each customer's engagement ``k`` (1 = healthy) follows a two-state process: a disengagement
episode starts with a weekly onset probability (driven by latent traits) and ends with a weekly
recovery probability (driven by the champion). During an episode ``k`` decays toward a floor;
afterwards it rebounds toward 1. The decay is slow (a slump deepens over months), so a customer
who will leave because of it shows the decline in its telemetry long before. Engagement shapes
what the customer *experiences* — usage depth, active users, support tickets, NPS — and the
depth of the episode (``distress``) raises the churn hazard once it is deep enough (see
:mod:`leadforge_lifecycle.hazards`).

Telemetry records active users, depth and NPS with tier-dependent measurement noise; tickets
are recorded as they happen. Health does not depend on billing, expansions or churn (a churned
customer's rows are simply cut at its churn week), so the whole history of a shard is
generated at once, column-wise, before the weekly billing/churn loop runs; afterwards
:func:`offboarded` marks each leaver's last week, whose recorded feature depth drops to
:data:`OFFBOARDING_DEPTH` of its value (users export and stop working in the product).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from leadforge_lifecycle.hazards import PROBABILITY_CAP, Propensities
from leadforge_lifecycle.latents import Latents
from leadforge_lifecycle.mechanism import Telemetry

if TYPE_CHECKING:
    from leadforge_lifecycle.interventions import Policy

RAMP_WEEKS = 6.0
#: Weekly active-user base by initial plan (starter, growth, enterprise).
BASE_USERS = np.array([8.0, 25.0, 60.0])
ENGAGEMENT_FLOOR = 0.20
#: Share of the gap to the floor that remains after each disengaged week.
DECAY = 0.95
#: Share of the gap to full engagement closed after each engaged week.
REBOUND = 0.25
SURVEY_EVERY = 13
NPS_NULL = -1
#: Score (tenths of the 0-10 scale) of a customer with no fit, no champion and no slump: with
#: neutral traits the mean answer is 8, so a healthy book scores an NPS of about +20 to +40,
#: the range B2B software NPS benchmarks report, and a slump pulls answers toward detractors.
NPS_BASE = 0.50
#: A customer whose true view (traits and sentiment, before a slump or survey noise) is below this
#: is a detractor at heart; the renewal decision reads it (``detractor_renewal_lift``).
DETRACTOR_VIEW = 6.5
#: Share of its feature depth a leaving customer still records in the week it leaves (its users
#: export their data and stop working in the product).
OFFBOARDING_DEPTH = 0.3


@dataclass(frozen=True)
class HealthHistory:
    """Shard × week matrices (row = customer, column = tenure week)."""

    distress: np.ndarray
    depth_true: np.ndarray
    depth_level: np.ndarray
    active_users: np.ndarray
    depth: np.ndarray
    tickets: np.ndarray
    tickets_4w: np.ndarray
    nps: np.ndarray
    detractor: np.ndarray


def usage_ramp(n_weeks: int) -> np.ndarray:
    """``1 − exp(−(w + 1) / 6)``: ≈0.15 in week 0, ≈0.63 in week 5, ≈0.93 in week 15."""
    return np.asarray(1.0 - np.exp(-(np.arange(n_weeks) + 1.0) / RAMP_WEEKS))


def engagement_step(
    k: np.ndarray, episode: np.ndarray, u: np.ndarray, onset: np.ndarray, recovery: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """One week of the two-state process: the new episode flags and engagement."""
    episode = np.where(episode, u >= recovery, u < onset)
    k = np.where(episode, ENGAGEMENT_FLOOR + (k - ENGAGEMENT_FLOOR) * DECAY, k + (1.0 - k) * REBOUND)
    return k, episode


def engagement(
    p: Propensities, n_weeks: int, g: np.random.Generator, policy: Policy | None = None
) -> np.ndarray:
    """Engagement ``k`` per customer and week, from the onset/recovery two-state process; a
    health programme (``policy``) changes the onset and recovery from its start week."""
    n = p.disengagement_onset.size
    k = np.ones(n)
    episode = np.zeros(n, dtype=bool)
    out = np.empty((n, n_weeks), dtype=np.float64)
    draws = g.random((n_weeks, n))
    onset, recovery = p.disengagement_onset, p.disengagement_recovery
    for w in range(n_weeks):
        if policy is not None:
            onset = p.disengagement_onset * policy.onset_factor(w)
            recovery = np.minimum(p.disengagement_recovery * policy.recovery_factor(w), PROBABILITY_CAP)
        k, episode = engagement_step(k, episode, draws[w], onset, recovery)
        out[:, w] = k
    return out


def ticket_rate(fit: np.ndarray, distress: np.ndarray) -> np.ndarray:
    """Mean weekly support tickets: poor fit and a slump both raise the load."""
    return np.asarray(0.3 + 1.2 * (1.0 - fit) + 2.5 * distress)


def poisson_inverse(lam: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Poisson(``lam``) counts by inverting the CDF at uniforms ``u``.

    One uniform per count whatever the rate, so a customer whose rate an intervention changes
    does not shift any other customer's draws (``Generator.poisson`` consumes a varying number).
    """
    lam = np.broadcast_to(lam, u.shape)
    term = np.exp(-lam)
    cdf = term.copy()
    out = np.zeros(u.shape, dtype=np.int64)
    idx = np.flatnonzero(u > cdf)
    flat_u, flat_lam = u.reshape(-1)[idx], lam.reshape(-1)[idx]
    term, cdf = term.reshape(-1)[idx], cdf.reshape(-1)[idx]
    flat = out.reshape(-1)
    k = 0
    while idx.size:
        k += 1
        flat[idx] = k
        term = term * flat_lam / k
        cdf = cdf + term
        more = (flat_u > cdf) & (term > 0)
        idx, flat_u, flat_lam, term, cdf = idx[more], flat_u[more], flat_lam[more], term[more], cdf[more]
    return out


def simulate_health(
    p: Propensities,
    latents: Latents,
    initial_plan: np.ndarray,
    telemetry: Telemetry,
    n_weeks: int,
    g: np.random.Generator,
    *,
    sentiment_sd: float = 0.0,
    nps_lift: float = 0.0,
    policy: Policy | None = None,
) -> HealthHistory:
    """A shard's health history.

    ``sentiment_sd`` adds a persistent per-customer sentiment to every NPS answer, a view usage
    does not show: ``detractor`` (per customer) is whether the true view (traits and sentiment,
    before a slump or survey noise) is a detractor's, known to an analyst only through the sparse,
    noisy answers. The sentiment is drawn last, so ``sentiment_sd = 0`` leaves every other draw
    as is. ``nps_lift`` (the family's) moves every view by that many points.
    """
    n = len(latents)
    fit = latents.product_fit[:, None]
    adoption = latents.adoption_velocity[:, None]
    champion = latents.champion_strength[:, None]
    k = engagement(p, n_weeks, g, policy)
    distress = (1.0 - k) / (1.0 - ENGAGEMENT_FLOOR)
    ramp = usage_ramp(n_weeks)[None, :]

    depth_target = np.clip(0.20 + 0.40 * adoption + 0.30 * fit, 0.0, 1.0)
    depth_level = np.clip(depth_target * (0.4 + 0.6 * k), 0.0, 1.0)
    depth_true = depth_level * ramp
    users_true = (
        BASE_USERS[initial_plan][:, None] * (0.2 + 0.6 * adoption + 0.4 * champion) * ramp * (0.1 + 0.9 * k)
    )
    users = users_true * (1.0 + telemetry.active_users_sd * g.standard_normal((n, n_weeks)))
    active_users = np.floor(np.maximum(users, 0.0) + 0.5).astype(np.int64)
    depth = np.clip(depth_true + telemetry.depth_sd * g.standard_normal((n, n_weeks)), 0.0, 1.0)
    depth = np.round(depth, 4)

    tickets = poisson_inverse(ticket_rate(fit, distress), g.random((n, n_weeks)))
    tickets_4w = _trailing_mean(tickets, 4)

    nps = np.full((n, n_weeks), NPS_NULL, dtype=np.int64)
    survey = np.arange(SURVEY_EVERY, n_weeks, SURVEY_EVERY)
    view = 10.0 * (NPS_BASE + 0.35 * fit + 0.25 * champion) + nps_lift
    raw = answered = None
    if survey.size:
        d = distress[:, survey]
        raw = view - 4.0 * d + telemetry.nps_sd * g.standard_normal(d.shape)
        answered = g.random(d.shape) < 0.85 - 0.45 * d
    if sentiment_sd > 0:
        sentiment = sentiment_sd * g.standard_normal((n, 1))
        view = view + sentiment
        raw = None if raw is None else raw + sentiment
    if raw is not None and answered is not None:
        score = np.clip(np.rint(raw), 0, 10).astype(np.int64)
        nps[:, survey] = np.where(answered, score, NPS_NULL)
    return HealthHistory(
        distress=distress,
        depth_true=depth_true,
        depth_level=depth_level,
        active_users=active_users,
        depth=depth,
        tickets=tickets,
        tickets_4w=tickets_4w,
        nps=nps,
        detractor=view[:, 0] < DETRACTOR_VIEW,
    )


def _trailing_mean(x: np.ndarray, weeks: int) -> np.ndarray:
    """Mean over the current and previous ``weeks − 1`` weeks (shorter at the start of tenure)."""
    csum = np.cumsum(x, axis=1, dtype=np.float64)
    lagged = np.zeros_like(csum)
    lagged[:, weeks:] = csum[:, :-weeks]
    return np.asarray((csum - lagged) / weeks)


def offboarded(health: HealthHistory, churn_week: np.ndarray, after_week: np.ndarray) -> HealthHistory:
    """The recorded history with each leaver's churn week showing its offboarding.

    Only churn weeks later than ``after_week`` (the customer's latest snapshot cutoff week) are
    touched, so no cutoff-bounded feature ever reads an offboarding week: it is information from
    after the cutoff, which the ``last_health_signal_post_obs`` trap carries. The engine never
    reads recorded depth, so nothing it decided changes.
    """
    who = np.flatnonzero((churn_week >= 0) & (churn_week > after_week))
    if not who.size:
        return health
    depth = health.depth.copy()
    depth[who, churn_week[who]] = np.round(depth[who, churn_week[who]] * OFFBOARDING_DEPTH, 4)
    return replace(health, depth=depth)
