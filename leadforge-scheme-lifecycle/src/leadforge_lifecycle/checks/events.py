"""Every customer's events chain its MRR, and (instructor) end on the subscription's values.

Each event starts where the previous one ended (the first at ``initial_mrr``); expansions
raise MRR, contractions lower it, renewals and payment events leave it, churn ends at 0 and
nothing follows it; only renewals carry the new contract term.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from leadforge.findings import Finding

from leadforge_lifecycle.checks.frames import (
    EVENT_CODE,
    NEVER,
    PLAN_CODE,
    STATUS_CODE,
    Context,
    codes,
    ids,
    ints,
)
from leadforge_lifecycle.checks.history import Chain, plans_after

CHECK = "lifecycle.event_chain"


def chain(ctx: Context) -> Iterator[Finding]:
    if np.any(ctx.events.cols["kind"] < 0):
        yield Finding(CHECK, "unknown event_type", where=f"{ctx.rel('subscription_events')}:event_type")
        return
    c = Chain.of(ctx)
    yield from _mrr_steps(ctx, c)
    if np.any((c.kind == EVENT_CODE["churn"]) & ~c.last):
        yield Finding(
            CHECK, "an event follows a churn", where=f"{ctx.rel('subscription_events')}:event_timestamp"
        )
    renewal = c.kind == EVENT_CODE["renewal"]
    wrong_term = renewal & (c.term_null | (c.term != ctx.customers.cols["term"][c.row]))
    if np.any(wrong_term) or np.any(~renewal & ~c.term_null):
        yield Finding(
            CHECK,
            "contract_term_months_new must be the contract term on renewals and null otherwise",
            where=f"{ctx.rel('subscription_events')}:contract_term_months_new",
        )
    if not ctx.public:
        yield from _terminal(ctx, c)


def _mrr_steps(ctx: Context, c: Chain) -> Iterator[Finding]:
    prev_after = np.empty_like(c.after)
    prev_after[1:] = c.after[:-1]
    start = np.where(c.first, ctx.customers.cols["initial_mrr"][c.row], prev_after)
    if np.any(c.before != start):
        n = int(np.sum(c.before != start))
        yield Finding(
            CHECK,
            f"{n} event(s) do not start at the previous MRR",
            where=f"{ctx.rel('subscription_events')}:mrr_before",
        )
    rules = {"expansion": c.after > c.before, "contraction": c.after < c.before, "churn": c.after == 0}
    for name, ok in rules.items():
        bad = (c.kind == EVENT_CODE[name]) & ~ok
        if bad.any():
            yield Finding(
                CHECK,
                f"{int(bad.sum())} {name} event(s) move MRR the wrong way",
                where=f"{ctx.rel('subscription_events')}:mrr_after",
            )
    flat = np.isin(c.kind, [EVENT_CODE[k] for k in ("renewal", "payment_failure", "payment_recovered")])
    if np.any(flat & (c.after != c.before)):
        yield Finding(
            CHECK,
            "renewal and payment events must not change MRR",
            where=f"{ctx.rel('subscription_events')}:mrr_after",
        )


def _terminal(ctx: Context, c: Chain) -> Iterator[Finding]:
    """Instructor: the chain ends on the subscription's terminal values."""
    subs = ctx.table("subscriptions")
    idx = ctx.customer_index(ids("cust")(subs.column("customer_id").combine_chunks()))
    n = ctx.customers.cust.size
    terminal = ctx.customers.cols["initial_mrr"].copy()
    moves = c.moves
    terminal[c.row[moves]] = c.after[moves]  # later events overwrite earlier ones
    if np.any(ints(subs.column("current_mrr").combine_chunks()) != terminal[idx]):
        yield Finding(
            CHECK,
            "current_mrr is not where the event chain ends",
            where=f"{ctx.rel('subscriptions')}:current_mrr",
        )
    status = np.asarray(subs.column("subscription_status").to_numpy(zero_copy_only=False))
    if np.any((status == "churned") != (ctx.churn_day < NEVER)[idx]):
        yield Finding(
            CHECK,
            "subscription_status disagrees with the churn events",
            where=f"{ctx.rel('subscriptions')}:subscription_status",
        )
    churn_at = subs.column("churn_at").combine_chunks()
    has = np.asarray(churn_at.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    days = np.full(subs.num_rows, NEVER, dtype=np.int64)
    if has.any():
        days[has] = ctx.day(pc.filter(churn_at, pa.array(has)))
    if np.any(days != ctx.churn_day[idx]):
        yield Finding(
            CHECK, "churn_at is not the churn event's date", where=f"{ctx.rel('subscriptions')}:churn_at"
        )
    for col, name in (
        ("expansion_count", "expansion"),
        ("renewal_count", "renewal"),
        ("downgrade_count", "contraction"),
    ):
        got = np.bincount(c.row[c.kind == EVENT_CODE[name]], minlength=n)
        if np.any(ints(subs.column(col).combine_chunks()) != got[idx]):
            yield Finding(
                CHECK, f"{col} disagrees with the {name} events", where=f"{ctx.rel('subscriptions')}:{col}"
            )
    plan = plans_after(ctx, c)
    if np.any(codes(PLAN_CODE)(subs.column("current_plan").combine_chunks()) != plan[idx]):
        yield Finding(
            CHECK,
            "current_plan is not where the plan changes end",
            where=f"{ctx.rel('subscriptions')}:current_plan",
        )
    reason = np.asarray(pc.fill_null(subs.column("churn_reason"), "").to_numpy(zero_copy_only=False))
    inv = ctx.invoices
    written_off = np.bincount(
        ctx.customer_index(inv.cust[inv.cols["status"] == STATUS_CODE["written_off"]]), minlength=n
    )
    if np.any((reason == "payment_failure") != (written_off[idx] > 0)):
        yield Finding(
            CHECK,
            "payment_failure churn must coincide with a written-off invoice",
            where=f"{ctx.rel('subscriptions')}:churn_reason",
        )
