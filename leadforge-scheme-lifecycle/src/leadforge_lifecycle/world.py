"""The lifecycle world: world-level truth at build time, customers simulated shard by shard.

``build`` draws what the whole world shares — the motif family, the calibrated mechanism, the
calendar and the accounts. Customers live in fixed-size shards (``shard_size`` customers, a
config value, never the number of workers); shard ``k`` is drawn and simulated on demand from
its own substreams (core's ``rng.shard(k)``: ``customers``, ``health``, ``engine``), so a shard's
content depends only on the config and ``k``, never on which process ran it or in what order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from leadforge.config import GenerationConfig
from leadforge.narrative import Narrative
from leadforge.plugins import get_host
from leadforge.rng import RNG
from leadforge.vocabulary import Vocabulary

from leadforge_lifecycle.calendar import Calendar
from leadforge_lifecycle.calibration import Calibration, calibrate
from leadforge_lifecycle.engine import Trajectories, simulate
from leadforge_lifecycle.families import FAMILIES, FAMILY_NAMES, RetentionMotif
from leadforge_lifecycle.hazards import Propensities
from leadforge_lifecycle.health import HealthHistory, offboarded, simulate_health
from leadforge_lifecycle.interventions import Policy, block_policy, treated
from leadforge_lifecycle.mechanism import Mechanism
from leadforge_lifecycle.params import LifecycleParams, LifecycleProfile
from leadforge_lifecycle.population import (
    Accounts,
    CustomerBlock,
    draw_accounts,
    draw_customers,
    n_accounts,
)

SCHEME = "lifecycle"


@dataclass(frozen=True)
class Shard:
    """One simulated block of customers: who they are, their health and their trajectories."""

    customers: CustomerBlock
    health: HealthHistory
    trajectories: Trajectories
    #: the policy each customer lived under (``None``: the factual one for all)
    policy: Policy | None = None
    #: the experiment's arm of each customer (``None`` without an experiment)
    treatment: np.ndarray | None = None

    @property
    def index(self) -> int:
        return self.customers.index


@dataclass(frozen=True)
class LifecycleWorld:
    scheme: str
    config: GenerationConfig
    narrative: Narrative
    calendar: Calendar
    motif: RetentionMotif
    calibration: Calibration
    mechanism: Mechanism
    accounts: Accounts
    rng: RNG

    @property
    def params(self) -> LifecycleParams:
        return self.config.params_as(LifecycleParams)

    @property
    def profile(self) -> LifecycleProfile:
        assert isinstance(self.config.profile, LifecycleProfile)
        return self.config.profile

    @property
    def n_customers(self) -> int:
        return self.params.n_customers

    @property
    def n_shards(self) -> int:
        return -(-self.n_customers // self.params.shard_size)

    def shard_span(self, k: int) -> tuple[int, int]:
        """(first global index, size) of shard ``k``."""
        first = k * self.params.shard_size
        return first, min(self.params.shard_size, self.n_customers - first)

    def customers(self, k: int) -> CustomerBlock:
        """Shard ``k``'s customers, without simulating them."""
        first, n = self.shard_span(k)
        g = self.rng.shard(k).generator("customers")
        return draw_customers(
            k,
            first,
            n,
            self.accounts,
            self.motif,
            g,
            self.calendar,
            two_year_share=self.profile.two_year_share,
        )

    def treatment(self, block: CustomerBlock) -> np.ndarray | None:
        """The experiment's arm of each customer: a hash of its number and the world seed."""
        return treated(self.config, block.numbers, self.rng)

    def policy(
        self, block: CustomerBlock, treatment: np.ndarray | None, arm: str = "actual"
    ) -> Policy | None:
        """The block's policy under the config's interventions and experiment (see ``block_policy``)."""
        return block_policy(
            self.config,
            block.initial_plan,
            block.days_to_observation,
            treatment,
            self.motif.payment.dunning_weeks,
            arm,
        )

    def anchor_weeks(self, block: CustomerBlock) -> dict[str, np.ndarray]:
        """Each regime's anchor week per customer (the week holding its snapshot cutoff)."""
        return {
            "calendar": np.asarray(block.days_to_observation, dtype=np.int64) // 7,
            "early": np.full(len(block), self.calendar.early_anchor_days // 7, dtype=np.int64),
        }

    def propensities(self, block: CustomerBlock) -> Propensities:
        """The block's hazards, drifted by each customer's signup cohort (engine and oracle alike)."""
        return Propensities.of(self.mechanism, block.effective, block.cohort(self.calendar.acquisition_days))

    def simulate(self, k: int, *, anchors: bool = False) -> Shard:
        """Shard ``k`` simulated under its policy; ``anchors`` records the regimes' anchor states
        (the oracle's starting points)."""
        block = self.customers(k)
        streams = self.rng.shard(k)
        treatment = self.treatment(block)
        policy = self.policy(block, treatment)
        p = self.propensities(block)
        last = self.calendar.last_week(block.days_to_observation)
        health = simulate_health(
            p,
            block.effective,
            block.initial_plan,
            self.mechanism.telemetry,
            int(last.max()) + 1,
            streams.generator("health"),
            sentiment_sd=self.mechanism.sentiment_sd,
            nps_lift=self.mechanism.motif.nps_lift,
            policy=policy,
        )
        trajectories = simulate(
            self.mechanism,
            p,
            health,
            block.initial_mrr,
            block.initial_plan,
            block.term_months,
            block.start_days(self.calendar.observation_date),
            last,
            streams.generator("engine"),
            policy,
            self.anchor_weeks(block) if anchors else None,
        )
        cutoff_week = np.maximum(block.days_to_observation, self.calendar.early_anchor_days) // 7
        health = offboarded(health, trajectories.churn_week, cutoff_week)
        return Shard(block, health, trajectories, policy, treatment)

    def shards(self) -> Iterator[Shard]:
        """Every shard in order, simulated one at a time (memory holds one shard)."""
        for k in range(self.n_shards):
            yield self.simulate(k)

    def __reduce__(self) -> tuple[Callable[..., LifecycleWorld], tuple[Any, ...]]:
        """Pickle the retention motif by its family name.

        The world is sent to every worker once; its motif is one of the module's constant
        families, whose read-only weight tables ``pickle`` refuses, so the name stands for it.
        """
        if FAMILIES.get(self.motif.name) != self.motif or self.mechanism.motif != self.motif:
            raise TypeError(f"a world pickles only on a known motif family, not {self.motif.name!r}")
        state = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("motif", "mechanism")}
        mechanism = {f.name: getattr(self.mechanism, f.name) for f in fields(Mechanism) if f.name != "motif"}
        return _restore, (self.motif.name, mechanism, state)


def _restore(family: str, mechanism: dict[str, Any], state: dict[str, Any]) -> LifecycleWorld:
    motif = FAMILIES[family]
    return LifecycleWorld(motif=motif, mechanism=Mechanism(motif=motif, **mechanism), **state)


def pick_family(params: LifecycleParams, rng: RNG) -> RetentionMotif:
    if params.motif_family is not None:
        return FAMILIES[params.motif_family]
    return FAMILIES[FAMILY_NAMES[int(rng.generator("motif").integers(0, len(FAMILY_NAMES)))]]


def vocabulary(config: GenerationConfig) -> Vocabulary:
    """The word lists of the configuration's recipe (core's built-in lists if it names none)."""
    entry = get_host().recipes.get(config.recipe_id)
    recipe = getattr(entry, "recipe", None)
    return Vocabulary.default() if recipe is None else Vocabulary.of(recipe)


def build(config: GenerationConfig, narrative: Narrative, rng: RNG) -> LifecycleWorld:
    params = config.params_as(LifecycleParams)
    profile = config.profile
    assert isinstance(profile, LifecycleProfile)
    motif = pick_family(params, rng)
    calibration = calibrate(motif.name, profile)
    mechanism = Mechanism.for_profile(motif, profile, calibration.multipliers)
    accounts = draw_accounts(
        n_accounts(params.n_customers),
        motif,
        narrative.market.icp_industries,
        narrative.market.geographies,
        rng.generator("accounts"),
    ).named(vocabulary(config), rng.generator("account_names"), rng.generator("account_zones"))
    calendar = Calendar.of(params, narrative.calendar)
    return LifecycleWorld(
        scheme=SCHEME,
        config=config,
        narrative=narrative,
        calendar=calendar,
        motif=motif,
        calibration=calibration,
        mechanism=mechanism,
        accounts=accounts,
        rng=rng,
    )
