"""The helpdesk world: customers raise tickets day by day; a team works the queue.

Each day the on-duty agents supply a capacity of effort; open tickets are worked in order
of priority, then age, and a ticket is resolved once its effort is paid. Whether it breaches
its SLA emerges from that queue: nothing samples the label.

The queue couples every ticket to every other, so a support world is simulated as a single
shard; ``SupportParams`` bounds its size.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from leadforge.config import GenerationConfig
from leadforge.rng import RNG

from leadforge_support.params import (
    PRIORITIES,
    SLA_DAYS,
    SupportNarrative,
    SupportParams,
    SupportProfile,
)

SCHEME = "support"
BASE_DATE = dt.date(2025, 1, 6)
WEEKDAY_ARRIVALS = np.array([1.25, 1.15, 1.05, 1.0, 0.9, 0.35, 0.3])
#: Priority mix by plan position (cheapest first); enterprise customers escalate more.
PRIORITY_MIX = np.array([[0.04, 0.16, 0.55, 0.25], [0.07, 0.22, 0.52, 0.19], [0.12, 0.30, 0.45, 0.13]])
CHANNELS = ("email", "chat", "phone")
#: The simulated queue starts empty, which no real helpdesk does: tickets of the first week fill
#: it but are not task rows, so no label reflects the empty start.
WARMUP_DAYS = 7


@dataclass(frozen=True)
class Customers:
    plan: np.ndarray
    seats: np.ndarray
    demand: np.ndarray
    signup_offset: np.ndarray


@dataclass(frozen=True)
class Tickets:
    customer: np.ndarray
    day: np.ndarray
    priority: np.ndarray
    category: np.ndarray
    channel: np.ndarray
    effort: np.ndarray
    message_chars: np.ndarray
    backlog: np.ndarray
    agents_on_duty: np.ndarray
    resolved_day: np.ndarray
    resolved_by: np.ndarray

    @property
    def deadline(self) -> np.ndarray:
        sla = np.array([SLA_DAYS[p] for p in PRIORITIES], dtype=np.int64)
        return np.asarray(self.day + sla[self.priority])

    @property
    def breached(self) -> np.ndarray:
        late = self.resolved_day > self.deadline
        return late | (self.resolved_day < 0)


@dataclass(frozen=True)
class SupportWorld:
    """World-level truth (customers, agents, ticket arrivals) and the simulated queue.

    ``rng`` is the root stream core passed to ``build_world``; rendering draws its snapshot
    noise from it too, so every draw of a bundle derives from the seed alone.
    """

    scheme: str
    config: GenerationConfig
    narrative: SupportNarrative
    rng: RNG
    customers: Customers
    agent_skill: np.ndarray
    agent_weekend: np.ndarray
    tickets: Tickets

    @property
    def params(self) -> SupportParams:
        return self.config.params_as(SupportParams)

    @property
    def profile(self) -> SupportProfile:
        assert isinstance(self.config.profile, SupportProfile)
        return self.config.profile


def build(config: GenerationConfig, narrative: SupportNarrative, rng: RNG) -> SupportWorld:
    params = config.params_as(SupportParams)
    profile = config.profile
    assert isinstance(profile, SupportProfile)
    customers = _customers(params, narrative, rng.generator("customers"))
    skill, weekend = _agents(params, rng.generator("agents"))
    tickets = _simulate(params, profile, narrative, customers, skill, weekend, rng)
    return SupportWorld(SCHEME, config, narrative, rng, customers, skill, weekend, tickets)


def _customers(params: SupportParams, narrative: SupportNarrative, g: np.random.Generator) -> Customers:
    n = params.n_customers
    shares = np.array([p.share for p in narrative.plans])
    plan = g.choice(len(shares), size=n, p=shares)
    lo = np.array([p.seats[0] for p in narrative.plans])[plan]
    hi = np.array([p.seats[1] for p in narrative.plans])[plan]
    seats = np.rint(np.exp(g.uniform(np.log(lo), np.log(hi + 1)))).astype(np.int64).clip(lo, hi)
    demand = g.lognormal(0.0, 0.5, n)
    signup = -g.integers(30, 900, n)
    return Customers(plan, seats, demand, signup)


def _agents(params: SupportParams, g: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    skill = g.gamma(8.0, 1.0 / 8.0, params.n_agents)
    weekend = g.random(params.n_agents) < 0.3
    return skill, weekend


def _simulate(
    params: SupportParams,
    profile: SupportProfile,
    narrative: SupportNarrative,
    customers: Customers,
    skill: np.ndarray,
    weekend: np.ndarray,
    rng: RNG,
) -> Tickets:
    g = rng.generator("arrivals")
    days = params.horizon_days
    weekday = (BASE_DATE.weekday() + np.arange(days)) % 7
    rate = np.array([p.ticket_rate for p in narrative.plans])[customers.plan] / 7.0
    rate = rate * customers.demand * (1.0 + np.log1p(customers.seats) / 4.0)
    counts = g.poisson(np.outer(WEEKDAY_ARRIVALS[weekday], rate))  # day x customer
    day_idx, cust_idx = np.nonzero(counts)
    reps = counts[day_idx, cust_idx]
    day = np.repeat(day_idx, reps)
    customer = np.repeat(cust_idx, reps)
    n = day.size

    t = rng.generator("tickets")
    plan_rank = np.minimum(customers.plan[customer], PRIORITY_MIX.shape[0] - 1)
    cum = PRIORITY_MIX.cumsum(axis=1)[plan_rank]
    priority = (t.random(n)[:, None] > cum).sum(axis=1).clip(0, len(PRIORITIES) - 1)
    cat_share = np.array([c.share for c in narrative.categories])
    category = t.choice(len(cat_share), size=n, p=cat_share)
    channel = t.choice(len(CHANNELS), size=n, p=[0.55, 0.3, 0.15])
    base_effort = np.array([c.effort for c in narrative.categories])[category]
    effort = base_effort * t.gamma(2.0, 0.5, n) * np.where(channel == 2, 0.8, 1.0)
    message_chars = np.rint(180 + 420 * effort * t.lognormal(0.0, 0.35, n)).astype(np.int64)

    duty_draw = rng.generator("duty").random((days, skill.size))
    is_weekend = weekday >= 5
    duty_p = np.where(is_weekend[:, None], np.where(weekend, 0.9, 0.05), np.where(weekend, 0.6, 0.95))
    on_duty = duty_draw < duty_p
    demand_per_day = (rate.sum() * WEEKDAY_ARRIVALS.mean()) * float(np.mean(base_effort)) * 1.0
    capacity_scale = demand_per_day / max(float(skill.sum()) * 0.85, 1e-9) / profile.load_factor

    remaining = effort.copy()
    resolved_day = np.full(n, -1, dtype=np.int64)
    resolved_by = np.full(n, -1, dtype=np.int64)
    backlog = np.zeros(n, dtype=np.int64)
    agents_on_duty = np.zeros(n, dtype=np.int64)
    pick = rng.generator("assignment")
    open_idx = np.zeros(0, dtype=np.int64)
    order = np.argsort(day, kind="stable")
    starts = np.searchsorted(day[order], np.arange(days + 1))
    for d in range(days):
        new = order[starts[d] : starts[d + 1]]
        backlog[new] = open_idx.size
        duty = np.flatnonzero(on_duty[d])
        agents_on_duty[new] = duty.size
        open_idx = np.concatenate([open_idx, new])
        if open_idx.size == 0 or duty.size == 0:
            continue
        capacity = float(skill[duty].sum()) * capacity_scale
        queue = open_idx[np.lexsort((open_idx, day[open_idx], priority[open_idx]))]
        spent = np.cumsum(remaining[queue])
        done = spent <= capacity
        finished = queue[done]
        resolved_day[finished] = d
        resolved_by[finished] = duty[pick.integers(0, duty.size, finished.size)]
        if not done.all():
            nxt = queue[int(done.sum())]
            used = spent[int(done.sum()) - 1] if done.any() else 0.0
            remaining[nxt] -= capacity - used
        open_idx = queue[~done]
    return Tickets(
        customer,
        day,
        priority,
        category,
        channel,
        effort,
        message_chars,
        backlog,
        agents_on_duty,
        resolved_day,
        resolved_by,
    )
