"""Every invoice bills the MRR in effect on its date, on a monthly billing date of its customer
(a monthly anniversary of its start, month-end clamped), and every failed, recovered or
written-off invoice has its payment events.

In a public bundle the status is the one known on the observation date: an invoice cannot
read ``recovered`` or ``written_off`` unless the event that settled it is published too.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from leadforge.findings import Finding

from leadforge_lifecycle.calendar import add_months, epoch_day
from leadforge_lifecycle.checks.frames import EVENT_CODE, STATUS_CODE, Context
from leadforge_lifecycle.checks.history import keys_of, mrr_before

CHECK = "lifecycle.invoice_chain"
#: A settled status, and the event that settles it ("equal": one event per such invoice;
#: "at most": a churn can also be voluntary).
_SETTLED = (("recovered", "payment_recovered", "equal"), ("written_off", "churn", "at most"))


def chain(ctx: Context) -> Iterator[Finding]:
    inv, ev = ctx.invoices, ctx.events
    if np.any(inv.cols["status"] < 0):
        yield Finding(CHECK, "unknown payment_status", where=f"{ctx.rel('invoices')}:payment_status")
        return
    mrr = mrr_before(ctx, inv.cust, inv.day)
    if np.any(inv.cols["amount"] != mrr):
        yield Finding(
            CHECK,
            f"{int(np.sum(inv.cols['amount'] != mrr))} invoice(s) do not bill the MRR in effect",
            where=f"{ctx.rel('invoices')}:amount_usd",
        )
    if not np.all(on_anniversary(ctx, inv.cust, inv.day)):
        yield Finding(
            CHECK,
            "invoice not on a monthly billing date of its customer",
            where=f"{ctx.rel('invoices')}:invoice_date",
        )
    failures = ev.cols["kind"] == EVENT_CODE["payment_failure"]
    troubled = inv.cols["status"] != STATUS_CODE["paid"]
    if troubled.any() and not np.all(
        np.isin(keys_of(inv.cust[troubled], inv.day[troubled]), keys_of(ev.cust[failures], ev.day[failures]))
    ):
        yield Finding(
            CHECK,
            "a failed/recovered/written-off invoice has no payment_failure event on its date",
            where=f"{ctx.rel('invoices')}:payment_status",
        )
    for status, event, rule in _SETTLED:
        got, have = _per_customer(ctx, status, event)
        if np.any(got != have) if rule == "equal" else np.any(got > have):
            yield Finding(
                "lifecycle.leak" if ctx.public else CHECK,
                f"{status} invoices do not match the {event} events"
                + (
                    " (a failure still in dunning at the observation date must read 'failed')"
                    if ctx.public
                    else ""
                ),
                where=f"{ctx.rel('invoices')}:payment_status",
            )


def on_anniversary(ctx: Context, cust: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Whether each day (from the observation date) is a monthly anniversary of the customer's start."""
    row = ctx.customer_index(cust)
    start = epoch_day(ctx.observation) + ctx.customers.day[row]
    when = (epoch_day(ctx.observation) + day).astype("datetime64[D]")
    months = (when.astype("datetime64[M]") - start.astype("datetime64[D]").astype("datetime64[M]")).astype(
        np.int64
    )
    return np.asarray(
        (row >= 0) & (months >= 0) & (add_months(start, months) == epoch_day(ctx.observation) + day)
    )


def _per_customer(ctx: Context, status: str, event: str) -> tuple[np.ndarray, np.ndarray]:
    """Per customer: invoices with ``status``, and events of kind ``event``."""
    n = ctx.customers.cust.size
    inv, ev = ctx.invoices, ctx.events
    got = np.bincount(ctx.customer_index(inv.cust[inv.cols["status"] == STATUS_CODE[status]]), minlength=n)
    have = np.bincount(ctx.customer_index(ev.cust[ev.cols["kind"] == EVENT_CODE[event]]), minlength=n)
    return got, have
