"""The lifecycle scheme's sections of ``leadforge report``: cohort retention, the MRR waterfall,
net and gross revenue retention, when churn falls relative to renewal, and invoice status.

Everything is computed from the public tables (customers, subscription events, invoices) up to
the observation date, so public and instructor reports agree. Columns are read by name and a
figure whose columns are missing says "not available".
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from leadforge.baseline import numeric_values
from leadforge.bundle.reader import BundleView, Manifest
from leadforge.report.figures import EPOCH, histogram, iso
from leadforge.report.model import Figure, Section, missing
from leadforge.report.read import NO_DAY, Reader, days, strings

from leadforge_lifecycle.plugin import SCHEME

#: Months after start that the retention curves follow at most, and cohorts they draw at most.
RETENTION_MONTHS = 24
MAX_COHORTS = 8
MONTH_DAYS = 365.25 / 12
#: The subscription event types the figures tell apart (any other type is "other").
KINDS = ("expansion", "contraction", "churn")
EXPANSION, CONTRACTION, CHURN = range(3)


def sections(bundle: BundleView, manifest: Manifest) -> list[Section]:
    reader = Reader(bundle, manifest)
    world = _World.read(reader)
    return [
        Section(
            "retention",
            "Cohort retention",
            (_retention(world),),
            scheme=SCHEME,
            intro="Share of each start-quarter's customers not yet churned, month by month.",
        ),
        Section(
            "revenue",
            "Recurring revenue",
            (_waterfall(world), _nrr(world)),
            scheme=SCHEME,
            intro="Where monthly recurring revenue (MRR) came from and went, up to the observation date.",
        ),
        Section("churn-timing", "Churn and renewal", (_renewal(world),), scheme=SCHEME),
        Section("invoices", "Invoices", (_invoices(reader),), scheme=SCHEME),
    ]


class _World:
    """Customers (start day, term, initial MRR) and their MRR-changing events, as arrays."""

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
        why: str = "",
    ) -> None:
        self.start, self.term, self.mrr = start, term, mrr
        self.ev_customer, self.ev_day, self.ev_type, self.ev_delta = ev_customer, ev_day, ev_type, ev_delta
        self.observed = observed
        self.why = why

    @classmethod
    def read(cls, reader: Reader) -> _World:
        customers = reader.read("customers", ["customer_id", "customer_start_at"], limit=None)
        if customers is None:
            return cls(
                np.zeros(0, np.int64),
                None,
                None,
                None,
                None,
                None,
                None,
                0,
                "the customers table lacks customer_start_at",
            )
        start = days(customers.column("customer_start_at"))
        extra = reader.read("customers", ["contract_term_months", "initial_mrr"], limit=None)
        term = None if extra is None else numeric_values(extra.column("contract_term_months"))
        mrr = None if extra is None else numeric_values(extra.column("initial_mrr"))
        events = reader.read(
            "subscription_events",
            ["customer_id", "event_timestamp", "event_type", "mrr_before", "mrr_after"],
            limit=None,
        )
        observed = _observation_day(reader, start, events)
        if events is None:
            return cls(start, term, mrr, None, None, None, None, observed)
        ids = customers.column("customer_id").combine_chunks()
        idx = np.asarray(
            pc.fill_null(pc.index_in(events.column("customer_id"), value_set=ids), -1).to_numpy(
                zero_copy_only=False
            )
        )
        day = days(events.column("event_timestamp"))
        keep = (idx >= 0) & (day != NO_DAY)
        delta = numeric_values(events.column("mrr_after")) - numeric_values(events.column("mrr_before"))
        codes = pc.index_in(
            strings(events.column("event_type")), value_set=pa.array(KINDS, pa.large_string())
        )
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


def _observation_day(reader: Reader, start: np.ndarray, events: pa.Table | None) -> int:
    value = reader.manifest.fields.get("observation_date")
    if isinstance(value, str):
        try:
            return (dt.date.fromisoformat(value[:10]) - EPOCH).days
        except ValueError:
            pass
    seen = start[start != NO_DAY]
    if events is not None:
        d = days(events.column("event_timestamp"))
        seen = np.concatenate([seen, d[d != NO_DAY]])
    return int(seen.max()) if seen.size else 0


def _retention(w: _World) -> Figure:
    title = "Retention by start quarter"
    churn = w.churn_day()
    if w.why or churn is None:
        return missing(
            "retention", title, "lines", w.why or "no subscription_events with event_type and event_timestamp"
        )
    valid = w.start != NO_DAY
    keys = _quarters(np.where(valid, w.start, 0))
    cohorts, sizes = np.unique(keys[valid], return_counts=True)
    chosen = sorted(cohorts[np.argsort(-sizes, kind="stable")][:MAX_COHORTS].tolist())
    months = list(range(RETENTION_MONTHS + 1))
    series: dict[str, list[float | None]] = {}
    for c in chosen:
        members = valid & (keys == c)
        line: list[float | None] = []
        for k in months:
            at = w.start + np.round(k * MONTH_DAYS).astype(np.int64)
            seen = members & (at <= w.observed)
            line.append(float(np.mean(churn[seen] > at[seen])) if seen.sum() >= 20 else None)
        if any(v is not None for v in line):
            series[f"{c // 10} Q{c % 10} (n={int(members.sum()):,})"] = line
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


def _waterfall(w: _World) -> Figure:
    title = "MRR waterfall"
    if w.mrr is None or w.ev_type is None or w.ev_delta is None or w.ev_day is None:
        return missing(
            "mrr-waterfall",
            title,
            "waterfall",
            w.why or "customers lack initial_mrr or events lack mrr_before/mrr_after",
        )
    upto = w.ev_day <= w.observed
    new = float(w.mrr[(w.start != NO_DAY) & (w.start <= w.observed)].sum())
    parts = {k: float(w.ev_delta[upto & (w.ev_type == code)].sum()) for code, k in enumerate(KINDS)}
    other = float(w.ev_delta[upto & (w.ev_type < 0)].sum())
    labels, deltas = (
        ["new", "expansion", "contraction", "churn"],
        [new, parts["expansion"], parts["contraction"], parts["churn"]],
    )
    if abs(other) > 0.5:
        labels.append("other")
        deltas.append(other)
    return Figure(
        "mrr-waterfall",
        title,
        "waterfall",
        {"labels": labels, "deltas": deltas, "total_label": "MRR now", "ylabel": "MRR (USD)"},
        caption="New MRR is each customer's starting MRR; changes are subscription events up to "
        f"{iso(w.observed)}.",
    )


def _nrr(w: _World) -> Figure:
    title = "Net and gross revenue retention"
    if w.why:
        return missing("nrr-grr", title, "bars", w.why)
    valid = w.start[w.start != NO_DAY]
    if valid.size == 0:
        return missing("nrr-grr", title, "bars", "no customer start dates")
    begin = max(w.observed - 365, int(np.quantile(valid, 0.25)))
    span = w.observed - begin
    before, after = w.mrr_at(begin), w.mrr_at(w.observed)
    if before is None or after is None or span < 30:
        return missing(
            "nrr-grr", title, "bars", "needs initial_mrr, subscription events and a month of history"
        )
    cohort = (w.start <= begin) & (before > 0)
    base = float(before[cohort].sum())
    if base <= 0:
        return missing("nrr-grr", title, "bars", "no customer paying at the start of the window")
    nrr = float(after[cohort].sum()) / base
    grr = float(np.minimum(after[cohort], before[cohort]).sum()) / base
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
            "from": iso(begin),
            "to": iso(w.observed),
            "customers": int(cohort.sum()),
        },
        caption=f"Customers paying on {iso(begin)} ({int(cohort.sum()):,}): their MRR on {iso(w.observed)} "
        f"over their MRR then. NRR {nrr:.1%} counts expansion; GRR {grr:.1%} caps each at its start.",
    )


def _renewal(w: _World) -> Figure:
    title = "When churn falls in the contract term"
    churn = w.churn_day()
    if w.why or churn is None or w.term is None:
        return missing(
            "churn-renewal", title, "histogram", w.why or "needs contract_term_months and churn events"
        )
    c = (churn != NO_DAY) & np.isfinite(w.term) & (w.term > 0)
    if not c.any():
        return missing("churn-renewal", title, "histogram", "no churn before the observation date")
    term = w.term[c]
    phase = np.mod(churn[c] - w.start[c], term * MONTH_DAYS) / MONTH_DAYS
    nearest = np.where(phase <= term / 2, phase, phase - term)
    fig = histogram(
        "churn-renewal",
        title,
        nearest,
        xlabel="months from the nearest renewal date (negative: before it)",
        bins=24,
    )
    if not fig.available:
        return fig
    near = float(np.mean(np.abs(nearest) <= 1.0))
    return Figure(
        fig.id,
        fig.title,
        fig.kind,
        fig.data,
        caption=f"{int(c.sum()):,} churned customers; {near:.0%} churned within a month of a renewal date "
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
