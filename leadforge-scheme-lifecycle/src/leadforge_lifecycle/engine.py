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
    n = initial_mrr.size
    n_weeks = int(last_week.max()) + 1 if n else 0
    bill_weeks = invoice_weeks(n_weeks)
    slot_of_week = np.full(n_weeks, -1, dtype=np.int64)
    slot_of_week[bill_weeks] = np.arange(bill_weeks.size)
    amount = np.zeros((n, bill_weeks.size), dtype=np.int64)
    status = np.full((n, bill_weeks.size), NOT_ISSUED, dtype=np.int8)
    resolved = np.full((n, bill_weeks.size), -1, dtype=np.int64)

    mrr = initial_mrr.astype(np.int64).copy()
    plan = initial_plan.astype(np.int8).copy()
    alive = np.ones(n, dtype=bool)
    pending = np.zeros(n, dtype=bool)
    pending_slot = np.zeros(n, dtype=np.int64)
    failed_week = np.zeros(n, dtype=np.int64)
    last_failure = np.full(n, -(10**6), dtype=np.int64)
    strikes = np.zeros(n, dtype=np.int64)
    churn_week = np.full(n, -1, dtype=np.int64)
    churn_reason = np.full(n, -1, dtype=np.int8)
    renewals = np.zeros(n, dtype=np.int64)
    expansions = np.zeros(n, dtype=np.int64)
    contractions = np.zeros(n, dtype=np.int64)
    exp_lo, exp_hi = mech.motif.expansion.expansion_mrr_frac_range
    con_lo, con_hi = mech.motif.contraction.contraction_mrr_frac_range
    zero = np.zeros(n, dtype=np.int64)
    log = _EventLog()

    for w in range(n_weeks):
        active = alive & (w <= last_week)
        if not active.any():
            break
        u = g.random((6, n))

        due = active & pending & (w - failed_week >= p.dunning_weeks)
        if due.any():
            chance = recovery_probability(mech, strikes)
            recovered = np.flatnonzero(due & (u[0] < chance))
            lost = np.flatnonzero(due & (u[0] >= chance))
            status[recovered, pending_slot[recovered]] = INV_RECOVERED
            resolved[recovered, pending_slot[recovered]] = w
            log.add(recovered, w, RECOVERED, mrr[recovered], mrr[recovered], plan[recovered])
            status[lost, pending_slot[lost]] = WRITTEN_OFF
            resolved[lost, pending_slot[lost]] = w
            log.add(lost, w, CHURN, mrr[lost], zero[lost], plan[lost])
            churn_week[lost] = w
            churn_reason[lost] = PAYMENT_CHURN
            alive[lost] = False
            active[lost] = False
            pending[due] = False

        slot = slot_of_week[w]
        if slot >= 0:
            billed = np.flatnonzero(active)
            amount[billed, slot] = mrr[billed]
            recent = w - last_failure <= PAYMENT_RELAPSE_WEEKS
            failed = active & (u[1] < payment_failure_probability(p, mech, health.distress[:, w], recent))
            strikes = np.where(failed, np.where(w - last_failure <= STRIKE_WEEKS, strikes + 1, 1), strikes)
            last_failure[failed] = w
            status[billed, slot] = np.where(failed[billed], FAILED, PAID)
            opened = np.flatnonzero(failed & ~pending)
            pending[opened] = True
            pending_slot[opened] = slot
            failed_week[opened] = w
            log.add(opened, w, FAILURE, mrr[opened], mrr[opened], plan[opened])

        renewal = is_renewal_week(w, term_months)
        prob = churn_probability(
            p,
            mech,
            w,
            renewal,
            health.distress[:, w],
            health.depth_level[:, w],
            health.tickets_4w[:, w],
            pending,
        )
        churned = np.flatnonzero(active & (u[2] < prob))
        log.add(churned, w, CHURN, mrr[churned], zero[churned], plan[churned])
        churn_week[churned] = w
        churn_reason[churned] = np.where(renewal[churned], NON_RENEWAL, VOLUNTARY)
        alive[churned] = False
        active[churned] = False

        renewed = np.flatnonzero(active & renewal)
        renewals[renewed] += 1
        log.add(renewed, w, RENEWAL, mrr[renewed], mrr[renewed], plan[renewed], term_months[renewed])

        grow = active & (u[3] < expansion_probability(p, health.depth_true[:, w]))
        grown = np.flatnonzero(grow)
        if grown.size:
            base = mrr[grown]
            lo = np.maximum(1, np.floor(exp_lo * base).astype(np.int64))
            hi = np.maximum(lo, np.floor(exp_hi * base).astype(np.int64))
            after = base + lo + np.floor(u[4, grown] * (hi - lo + 1)).astype(np.int64)
            mrr[grown] = after
            plan[grown] = plan_for_mrr(plan[grown], after)
            expansions[grown] += 1
            log.add(grown, w, EXPANSION, base, after, plan[grown])

        shrink = active & ~grow & (mrr > MRR_FLOOR)
        shrink &= u[5] < contraction_probability(p, mech, health.distress[:, w])
        shrunk = np.flatnonzero(shrink)
        if shrunk.size:
            base = mrr[shrunk]
            lo = np.maximum(1, np.floor(con_lo * base).astype(np.int64))
            hi = np.maximum(lo, np.floor(con_hi * base).astype(np.int64))
            cut = lo + np.floor(u[4, shrunk] * (hi - lo + 1)).astype(np.int64)
            after = np.maximum(MRR_FLOOR, base - cut)
            mrr[shrunk] = after
            plan[shrunk] = plan_for_mrr(plan[shrunk], after)
            contractions[shrunk] += 1
            log.add(shrunk, w, CONTRACTION, base, after, plan[shrunk])

    return Trajectories(
        last_week=np.where(churn_week >= 0, churn_week, last_week),
        churn_week=churn_week,
        churn_reason=churn_reason,
        final_mrr=mrr,
        final_plan=plan,
        renewals=renewals,
        expansions=expansions,
        contractions=contractions,
        events=log.events(),
        invoices=Invoices(bill_weeks, amount, status, resolved),
    )
