"""The lifecycle scheme's sections of ``leadforge report``: cohort retention, the MRR waterfall,
net and gross revenue retention, when churn falls relative to renewal, and invoice status.

Everything is computed from the public tables (customers, subscription events, invoices) up to
the observation date, so public and instructor reports agree. Columns are read by name and a
figure whose columns are missing says "not available". Every figure is exact and added up shard
by shard (:class:`_Totals`), so memory follows one shard, not the bundle.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from leadforge.baseline import numeric_values
from leadforge.bundle.reader import BundleView, Manifest
from leadforge.calendar import NO_DAY, DayCounts
from leadforge.report.figures import EPOCH, histogram, iso
from leadforge.report.model import Figure, Section, missing
from leadforge.report.read import Reader, days, strings

from leadforge_lifecycle.world import SCHEME

#: Months after start that the retention curves follow at most, and cohorts they draw at most.
RETENTION_MONTHS = 24
MAX_COHORTS = 8
MONTH_DAYS = 365.25 / 12
#: The subscription event types the figures tell apart (any other type is "other").
KINDS = ("expansion", "contraction", "churn")
EXPANSION, CONTRACTION, CHURN = range(3)


def sections(bundle: BundleView, manifest: Manifest) -> list[Section]:
    reader = Reader(bundle, manifest)
    totals = _Totals.read(reader)
    return [
        Section(
            "retention",
            "Cohort retention",
            (_retention(totals),),
            scheme=SCHEME,
            intro="Share of each start-quarter's customers not yet churned, month by month.",
        ),
        Section(
            "revenue",
            "Recurring revenue",
            (_waterfall(totals), _nrr(totals)),
            scheme=SCHEME,
            intro="Where monthly recurring revenue (MRR) came from and went, up to the observation date.",
        ),
        Section("churn-timing", "Churn and renewal", (_renewal(totals),), scheme=SCHEME),
        Section("invoices", "Invoices", (_invoices(reader),), scheme=SCHEME),
    ]


CUSTOMER_COLUMNS = ["customer_id", "customer_start_at"]
EXTRA_COLUMNS = ["contract_term_months", "initial_mrr"]
EVENT_COLUMNS = ["customer_id", "event_timestamp", "event_type", "mrr_before", "mrr_after"]


class _World:
    """Some customers (start day, term, initial MRR) and their MRR-changing events, as arrays:
    one shard's customers, or every customer when the shards do not keep their own events."""

    def __init__(
        self,
        start: np.ndarray,
        term: np.ndarray | None,
        mrr: np.ndarray | None,
        ev_customer: np.ndarray | None,
        ev_day: np.ndarray | None,
        ev_type: np.ndarray | None,
        ev_delta: np.ndarray | None,
        observed: int,
    ) -> None:
        self.start, self.term, self.mrr = start, term, mrr
        self.ev_customer, self.ev_day, self.ev_type, self.ev_delta = ev_customer, ev_day, ev_type, ev_delta
        self.observed = observed

    @classmethod
    def read(
        cls,
        reader: Reader,
        customers: tuple[str, ...],
        events: tuple[str, ...],
        observed: int,
        *,
        strict: bool,
    ) -> _World | None:
        """The customers of these files with the events of ``events`` (none: no event columns);
        ``None`` with ``strict`` when an event names a customer outside them."""
        names = reader.columns_of(customers)
        wanted = CUSTOMER_COLUMNS + (EXTRA_COLUMNS if all(c in names for c in EXTRA_COLUMNS) else [])
        table = reader.bundle.read_parquet(customers, wanted)
        start = days(table.column("customer_start_at"))
        term = numeric_values(table.column(EXTRA_COLUMNS[0])) if len(wanted) > 2 else None
        mrr = numeric_values(table.column(EXTRA_COLUMNS[1])) if len(wanted) > 2 else None
        if not events:
            return cls(start, term, mrr, None, None, None, None, observed)
        ev = reader.bundle.read_parquet(events, EVENT_COLUMNS)
        ids = table.column("customer_id").combine_chunks()
        idx = np.asarray(
            pc.fill_null(pc.index_in(ev.column("customer_id"), value_set=ids), -1).to_numpy(
                zero_copy_only=False
            )
        )
        if strict and bool(np.any(idx < 0)):
            return None
        day = days(ev.column("event_timestamp"))
        keep = (idx >= 0) & (day != NO_DAY)
        delta = numeric_values(ev.column("mrr_after")) - numeric_values(ev.column("mrr_before"))
        codes = pc.index_in(strings(ev.column("event_type")), value_set=pa.array(KINDS, pa.large_string()))
        kind = np.asarray(pc.fill_null(codes, -1).to_numpy(zero_copy_only=False), dtype=np.int8)
        return cls(start, term, mrr, idx[keep], day[keep], kind[keep], np.nan_to_num(delta[keep]), observed)

    def churn_day(self) -> np.ndarray | None:
        """Each customer's first churn day (``NO_DAY``: not churned by the observation date)."""
        if self.ev_type is None or self.ev_customer is None or self.ev_day is None:
            return None
        out = np.full(self.start.size, NO_DAY, dtype=np.int64)
        churn = (self.ev_type == CHURN) & (self.ev_day <= self.observed)
        np.minimum.at(out, self.ev_customer[churn], self.ev_day[churn])
        return out

    def mrr_at(self, day: int) -> np.ndarray | None:
        if self.mrr is None or self.ev_delta is None or self.ev_day is None or self.ev_customer is None:
            return None
        on = self.ev_day <= day
        out = np.where(self.start <= day, self.mrr, 0.0)
        return out + np.bincount(self.ev_customer[on], weights=self.ev_delta[on], minlength=self.start.size)


def _day_counts(batches: Iterator[pa.RecordBatch]) -> tuple[int, np.ndarray]:
    """How many rows fall on each day from the first (``first``, counts; unreadable days left
    out), streamed: the size of the calendar, not of the rows."""
    per_day = DayCounts()
    for batch in batches:
        per_day.add(days(batch.column(0)))
    return per_day.first, per_day.counts


def _quantile(first: int, counts: np.ndarray, q: float) -> float:
    """``np.quantile`` (linear) of the days ``counts`` counts, without expanding them."""
    n = int(counts.sum())
    h = q * (n - 1)
    below = int(np.floor(h))
    at = np.searchsorted(np.cumsum(counts), [below, min(below + 1, n - 1)], side="right")
    a, b, t = float(first + at[0]), float(first + at[1]), h - below
    return b - (b - a) * (1 - t) if t >= 0.5 else a + (b - a) * t


class _Totals:
    """What the lifecycle figures draw, added up shard by shard.

    A first streamed pass over the customers' start days gives what every shard needs (the
    observation day, the largest start quarters, the revenue window); then each shard's
    customers and their subscription events are read and reduced to counts and sums, so memory
    follows one shard, not the world, and every figure is exact. When a shard's events name
    customers of another shard the whole tables are read at once instead (same figures).
    """

    def __init__(self, why: str = "") -> None:
        self.why = why
        self.observed = self.begin = 0
        self.cohorts: list[int] = []
        self.cohort_sizes: list[int] = []
        self.has_starts = False
        self.clear()

    def clear(self) -> None:
        """Zero the sums (the shard-by-shard pass restarting on every row at once)."""
        self.has_events = self.has_mrr = self.has_term = False
        self.seen = np.zeros((len(self.cohorts), RETENTION_MONTHS + 1), dtype=np.int64)
        self.kept = np.zeros_like(self.seen)
        self.new = 0.0
        self.moves = np.zeros(len(KINDS) + 1)
        self.paying = 0
        self.base = self.after = self.floor = 0.0
        self.churn_values = np.zeros(0)
        self.churn_counts = np.zeros(0, dtype=np.int64)

    @classmethod
    def read(cls, reader: Reader) -> _Totals:
        if not reader.has("customers", *CUSTOMER_COLUMNS):
            return cls("the customers table lacks customer_start_at")
        customers = reader.files("customers")
        events = (
            reader.files("subscription_events") if reader.has("subscription_events", *EVENT_COLUMNS) else ()
        )
        t = cls()
        first, counts = _day_counts(reader.stream("customers", ["customer_start_at"]))
        t.observed = _observation_day(reader, first, counts, bool(events))
        t.has_starts = bool(counts.sum())
        every = np.arange(first, first + counts.size)
        keys = _quarters(every)
        cohorts, inverse = np.unique(keys, return_inverse=True)
        sizes = np.bincount(inverse, weights=counts, minlength=cohorts.size).astype(np.int64)
        cohorts, sizes = cohorts[sizes > 0], sizes[sizes > 0]
        chosen = sorted(cohorts[np.argsort(-sizes, kind="stable")][:MAX_COHORTS].tolist())
        t.cohorts = [int(c) for c in chosen]
        t.cohort_sizes = [int(sizes[cohorts == c][0]) for c in chosen]
        t.clear()
        if t.has_starts:
            t.begin = max(t.observed - 365, int(_quantile(first, counts, 0.25)))
        plans: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
        if len(customers) > 1 and (not events or len(events) == len(customers)):
            plans = [
                ((c,), (e,) if events else ()) for c, e in zip(customers, events or customers, strict=True)
            ]
        if plans and all(t.add_part(reader, c, e) for c, e in plans):
            return t
        t.clear()
        whole = _World.read(reader, customers, events, t.observed, strict=False)
        if whole is not None:
            t.add(whole)
        return t

    def add_part(self, reader: Reader, customers: tuple[str, ...], events: tuple[str, ...]) -> bool:
        """Add one shard; ``False`` when its events name customers of another shard."""
        world = _World.read(reader, customers, events, self.observed, strict=True)
        if world is not None:
            self.add(world)
        return world is not None

    def add(self, w: _World) -> None:
        """Add one shard's (or every customer's) counts and sums."""
        churn = w.churn_day()
        self.has_events = churn is not None
        self.has_mrr = w.mrr is not None and w.ev_delta is not None
        self.has_term = w.term is not None
        valid = w.start != NO_DAY
        if churn is not None:
            keys = _quarters(np.where(valid, w.start, 0))
            for row, c in enumerate(self.cohorts):
                members = valid & (keys == c)
                for k in range(RETENTION_MONTHS + 1):
                    at = w.start + np.round(k * MONTH_DAYS).astype(np.int64)
                    seen = members & (at <= w.observed)
                    self.seen[row, k] += int(seen.sum())
                    self.kept[row, k] += int(np.sum(churn[seen] > at[seen]))
        if w.mrr is not None and w.ev_type is not None and w.ev_delta is not None and w.ev_day is not None:
            upto = w.ev_day <= w.observed
            self.new += float(w.mrr[valid & (w.start <= w.observed)].sum())
            for code in range(len(KINDS)):
                self.moves[code] += float(w.ev_delta[upto & (w.ev_type == code)].sum())
            self.moves[-1] += float(w.ev_delta[upto & (w.ev_type < 0)].sum())
        before, after = w.mrr_at(self.begin), w.mrr_at(w.observed)
        if before is not None and after is not None:
            cohort = (w.start <= self.begin) & (before > 0)
            self.paying += int(cohort.sum())
            self.base += float(before[cohort].sum())
            self.after += float(after[cohort].sum())
            self.floor += float(np.minimum(after[cohort], before[cohort]).sum())
        if churn is not None and w.term is not None:
            c = (churn != NO_DAY) & np.isfinite(w.term) & (w.term > 0)
            term = w.term[c]
            phase = np.mod(churn[c] - w.start[c], term * MONTH_DAYS) / MONTH_DAYS
            nearest = np.where(phase <= term / 2, phase, phase - term)
            merged, inverse = np.unique(np.concatenate([self.churn_values, nearest]), return_inverse=True)
            weights = np.concatenate([self.churn_counts, np.ones(nearest.size, dtype=np.int64)])
            self.churn_counts = np.bincount(inverse, weights=weights, minlength=merged.size).astype(np.int64)
            self.churn_values = merged


def _observation_day(reader: Reader, first: int, counts: np.ndarray, events: bool) -> int:
    value = reader.manifest.fields.get("observation_date")
    if isinstance(value, str):
        try:
            return (dt.date.fromisoformat(value[:10]) - EPOCH).days
        except ValueError:
            pass
    seen = np.flatnonzero(counts)
    last = first + int(seen[-1]) if seen.size else None
    if events:
        ev_first, ev_counts = _day_counts(reader.stream("subscription_events", ["event_timestamp"]))
        ev_seen = np.flatnonzero(ev_counts)
        if ev_seen.size:
            last = max(last if last is not None else -(2**62), ev_first + int(ev_seen[-1]))
    return last if last is not None else 0


def _retention(t: _Totals) -> Figure:
    title = "Retention by start quarter"
    if t.why or not t.has_events:
        return missing(
            "retention", title, "lines", t.why or "no subscription_events with event_type and event_timestamp"
        )
    months = list(range(RETENTION_MONTHS + 1))
    series: dict[str, list[float | None]] = {}
    for row, (c, size) in enumerate(zip(t.cohorts, t.cohort_sizes, strict=True)):
        line: list[float | None] = [
            float(t.kept[row, k] / t.seen[row, k]) if t.seen[row, k] >= 20 else None for k in months
        ]
        if any(v is not None for v in line):
            series[f"{c // 10} Q{c % 10} (n={size:,})"] = line
    if not series:
        return missing("retention", title, "lines", "too few customers observed per cohort")
    return Figure(
        "retention",
        title,
        "lines",
        {
            "x": months,
            "series": series,
            "xlabel": "months since start",
            "ylabel": "still a customer",
            "percent": True,
            "ymin": _floor_tenth(series),
        },
        caption="A cohort's curve stops where its members pass the observation date "
        "(at least 20 customers a point).",
    )


def _floor_tenth(series: dict[str, list[float | None]]) -> float:
    """The y axis starts at the lowest point rounded down to 10% (never below 0)."""
    low = min((v for line in series.values() for v in line if v is not None), default=0.0)
    return max(0.0, float(np.floor(low * 10 - 0.5) / 10))


def _quarters(day: np.ndarray) -> np.ndarray:
    """``year * 10 + quarter`` of each day number, column-wise."""
    d = day.astype("datetime64[D]")
    year = d.astype("datetime64[Y]").astype(np.int64) + 1970
    month = d.astype("datetime64[M]").astype(np.int64) % 12
    return np.asarray(year * 10 + month // 3 + 1, dtype=np.int64)


def _waterfall(t: _Totals) -> Figure:
    title = "MRR waterfall"
    if t.why or not t.has_mrr:
        return missing(
            "mrr-waterfall",
            title,
            "waterfall",
            t.why or "customers lack initial_mrr or events lack mrr_before/mrr_after",
        )
    labels = ["new", *KINDS]
    deltas = [t.new, *(float(v) for v in t.moves[: len(KINDS)])]
    other = float(t.moves[-1])
    if abs(other) > 0.5:
        labels.append("other")
        deltas.append(other)
    return Figure(
        "mrr-waterfall",
        title,
        "waterfall",
        {"labels": labels, "deltas": deltas, "total_label": "MRR now", "ylabel": "MRR (USD)"},
        caption="New MRR is each customer's starting MRR; changes are subscription events up to "
        f"{iso(t.observed)}.",
    )


def _nrr(t: _Totals) -> Figure:
    title = "Net and gross revenue retention"
    if t.why:
        return missing("nrr-grr", title, "bars", t.why)
    if not t.has_starts:
        return missing("nrr-grr", title, "bars", "no customer start dates")
    span = t.observed - t.begin
    if not t.has_mrr or span < 30:
        return missing(
            "nrr-grr", title, "bars", "needs initial_mrr, subscription events and a month of history"
        )
    if t.base <= 0:
        return missing("nrr-grr", title, "bars", "no customer paying at the start of the window")
    nrr, grr = t.after / t.base, t.floor / t.base
    return Figure(
        "nrr-grr",
        title,
        "bars",
        {
            "labels": ["NRR", "GRR"],
            "series": {"retention": [nrr, grr]},
            "percent": True,
            "ylabel": "of starting MRR",
            "window_days": span,
            "from": iso(t.begin),
            "to": iso(t.observed),
            "customers": t.paying,
        },
        caption=f"Customers paying on {iso(t.begin)} ({t.paying:,}): their MRR on {iso(t.observed)} "
        f"over their MRR then. NRR {nrr:.1%} counts expansion; GRR {grr:.1%} caps each at its start.",
    )


def _renewal(t: _Totals) -> Figure:
    title = "When churn falls in the contract term"
    if t.why or not t.has_events or not t.has_term:
        return missing(
            "churn-renewal", title, "histogram", t.why or "needs contract_term_months and churn events"
        )
    churned = int(t.churn_counts.sum())
    if not churned:
        return missing("churn-renewal", title, "histogram", "no churn before the observation date")
    fig = histogram(
        "churn-renewal",
        title,
        t.churn_values,
        weights=t.churn_counts,
        xlabel="months from the nearest renewal date (negative: before it)",
        bins=24,
    )
    if not fig.available:
        return fig
    near = float(t.churn_counts[np.abs(t.churn_values) <= 1.0].sum() / churned)
    return Figure(
        fig.id,
        fig.title,
        fig.kind,
        fig.data,
        caption=f"{churned:,} churned customers; {near:.0%} churned within a month of a renewal date "
        "(the start counts as month 0 of the first term).",
    )


def _invoices(reader: Reader) -> Figure:
    title = "Invoice status"
    counts: dict[str, int] = {}
    for batch in reader.stream("invoices", ["payment_status"]):
        vc = pc.value_counts(pc.fill_null(strings(batch.column(0)), "(missing)"))
        for v, n in zip(vc.field("values").to_pylist(), vc.field("counts").to_pylist(), strict=True):
            counts[v] = counts.get(v, 0) + int(n)
    if not counts:
        return missing("invoice-status", title, "bars", "the invoices table lacks payment_status")
    total = sum(counts.values())
    order = sorted(counts, key=lambda k: (-counts[k], k))
    return Figure(
        "invoice-status",
        title,
        "bars",
        {
            "labels": order,
            "series": {"share of invoices": [counts[k] / total for k in order]},
            "percent": True,
            "counts": counts,
            "ylabel": "share of invoices",
        },
        caption=f"{total:,} invoices up to the observation date.",
    )
