"""The lead-scoring world: world-level truth built once, shards simulated on demand."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
from leadforge import vocabulary as words
from leadforge.config import GenerationConfig
from leadforge.enums import ExposureMode
from leadforge.errors import InvalidConfigError, InvalidRecipeError, UsageError
from leadforge.narrative import Narrative
from leadforge.rng import RNG

from leadforge_leadscoring import interventions
from leadforge_leadscoring import vocab as V
from leadforge_leadscoring.calibration import build_mechanisms
from leadforge_leadscoring.engine import (
    Events,
    Hazards,
    States,
    commercial_fit,
    deal_prospects,
    draw_acv,
    drift_share,
    emit,
    follow_up,
    hazards,
    prospect_scores,
    simulate_states,
    source_lift,
)
from leadforge_leadscoring.graph import HiddenGraph, sample_graph
from leadforge_leadscoring.interventions import Policy
from leadforge_leadscoring.mechanisms import Drivers, Mechanisms
from leadforge_leadscoring.params import LeadScoringParams, LeadScoringProfile
from leadforge_leadscoring.population import (
    Population,
    Shard,
    Vocabulary,
    apply_shifts,
    draw_population,
    plan_shards,
)
from leadforge_leadscoring.timing import EventTimes, event_times


@dataclass(frozen=True)
class Arms:
    """A designed experiment's arms in one shard: who is treated, and every lead's hazards
    under either arm (what the true uplift compares)."""

    treated: np.ndarray
    control: Hazards
    treatment: Hazards


@dataclass(frozen=True)
class SimulatedShard:
    """Everything one shard produced: entities, the hazards that ran, the stage path, events
    and deal sizes (and the experiment's arms, when one ran)."""

    shard: Shard
    population: Population
    drivers: Drivers
    states: States
    events: Events
    acv: np.ndarray
    times: EventTimes
    opportunity_day: np.ndarray
    hazards: Hazards
    prospects: np.ndarray
    arms: Arms | None = None

    @property
    def n_leads(self) -> int:
        return self.shard.n_leads

    @property
    def converted(self) -> np.ndarray:
        return np.asarray(self.states.final == V.CLOSED_WON)


@dataclass(frozen=True)
class LeadScoringWorld:
    """World-level truth: graph, mechanisms after difficulty, and the shard plan."""

    scheme: str
    config: GenerationConfig
    narrative: Narrative
    vocab: Vocabulary
    graph: HiddenGraph
    mechanisms: Mechanisms
    plan: tuple[Shard, ...]
    rng: RNG
    policy: Policy = field(default_factory=Policy)

    @property
    def params(self) -> LeadScoringParams:
        return self.config.params_as(LeadScoringParams)

    @property
    def profile(self) -> LeadScoringProfile:
        profile = self.config.profile
        assert isinstance(profile, LeadScoringProfile)
        return profile

    def population(self, shard: Shard) -> Population:
        pop = draw_population(shard, self.vocab, self.graph.motif_family, self.rng.shard(shard.index))
        return apply_shifts(pop, self.profile.category_shifts, self.vocab)

    def simulate(self, shard: Shard) -> SimulatedShard:
        """Simulate one shard from its own substreams (any order, any worker)."""
        rng = self.rng.shard(shard.index)
        pop = self.population(shard)
        drivers = self.mechanisms.model.drivers(pop, rng)
        engine = self.mechanisms.engine
        codes = pop.lead_codes()
        acv = draw_acv(codes["employee_band"], engine, rng)
        share = drift_share(pop.leads.created_day, engine)
        commercial = commercial_fit(codes, acv, engine, share)
        lift = source_lift(codes, engine, share)
        base = hazards(drivers, engine, commercial, lift)
        policy = self.policy
        h = follow_up(base, policy.follow_up_speed)
        cadence: np.ndarray | float = policy.touch_cadence
        arms = None
        experiment = self.config.experiment
        if experiment is not None:
            treated = experiment.treated(shard.lead_start + np.arange(shard.n_leads), self.rng)
            other = policy.under([experiment.intervention])
            arms = Arms(treated, h, follow_up(base, other.follow_up_speed))
            h = Hazards(
                np.where(treated[None, :], arms.treatment.advance, h.advance),
                np.where(treated[None, :], arms.treatment.churn, h.churn),
                np.where(treated, arms.treatment.win, h.win),
            )
            cadence = np.where(treated, other.touch_cadence, policy.touch_cadence)
        states = simulate_states(h, engine, self.params.horizon_days, rng)
        calendar = self.vocab.calendar
        prospects = prospect_scores(deal_prospects(drivers, engine, commercial, lift), engine)
        events = emit(
            states, drivers, engine, rng, pop.leads.created_day, calendar.weekday_weights, cadence, prospects
        )
        times = event_times(events, pop, calendar, shard.lead_start, rng)
        logged = opportunity_days(states, self.profile.opportunity_logging, rng)
        return SimulatedShard(shard, pop, drivers, states, events, acv, times, logged, h, prospects, arms)

    def shards(self) -> Iterator[SimulatedShard]:
        """Simulated shards in plan order, one at a time (peak memory: one shard)."""
        for shard in self.plan:
            yield self.simulate(shard)


def opportunity_days(states: States, logging: tuple[float, ...], rng: RNG) -> np.ndarray:
    """The day each lead's opportunity appears in the CRM (-1 without one): the day it became
    sql, or, for a ``logging[0]`` share of them, up to ``logging[1]`` days later (reps log deals
    late), and never after the deal closed."""
    share, lag = (float(logging[0]), int(logging[1])) if len(logging) == 2 else (0.0, 0)
    g = rng.generator("opportunity_logging")
    n = states.sql_day.size
    late = g.random(n) < share
    delay = np.where(late, 1 + np.minimum((g.random(n) * lag).astype(np.int64), max(lag - 1, 0)), 0)
    day = states.sql_day + delay
    day = np.where(states.end_day >= 0, np.minimum(day, states.end_day), day)
    return np.asarray(np.where(states.sql_day >= 0, day, -1), dtype=np.int64)


def recipe_words(recipe_id: str) -> words.Vocabulary:
    """The word lists the recipe names (core's built-in lists if it names none or is unknown)."""
    from leadforge.plugins import get_host

    try:
        recipe = get_host().recipe(recipe_id)
    except (UsageError, InvalidRecipeError):
        return words.Vocabulary.default()
    return words.Vocabulary.of(recipe)


def build(
    config: GenerationConfig, narrative: Narrative, rng: RNG, graph: HiddenGraph | None = None
) -> LeadScoringWorld:
    """Sample the world-level truth; ``graph`` replaces the sampled graph (what-if worlds)."""
    params = config.params_as(LeadScoringParams)
    profile = config.profile
    if not isinstance(profile, LeadScoringProfile):
        raise InvalidConfigError("the lead_scoring scheme needs a difficulty profile", key="difficulty")
    if config.exposure_mode is ExposureMode.STUDENT_PUBLIC and params.snapshot_day is None:
        raise InvalidConfigError(
            "snapshot_day must be set for student_public bundles: the public tables are cut at "
            "each lead's snapshot day",
            key="snapshot_day",
        )
    vocab = Vocabulary.from_narrative(narrative, recipe_words(config.recipe_id))
    graph = graph or sample_graph(rng)
    # Calibrated on the factual world, then intervened on: re-fitting would undo the intervention.
    mechanisms = build_mechanisms(graph, params, profile, vocab, narrative, rng)
    mechanisms = interventions.apply(mechanisms, graph, config.interventions)
    policy = Policy().under(config.interventions)
    return LeadScoringWorld(
        V.SCHEME, config, narrative, vocab, graph, mechanisms, plan_shards(params, rng), rng, policy
    )
