"""The weekly engine: billing, dunning, churn, renewals, expansions and contractions of one shard.

The loop runs over tenure weeks; each step is a handful of numpy operations over every
customer of the shard. Per week and customer, in this fixed order:

1. dunning resolution — a failed invoice whose dunning period has elapsed is recovered
   (``payment_recovered``) or written off, which churns the customer (``payment_failure``);
2. churn draw — on a contract term end the renewal decision (``non_renewal``), otherwise the
   rare mid-term exit (``voluntary``), both from
   :func:`leadforge_lifecycle.hazards.churn_probability`;
3. renewal on a term end;
4. invoicing — on the customer's monthly billing date (the start's monthly anniversary,
   month-end clamped) an invoice for the current MRR is issued; it fails with the customer's
   payment-failure probability (``payment_failure``, dunning starts);
5. expansion (MRR up), else contraction (MRR down, possibly a plan downgrade).

Every event is dated on a tenure day inside its week, in that order (see :class:`_Loop`).

Health (usage, tickets, NPS) is generated beforehand (:mod:`leadforge_lifecycle.health`) and
read here: a slump, shallow usage and a heavy ticket load raise churn; a slump also raises
contractions and payment failures; usage depth drives expansion.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from leadforge_lifecycle.calendar import anniversary_offsets
from leadforge_lifecycle.hazards import (
    Propensities,
    churn_probability,
    contraction_probability,
    expansion_probability,
    payment_failure_probability,
    recovery_probability,
)
from leadforge_lifecycle.health import HealthHistory
from leadforge_lifecycle.interventions import recovery_adjusted
from leadforge_lifecycle.mechanism import PAYMENT_RELAPSE_WEEKS, STRIKE_WEEKS, Mechanism
from leadforge_lifecycle.population import PLAN_MRR

if TYPE_CHECKING:
    from leadforge_lifecycle.interventions import Policy

EVENT_TYPES = (
    "payment_recovered",
    "churn",
    "payment_failure",
    "renewal",
    "expansion",
    "contraction",
    "price_change",
)
RECOVERED, CHURN, FAILURE, RENEWAL, EXPANSION, CONTRACTION, PRICE_CHANGE = range(7)
#: The events that move MRR (a price change only happens under the ``policy:price_change`` lever).
MRR_MOVES = (EXPANSION, CONTRACTION, PRICE_CHANGE)
INVOICE_STATUSES = ("paid", "failed", "recovered", "written_off")
PAID, FAILED, INV_RECOVERED, WRITTEN_OFF = range(4)
NOT_ISSUED = -1
CHURN_REASONS = ("voluntary", "non_renewal", "payment_failure")
VOLUNTARY, NON_RENEWAL, PAYMENT_CHURN = range(3)
#: Contractions never take MRR below the cheapest plan's floor.
MRR_FLOOR = int(PLAN_MRR[0, 0])


@dataclass(frozen=True)
class Events:
    """Subscription events of a shard, ordered by customer, then day, then step.

    ``day`` is the tenure day (days after the customer's start) the event is dated on; ``week``
    the engine week that decided it (``day // 7``, except a move pushed past a week's last day).
    """

    customer: np.ndarray
    week: np.ndarray
    day: np.ndarray
    kind: np.ndarray
    mrr_before: np.ndarray
    mrr_after: np.ndarray
    plan_after: np.ndarray
    term_new: np.ndarray

    def __len__(self) -> int:
        return int(self.customer.size)

    def first_week(self, kind: int, n: int) -> np.ndarray:
        """Week of each customer's first event of ``kind`` (``-1`` if none)."""
        out = np.full(n, -1, dtype=np.int64)
        hit = self.kind == kind
        who, first = np.unique(self.customer[hit], return_index=True)
        out[who] = self.week[hit][first]
        return out


@dataclass(frozen=True)
class Invoices:
    """Invoice matrices: row = customer, column = billing slot ``j`` (the ``j``-th monthly
    anniversary of the start; ``day`` its tenure day)."""

    day: np.ndarray
    amount: np.ndarray
    status: np.ndarray
    resolved_day: np.ndarray


@dataclass(frozen=True)
class Trajectories:
    """Everything the engine decided for a shard (``churn_day`` in tenure days, ``-1`` if none)."""

    last_week: np.ndarray
    churn_week: np.ndarray
    churn_day: np.ndarray
    churn_reason: np.ndarray
    final_mrr: np.ndarray
    final_plan: np.ndarray
    renewals: np.ndarray
    expansions: np.ndarray
    contractions: np.ndarray
    events: Events
    invoices: Invoices
    term_end_day: np.ndarray
    anchors: Mapping[str, AnchorState] = field(default_factory=dict)


@dataclass(frozen=True)
class AnchorState:
    """The billing state of every customer at the start of its anchor week (what the oracle
    simulates futures from); rows of customers who left earlier are meaningless."""

    week: np.ndarray
    mrr: np.ndarray
    pending: np.ndarray
    pending_amount: np.ndarray
    pending_day: np.ndarray
    failed_week: np.ndarray
    failed_day: np.ndarray
    dunning_weeks: np.ndarray
    last_failure: np.ndarray
    strikes: np.ndarray
    next_bill: np.ndarray
    next_end: np.ndarray

    _STATE = (
        "mrr",
        "pending",
        "pending_amount",
        "pending_day",
        "failed_week",
        "failed_day",
        "dunning_weeks",
        "last_failure",
        "strikes",
        "next_bill",
        "next_end",
    )


class _EventLog:
    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, ...]] = []

    def add(
        self,
        who: np.ndarray,
        week: int,
        day: np.ndarray,
        kind: int,
        before: np.ndarray,
        after: np.ndarray,
        plan: np.ndarray,
        term: np.ndarray | None = None,
    ) -> None:
        n = who.size
        if n == 0:
            return
        self.parts.append(
            (
                who,
                np.full(n, week, dtype=np.int64),
                np.asarray(day, dtype=np.int64),
                np.full(n, kind, dtype=np.int8),
                before,
                after,
                plan,
                np.zeros(n, dtype=np.int64) if term is None else term,
            )
        )

    def events(self) -> Events:
        if not self.parts:
            e = np.zeros(0, dtype=np.int64)
            return Events(e, e, e, e.astype(np.int8), e, e, e.astype(np.int8), e)
        cols = [np.concatenate(c) for c in zip(*self.parts, strict=True)]
        order = np.lexsort((cols[2], cols[0]))
        return Events(*(c[order] for c in cols))


def plan_for_mrr(plan: np.ndarray, mrr: np.ndarray) -> np.ndarray:
    """Move a plan up when MRR exceeds its ceiling, down when MRR falls below its floor."""
    out = plan.astype(np.int64)
    for _ in range(len(PLAN_MRR) - 1):
        out = np.where((out < len(PLAN_MRR) - 1) & (mrr > PLAN_MRR[out, 1]), out + 1, out)
        out = np.where((out > 0) & (mrr < PLAN_MRR[out, 0]), out - 1, out)
    return out.astype(np.int8)


def schedule(start_day: np.ndarray, term_months: np.ndarray, n_weeks: int) -> tuple[np.ndarray, np.ndarray]:
    """Billing dates (slot 0 = the start) and contract term ends, as tenure days per customer."""
    horizon = 7 * max(n_weeks, 1)
    slots = horizon // 28 + 2
    monthly = anniversary_offsets(start_day, np.ones_like(term_months), slots - 1)
    bills = np.concatenate([np.zeros((start_day.size, 1), dtype=np.int64), monthly], axis=1)
    ends = anniversary_offsets(start_day, term_months, horizon // 365 + 2)
    return bills, ends


class _Loop:
    """The state of one shard's weekly loop, and one method per step of a week.

    Within a week the steps run in calendar order: a dunning period closes on the weekday its
    invoice was issued, a renewal decision falls on the term end (the day of that month's
    invoice), the invoice follows, and MRR moves come on or after the invoice (so the invoice
    bills the MRR in effect when it was issued). A voluntary mid-term exit falls before the
    week's invoice, so nobody is billed after leaving.
    """

    def __init__(
        self,
        mech: Mechanism,
        p: Propensities,
        health: HealthHistory,
        initial_mrr: np.ndarray,
        initial_plan: np.ndarray,
        term_months: np.ndarray,
        start_day: np.ndarray,
        last_week: np.ndarray,
        policy: Policy | None = None,
        anchors: Mapping[str, np.ndarray] | None = None,
    ) -> None:
        n = initial_mrr.size
        self.mech, self.p, self.health, self.policy = mech, p, health, policy
        self.term_months, self.last_week = term_months, last_week
        self.n_weeks = int(last_week.max()) + 1 if n else 0
        self.bill_day, self.end_day = schedule(start_day, term_months, self.n_weeks)
        self.start_day = np.asarray(start_day, dtype=np.int64)
        self.rows = np.arange(n)
        self.next_bill = np.zeros(n, dtype=np.int64)
        self.next_end = np.zeros(n, dtype=np.int64)
        self.amount = np.zeros(self.bill_day.shape, dtype=np.int64)
        self.status = np.full(self.bill_day.shape, NOT_ISSUED, dtype=np.int8)
        self.resolved = np.full(self.bill_day.shape, -1, dtype=np.int64)
        self.mrr = initial_mrr.astype(np.int64).copy()
        self.ceiling = initial_mrr * mech.expansion_ceiling
        self.plan = initial_plan.astype(np.int8).copy()
        self.alive = np.ones(n, dtype=bool)
        self.active = np.zeros(n, dtype=bool)
        self.pending = np.zeros(n, dtype=bool)
        self.pending_slot = np.zeros(n, dtype=np.int64)
        self.failed_week = np.zeros(n, dtype=np.int64)
        self.failed_day = np.zeros(n, dtype=np.int64)
        self.last_failure = np.full(n, -(10**6), dtype=np.int64)
        self.strikes = np.zeros(n, dtype=np.int64)
        self.churn_week = np.full(n, -1, dtype=np.int64)
        self.churn_day = np.full(n, -1, dtype=np.int64)
        self.churn_reason = np.full(n, -1, dtype=np.int8)
        self.renewals = np.zeros(n, dtype=np.int64)
        self.expansions = np.zeros(n, dtype=np.int64)
        self.contractions = np.zeros(n, dtype=np.int64)
        self.zero = np.zeros(n, dtype=np.int64)
        self.dunning_weeks = np.full(n, p.dunning_weeks, dtype=np.int64)
        self.log = _EventLog()
        self.anchor_weeks = dict(anchors or {})
        self.captured = {
            name: {
                **{attr: getattr(self, attr).copy() for attr in AnchorState._STATE if hasattr(self, attr)},
                "pending_amount": np.zeros(n, dtype=np.int64),
                "pending_day": np.zeros(n, dtype=np.int64),
            }
            for name in self.anchor_weeks
        }

    def capture(self, w: int) -> None:
        """Record the state of the customers whose anchor week is ``w`` (before its steps run)."""
        for name, weeks in self.anchor_weeks.items():
            rows = np.flatnonzero(weeks == w)
            if not rows.size:
                continue
            store = self.captured[name]
            slot = self.pending_slot[rows]
            now = {attr: getattr(self, attr)[rows] for attr in AnchorState._STATE if hasattr(self, attr)}
            now["pending_amount"] = self.amount[rows, slot]
            now["pending_day"] = self.bill_day[rows, slot]
            for attr, values in now.items():
                store[attr][rows] = values

    def anchor_states(self) -> dict[str, AnchorState]:
        return {
            name: AnchorState(week=self.anchor_weeks[name], **store) for name, store in self.captured.items()
        }

    def apply_price(self, w: int, day: np.ndarray) -> None:
        """A price change reprices every MRR once, in the policy's first week, dated ``day`` (the
        week's invoice, which still bills the old price, or the week's first day)."""
        if self.policy is None:
            return
        now = np.flatnonzero(
            self.alive & (w <= self.last_week) & (self.policy.start_week == w) & (self.policy.price != 0.0)
        )
        if now.size:
            base = self.mrr[now]
            after = np.maximum(1, np.rint(base * (1.0 + self.policy.price[now]))).astype(np.int64)
            self._move(w, now, day[now], base, after, PRICE_CHANGE)

    def week(self, w: int, g: np.random.Generator) -> bool:
        """Run week ``w`` (seven uniforms per customer); ``False`` once nobody is active."""
        self.active = self.alive & (w <= self.last_week)
        if not self.active.any():
            return False
        u = g.random((7, self.mrr.size))
        first = 7 * w
        bill = self.bill_day[self.rows, self.next_bill]
        billing = bill // 7 == w
        end = self.end_day[self.rows, self.next_end]
        renewal = self.active & (end // 7 == w)
        resolved = self.resolve_dunning(w, u[0])
        floor = np.where(resolved, self.failed_day + 7 * self.dunning_weeks, first)
        last = np.maximum(np.where(billing, bill, first + 6), floor)
        exit_day = self.workday(floor + np.floor(u[6] * (last - floor + 1)).astype(np.int64), floor, last)
        self.churn(w, u[2], renewal, np.where(renewal, end, exit_day))
        self.renew(w, renewal, end)
        self.invoice(w, u[1], billing, bill)
        self.apply_price(w, np.where(billing, bill, first))
        after = np.maximum(floor, np.where(billing, bill, first))
        after = np.maximum(after, np.where(renewal, end, first))
        move_day = self.workday(
            after + np.floor(u[5] * (first + 7 - after)).astype(np.int64), after, first + 6
        )
        grow = self.expand(w, u[3], u[4], move_day)
        self.contract(w, grow, u[5], u[4], move_day)
        return True

    def workday(self, day: np.ndarray, lo: np.ndarray, hi: np.ndarray | int) -> np.ndarray:
        """Move a Saturday to the Friday before (a Sunday to the Monday after) when that day stays
        inside ``[lo, hi]``, else the other way: people act on working days."""
        wd = (self.start_day + day + 3) % 7
        sat_back, sun_fwd = day - 1, day + 1
        sat = np.where(sat_back >= lo, sat_back, np.where(day + 2 <= hi, day + 2, day))
        sun = np.where(sun_fwd <= hi, sun_fwd, np.where(day - 2 >= lo, day - 2, day))
        return np.asarray(np.where(wd == 5, sat, np.where(wd == 6, sun, day)), dtype=np.int64)

    def end(self, w: int, who: np.ndarray, day: np.ndarray, reason: int | np.ndarray) -> None:
        self.churn_week[who] = w
        self.churn_day[who] = day
        self.churn_reason[who] = reason
        self.alive[who] = False
        self.active[who] = False

    def resolve_dunning(self, w: int, u: np.ndarray) -> np.ndarray:
        """A failed invoice whose dunning has elapsed is recovered, or written off (churn).

        Returns who had a dunning period close this week (on the failed invoice's weekday).
        """
        due = self.active & self.pending & (w - self.failed_week >= self.dunning_weeks)
        if not due.any():
            return due
        chance = recovery_probability(self.mech, self.strikes)
        if self.policy is not None:
            chance = recovery_adjusted(chance, self.dunning_weeks, self.p.dunning_weeks)
        recovered = np.flatnonzero(due & (u < chance))
        lost = np.flatnonzero(due & (u >= chance))
        day = self.failed_day + 7 * self.dunning_weeks
        mrr, plan = self.mrr, self.plan
        self.status[recovered, self.pending_slot[recovered]] = INV_RECOVERED
        self.resolved[recovered, self.pending_slot[recovered]] = day[recovered]
        self.log.add(recovered, w, day[recovered], RECOVERED, mrr[recovered], mrr[recovered], plan[recovered])
        self.status[lost, self.pending_slot[lost]] = WRITTEN_OFF
        self.resolved[lost, self.pending_slot[lost]] = day[lost]
        self.log.add(lost, w, day[lost], CHURN, mrr[lost], self.zero[lost], plan[lost])
        self.end(w, lost, day[lost], PAYMENT_CHURN)
        self.pending[due] = False
        return due

    def invoice(self, w: int, u: np.ndarray, billing: np.ndarray, day: np.ndarray) -> None:
        """On a customer's billing date: bill the current MRR; a failure opens dunning."""
        billed = np.flatnonzero(self.active & billing)
        if not billed.size:
            return
        slot = self.next_bill[billed]
        self.amount[billed, slot] = self.mrr[billed]
        self.next_bill[billed] += 1
        recent = w - self.last_failure <= PAYMENT_RELAPSE_WEEKS
        chance = payment_failure_probability(self.p, self.mech, self.health.distress[:, w], recent)
        fails = u[billed] < chance[billed]
        failed = billed[fails]
        self.strikes[failed] = np.where(
            w - self.last_failure[failed] <= STRIKE_WEEKS, self.strikes[failed] + 1, 1
        )
        self.last_failure[failed] = w
        self.status[billed, slot] = np.where(fails, FAILED, PAID)
        opened = failed[~self.pending[failed]]
        self.pending[opened] = True
        self.pending_slot[opened] = self.next_bill[opened] - 1
        self.failed_week[opened] = w
        self.failed_day[opened] = day[opened]
        if self.policy is not None:
            self.dunning_weeks[opened] = self.policy.dunning(w, self.p.dunning_weeks)[opened]
        self.log.add(opened, w, day[opened], FAILURE, self.mrr[opened], self.mrr[opened], self.plan[opened])

    def churn(self, w: int, u: np.ndarray, renewal: np.ndarray, day: np.ndarray) -> None:
        """The churn draw: the renewal decision on a term end, otherwise a mid-term exit."""
        h = self.health
        prob = churn_probability(
            self.p,
            self.mech,
            w,
            renewal,
            h.distress[:, w],
            h.depth_level[:, w],
            h.tickets_4w[:, w],
            self.pending,
            h.detractor,
            None if self.policy is None else self.policy.hazard_scale(w),
        )
        churned = np.flatnonzero(self.active & (u < prob))
        self.log.add(
            churned, w, day[churned], CHURN, self.mrr[churned], self.zero[churned], self.plan[churned]
        )
        self.end(w, churned, day[churned], np.where(renewal[churned], NON_RENEWAL, VOLUNTARY))

    def renew(self, w: int, renewal: np.ndarray, day: np.ndarray) -> None:
        renewed = np.flatnonzero(self.active & renewal)
        self.renewals[renewed] += 1
        self.next_end[renewed] += 1
        mrr = self.mrr[renewed]
        self.log.add(
            renewed, w, day[renewed], RENEWAL, mrr, mrr, self.plan[renewed], self.term_months[renewed]
        )

    def expand(self, w: int, u: np.ndarray, size: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Expansions (MRR up by a share of it); returns who expanded this week."""
        depth = self.health.depth_true[:, w]
        grow = self.active & (u < expansion_probability(self.p, depth, self.mrr, self.ceiling))
        grown = np.flatnonzero(grow)
        if grown.size:
            lo_frac, hi_frac = self.mech.motif.expansion.expansion_mrr_frac_range
            base = self.mrr[grown]
            spread = self.mech.expansion_step_spread
            after = base + expansion_step(base, lo_frac, hi_frac, size[grown], spread)
            self._move(w, grown, day[grown], base, after, EXPANSION)
            self.expansions[grown] += 1
        return grow

    def contract(self, w: int, grow: np.ndarray, u: np.ndarray, size: np.ndarray, day: np.ndarray) -> None:
        """Contractions (MRR down, never below the floor) for those who did not expand."""
        shrink = self.active & ~grow & (self.mrr > MRR_FLOOR)
        shrink &= u < contraction_probability(self.p, self.mech, self.health.distress[:, w])
        shrunk = np.flatnonzero(shrink)
        if shrunk.size:
            lo_frac, hi_frac = self.mech.motif.contraction.contraction_mrr_frac_range
            base = self.mrr[shrunk]
            after = np.maximum(MRR_FLOOR, base - _step(base, lo_frac, hi_frac, size[shrunk]))
            self._move(w, shrunk, day[shrunk], base, after, CONTRACTION)
            self.contractions[shrunk] += 1

    def _move(
        self, w: int, who: np.ndarray, day: np.ndarray, base: np.ndarray, after: np.ndarray, kind: int
    ) -> None:
        self.mrr[who] = after
        self.plan[who] = plan_for_mrr(self.plan[who], after)
        self.log.add(who, w, day, kind, base, after, self.plan[who])

    def trajectories(self) -> Trajectories:
        return Trajectories(
            last_week=np.where(self.churn_week >= 0, self.churn_week, self.last_week),
            churn_week=self.churn_week,
            churn_day=self.churn_day,
            churn_reason=self.churn_reason,
            final_mrr=self.mrr,
            final_plan=self.plan,
            renewals=self.renewals,
            expansions=self.expansions,
            contractions=self.contractions,
            events=self.log.events(),
            invoices=Invoices(self.bill_day, self.amount, self.status, self.resolved),
            term_end_day=self.end_day,
            anchors=self.anchor_states(),
        )


def _step(base: np.ndarray, lo_frac: float, hi_frac: float, u: np.ndarray) -> np.ndarray:
    """An MRR change drawn uniformly from ``[lo_frac, hi_frac] · base`` (whole dollars, at least 1)."""
    lo = np.maximum(1, np.floor(lo_frac * base).astype(np.int64))
    hi = np.maximum(lo, np.floor(hi_frac * base).astype(np.int64))
    return np.asarray(lo + np.floor(u * (hi - lo + 1)).astype(np.int64))


#: Longest tail draw of an expansion step, in mean steps (the exponential's top 0.25 % is clipped).
STEP_TAIL_CAP = 6.0


def expansion_step(
    base: np.ndarray, lo_frac: float, hi_frac: float, u: np.ndarray, spread: float
) -> np.ndarray:
    """An expansion: :func:`_step`'s uniform share of ``base``, of which ``spread`` is replaced by an
    exponential tail with the same mean (whole dollars, at least 1). Both parts rise with ``u``, so
    one uniform still draws the step; ``spread = 0`` is the uniform step exactly."""
    step = _step(base, lo_frac, hi_frac, u)
    if not spread:
        return step
    tail = np.minimum(-np.log1p(-u), STEP_TAIL_CAP) * (0.5 * (lo_frac + hi_frac)) * base
    return np.asarray(np.maximum(1, np.floor((1.0 - spread) * step + spread * tail)), dtype=np.int64)


def mean_step(base: np.ndarray, lo_frac: float, hi_frac: float, spread: float = 0.0) -> np.ndarray:
    """The mean of :func:`expansion_step` over ``u`` (``spread = 0``: of :func:`_step`, which
    contractions draw): each bound of the uniform step rounds down
    (half a dollar on average), the tail loses its clipped top, the mix rounds down once more."""
    mid = 0.5 * (lo_frac + hi_frac) * base
    uniform = np.maximum(1.0, mid - 0.5)
    if not spread:
        return uniform
    tail = mid * (1.0 - np.exp(-STEP_TAIL_CAP))
    return np.asarray(np.maximum(1.0, (1.0 - spread) * uniform + spread * tail - 0.5))


def simulate(
    mech: Mechanism,
    p: Propensities,
    health: HealthHistory,
    initial_mrr: np.ndarray,
    initial_plan: np.ndarray,
    term_months: np.ndarray,
    start_day: np.ndarray,
    last_week: np.ndarray,
    g: np.random.Generator,
    policy: Policy | None = None,
    anchors: Mapping[str, np.ndarray] | None = None,
) -> Trajectories:
    """Run the weekly loop for one shard; ``start_day`` is each customer's start (epoch days),
    ``last_week`` its final tenure week. ``policy`` is an intervened policy (``None``: the
    factual one); ``anchors`` names per-customer weeks whose starting state to record."""
    loop = _Loop(
        mech, p, health, initial_mrr, initial_plan, term_months, start_day, last_week, policy, anchors
    )
    for w in range(loop.n_weeks):
        loop.capture(w)
        if not loop.week(w, g):
            break
    return loop.trajectories()
