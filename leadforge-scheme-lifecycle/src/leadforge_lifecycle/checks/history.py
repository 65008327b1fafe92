"""Per-customer history as the relational rows tell it: counts, sums and latest values up to a
day, the MRR in effect on a day, and the chain of each customer's events.

Rows are keyed by (customer, day) in one int64, so "the rows of customer ``c`` dated on or
before day ``d``" is one binary search in the sorted keys.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from leadforge_lifecycle.checks.frames import EVENT_CODE, Context
from leadforge_lifecycle.engine import EVENT_TYPES, MRR_MOVES, plan_for_mrr

#: Event-type codes of the MRR moves, as the bundle's event tables number them.
MOVE_CODES = [EVENT_CODE[EVENT_TYPES[k]] for k in MRR_MOVES]

#: "No row yet" for :func:`last_upto`.
NONE = np.iinfo(np.int64).min
_DAY_SPAN = 1_000_003
_DAY_SHIFT = 500_000
#: Earlier than any day a bundle holds (days from the observation date).
_BEFORE_ALL = -400_000


def keys_of(cust: np.ndarray, day: np.ndarray) -> np.ndarray:
    return cust.astype(np.int64) * _DAY_SPAN + (day.astype(np.int64) + _DAY_SHIFT)


def _sorted(cust: np.ndarray, day: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
    """Row order by (customer, day) — ``None`` if the rows already are in it, as bundle rows
    usually are — and the sorted keys."""
    key = keys_of(cust, day)
    if key.size < 2 or bool(np.all(key[1:] >= key[:-1])):
        return None, key
    order = np.argsort(key, kind="stable")
    return order, key[order]


def _in_order(values: np.ndarray, order: np.ndarray | None) -> np.ndarray:
    return values if order is None else values[order]


def _bounds(key: np.ndarray, who: np.ndarray, cut: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    hi = np.searchsorted(key, keys_of(who, cut), side="right")
    lo = np.searchsorted(key, keys_of(who, np.full(who.size, _BEFORE_ALL)), side="left")
    return lo, hi


def count_upto(cust: np.ndarray, day: np.ndarray, who: np.ndarray, cut: np.ndarray) -> np.ndarray:
    """Rows of each customer ``who[i]`` dated on or before ``cut[i]``."""
    _, key = _sorted(cust, day)
    lo, hi = _bounds(key, who, cut)
    return np.asarray(hi - lo, dtype=np.int64)


def sum_upto(
    cust: np.ndarray, day: np.ndarray, values: np.ndarray, who: np.ndarray, cut: np.ndarray
) -> np.ndarray:
    order, key = _sorted(cust, day)
    csum = np.concatenate([[0], np.cumsum(_in_order(values, order), dtype=np.int64)])
    lo, hi = _bounds(key, who, cut)
    return np.asarray(csum[hi] - csum[lo], dtype=np.int64)


def last_upto(
    cust: np.ndarray, day: np.ndarray, values: np.ndarray, who: np.ndarray, cut: np.ndarray
) -> np.ndarray:
    """Value of each customer's latest row dated on or before ``cut`` (:data:`NONE` if none)."""
    if not cust.size:
        return np.full(who.size, NONE, dtype=np.int64)
    order, key = _sorted(cust, day)
    pos = np.searchsorted(key, keys_of(who, cut), side="right") - 1
    safe = np.maximum(pos, 0)
    hit = (pos >= 0) & (_in_order(cust, order)[safe] == who)
    return np.where(hit, _in_order(values, order)[safe], NONE).astype(np.int64)


def mrr_before(ctx: Context, cust: np.ndarray, day: np.ndarray) -> np.ndarray:
    """MRR in effect at the start of ``day``: after every expansion/contraction dated earlier."""
    ev = ctx.events
    moves = np.isin(ev.cols["kind"], MOVE_CODES)
    order = np.lexsort((ev.cols["id"][moves], ev.day[moves], ev.cust[moves]))
    mc, md, ma = ev.cust[moves][order], ev.day[moves][order], ev.cols["after"][moves][order]
    initial = ctx.customers.cols["initial_mrr"][ctx.customer_index(cust)]
    if not mc.size:
        return np.asarray(initial)
    pos = np.searchsorted(keys_of(mc, md), keys_of(cust, day), side="left") - 1
    safe = np.maximum(pos, 0)
    same = (pos >= 0) & (mc[safe] == cust)
    return np.where(same, ma[safe], initial)


@dataclass(frozen=True)
class Chain:
    """Events in chain order (customer, date, id) with each event's customer row."""

    row: np.ndarray
    day: np.ndarray
    kind: np.ndarray
    before: np.ndarray
    after: np.ndarray
    term: np.ndarray
    term_null: np.ndarray
    first: np.ndarray
    last: np.ndarray

    @classmethod
    def of(cls, ctx: Context) -> Chain:
        ev = ctx.events
        order = np.lexsort((ev.cols["id"], ev.day, ev.cust))
        cust = ev.cust[order]
        first = np.ones(cust.size, dtype=bool)
        first[1:] = cust[1:] != cust[:-1]
        last = np.ones(cust.size, dtype=bool)
        last[:-1] = cust[:-1] != cust[1:]
        return cls(
            row=ctx.customer_index(cust),
            day=ev.day[order],
            kind=ev.cols["kind"][order],
            before=ev.cols["before"][order],
            after=ev.cols["after"][order],
            term=ev.cols["term"][order],
            term_null=ev.null["term"][order],
            first=first,
            last=last,
        )

    @property
    def moves(self) -> np.ndarray:
        """Positions of the MRR moves (expansions, contractions and price changes)."""
        return np.flatnonzero(np.isin(self.kind, MOVE_CODES))


def plans_after(ctx: Context, chain: Chain, cut: np.ndarray | None = None) -> np.ndarray:
    """Each customer's plan after its MRR moves (only those dated on or before ``cut[row]``),
    moved the way the engine moves it (:func:`leadforge_lifecycle.engine.plan_for_mrr`)."""
    plan = ctx.customers.cols["plan"].astype(np.int8).copy()
    moves = chain.moves
    moves = moves[chain.row[moves] >= 0]
    if cut is not None:
        moves = moves[chain.day[moves] <= cut[chain.row[moves]]]
    if not moves.size:
        return plan.astype(np.int64)
    row = chain.row[moves]
    new_customer = np.ones(row.size, dtype=bool)
    new_customer[1:] = row[1:] != row[:-1]
    start = np.maximum.accumulate(np.where(new_customer, np.arange(row.size), 0))
    rank = np.arange(row.size) - start
    for r in range(int(rank.max()) + 1):
        step = moves[rank == r]
        who = chain.row[step]
        plan[who] = plan_for_mrr(plan[who], chain.after[step])
    return plan.astype(np.int64)
