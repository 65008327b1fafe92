"""The weekly engine: billing, dunning, churn, renewals, expansions and contractions of one shard.

The loop runs over tenure weeks; each step is a handful of numpy operations over every
customer of the shard. Per week and customer, in this fixed order:

1. dunning resolution — a failed invoice whose dunning period has elapsed is recovered
   (``payment_recovered``) or written off, which churns the customer (``payment_failure``);
2. invoicing — on billing weeks an invoice for the current MRR is issued; it fails with the
   customer's payment-failure probability (``payment_failure``, dunning starts);
3. churn draw — the hazard of :func:`leadforge_lifecycle.hazards.churn_probability`
   (``non_renewal`` on an anniversary week, else ``voluntary``);
4. renewal on anniversary weeks;
5. expansion (MRR up), else contraction (MRR down, possibly a plan downgrade).

Health (usage, tickets, NPS) is generated beforehand (:mod:`leadforge_lifecycle.health`) and
read here: a slump, shallow usage and a heavy ticket load raise churn; a slump also raises
contractions and payment failures; usage depth drives expansion.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from leadforge_lifecycle.calendar import invoice_weeks
from leadforge_lifecycle.hazards import (
    Propensities,
    churn_probability,
    contraction_probability,
    expansion_probability,
    is_renewal_week,
    payment_failure_probability,
    recovery_probability,
)
from leadforge_lifecycle.health import HealthHistory
from leadforge_lifecycle.mechanism import PAYMENT_RELAPSE_WEEKS, STRIKE_WEEKS, Mechanism
from leadforge_lifecycle.population import PLAN_MRR

EVENT_TYPES = ("payment_recovered", "churn", "payment_failure", "renewal", "expansion", "contraction")
RECOVERED, CHURN, FAILURE, RENEWAL, EXPANSION, CONTRACTION = range(6)
INVOICE_STATUSES = ("paid", "failed", "recovered", "written_off")
PAID, FAILED, INV_RECOVERED, WRITTEN_OFF = range(4)
NOT_ISSUED = -1
CHURN_REASONS = ("voluntary", "non_renewal", "payment_failure")
VOLUNTARY, NON_RENEWAL, PAYMENT_CHURN = range(3)
#: Contractions never take MRR below the cheapest plan's floor.
MRR_FLOOR = int(PLAN_MRR[0, 0])


@dataclass(frozen=True)
class Events:
    """Subscription events of a shard, ordered by customer, then week, then step."""

    customer: np.ndarray
    week: np.ndarray
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
    """Invoice matrices: row = customer, column = billing slot (tenure week ``weeks[j]``)."""

    weeks: np.ndarray
    amount: np.ndarray
    status: np.ndarray
    resolved_week: np.ndarray


@dataclass(frozen=True)
class Trajectories:
    """Everything the engine decided for a shard."""

    last_week: np.ndarray
    churn_week: np.ndarray
    churn_reason: np.ndarray
    final_mrr: np.ndarray
    final_plan: np.ndarray
    renewals: np.ndarray
    expansions: np.ndarray
    contractions: np.ndarray
    events: Events
    invoices: Invoices


class _EventLog:
    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, ...]] = []

    def add(
        self,
        who: np.ndarray,
        week: int,
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
            return Events(e, e, e.astype(np.int8), e, e, e.astype(np.int8), e)
        cols = [np.concatenate(c) for c in zip(*self.parts, strict=True)]
        order = np.argsort(cols[0], kind="stable")
        return Events(*(c[order] for c in cols))


def plan_for_mrr(plan: np.ndarray, mrr: np.ndarray) -> np.ndarray:
    """Move a plan up when MRR exceeds its ceiling, down when MRR falls below its floor."""
    out = plan.astype(np.int64)
    for _ in range(len(PLAN_MRR) - 1):
        out = np.where((out < len(PLAN_MRR) - 1) & (mrr > PLAN_MRR[out, 1]), out + 1, out)
        out = np.where((out > 0) & (mrr < PLAN_MRR[out, 0]), out - 1, out)
    return out.astype(np.int8)


class _Loop:
    """The state of one shard's weekly loop, and one method per step of a week."""

    def __init__(
        self,
        mech: Mechanism,
        p: Propensities,
        health: HealthHistory,
        initial_mrr: np.ndarray,
        initial_plan: np.ndarray,
        term_months: np.ndarray,
        last_week: np.ndarray,
    ) -> None:
        n = initial_mrr.size
        self.mech, self.p, self.health = mech, p, health
        self.term_months, self.last_week = term_months, last_week
        self.n_weeks = int(last_week.max()) + 1 if n else 0
        self.bill_weeks = invoice_weeks(self.n_weeks)
        self.slot_of_week = np.full(self.n_weeks, -1, dtype=np.int64)
        self.slot_of_week[self.bill_weeks] = np.arange(self.bill_weeks.size)
        self.amount = np.zeros((n, self.bill_weeks.size), dtype=np.int64)
        self.status = np.full((n, self.bill_weeks.size), NOT_ISSUED, dtype=np.int8)
        self.resolved = np.full((n, self.bill_weeks.size), -1, dtype=np.int64)
        self.mrr = initial_mrr.astype(np.int64).copy()
        self.plan = initial_plan.astype(np.int8).copy()
        self.alive = np.ones(n, dtype=bool)
        self.active = np.zeros(n, dtype=bool)
        self.pending = np.zeros(n, dtype=bool)
        self.pending_slot = np.zeros(n, dtype=np.int64)
        self.failed_week = np.zeros(n, dtype=np.int64)
        self.last_failure = np.full(n, -(10**6), dtype=np.int64)
        self.strikes = np.zeros(n, dtype=np.int64)
        self.churn_week = np.full(n, -1, dtype=np.int64)
        self.churn_reason = np.full(n, -1, dtype=np.int8)
        self.renewals = np.zeros(n, dtype=np.int64)
        self.expansions = np.zeros(n, dtype=np.int64)
        self.contractions = np.zeros(n, dtype=np.int64)
        self.zero = np.zeros(n, dtype=np.int64)
        self.log = _EventLog()

    def week(self, w: int, g: np.random.Generator) -> bool:
        """Run week ``w`` (six uniforms per customer); ``False`` once nobody is active."""
        self.active = self.alive & (w <= self.last_week)
        if not self.active.any():
            return False
        u = g.random((6, self.mrr.size))
        self.resolve_dunning(w, u[0])
        self.invoice(w, u[1])
        renewal = self.churn(w, u[2])
        self.renew(w, renewal)
        grow = self.expand(w, u[3], u[4])
        self.contract(w, grow, u[5], u[4])
        return True

    def end(self, w: int, who: np.ndarray, reason: int | np.ndarray) -> None:
        self.churn_week[who] = w
        self.churn_reason[who] = reason
        self.alive[who] = False
        self.active[who] = False

    def resolve_dunning(self, w: int, u: np.ndarray) -> None:
        """A failed invoice whose dunning has elapsed is recovered, or written off (churn)."""
        due = self.active & self.pending & (w - self.failed_week >= self.p.dunning_weeks)
        if not due.any():
            return
        chance = recovery_probability(self.mech, self.strikes)
        recovered = np.flatnonzero(due & (u < chance))
        lost = np.flatnonzero(due & (u >= chance))
        mrr, plan = self.mrr, self.plan
        self.status[recovered, self.pending_slot[recovered]] = INV_RECOVERED
        self.resolved[recovered, self.pending_slot[recovered]] = w
        self.log.add(recovered, w, RECOVERED, mrr[recovered], mrr[recovered], plan[recovered])
        self.status[lost, self.pending_slot[lost]] = WRITTEN_OFF
        self.resolved[lost, self.pending_slot[lost]] = w
        self.log.add(lost, w, CHURN, mrr[lost], self.zero[lost], plan[lost])
        self.end(w, lost, PAYMENT_CHURN)
        self.pending[due] = False

    def invoice(self, w: int, u: np.ndarray) -> None:
        """On billing weeks: bill the current MRR; a failure opens dunning."""
        slot = self.slot_of_week[w]
        if slot < 0:
            return
        billed = np.flatnonzero(self.active)
        self.amount[billed, slot] = self.mrr[billed]
        recent = w - self.last_failure <= PAYMENT_RELAPSE_WEEKS
        chance = payment_failure_probability(self.p, self.mech, self.health.distress[:, w], recent)
        failed = self.active & (u < chance)
        self.strikes = np.where(
            failed, np.where(w - self.last_failure <= STRIKE_WEEKS, self.strikes + 1, 1), self.strikes
        )
        self.last_failure[failed] = w
        self.status[billed, slot] = np.where(failed[billed], FAILED, PAID)
        opened = np.flatnonzero(failed & ~self.pending)
        self.pending[opened] = True
        self.pending_slot[opened] = slot
        self.failed_week[opened] = w
        self.log.add(opened, w, FAILURE, self.mrr[opened], self.mrr[opened], self.plan[opened])

    def churn(self, w: int, u: np.ndarray) -> np.ndarray:
        """The churn draw; returns who is on a contract anniversary this week."""
        h = self.health
        renewal = is_renewal_week(w, self.term_months)
        prob = churn_probability(
            self.p,
            self.mech,
            w,
            renewal,
            h.distress[:, w],
            h.depth_level[:, w],
            h.tickets_4w[:, w],
            self.pending,
        )
        churned = np.flatnonzero(self.active & (u < prob))
        self.log.add(churned, w, CHURN, self.mrr[churned], self.zero[churned], self.plan[churned])
        self.end(w, churned, np.where(renewal[churned], NON_RENEWAL, VOLUNTARY))
        return renewal

    def renew(self, w: int, renewal: np.ndarray) -> None:
        renewed = np.flatnonzero(self.active & renewal)
        self.renewals[renewed] += 1
        mrr = self.mrr[renewed]
        self.log.add(renewed, w, RENEWAL, mrr, mrr, self.plan[renewed], self.term_months[renewed])

    def expand(self, w: int, u: np.ndarray, size: np.ndarray) -> np.ndarray:
        """Expansions (MRR up by a share of it); returns who expanded this week."""
        grow = self.active & (u < expansion_probability(self.p, self.health.depth_true[:, w]))
        grown = np.flatnonzero(grow)
        if grown.size:
            lo_frac, hi_frac = self.mech.motif.expansion.expansion_mrr_frac_range
            base = self.mrr[grown]
            after = base + _step(base, lo_frac, hi_frac, size[grown])
            self._move(w, grown, base, after, EXPANSION)
            self.expansions[grown] += 1
        return grow

    def contract(self, w: int, grow: np.ndarray, u: np.ndarray, size: np.ndarray) -> None:
        """Contractions (MRR down, never below the floor) for those who did not expand."""
        shrink = self.active & ~grow & (self.mrr > MRR_FLOOR)
        shrink &= u < contraction_probability(self.p, self.mech, self.health.distress[:, w])
        shrunk = np.flatnonzero(shrink)
        if shrunk.size:
            lo_frac, hi_frac = self.mech.motif.contraction.contraction_mrr_frac_range
            base = self.mrr[shrunk]
            after = np.maximum(MRR_FLOOR, base - _step(base, lo_frac, hi_frac, size[shrunk]))
            self._move(w, shrunk, base, after, CONTRACTION)
            self.contractions[shrunk] += 1

    def _move(self, w: int, who: np.ndarray, base: np.ndarray, after: np.ndarray, kind: int) -> None:
        self.mrr[who] = after
        self.plan[who] = plan_for_mrr(self.plan[who], after)
        self.log.add(who, w, kind, base, after, self.plan[who])

    def trajectories(self) -> Trajectories:
        return Trajectories(
            last_week=np.where(self.churn_week >= 0, self.churn_week, self.last_week),
            churn_week=self.churn_week,
            churn_reason=self.churn_reason,
            final_mrr=self.mrr,
            final_plan=self.plan,
            renewals=self.renewals,
            expansions=self.expansions,
            contractions=self.contractions,
            events=self.log.events(),
            invoices=Invoices(self.bill_weeks, self.amount, self.status, self.resolved),
        )


def _step(base: np.ndarray, lo_frac: float, hi_frac: float, u: np.ndarray) -> np.ndarray:
    """An MRR change drawn uniformly from ``[lo_frac, hi_frac] · base`` (whole dollars, at least 1)."""
    lo = np.maximum(1, np.floor(lo_frac * base).astype(np.int64))
    hi = np.maximum(lo, np.floor(hi_frac * base).astype(np.int64))
    return np.asarray(lo + np.floor(u * (hi - lo + 1)).astype(np.int64))


def simulate(
    mech: Mechanism,
    p: Propensities,
    health: HealthHistory,
    initial_mrr: np.ndarray,
    initial_plan: np.ndarray,
    term_months: np.ndarray,
    last_week: np.ndarray,
    g: np.random.Generator,
) -> Trajectories:
    """Run the weekly loop for one shard; ``last_week`` is each customer's final tenure week."""
    loop = _Loop(mech, p, health, initial_mrr, initial_plan, term_months, last_week)
    for w in range(loop.n_weeks):
        if not loop.week(w, g):
            break
    return loop.trajectories()
