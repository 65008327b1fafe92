"""The answer key: what the world knows about each task row at its snapshot anchor.

For a cohort member with cutoff day ``d`` (anchor week ``T = d // 7``) the oracle simulates
``REPLICATES`` futures from the customer's state at the start of week ``T`` — its latents, its
engagement (level and whether a disengagement episode is running), its recent tickets, its MRR,
contract and billing calendar, its dunning state and payment-trouble history, and the policy it
lives under — with the engine's own hazards, week by week, on the oracle's own substream
(``oracle`` of the shard: no draw of the world is reused, none is disturbed).

Each future integrates the absorbing branches exactly instead of drawing them: a churn draw or
a dunning write-off multiplies the future's survival weight by the chance of staying, and the
lost mass is booked on the day it would have happened (the renewal day, the write-off day, or
spread evenly over the days a mid-term exit can fall on). Two more branches are replaced by their
conditional means given the sampled health path: a week's tickets by their Poisson rate (churn is
linear in the four-week ticket average, so only the tiny covariance of overlapping averages is
dropped), and MRR by its expected path — expansion and contraction probabilities times the
engine's mean step, never below the MRR floor (the step is proportional to MRR and nothing else
reads it, so this is exact up to the whole-dollar rounding of steps and the floor). Only
engagement episodes and payment failures are sampled, two uniforms per week, in antithetic
pairs (replicates ``2m`` and ``2m + 1`` use ``u`` and ``1 − u``). A payment failure is rare, so
whether a future draws one is the main noise of a churn estimate; each future subtracts the
write-off risk its drawn failures opened and adds the risk every invoice carried (a control
variate with mean zero). Every quantity is then conditioned on the customer being alive at ``d``:

* churn: ``P(churn in (d, d + 180] | alive at d)``;
* pLTV: ``E[revenue of invoices issued in (d, d + W], paid or recovered | alive at d]``.

Week ``T``'s billing events before ``d`` are simulated, not read (the anchor state is the
week's start); week ``T``'s health is the customer's own. Everything is column-wise over
customers × replicates.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from leadforge_lifecycle.calendar import CHURN_WINDOW_DAYS, FORWARD_WINDOWS_DAYS
from leadforge_lifecycle.catalog import LONG_REPLICATES, REPLICATES, Regime
from leadforge_lifecycle.engine import MRR_FLOOR, mean_step
from leadforge_lifecycle.hazards import (
    PROBABILITY_CAP,
    Propensities,
    churn_probability,
    contraction_probability,
    expansion_probability,
    payment_failure_probability,
    recovery_probability,
)
from leadforge_lifecycle.health import (
    ENGAGEMENT_FLOOR,
    engagement_step,
    ticket_rate,
    usage_ramp,
)
from leadforge_lifecycle.interventions import Policy, recovery_adjusted
from leadforge_lifecycle.mechanism import PAYMENT_RELAPSE_WEEKS, STRIKE_WEEKS
from leadforge_lifecycle.world import LifecycleWorld, Shard

#: Weeks from the anchor week's start that hold every churn-window and 90-day-window day.
SHORT_WEEKS = CHURN_WINDOW_DAYS // 7 + 2


@dataclass(frozen=True)
class Futures:
    """Per cohort row: the churn probability and the expected revenue of every forward window."""

    churn: np.ndarray
    revenue: dict[int, np.ndarray]


def _rows(p: Propensities, idx: np.ndarray) -> Propensities:
    arrays = {f.name: getattr(p, f.name)[idx] for f in fields(p) if np.ndim(getattr(p, f.name))}
    return replace(p, **arrays)


def futures(
    world: LifecycleWorld,
    shard: Shard,
    regime: Regime,
    who: np.ndarray,
    d: np.ndarray,
    policy: Policy | None,
    replicates: int = REPLICATES,
    long_replicates: int = LONG_REPLICATES,
) -> Futures:
    """The oracle of the cohort rows ``who`` (cutoffs ``d``) under ``policy``."""
    mech = world.mechanism
    n = who.size
    if n == 0:
        empty = np.zeros(0)
        return Futures(empty, {w: empty for w in FORWARD_WINDOWS_DAYS})
    g = world.rng.shard(shard.index).child("oracle").generator(regime.name)
    c = np.repeat(np.arange(n), replicates)
    cust = who[c]
    dd = d[c]
    b, h, t = shard.customers, shard.health, shard.trajectories
    st = t.anchors[regime.name]
    p = _rows(world.propensities(b), cust)
    pol = None if policy is None else policy.take(cust)
    base_dunning = p.dunning_weeks

    week = st.week[cust].copy()
    last_week = world.calendar.last_week(b.days_to_observation)[cust]
    stop = np.minimum(
        last_week, (dd + max(FORWARD_WINDOWS_DAYS)) // 7 + _dunning_tail(st.dunning_weeks, p, pol)
    )
    bills, ends = t.invoices.day[who], t.term_end_day[who]
    n_slots, n_ends = bills.shape[1], ends.shape[1]

    mrr = st.mrr[cust].astype(np.float64)
    ceiling = b.initial_mrr[cust] * mech.expansion_ceiling
    pending = st.pending[cust].copy()
    pending_amount = st.pending_amount[cust].astype(np.float64)
    pending_day = st.pending_day[cust].copy()
    failed_week = st.failed_week[cust].copy()
    failed_day = st.failed_day[cust].copy()
    dunning = st.dunning_weeks[cust].copy()
    last_failure = st.last_failure[cust].copy()
    strikes = st.strikes[cust].copy()
    next_bill = st.next_bill[cust].copy()
    next_end = st.next_end[cust].copy()

    fit = b.effective.product_fit[cust]
    depth_target = np.clip(0.20 + 0.40 * b.effective.adoption_velocity[cust] + 0.30 * fit, 0.0, 1.0)
    detractor = h.detractor[cust]
    distress = h.distress[cust, week]
    before = np.where(week >= 1, h.distress[cust, np.maximum(week - 1, 0)], 0.0)
    episode = distress > before
    k = 1.0 - distress * (1.0 - ENGAGEMENT_FLOOR)
    depth_level = h.depth_level[cust, week]
    depth_true = h.depth_true[cust, week]
    tickets_4w = h.tickets_4w[cust, week]
    recent = [
        np.where(week - j >= 0, h.tickets[cust, np.maximum(week - j, 0)], 0).astype(np.float64)
        for j in (2, 1, 0)
    ]

    alive = np.ones(cust.size)
    lost_before = np.zeros(cust.size)
    lost_window = np.zeros(cust.size)
    correction_window = np.zeros(cust.size)
    revenue = {w: np.zeros(cust.size) for w in FORWARD_WINDOWS_DAYS}
    window_end = dd + CHURN_WINDOW_DAYS
    span = int((stop - week).max(initial=0)) + 1
    ramp = usage_ramp(int(stop.max(initial=0)) + 1)
    bill = bills[c, np.minimum(next_bill, n_slots - 1)]
    end = ends[c, np.minimum(next_end, n_ends - 1)]

    short: dict[int, np.ndarray] = {}
    survive_short = np.ones(n)
    churn = np.zeros(n)
    reps = replicates
    for r in range(span + 1):
        if r == min(SHORT_WEEKS, span):
            survive_short = _per_row(1.0 - lost_before, n, reps)
            churn = np.clip(_per_row(lost_window - correction_window, n, reps) / survive_short, 0.0, 1.0)
            short = {w: _per_row(total, n, reps) for w, total in revenue.items()}
            keep = np.arange(cust.size) % replicates < long_replicates
            reps = long_replicates
            (c, dd, week, stop, mrr, pending, pending_amount, pending_day, failed_week, failed_day) = (
                x[keep]
                for x in (
                    c,
                    dd,
                    week,
                    stop,
                    mrr,
                    pending,
                    pending_amount,
                    pending_day,
                    failed_week,
                    failed_day,
                )
            )
            (dunning, last_failure, strikes, next_bill, next_end, fit, depth_target, detractor) = (
                x[keep]
                for x in (dunning, last_failure, strikes, next_bill, next_end, fit, depth_target, detractor)
            )
            (distress, episode, k, depth_level, depth_true, tickets_4w, alive, lost_before) = (
                x[keep]
                for x in (distress, episode, k, depth_level, depth_true, tickets_4w, alive, lost_before)
            )
            recent = [x[keep] for x in recent]
            window_end, cust, bill, end = window_end[keep], cust[keep], bill[keep], end[keep]
            ceiling = ceiling[keep]
            lost_window, correction_window = lost_window[keep], correction_window[keep]
            revenue = {w: np.zeros(cust.size) for w in revenue if w > CHURN_WINDOW_DAYS}
            p = _rows(p, keep)
            pol = None if pol is None else pol.take(keep)
        if r == span:
            break
        act = week <= stop
        u = _antithetic(g, cust.size // reps, reps)
        if r > 0:
            onset, recovery = p.disengagement_onset, p.disengagement_recovery
            if pol is not None:
                onset = onset * pol.onset_factor(week)
                recovery = np.minimum(recovery * pol.recovery_factor(week), PROBABILITY_CAP)
            k, episode = engagement_step(k, episode, u[1], onset, recovery)
            distress = (1.0 - k) / (1.0 - ENGAGEMENT_FLOOR)
            depth_level = np.clip(depth_target * (0.4 + 0.6 * k), 0.0, 1.0)
            depth_true = depth_level * ramp[np.minimum(week, ramp.size - 1)]
            tickets = ticket_rate(fit, distress)
            tickets_4w = (recent[0] + recent[1] + recent[2] + tickets) / 4.0
            recent = [recent[1], recent[2], tickets]
        first = 7 * week
        billing = bill // 7 == week
        renewal = act & (end // 7 == week)

        due = np.flatnonzero(act & pending & (week - failed_week >= dunning))
        floor = first.copy()
        if due.size:
            i, a_i, dd_i = due, alive[due], dd[due]
            chance = recovery_probability(mech, strikes[i])
            if pol is not None:
                chance = recovery_adjusted(chance, dunning[i], base_dunning)
            resolve_day = failed_day[i] + 7 * dunning[i]
            for w, total in revenue.items():
                counted = (pending_day[i] > dd_i) & (pending_day[i] <= dd_i + w)
                total[i] += np.where(counted, a_i * chance * pending_amount[i], 0.0)
            lost = a_i * (1.0 - chance)
            lost_before[i] += np.where(resolve_day <= dd_i, lost, 0.0)
            lost_window[i] += np.where((resolve_day > dd_i) & (resolve_day <= window_end[i]), lost, 0.0)
            alive[i] = a_i - lost
            pending[i] = False
            floor[i] = resolve_day

        prob = churn_probability(
            p,
            mech,
            week,
            renewal,
            distress,
            depth_level,
            tickets_4w,
            pending,
            detractor,
            None if pol is None else pol.hazard_scale(week),
        )
        gone = np.where(act, alive * prob, 0.0)
        if r < SHORT_WEEKS:
            # Only the anchor week and the window's last week split their exit days.
            edge = np.flatnonzero((week == window_end // 7) | (r == 0))
            inside = 7 * week + 6 <= window_end
            share_window = np.where(renewal, (end > dd) & (end <= window_end), inside).astype(np.float64)
            if edge.size:
                lo_day, dd_e, end_e, win_e = floor[edge], dd[edge], end[edge], window_end[edge]
                last = np.maximum(np.where(billing[edge], bill[edge], first[edge] + 6), lo_day)
                days = (last - lo_day + 1).astype(np.float64)
                renew_e = renewal[edge]
                before_e = np.clip(np.minimum(last, dd_e) - lo_day + 1, 0, None) / days
                lost_before[edge] += gone[edge] * np.where(renew_e, end_e <= dd_e, before_e)
                window_e = np.clip(np.minimum(last, win_e) - np.maximum(lo_day, dd_e + 1) + 1, 0, None) / days
                share_window[edge] = np.where(renew_e, (end_e > dd_e) & (end_e <= win_e), window_e)
            lost_window += gone * share_window
        alive -= gone
        ri = np.flatnonzero(renewal)
        next_end[ri] += 1
        end[ri] = ends[c[ri], np.minimum(next_end[ri], n_ends - 1)]

        i = np.flatnonzero(act & billing)
        if i.size:
            wk, lf, a_i, dd_i, b_i, m_i = week[i], last_failure[i], alive[i], dd[i], bill[i], mrr[i]
            p_fail = payment_failure_probability(
                replace(p, payment_failure=p.payment_failure[i]),
                mech,
                distress[i],
                wk - lf <= PAYMENT_RELAPSE_WEEKS,
            )
            fails = u[0][i] < p_fail
            strikes_if = np.where(wk - lf <= STRIKE_WEEKS, strikes[i] + 1, 1)
            dunning_if = dunning[i] if pol is None else pol.take(i).dunning(wk, base_dunning)
            # Control variate: the write-off a failure would open, booked at its expected rather
            # than its drawn rate (a martingale difference, so the mean is unchanged).
            keep_if = recovery_probability(mech, strikes_if)
            if pol is not None:
                keep_if = recovery_adjusted(keep_if, dunning_if, base_dunning)
            day_if = b_i + 7 * dunning_if
            surprise = np.where(pending[i], 0.0, a_i * (fails - p_fail) * (1.0 - keep_if))
            correction_window[i] += np.where((day_if > dd_i) & (day_if <= window_end[i]), surprise, 0.0)
            for w, total in revenue.items():
                total[i] += np.where(~fails & (b_i > dd_i) & (b_i <= dd_i + w), a_i * m_i, 0.0)
            strikes[i] = np.where(fails, strikes_if, strikes[i])
            last_failure[i] = np.where(fails, wk, lf)
            opened = fails & ~pending[i]
            j = i[opened]
            pending[j] = True
            pending_amount[j] = mrr[j]
            pending_day[j] = bill[j]
            failed_week[j] = week[j]
            failed_day[j] = bill[j]
            dunning[j] = dunning_if[opened]
            next_bill[i] += 1
            bill[i] = bills[c[i], np.minimum(next_bill[i], n_slots - 1)]
        if pol is not None:
            now = np.flatnonzero((pol.start_week == week) & (pol.price != 0.0))
            mrr[now] = np.maximum(1.0, mrr[now] * (1.0 + pol.price[now]))

        grow = np.where(act, expansion_probability(p, depth_true, mrr, ceiling), 0.0)
        shrink = np.where(act & (mrr > MRR_FLOOR), contraction_probability(p, mech, distress), 0.0)
        up = mean_step(mrr, *mech.motif.expansion.expansion_mrr_frac_range, mech.expansion_step_spread)
        down = np.minimum(mean_step(mrr, *mech.motif.contraction.contraction_mrr_frac_range), mrr - MRR_FLOOR)
        mrr += grow * up - (1.0 - grow) * shrink * down
        week = week + 1
    survive = _per_row(1.0 - lost_before, n, reps)
    return Futures(
        churn=churn,
        revenue={
            w: short[w] / survive_short + (_per_row(revenue[w], n, reps) / survive if w in revenue else 0.0)
            for w in FORWARD_WINDOWS_DAYS
        },
    )


def _dunning_tail(open_weeks: np.ndarray, p: Propensities, policy: Policy | None) -> int:
    """Weeks after the last counted invoice its dunning period can still close within (the longest
    period in force), so no future runs past the last week that can add revenue."""
    longest = max(p.dunning_weeks, int(open_weeks.max(initial=0)))
    if policy is not None:
        longest = max(longest, int(policy.dunning_weeks.max(initial=0)))
    return longest + 1


def _antithetic(g: np.random.Generator, n: int, replicates: int) -> np.ndarray:
    """This week's two uniforms (payment failure, engagement) per row × replicate: replicates
    ``2m`` and ``2m + 1`` of a row draw ``u`` and ``1 − u`` (antithetic pairs; ``replicates`` is even)."""
    half = g.random((2, n, replicates // 2))
    full = np.empty((2, n, replicates // 2, 2))
    full[..., 0] = half
    np.subtract(1.0, half, out=full[..., 1])
    return full.reshape(2, n * replicates)


def _per_row(values: np.ndarray, n: int, replicates: int) -> np.ndarray:
    return np.asarray(values.reshape(n, replicates).sum(axis=1))


__all__ = ["REPLICATES", "Futures", "futures"]
