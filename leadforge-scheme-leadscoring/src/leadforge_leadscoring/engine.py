"""The daily funnel engine, column-wise over all leads of a shard.

Days are counted from each lead's creation. Every random process draws one uniform per
lead and day from its own substream, whatever the lead's state, so two worlds that differ
in one mechanism share every draw the difference does not reach (common random numbers):
zeroing an edge that only feeds the close-won hazard leaves every event before the first
possible close identical.

Per day, in order: disqualification / loss (churn hazard), then either a funnel advance
(after the stage's minimum dwell) or, at negotiation, a close-won draw. A conversion is
nothing but that close-won event; nothing samples a label. Touches, web sessions and sales
activities are emitted afterwards from the recorded stage path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from leadforge.calendar import weekday
from leadforge.rng import RNG, hash_uniform

from leadforge_leadscoring import vocab as V
from leadforge_leadscoring.mechanisms import Drivers, EngineParams, sigmoid


def _var(x: np.ndarray) -> float:
    """Nominal variance of a driver: 1 for a standardised node, 0 for an absent one."""
    return 1.0 if np.any(x) else 0.0


def _logit(p: float) -> float:
    return float(np.log(p / (1.0 - p)))


@dataclass(frozen=True)
class Hazards:
    """Daily probabilities per lead: advance out of each open stage, churn in it, close won."""

    advance: np.ndarray
    churn: np.ndarray
    win: np.ndarray


@dataclass(frozen=True)
class States:
    """The stage path: ``history[t]`` is each lead's stage at the end of day ``t``."""

    history: np.ndarray
    sql_day: np.ndarray
    end_day: np.ndarray

    @property
    def final(self) -> np.ndarray:
        return np.asarray(self.history[-1])

    def stage_at(self, day: int) -> np.ndarray:
        return np.asarray(self.history[min(day, self.history.shape[0] - 1)])


def deal_fit(acv: np.ndarray, e: EngineParams) -> np.ndarray:
    """How well a deal's size suits the product: a mild log-quadratic preference for the
    typical deal, and a steep penalty outside the product's ACV range (such deals need a
    different product or an exception few buyers get approved)."""
    centre = -(((np.log(acv) - np.log(e.deal_centre)) / e.deal_width) ** 2)
    outside = (acv < e.acv_range[0]) | (acv > e.acv_range[1])
    return np.asarray(centre - e.out_of_range_penalty * outside)


def drift_share(created_day: np.ndarray, e: EngineParams) -> np.ndarray:
    """How far each lead's mechanisms have drifted, 0 (early) … 1 (late), by its creation day."""
    day = np.asarray(created_day, dtype=np.float64)
    if len(e.drift_days) != 2:
        return np.zeros(day.size)
    start, end = e.drift_days
    return np.asarray(np.clip((day - start) / max(end - start, 1.0), 0.0, 1.0))


def commercial_fit(
    codes: Mapping[str, np.ndarray], acv: np.ndarray, e: EngineParams, share: np.ndarray | None = None
) -> np.ndarray:
    """Log-hazard offset of a deal's commercial fit: the hidden fit tables (the ideal customer
    profile by industry x company size, which personas at which seniority carry a deal, how
    each channel performs in each region) plus the deal-size fit. With drift, a lead's tables
    lie ``share`` of the way from the early tables to the late ones."""
    out = e.deal_weight * deal_fit(acv, e)
    late = e.fit_tables_late if share is not None and e.fit_tables_late else ()
    for k, table in enumerate(e.fit_tables):
        value = np.asarray(table.values, dtype=np.float64)[codes[table.rows], codes[table.columns]]
        if late:
            moved = np.asarray(late[k].values, dtype=np.float64)[codes[table.rows], codes[table.columns]]
            value = value + np.asarray(share) * (moved - value)
        out = out + value
    return np.asarray(out)


def source_lift(
    codes: Mapping[str, np.ndarray], e: EngineParams, share: np.ndarray | None = None
) -> np.ndarray:
    """Each lead's log conversion lift from its acquisition channel (0 without channel data),
    plus, with drift, its industry's market conditions at its creation day."""
    lifts = np.asarray(e.source_log_lift, dtype=np.float64)
    source = codes["lead_source"]
    out = lifts[source] if lifts.size else np.zeros(source.size)
    if share is not None and e.market_early:
        industry = codes["industry"]
        early = np.asarray(e.market_early, dtype=np.float64)[industry]
        late = np.asarray(e.market_late, dtype=np.float64)[industry]
        out = out + early + np.asarray(share) * (late - early)
    return np.asarray(out)


def hazards(d: Drivers, e: EngineParams, commercial: np.ndarray, lift: np.ndarray | float = 0.0) -> Hazards:
    """Daily hazards per lead from its drivers.

    Most leads are disqualified before sales accepts them: the mql and sal loss hazards are
    scaled by ``qualify_scale`` (calibrated to the profile's opportunity rate) and fall with
    lead state and engagement. The funnel then moves mostly by luck with a mild pull from lead
    state, engagement and the sales process; the deal is decided at negotiation, where the
    outcome driver (and the deal's size fit) raises the close-won hazard and lowers the hazard
    of losing the deal. A channel's ``lift`` (log) lowers its disqualification hazard by
    that factor and raises its close-won hazard by the same factor.
    """
    speed = (
        d.lead_state + 0.5 * d.engagement,  # mql -> sal
        d.lead_state,  # sal -> sql
        d.lead_state + 0.5 * d.sales,  # sql -> demo scheduled
        d.demo + 0.5 * d.sales,  # demo scheduled -> demo completed
        d.demo + 0.5 * d.sales,  # demo completed -> proposal
        d.sales + 0.5 * d.lead_state,  # proposal -> negotiation
    )
    early = e.qualification_speed
    advance = np.stack(
        [
            sigmoid(_logit(b * (early if k < V.SQL else e.deal_speed)) + e.advance_slope * x)
            for k, (b, x) in enumerate(zip(e.advance_base, speed, strict=True))
        ]
    )
    friction = e.friction_multiplier
    qualify = np.exp(-np.asarray(lift)) * e.qualify_scale
    churn = np.stack(
        [
            *(
                np.minimum(0.5, b * friction * np.exp(-e.churn_slope * x) * (qualify if k < V.SQL else 1.0))
                for k, (b, x) in enumerate(zip(e.churn_base, speed, strict=True))
            ),
            np.minimum(0.5, e.loss_base * friction * np.exp(-e.loss_slope * d.outcome)),
        ]
    )
    win = np.minimum(e.win_cap, np.exp(e.log_win_base + deal_prospects(d, e, commercial, lift)))
    return Hazards(advance, churn, win)


def deal_prospects(
    d: Drivers, e: EngineParams, commercial: np.ndarray, lift: np.ndarray | float = 0.0
) -> np.ndarray:
    """Each deal's log close-won hazard over the calibrated base: a soft minimum of the
    outcome's merit and the commercial fit (a deal needs both), plus the channel's lift."""
    merit = e.win_slope * d.outcome
    both = -e.deal_and_temperature * np.logaddexp(
        -merit / e.deal_and_temperature, -commercial / e.deal_and_temperature
    )
    return np.asarray(both + np.asarray(lift))


def prospect_scores(prospects: np.ndarray, e: EngineParams) -> np.ndarray:
    """Deal prospects on the world's unit scale (centre and spread fixed by calibration, so a
    lead's score does not depend on the shard it is simulated in)."""
    return np.asarray((prospects - e.prospect_centre) / e.prospect_scale)


#: Highest daily advance hazard a faster follow-up can reach (a step still takes a day).
ADVANCE_CAP = 0.95


def follow_up(h: Hazards, speed: np.ndarray | float) -> Hazards:
    """``h`` with every advance hazard scaled by ``speed`` (per lead or for all), capped at
    :data:`ADVANCE_CAP`: a sales team that follows up faster moves leads on sooner. Churn and
    the close-won hazard are untouched; ``speed`` 1 returns ``h`` itself."""
    if np.isscalar(speed) and speed == 1.0:
        return h
    advance = np.minimum(ADVANCE_CAP, h.advance * np.asarray(speed, dtype=np.float64))
    return Hazards(np.asarray(advance), h.churn, h.win)


def simulate_states(h: Hazards, e: EngineParams, days: int, rng: RNG) -> States:
    """Run the funnel day by day; one churn and one progress uniform per lead and day."""
    n = h.win.size
    u_churn = rng.generator("churn").random((days, n), dtype=np.float32)
    u_step = rng.generator("progress").random((days, n), dtype=np.float32)
    stage = np.zeros(n, dtype=np.int8)
    dwell = np.zeros(n, dtype=np.int16)
    sql_day = np.full(n, -1, dtype=np.int32)
    end_day = np.full(n, -1, dtype=np.int32)
    history = np.empty((days, n), dtype=np.int8)
    min_dwell = np.asarray(e.min_dwell, dtype=np.int16)
    churn_flat = h.churn.ravel()
    adv_flat = h.advance.ravel()
    lead = np.arange(n)
    for t in range(days):
        s = np.minimum(stage, V.NEGOTIATION).astype(np.intp)
        active = stage < V.OPEN_STAGES
        lost = active & (u_churn[t] < churn_flat[s * n + lead])
        stage[lost] = V.CLOSED_LOST
        end_day[lost] = t
        ready = active & ~lost & (dwell >= min_dwell[s])
        at_neg = stage == V.NEGOTIATION
        step = u_step[t]
        won = ready & at_neg & (step < h.win)
        adv = ready & ~at_neg & (step < adv_flat[np.minimum(s, V.PROPOSAL_SENT) * n + lead])
        stage[won] = V.CLOSED_WON
        end_day[won] = t
        stage[adv] += 1
        dwell[adv] = 0
        sql_day[adv & (stage == V.SQL)] = t
        dwell += 1
        history[t] = stage
    return States(history, sql_day, end_day)


ACV_ROUNDING = 100


def draw_acv(employee_band: np.ndarray, e: EngineParams, rng: RNG) -> np.ndarray:
    """Estimated ACV per lead: lognormal around its employee band's median (a heavy right tail,
    no cap), in whole hundreds of dollars as quotes are."""
    medians = np.asarray(e.acv_medians, dtype=np.float64)[employee_band]
    z = rng.generator("acv").standard_normal(employee_band.size)
    acv = np.rint(medians * np.exp(e.acv_sigma * z) / ACV_ROUNDING) * ACV_ROUNDING
    return np.asarray(np.maximum(acv, ACV_ROUNDING).astype(np.int64))


def funnel_rates(
    d: Drivers, e: EngineParams, commercial: np.ndarray, lift: np.ndarray, days: int, rng: RNG
) -> tuple[float, float]:
    """Shares of leads that open an opportunity, and that close won, within ``days`` (what the
    calibration aims at)."""
    states = simulate_states(hazards(d, e, commercial, lift), e, days, rng)
    return float(np.mean(states.sql_day >= 0)), float(np.mean(states.final == V.CLOSED_WON))


@dataclass(frozen=True)
class Touches:
    lead: np.ndarray
    day: np.ndarray
    kind: np.ndarray


@dataclass(frozen=True)
class Sessions:
    lead: np.ndarray
    day: np.ndarray
    kind: np.ndarray
    page_views: np.ndarray
    pricing_views: np.ndarray
    demo_views: np.ndarray
    seconds: np.ndarray


@dataclass(frozen=True)
class Activities:
    lead: np.ndarray
    day: np.ndarray
    kind: np.ndarray
    outcome: np.ndarray


@dataclass(frozen=True)
class Events:
    """Event arrays of one shard in day-major, then lead, order; ``phantoms`` counts the
    glitch records among them (all kinds)."""

    touches: Touches
    sessions: Sessions
    activities: Activities
    phantoms: int = 0


def poisson_inverse(u: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """Poisson counts by CDF inversion of ``u`` (monotone in ``lam``: a coupling across worlds)."""
    u = u.ravel()
    lam = lam.ravel()
    k = np.zeros(u.size, dtype=np.int16)
    p = np.exp(-lam)
    c = p.copy()
    idx = np.flatnonzero(u > c)
    j = 0
    while idx.size and j < 200:
        j += 1
        p[idx] *= lam[idx] / j
        c[idx] += p[idx]
        k[idx] = j
        idx = idx[u[idx] > c[idx]]
    return k


def _pick(u: np.ndarray, n_options: int) -> np.ndarray:
    return np.minimum((u * n_options).astype(np.int64), n_options - 1)


def _between(u: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Uniform integers in ``[lo, hi]`` from uniforms."""
    return lo + _pick(u, hi - lo + 1)


_TOUCH, _SESSION, _ACTIVITY = range(3)


@dataclass(frozen=True)
class Phantoms:
    """Glitch records of one event kind: lead, day, and a key for hashing their attributes."""

    lead: np.ndarray
    day: np.ndarray
    key: np.ndarray


def phantoms(
    kind: int, real_lead: np.ndarray, last_day: np.ndarray, rate: float, size: tuple[int, ...], rng: RNG
) -> Phantoms:
    """Tracking glitches: for a ``rate`` share of leads, a broken sync or a bot records
    ``k x (real + 1)`` extra events of this kind (k uniform in ``size``) on random days of the
    lead's active life. They look like ordinary records; only their number gives them away.

    Uniforms are hashed from (kind, lead, position), so the glitches of one lead never move
    another lead's draws.
    """
    n = last_day.size
    lead_key = np.arange(n, dtype=np.uint64) * np.uint64(4) + np.uint64(kind)
    hit = hash_uniform(lead_key, rng.key("glitch")) < rate
    if rate <= 0 or not hit.any():
        empty = np.zeros(0, dtype=np.int64)
        return Phantoms(empty, empty, empty.astype(np.uint64))
    mult = _between(hash_uniform(lead_key, rng.key("glitch_size")), size[0], size[-1])
    real = np.bincount(real_lead, minlength=n)
    count = np.where(hit, mult * (real + 1), 0)
    lead = np.repeat(np.arange(n), count)
    pos = np.arange(lead.size) - np.repeat(np.cumsum(count) - count, count)
    key = (
        (lead.astype(np.uint64) << np.uint64(24)) + (pos.astype(np.uint64) << np.uint64(2)) + np.uint64(kind)
    )
    span = last_day[lead]
    day = np.minimum((hash_uniform(key, rng.key("glitch_day")) * (span + 1)).astype(np.int64), span)
    return Phantoms(lead, day, key)


def _durations(u: np.ndarray, v: np.ndarray, e: EngineParams, shift: np.ndarray | float) -> np.ndarray:
    """Session lengths in whole seconds: lognormal around the median (engaged leads stay longer),
    from two uniforms per session (Box-Muller), at least one second."""
    z = np.sqrt(-2.0 * np.log(np.maximum(u, 1e-12))) * np.cos(2.0 * np.pi * v)
    seconds = e.session_median_seconds * np.exp(e.session_sigma * z + shift)
    return np.asarray(np.maximum(np.rint(seconds), 1).astype(np.int64))


def _day_major(day: np.ndarray, lead: np.ndarray, n: int) -> np.ndarray:
    return np.argsort(day.astype(np.int64) * n + lead, kind="stable")


def week_factors(created_day: np.ndarray, days: int, weekday_weights: tuple[float, ...]) -> np.ndarray:
    """(day, lead) multiplier of every event rate: the calendar's weekday weights relative to
    an average working day, on each lead's calendar days (people rarely work at weekends)."""
    w = np.asarray(weekday_weights, dtype=np.float64)
    w = (w / w[:5].mean() if w[:5].mean() > 0 else np.ones(7)).astype(np.float32)
    first = weekday(created_day).astype(np.int8)
    shift = (np.arange(days) % 7).astype(np.int8)
    return np.asarray(w[(first[None, :] + shift[:, None]) % 7])


_GOOD_OUTCOMES = tuple(V.ACTIVITY_OUTCOMES.index(x) for x in ("connected", "meeting_set", "demo_completed"))
_POOR_OUTCOMES = tuple(V.ACTIVITY_OUTCOMES.index(x) for x in ("no_answer", "left_voicemail"))


def activity_outcomes(
    u_quality: np.ndarray, u_pick: np.ndarray, prospects: np.ndarray, real: np.ndarray, e: EngineParams
) -> np.ndarray:
    """Each sales activity's outcome code. A rep reaches the buyer of a promising deal (see
    :func:`prospect_scores`) more often (connected, meeting set, demo completed) than one of a
    weak deal (no answer, voicemail): a pre-cutoff trace of how the deal is going that the
    snapshot's activity count leaves out. Phantom (glitch) activities carry no signal."""
    slope = np.where(real, e.activity_outcome_slope, 0.0)
    good = u_quality < sigmoid(_logit(e.activity_outcome_base) + slope * prospects)
    good_codes = np.asarray(_GOOD_OUTCOMES)[_pick(u_pick, len(_GOOD_OUTCOMES))]
    poor_codes = np.asarray(_POOR_OUTCOMES)[_pick(u_pick, len(_POOR_OUTCOMES))]
    return np.asarray(np.where(good, good_codes, poor_codes))


def emit(
    states: States,
    d: Drivers,
    e: EngineParams,
    rng: RNG,
    created_day: np.ndarray,
    weekday_weights: tuple[float, ...],
    cadence: np.ndarray | float = 1.0,
    prospects: np.ndarray | None = None,
) -> Events:
    """Touches, sessions and sales activities along the stage path, plus tracking glitches.

    Rates follow each lead's calendar (``weekday_weights`` on its days since
    ``created_day``), so weekends are quiet; ``cadence`` multiplies each lead's touch rate
    (the touch-cadence policy); ``prospects`` (:func:`prospect_scores`, none: 0) shape the
    sales activities' outcomes."""
    hist = states.history
    days, n = hist.shape
    week = week_factors(created_day, days, weekday_weights)
    prev = np.empty_like(hist)
    prev[0] = V.MQL
    prev[1:] = hist[:-1]
    live = (prev < V.OPEN_STAGES) & ~((hist == V.CLOSED_LOST) & (prev != V.CLOSED_LOST))
    # A lead disqualified before sales goes back to marketing nurture: its touches and web
    # visits carry on as before; the sales process (activities) stops.
    recycled = (states.final == V.CLOSED_LOST) & (states.sql_day < 0)
    nurtured = live | ((hist == V.CLOSED_LOST) & recycled[None, :])
    last_day = np.where(states.end_day >= 0, states.end_day, days - 1).astype(np.int64)

    decay = np.maximum(e.touch_floor, e.touch_decay ** np.arange(days, dtype=np.float64))
    # Centred on the log scale so a motif's base rate stays its mean touch rate.
    spread = (
        e.touch_engagement**2 * _var(d.engagement)
        + e.touch_intent**2 * _var(d.intent)
        + float(np.var(d.habit))
    )
    # Saturating: a nurture cadence has a ceiling, so no real lead is touched hundreds of times.
    cap = e.touch_ceiling
    lead_rate = e.touch_rate * np.exp(
        cap
        * np.tanh(
            (e.touch_engagement * d.engagement + e.touch_intent * d.intent + d.habit - 0.5 * spread) / cap
        )
    )
    if not (np.isscalar(cadence) and cadence == 1.0):
        lead_rate = lead_rate * np.asarray(cadence, dtype=np.float64)
    lam = np.where(nurtured, week * decay[:, None] * lead_rate[None, :], 0.0)
    counts = poisson_inverse(rng.generator("touches").random((days, n)), lam).reshape(days, n)
    # After a close won the CRM keeps logging: onboarding and customer-marketing touches (no
    # web sessions or sales activities come with them). All of them fall after the lead's
    # earliest possible close, past any snapshot day, so only a whole-horizon count sees them.
    customer = (hist == V.CLOSED_WON) & (prev == V.CLOSED_WON)
    onboard = poisson_inverse(
        rng.generator("onboarding_touches").random((days, n), dtype=np.float32),
        np.where(customer, week * e.onboarding_touch_rate, 0.0),
    ).reshape(days, n)
    logged = counts + onboard

    cells = np.flatnonzero(logged)
    reps = logged.ravel()[cells].astype(np.int64)
    touch_cell = np.repeat(cells, reps)
    within = np.arange(touch_cell.size) - np.repeat(np.cumsum(reps) - reps, reps)
    touch_key = touch_cell.astype(np.uint64) * np.uint64(64) + within.astype(np.uint64)
    t_lead, t_day = touch_cell % n, touch_cell // n
    t_kind = _pick(hash_uniform(touch_key, rng.key("touch_type")), len(V.TOUCH_TYPES))
    g = phantoms(_TOUCH, t_lead, last_day, e.glitch_rate, e.glitch_size, rng)
    glitched = g.lead.size
    g_kind = _pick(hash_uniform(g.key, rng.key("touch_type")), len(V.TOUCH_TYPES))
    order = _day_major(np.concatenate([t_day, g.day]), np.concatenate([t_lead, g.lead]), n)
    touches = Touches(
        lead=np.concatenate([t_lead, g.lead])[order],
        day=np.concatenate([t_day, g.day])[order],
        kind=np.concatenate([t_kind, g_kind])[order],
    )

    p_session = sigmoid(
        _logit(e.session_base) + e.session_engagement * d.engagement + e.session_intent * d.intent + d.habit
    )
    u_sess = rng.generator("sessions").random((days, n), dtype=np.float32)
    s_cells = np.flatnonzero((counts > 0) & (u_sess < p_session[None, :]))
    s_lead, s_day = s_cells % n, s_cells // n
    s_stage = hist.ravel()[s_cells]
    key = s_cells.astype(np.uint64) * np.uint64(64)
    g = phantoms(_SESSION, s_lead, last_day, e.glitch_rate, e.glitch_size, rng)
    glitched += g.lead.size

    def hu(name: str, keys: np.ndarray) -> np.ndarray:
        return hash_uniform(keys, rng.key(name))

    p_price = sigmoid(e.pricing_base + e.pricing_intent * d.intent + e.pricing_state * d.lead_state)[s_lead]
    priced = (s_stage >= V.SQL) & (s_stage <= V.CLOSED_WON)
    pricing = np.where(
        priced, (hu("pricing_a", key) < p_price).astype(np.int64) + (hu("pricing_b", key) < p_price), 0
    )
    p_demo = sigmoid(e.demo_view_base + e.demo_view_demo * d.demo)[s_lead]
    in_demo = (s_stage == V.DEMO_SCHEDULED) | (s_stage == V.DEMO_COMPLETED)
    demo = np.where(in_demo, (hu("demo_a", key) < p_demo).astype(np.int64) + (hu("demo_b", key) < p_demo), 0)
    seconds = _durations(
        hu("duration", key), hu("duration_b", key), e, e.duration_engagement * d.engagement[s_lead]
    )
    all_keys = np.concatenate([key, g.key])
    zeros = np.zeros(g.lead.size, dtype=np.int64)
    order = _day_major(np.concatenate([s_day, g.day]), np.concatenate([s_lead, g.lead]), n)
    sessions = Sessions(
        lead=np.concatenate([s_lead, g.lead])[order],
        day=np.concatenate([s_day, g.day])[order],
        kind=_pick(hu("session_type", all_keys), len(V.SESSION_TYPES))[order],
        page_views=_between(hu("page_views", all_keys), *V.PAGE_VIEWS)[order],
        pricing_views=np.concatenate([pricing, zeros])[order],
        demo_views=np.concatenate([demo, zeros])[order],
        seconds=np.concatenate([seconds, _durations(hu("duration", g.key), hu("duration_b", g.key), e, 0.0)])[
            order
        ],
    )

    base = np.asarray((*e.activity_base, 0.0, 0.0), dtype=np.float64)
    act_rate = np.exp(
        e.activity_sales * d.sales
        + e.activity_state * d.lead_state
        - 0.5 * (e.activity_sales**2 * _var(d.sales) + e.activity_state**2 * _var(d.lead_state))
    )
    u_act = rng.generator("activities").random((days, n), dtype=np.float32)
    selling = live & (hist <= V.NEGOTIATION)
    p_act = np.minimum(0.9, base[hist.astype(np.intp)] * act_rate[None, :]) * np.minimum(week, 1.0)
    a_cells = np.flatnonzero(selling & (u_act < p_act))
    a_lead, a_day = a_cells % n, a_cells // n
    g = phantoms(_ACTIVITY, a_lead, last_day, e.glitch_rate, e.glitch_size, rng)
    glitched += g.lead.size
    a_keys = np.concatenate([a_cells.astype(np.uint64) * np.uint64(64), g.key])
    order = _day_major(np.concatenate([a_day, g.day]), np.concatenate([a_lead, g.lead]), n)
    activities = Activities(
        lead=np.concatenate([a_lead, g.lead])[order],
        day=np.concatenate([a_day, g.day])[order],
        kind=_pick(hash_uniform(a_keys, rng.key("activity_type")), len(V.ACTIVITY_TYPES))[order],
        outcome=activity_outcomes(
            hash_uniform(a_keys, rng.key("activity_quality")),
            hash_uniform(a_keys, rng.key("activity_outcome")),
            np.concatenate(
                [(np.zeros(n) if prospects is None else prospects)[a_lead], np.zeros(g.lead.size)]
            ),
            np.concatenate([np.ones(a_lead.size, dtype=bool), np.zeros(g.lead.size, dtype=bool)]),
            e,
        )[order],
    )
    return Events(touches, sessions, activities, glitched)
