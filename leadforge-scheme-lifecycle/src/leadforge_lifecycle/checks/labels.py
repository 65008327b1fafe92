"""Instructor bundles: every label equals the relational history it summarises.

A revenue label is the sum of the paid or recovered invoices issued in ``(cutoff, cutoff + W]``;
the churn label says whether the churn event falls within 180 days after the cutoff.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow.compute as pc
from leadforge.bundle.splits import SPLITS
from leadforge.findings import Finding

from leadforge_lifecycle.calendar import CHURN_WINDOW_DAYS
from leadforge_lifecycle.catalog import CHURN_TARGET, tasks
from leadforge_lifecycle.checks.frames import STATUS_CODE, Context
from leadforge_lifecycle.checks.history import keys_of

CHECK = "lifecycle.labels"


def targets(ctx: Context) -> Iterator[Finding]:
    if ctx.public:
        return
    inv = ctx.invoices
    collected = np.isin(inv.cols["status"], [STATUS_CODE["paid"], STATUS_CODE["recovered"]])
    order = np.lexsort((inv.day, inv.cust))
    amount = np.where(collected, inv.cols["amount"], 0)[order]
    csum = np.concatenate([[0], np.cumsum(amount)])
    key = keys_of(inv.cust[order], inv.day[order])
    for regime in ctx.regimes:
        for spec in tasks(regime):
            for split in SPLITS:
                if not ctx.bundle.has_split(spec.task_id, split):
                    continue
                rel = ctx.split_rel(spec.task_id, split)
                t, row = ctx.split_customers(spec.task_id, split, ["customer_id", spec.label_column])
                if np.any(row < 0):
                    continue  # the snapshot check reports rows of unknown customers
                cut = ctx.cutoff(regime, row)
                col = t.column(spec.label_column)
                if spec.label_column == CHURN_TARGET:
                    label = np.asarray(pc.fill_null(col, False).to_numpy(zero_copy_only=False), dtype=bool)
                    bad = label != (ctx.churn_day[row] <= cut + CHURN_WINDOW_DAYS)
                else:
                    label = np.asarray(
                        pc.fill_null(col, -1.0).to_numpy(zero_copy_only=False), dtype=np.float64
                    )
                    who = ctx.customers.cust[row]
                    lo = np.searchsorted(key, keys_of(who, cut), side="right")
                    hi = np.searchsorted(key, keys_of(who, cut + spec.label_window_days), side="right")
                    bad = np.abs(label - (csum[hi] - csum[lo])) > 1e-6
                if bad.any():
                    yield Finding(
                        CHECK,
                        f"{int(bad.sum())} label(s) differ from the relational history",
                        where=f"{rel}:{spec.label_column}",
                    )
