"""Snapshot rows are what the relational history said at their cutoff.

Every integer and categorical feature of every task row is recomputed from the relational rows
dated on or before the row's cutoff; distortions may only blank a cell, so a feature built from
later rows is caught. Each task's cohort is exactly the customers alive at its cutoff.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from leadforge.bundle.splits import SPLITS
from leadforge.columns import id_array
from leadforge.findings import Finding

from leadforge_lifecycle.calendar import epoch_day, next_term_end
from leadforge_lifecycle.catalog import CALENDAR, tasks
from leadforge_lifecycle.checks.frames import EVENT_CODE, Context
from leadforge_lifecycle.checks.history import (
    NONE,
    Chain,
    count_upto,
    last_upto,
    mrr_before,
    plans_after,
    sum_upto,
)
from leadforge_lifecycle.population import PLANS
from leadforge_lifecycle.snapshot import HEALTH_WINDOW_WEEKS

CHECK = "lifecycle.snapshot"


@dataclass(frozen=True)
class _Truth:
    """Recomputed features per customer row: exact values with null masks, and labels."""

    exact: dict[str, tuple[np.ndarray, np.ndarray]]
    categorical: dict[str, np.ndarray]


def features(ctx: Context) -> Iterator[Finding]:
    cu = ctx.customers
    everyone = np.arange(cu.cust.size)
    for regime in ctx.regimes:
        cut = ctx.cutoff(regime, everyone)
        truth = _recompute(ctx, cut)
        alive = ctx.churn_day > cut
        if regime is CALENDAR:
            alive &= cu.day <= 0
        for spec in tasks(regime):
            seen: list[np.ndarray] = []
            for split in SPLITS:
                if not ctx.bundle.has_split(spec.task_id, split):
                    continue
                rel = ctx.split_rel(spec.task_id, split)
                table, row = ctx.split_customers(spec.task_id, split)
                if np.any(row < 0):
                    yield Finding(CHECK, "rows of unknown customers", where=f"{rel}:customer_id")
                    continue
                seen.append(row)
                yield from _compare(table, row, truth, rel)
            rows = np.concatenate(seen) if seen else np.zeros(0, dtype=np.int64)
            if not np.array_equal(np.unique(rows), np.flatnonzero(alive)):
                yield Finding(
                    CHECK,
                    f"cohort differs from the customers alive at the cutoff ({rows.size} rows, "
                    f"{int(alive.sum())} expected)",
                    where=f"tasks/{spec.task_id}:customer_id",
                )


def _compare(table: pa.Table, row: np.ndarray, truth: _Truth, rel: str) -> Iterator[Finding]:
    """Distortions may blank a cell; any non-null value must equal the cutoff-bounded truth."""
    checks: list[tuple[str, np.ndarray]] = []
    for name, values in truth.categorical.items():
        col = table.column(name)
        null = np.asarray(col.is_null().to_numpy(zero_copy_only=False), dtype=bool)
        got = np.asarray(col.to_numpy(zero_copy_only=False))
        checks.append((name, ~null & (got != values[row])))
    for name, (want, want_null) in truth.exact.items():
        col = table.column(name)
        null = np.asarray(col.is_null().to_numpy(zero_copy_only=False), dtype=bool)
        got = np.asarray(pc.fill_null(col, 0).to_numpy(zero_copy_only=False))
        checks.append((name, ~null & (want_null[row] | (got != want[row]))))
    for name, bad in checks:
        if bad.any():
            yield Finding(
                CHECK,
                f"{int(bad.sum())} value(s) differ from the history up to the cutoff",
                where=f"{rel}:{name}",
            )


def _recompute(ctx: Context, cut: np.ndarray) -> _Truth:
    """Integer and categorical snapshot features of every customer, from rows dated on or before
    ``cut`` (one day per customer row)."""
    cu, ev, he = ctx.customers, ctx.events, ctx.health
    tenure = (cut - cu.day) // 7
    who = cu.cust
    counts = {}
    for name in ("renewal", "expansion", "contraction", "payment_failure"):
        k = ev.cols["kind"] == EVENT_CODE[name]
        counts[name] = count_upto(ev.cust[k], ev.day[k], who, cut)
    fail = ev.cols["kind"] == EVENT_CODE["payment_failure"]
    last_fail = last_upto(ev.cust[fail], ev.day[fail], ev.day[fail], who, cut)
    current = mrr_before(ctx, who, cut + 1)
    initial = cu.cols["initial_mrr"]
    tickets = sum_upto(he.cust, he.day, he.cols["tickets"], who, cut) - sum_upto(
        he.cust, he.day, he.cols["tickets"], who, cut - 7 * HEALTH_WINDOW_WEEKS
    )
    answered = ~he.null["nps"]
    nps = last_upto(he.cust[answered], he.day[answered], he.cols["nps"][answered], who, cut)
    no_fail = last_fail == NONE
    zero = np.zeros(who.size, dtype=bool)
    plans = np.array(PLANS, dtype=object)
    return _Truth(
        exact={
            "tenure_weeks": (tenure, zero),
            "initial_mrr": (initial, zero),
            "current_mrr": (current, zero),
            "mrr_change_at_snapshot": (current - initial, zero),
            "renewal_count": (counts["renewal"], zero),
            "expansion_count": (counts["expansion"], zero),
            "contract_term_months": (cu.cols["term"], zero),
            "weeks_to_next_renewal": (_weeks_to_term_end(ctx, cut), zero),
            "support_ticket_count_l12w": (tickets, zero),
            "last_nps_score": (np.where(nps == NONE, 0, nps), nps == NONE),
            "payment_failure_count": (counts["payment_failure"], zero),
            "weeks_since_last_payment_failure": (np.where(no_fail, 0, (cut - last_fail) // 7), no_fail),
            "downgrade_count": (counts["contraction"], zero),
        },
        categorical={
            "account_id": np.asarray(id_array("acct", cu.cols["account"]).to_numpy(zero_copy_only=False)),
            "initial_plan": plans[cu.cols["plan"]],
            "current_plan": plans[plans_after(ctx, Chain.of(ctx), cut)],
        },
    )


def _weeks_to_term_end(ctx: Context, cut: np.ndarray) -> np.ndarray:
    """Whole weeks from each cutoff to the customer's next contract term end."""
    cu = ctx.customers
    start = epoch_day(ctx.observation) + cu.day
    day = np.maximum(cut - cu.day, 0)
    return np.asarray((next_term_end(start, cu.cols["term"], day) - day) // 7, dtype=np.int64)
