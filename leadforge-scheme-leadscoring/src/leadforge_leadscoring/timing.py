"""When each simulated event happened: a local business time on its calendar day, in UTC.

The engine works in whole days counted from each lead's creation. Here every touch, web
session and sales activity gets a time of day in the account's local business hours (the
recipe calendar's ``business_hours``, with ``after_hours_share`` outside them), converted to
UTC with the zone's real offset that day. What the snapshot and the public cut count as a
lead's day ``d`` is the UTC calendar day of that instant minus the lead's creation day, so a
late-afternoon call on the US west coast falls on the next UTC day for both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

import numpy as np
from leadforge import calendar as cal
from leadforge.rng import RNG, hash_uniform

from leadforge_leadscoring.engine import Events
from leadforge_leadscoring.population import Population


@dataclass(frozen=True)
class EventTimes:
    """UTC instants (µs since the epoch) of one shard's events, aligned with its event arrays."""

    touches: np.ndarray
    sessions: np.ndarray
    activities: np.ndarray


@dataclass
class EventDraws:
    """Uniforms keyed by event, in place of a generator: the ``k``-th call's draw for an event
    is a hash of the event's key and ``k``. An event's time then depends on the event alone
    (its lead, day and place among that lead's events of the day), never on how many events
    other leads had: twin worlds keep the times of every lead an intervention cannot reach."""

    keys: np.ndarray
    salt: int
    calls: int = field(default=0)

    def random(self, n: int) -> np.ndarray:
        if n != self.keys.size:
            raise ValueError(f"EventDraws holds {self.keys.size} events, asked for {n}")
        self.calls += 1
        return hash_uniform(self.keys, (self.salt + self.calls) % 2**64)


def event_keys(lead: np.ndarray, day: np.ndarray) -> np.ndarray:
    """A key per event of a day-major, then lead, ordered array: (lead, day, its rank among the
    lead's events that day)."""
    lead = np.asarray(lead, dtype=np.int64)
    day = np.asarray(day, dtype=np.int64)
    if lead.size == 0:
        return np.zeros(0, dtype=np.uint64)
    start = np.flatnonzero(np.r_[True, (lead[1:] != lead[:-1]) | (day[1:] != day[:-1])])
    rank = np.arange(lead.size) - np.repeat(start, np.diff(np.r_[start, lead.size]))
    return np.asarray(
        (lead.astype(np.uint64) << np.uint64(32))
        | (day.astype(np.uint64) << np.uint64(16))
        | rank.astype(np.uint64)
    )


def instants(
    lead: np.ndarray, day: np.ndarray, pop: Population, profile: cal.CalendarProfile, draws: EventDraws
) -> np.ndarray:
    """A business time on each event's local day (lead creation + ``day``), as UTC µs; never
    before the UTC midnight that starts the lead's creation day."""
    created = pop.leads.created_day[lead]
    zone = pop.accounts.zone[pop.leads.account[lead]]
    us = cal.business_times(cast(np.random.Generator, draws), created + day, zone, profile)
    return np.asarray(np.maximum(us, created * cal.US_PER_DAY), dtype=np.int64)


def event_times(events: Events, pop: Population, profile: cal.CalendarProfile, rng: RNG) -> EventTimes:
    """Times of the shard's touches, sessions and activities (one keyed stream per kind)."""

    def times(lead: np.ndarray, day: np.ndarray, name: str) -> np.ndarray:
        return instants(lead, day, pop, profile, EventDraws(event_keys(lead, day), rng.key(name)))

    t, s, a = events.touches, events.sessions, events.activities
    return EventTimes(
        touches=times(t.lead, t.day, "time:touches"),
        sessions=times(s.lead, s.day, "time:sessions"),
        activities=times(a.lead, a.day, "time:activities"),
    )


def lead_days(at: np.ndarray, lead: np.ndarray, pop: Population) -> np.ndarray:
    """Each event's day counted from its lead's creation, by UTC calendar day (the cut's rule)."""
    return np.asarray(at // cal.US_PER_DAY - pop.leads.created_day[lead], dtype=np.int64)
