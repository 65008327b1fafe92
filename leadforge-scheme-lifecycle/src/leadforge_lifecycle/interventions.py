"""Policy levers: what the company running the world can change, and the per-customer policy it runs.

Every lever acts from the first tenure week that starts after the observation date (the day
the company changes its policy), so a customer's history up to the calendar cutoff is the same
in the factual and the intervened world, and a researcher compares futures from one state:

* ``policy:price_change=x`` — every MRR is multiplied by ``1 + x`` (whole dollars) and the churn
  hazard by ``(1 + x)^PRICE_CHURN_ELASTICITY``: the engine has no price sensitivity of its own,
  so this mild, documented one stands in (+10 % price, about +15 % churn hazard);
* ``policy:health_programme=v`` (all customers) and ``policy:health_programme.<plan>=v`` (the
  customers who signed on that plan) — a customer-success programme of strength ``v``:
  disengagement episodes start ``1 − v/2`` times as often and end ``1 + v`` times as fast;
* ``policy:dunning=weeks`` — the dunning period of failures opened from then on; each dunning
  week is one more retry, so a first failure's recovery chance ``r`` becomes
  ``1 − (1 − r)^(weeks / family weeks)``.

Nothing here draws random numbers: an intervened world reads the same substreams as the
factual one (common random numbers), and its calibration is the factual world's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from leadforge.config import GenerationConfig
from leadforge.interventions import Intervention, Lever
from leadforge.rng import RNG

from leadforge_lifecycle.population import PLANS

PRICE = "policy:price_change"
PROGRAMME = "policy:health_programme"
DUNNING = "policy:dunning"
#: Churn-hazard elasticity of a price change: hazard × (1 + x)^1.5.
PRICE_CHURN_ELASTICITY = 1.5
PRICE_BOUNDS = (-0.5, 1.0)
DUNNING_BOUNDS = (1.0, 12.0)


def levers(config: GenerationConfig) -> list[Lever]:
    """The policy levers of every lifecycle world (the hidden traits are not levers: a company
    cannot set a customer's product fit)."""
    out = [
        Lever(
            PRICE,
            "relative MRR change from the observation date; churn hazard × (1+x)^1.5",
            ops=("set",),
            low=PRICE_BOUNDS[0],
            high=PRICE_BOUNDS[1],
        ),
        Lever(
            PROGRAMME,
            "health programme strength for every customer: episodes start 1-v/2 as often, end 1+v as fast",
            ops=("set",),
            low=0.0,
            high=1.0,
        ),
    ]
    out += [
        Lever(f"{PROGRAMME}.{plan}", f"the health programme for {plan} signings", ("set",), 0.0, 1.0)
        for plan in PLANS
    ]
    out.append(
        Lever(
            DUNNING,
            "dunning period (weeks of retries) of failures opened from the observation date",
            ops=("set",),
            low=DUNNING_BOUNDS[0],
            high=DUNNING_BOUNDS[1],
        )
    )
    return out


@dataclass(frozen=True)
class Policy:
    """The policy each customer of a shard lives under from ``start_week`` on (arrays per customer).

    ``price`` is the relative MRR change, ``programme`` the health programme's strength and
    ``dunning_weeks`` the dunning period of failures opened from ``start_week``.
    """

    start_week: np.ndarray
    price: np.ndarray
    programme: np.ndarray
    dunning_weeks: np.ndarray

    def take(self, rows: np.ndarray) -> Policy:
        return Policy(self.start_week[rows], self.price[rows], self.programme[rows], self.dunning_weeks[rows])

    def hazard_scale(self, week: np.ndarray | int) -> np.ndarray:
        """The churn-hazard factor of the price change in ``week`` (1 before the policy starts)."""
        on = np.asarray(week) >= self.start_week
        return np.where(on, (1.0 + self.price) ** PRICE_CHURN_ELASTICITY, 1.0)

    def onset_factor(self, week: np.ndarray | int) -> np.ndarray:
        on = np.asarray(week) >= self.start_week
        return np.where(on, 1.0 - self.programme / 2.0, 1.0)

    def recovery_factor(self, week: np.ndarray | int) -> np.ndarray:
        on = np.asarray(week) >= self.start_week
        return np.where(on, 1.0 + self.programme, 1.0)

    def dunning(self, week: np.ndarray | int, base: int) -> np.ndarray:
        """Dunning weeks of a failure opened in ``week``."""
        return np.where(np.asarray(week) >= self.start_week, self.dunning_weeks, base).astype(np.int64)


def recovery_adjusted(chance: np.ndarray, weeks: np.ndarray, base: int) -> np.ndarray:
    """A recovery chance under a dunning period of ``weeks`` instead of ``base`` (same where equal)."""
    longer = 1.0 - (1.0 - chance) ** (weeks / base)
    return np.asarray(np.where(weeks == base, chance, longer))


def applies(iv: Intervention, initial_plan: np.ndarray) -> np.ndarray:
    """Who an intervention reaches: its segment's customers, or everyone."""
    if iv.lever.startswith(f"{PROGRAMME}."):
        plan = PLANS.index(iv.lever.split(".", 1)[1])
        return np.asarray(initial_plan == plan)
    return np.ones(initial_plan.size, dtype=bool)


def policy_of(
    interventions: tuple[tuple[Intervention, np.ndarray | None], ...],
    initial_plan: np.ndarray,
    days_to_observation: np.ndarray,
    base_dunning: int,
) -> Policy | None:
    """The policy of a block of customers (``None``: the factual policy).

    Each intervention comes with the customers it is restricted to (an experiment's treated
    arm), or ``None`` for all of them.
    """
    if not interventions:
        return None
    n = initial_plan.size
    price, programme = np.zeros(n), np.zeros(n)
    dunning = np.full(n, base_dunning, dtype=np.int64)
    for iv, where in interventions:
        hit = applies(iv, initial_plan) if where is None else applies(iv, initial_plan) & where
        if iv.lever == PRICE:
            price = np.where(hit, iv.value, price)
        elif iv.lever == DUNNING:
            dunning = np.where(hit, round(iv.value), dunning)
        elif iv.lever == PROGRAMME or iv.lever.startswith(f"{PROGRAMME}."):
            programme = np.where(hit, np.maximum(programme, iv.value), programme)
        else:
            raise ValueError(f"the lifecycle scheme has no lever {iv.lever}")
    start = np.asarray(days_to_observation, dtype=np.int64) // 7 + 1
    return Policy(start, price, programme, dunning)


ARMS = ("actual", "control", "treated")


def block_policy(
    config: GenerationConfig,
    initial_plan: np.ndarray,
    days_to_observation: np.ndarray,
    treatment: np.ndarray | None,
    base_dunning: int,
    arm: str = "actual",
) -> Policy | None:
    """The policy of a block under the config's interventions and experiment.

    ``arm`` ``actual`` treats the experiment's treated customers, ``control`` nobody and
    ``treated`` everybody (the two arms an uplift compares).
    """
    given: list[tuple[Intervention, np.ndarray | None]] = [(iv, None) for iv in config.interventions]
    if config.experiment is not None and arm != "control":
        given.append((config.experiment.intervention, treatment if arm == "actual" else None))
    return policy_of(tuple(given), initial_plan, days_to_observation, base_dunning)


def treated(config: GenerationConfig, numbers: np.ndarray, rng: RNG) -> np.ndarray | None:
    """The experiment's arm of customers with 1-based ``numbers`` (``None`` without an experiment)."""
    if config.experiment is None:
        return None
    return config.experiment.treated(numbers - 1, rng)
