"""When each simulated event happened: a local business time on its calendar day, in UTC.

The engine works in whole days counted from each lead's creation. Here every touch, web
session and sales activity gets a time of day in the account's local business hours (the
recipe calendar's ``business_hours``, with ``after_hours_share`` outside them), converted to
UTC with the zone's real offset that day. What the snapshot and the public cut count as a
lead's day ``d`` is the UTC calendar day of that instant minus the lead's creation day, so a
late-afternoon call on the US west coast falls on the next UTC day for both.

Each event's time of day hashes its own key (its lead's number and its place among that lead's
events of the kind), so an intervention that adds or removes one lead's events moves no other
lead's times: twin worlds agree on every lead the intervention cannot reach.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from leadforge import calendar as cal
from leadforge.rng import RNG, KeyedUniforms, entity_keys, ordinals

from leadforge_leadscoring.engine import Events
from leadforge_leadscoring.population import Population


@dataclass(frozen=True)
class EventTimes:
    """UTC instants (µs since the epoch) of one shard's events, aligned with its event arrays."""

    touches: np.ndarray
    sessions: np.ndarray
    activities: np.ndarray


def instants(
    lead: np.ndarray,
    day: np.ndarray,
    pop: Population,
    profile: cal.CalendarProfile,
    first_lead: int,
    salt: int,
) -> np.ndarray:
    """A business time on each event's local day (lead creation + ``day``), as UTC µs; never
    before the UTC midnight that starts the lead's creation day. ``first_lead`` is the number of
    the shard's first lead minus one."""
    created = pop.leads.created_day[lead]
    zone = pop.accounts.zone[pop.leads.account[lead]]
    keys = entity_keys(first_lead + 1 + lead, ordinals(lead))
    us = cal.business_times(KeyedUniforms(keys, salt).generator(), created + day, zone, profile)
    return np.asarray(np.maximum(us, created * cal.US_PER_DAY), dtype=np.int64)


def event_times(
    events: Events, pop: Population, profile: cal.CalendarProfile, first_lead: int, rng: RNG
) -> EventTimes:
    """Times of the shard's touches, sessions and activities (one salt per kind)."""
    t, s, a = events.touches, events.sessions, events.activities
    return EventTimes(
        touches=instants(t.lead, t.day, pop, profile, first_lead, rng.key("time:touches")),
        sessions=instants(s.lead, s.day, pop, profile, first_lead, rng.key("time:sessions")),
        activities=instants(a.lead, a.day, pop, profile, first_lead, rng.key("time:activities")),
    )


def lead_days(at: np.ndarray, lead: np.ndarray, pop: Population) -> np.ndarray:
    """Each event's day counted from its lead's creation, by UTC calendar day (the cut's rule)."""
    return np.asarray(at // cal.US_PER_DAY - pop.leads.created_day[lead], dtype=np.int64)
