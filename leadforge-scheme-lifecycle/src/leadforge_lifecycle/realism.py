"""How a lifecycle bundle's world compares with published B2B SaaS benchmarks.

One :class:`~leadforge.realism.RealismMetric` per row of the realism table that applies to a
post-sale customer base: billing cadence and amounts, when churn happens, logo churn, net and
gross revenue retention, NPS, the acquisition calendar, times of day, names and typed columns.
Every figure is computed from the bundle's tables as shipped (the way a student would), read
column-wise through the :class:`~leadforge.bundle.reader.BundleView`. A multi-shard bundle is
measured on its first shard's parts (every shard is an independent sample of one world), so
memory stays flat in the bundle's size.

Retention figures need a year of history after a reference date. An instructor bundle holds
every customer's future, so the reference is the observation date; a public bundle ends on the
observation date, so the reference is a year earlier (customers signed by then), and logo
churn is the annualised rate over the exposure the tables show.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from leadforge.bundle.reader import BundleView, Manifest
from leadforge.realism import RealismMetric

from leadforge_lifecycle.calendar import add_months, epoch_day

SCHEME = "lifecycle"
#: Whole months a customer's first year ends on (its first anniversary, month-end clamped).
YEAR_MONTHS = 12
TERM_END_WINDOW_DAYS = 30
US_PER_DAY = 86_400_000_000
US_PER_HOUR = 3_600_000_000
NEVER = np.iinfo(np.int64).max
#: Event types a customer or its CSM initiates (renewals and payment events follow the
#: contract and billing calendars, not the working day).
CUSTOMER_EVENTS = ("expansion", "contraction")
TEMPORAL_TYPES = "date32 or timestamp[us, UTC]"

SRC_BILLING = (
    "Subscription billing conventions (Stripe Billing, Chargebee, Zuora): monthly invoices on the "
    "subscription anniversary, month-end clamped; an invoice bills the plan price in effect"
)
SRC_CONTRACT = (
    "Contracted B2B SaaS churns at renewal: most logo loss is non-renewal at term end "
    "(Vitally / ChurnZero renewal studies; Recurly churn benchmarks for mid-term involuntary churn)"
)
SRC_RETENTION = (
    "SaaS retention surveys: KeyBanc/Sapphire SaaS Survey, SaaS Capital retention benchmarks, "
    "ChartMogul SaaS Retention Report (annual logo churn of mid-market B2B SaaS about 8-35 %)"
)
SRC_NRR = (
    "KeyBanc/Sapphire SaaS Survey and SaaS Capital: median net revenue retention about 100-104 %, "
    "interquartile roughly 90-115 %"
)
SRC_GRR = (
    "KeyBanc/Sapphire SaaS Survey and SaaS Capital: gross revenue retention median about 90 %, range 75-95 %"
)
SRC_NPS = (
    "B2B software NPS benchmarks (Retently, CustomerGauge, Satmetrix): typically +20 to +45; "
    "detractors churn more often (Bain & Company)"
)
SRC_CALENDAR = (
    "B2B deal timing: contracts signed on working days, with summer and year-end dips and "
    "quarter-end pushes (Salesforce / Gong sales-cycle analyses)"
)
SRC_HOURS = "Work happens in business hours in the account's time zone (product-analytics session studies)"
SRC_NAMES = "A CRM export: distinct company names that do not encode record ids"
SRC_TYPES = "Arrow / Parquet logical types: instants as timestamp[us, UTC], calendar days as date32"


def metrics(bundle: BundleView, manifest: Manifest) -> list[RealismMetric]:
    """Every lifecycle realism metric of the bundle."""
    data = _Data.read(bundle, manifest)
    out = [
        *_billing(data),
        _term_end_share(data),
        _logo_churn(data),
        *_revenue_retention(data),
        *_nps(data),
        *_calendar(data),
        *_hours(data),
        *_names(data),
        _typed(bundle),
    ]
    return out


def _metric(
    name: str,
    label: str,
    value: float,
    low: float | None,
    high: float | None,
    *,
    unit: str,
    source: str,
) -> RealismMetric:
    return RealismMetric(f"{SCHEME}.{name}", label, float(value), low, high, unit=unit, source=source)


@dataclass(frozen=True)
class _Data:
    """The columns every metric reads, as numpy: days since 1970-01-01, customer rows."""

    public: bool
    observation: int
    start: np.ndarray
    term: np.ndarray
    initial_mrr: np.ndarray
    account: np.ndarray
    ev_row: np.ndarray
    ev_day: np.ndarray
    ev_us: np.ndarray | None
    ev_kind: np.ndarray
    ev_after: np.ndarray
    inv_row: np.ndarray
    inv_day: np.ndarray
    inv_amount: np.ndarray
    nps_row: np.ndarray
    nps_day: np.ndarray
    nps: np.ndarray
    accounts: pa.Table

    @classmethod
    def read(cls, bundle: BundleView, manifest: Manifest) -> _Data:
        def first(name: str) -> tuple[str, ...]:
            return bundle.table_files(name)[:1]

        obs = manifest.scheme_field("observation_date")
        observation = epoch_day(dt.date.fromisoformat(str(obs)))
        cu = bundle.read_parquet(
            first("customers"),
            ["customer_id", "account_id", "customer_start_at", "contract_term_months", "initial_mrr"],
        )
        ids = cu.column("customer_id").combine_chunks()
        order = pc.sort_indices(ids)
        sorted_ids = ids.take(order)

        def rows(values: pa.ChunkedArray | pa.Array) -> np.ndarray:
            pos = pc.index_in(values, value_set=sorted_ids)
            found = np.asarray(pc.fill_null(pos, -1).to_numpy(zero_copy_only=False), dtype=np.int64)
            return np.where(found >= 0, np.asarray(order)[np.maximum(found, 0)], -1)

        ev = bundle.read_parquet(
            first("subscription_events"), ["customer_id", "event_timestamp", "event_type", "mrr_after"]
        )
        inv = bundle.read_parquet(first("invoices"), ["customer_id", "invoice_date", "amount_usd"])
        he = bundle.read_parquet(first("health_signals"), ["customer_id", "period_start", "nps_score"])
        he = he.filter(pc.is_valid(he.column("nps_score")))
        ts = ev.column("event_timestamp")
        return cls(
            public=manifest.is_public,
            observation=observation,
            start=days(cu.column("customer_start_at")),
            term=_ints(cu.column("contract_term_months")),
            initial_mrr=_ints(cu.column("initial_mrr")),
            account=np.asarray(cu.column("account_id").to_numpy(zero_copy_only=False)),
            ev_row=rows(ev.column("customer_id")),
            ev_day=days(ts),
            ev_us=_micros(ts) if pa.types.is_timestamp(ts.type) else None,
            ev_kind=np.asarray(ev.column("event_type").to_numpy(zero_copy_only=False)),
            ev_after=_ints(ev.column("mrr_after")),
            inv_row=rows(inv.column("customer_id")),
            inv_day=days(inv.column("invoice_date")),
            inv_amount=_ints(inv.column("amount_usd")),
            nps_row=rows(he.column("customer_id")),
            nps_day=days(he.column("period_start")),
            nps=_ints(he.column("nps_score")),
            accounts=bundle.read_parquet(first("accounts")),
        )

    @property
    def churn_day(self) -> np.ndarray:
        """Each customer's churn day (:data:`NEVER` if none in the tables)."""
        out = np.full(self.start.size, NEVER, dtype=np.int64)
        hit = (self.ev_kind == "churn") & (self.ev_row >= 0)
        out[self.ev_row[hit]] = self.ev_day[hit]
        return out

    def mrr_at(self, day: np.ndarray, *, strictly_before: bool) -> np.ndarray:
        """MRR in effect per customer row at ``day[row]`` (after the moves dated before it, or on
        or before it), 0 once churned."""
        mrr = self.initial_mrr.astype(np.float64).copy()
        moves = np.isin(self.ev_kind, CUSTOMER_EVENTS) & (self.ev_row >= 0)
        cut = day[np.maximum(self.ev_row, 0)]
        moves &= (self.ev_day < cut) if strictly_before else (self.ev_day <= cut)
        idx = np.flatnonzero(moves)
        idx = idx[np.lexsort((self.ev_day[idx], self.ev_row[idx]))]
        mrr[self.ev_row[idx]] = self.ev_after[idx]
        return np.where(self.churn_day <= day, 0.0, mrr)


def days(values: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Days since 1970-01-01 of ISO date strings, ``date32`` or UTC timestamps (the UTC date)."""
    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    t = arr.type
    if pa.types.is_timestamp(t):
        return np.asarray(np.floor_divide(_micros(arr), US_PER_DAY), dtype=np.int64)
    if pa.types.is_date(t):
        arr = arr.cast(pa.date32()).cast(pa.int32())
    else:
        arr = pc.cast(pc.strptime(arr, format="%Y-%m-%d", unit="s"), pa.date32()).cast(pa.int32())
    return np.asarray(
        pc.fill_null(arr, np.iinfo(np.int32).max).to_numpy(zero_copy_only=False), dtype=np.int64
    )


def _micros(values: pa.ChunkedArray | pa.Array) -> np.ndarray:
    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    as_int = arr.cast(pa.timestamp("us", tz="UTC")).cast(pa.int64())
    return np.asarray(pc.fill_null(as_int, 0).to_numpy(zero_copy_only=False), dtype=np.int64)


def _ints(values: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return np.asarray(pc.fill_null(values, 0).to_numpy(zero_copy_only=False), dtype=np.int64)


def _share(hit: np.ndarray) -> float:
    return float(np.mean(hit)) if hit.size else float("nan")


def _billing(d: _Data) -> list[RealismMetric]:
    ok = d.inv_row >= 0
    row, day = d.inv_row[ok], d.inv_day[ok]
    start = d.start[row]
    when = day.astype("datetime64[D]")
    months = (when.astype("datetime64[M]") - start.astype("datetime64[D]").astype("datetime64[M]")).astype(
        np.int64
    )
    on_date = (months >= 0) & (add_months(start, np.maximum(months, 0)) == day)
    effective = _mrr_on(d, row, day)
    return [
        _metric(
            "invoice_anniversary_share",
            "invoices on the monthly subscription anniversary (month-end clamped)",
            _share(on_date),
            0.95,
            1.0,
            unit="share",
            source=SRC_BILLING,
        ),
        _metric(
            "invoice_amount_mrr_share",
            "invoices billing the MRR in effect on their date",
            _share(d.inv_amount[ok] == effective),
            0.95,
            1.0,
            unit="share",
            source=SRC_BILLING,
        ),
    ]


def _mrr_on(d: _Data, row: np.ndarray, day: np.ndarray) -> np.ndarray:
    """MRR in effect at the start of ``day`` for each (customer row, day) pair."""
    moves = np.flatnonzero(np.isin(d.ev_kind, CUSTOMER_EVENTS) & (d.ev_row >= 0))
    span = np.int64(1 << 24)
    key = d.ev_row[moves] * span + d.ev_day[moves]
    order = np.argsort(key, kind="stable")
    key, after = key[order], d.ev_after[moves][order]
    pos = np.searchsorted(key, row * span + day, side="left") - 1
    safe = np.maximum(pos, 0)
    same = (pos >= 0) & (key[safe] // span == row) if key.size else np.zeros(row.size, dtype=bool)
    return np.where(same, after[safe] if key.size else 0, d.initial_mrr[row])


def _term_end_share(d: _Data) -> RealismMetric:
    churn = d.churn_day
    who = np.flatnonzero(churn < NEVER)
    value = float("nan")
    if who.size:
        start, term, when = d.start[who], d.term[who], churn[who]
        terms = (when - start) // 365 + 2
        k = np.arange(1, int(terms.max()) + 1)[None, :] * term[:, None]
        ends = add_months(start[:, None], k)
        value = _share(np.min(np.abs(ends - when[:, None]), axis=1) <= TERM_END_WINDOW_DAYS)
    return _metric(
        "churn_near_term_end_share",
        f"churned contract customers leaving within {TERM_END_WINDOW_DAYS} days of a term end",
        value,
        0.60,
        1.0,
        unit="share",
        source=SRC_CONTRACT,
    )


def _logo_churn(d: _Data) -> RealismMetric:
    churn = d.churn_day
    if not d.public:
        anniversary = add_months(d.start, np.full(d.start.size, YEAR_MONTHS))
        value = _share(churn <= anniversary)
        label = "annual logo churn (customers churned by their first anniversary)"
    else:
        end = np.minimum(churn, d.observation)
        exposure = float(np.sum(np.maximum(end - d.start, 0)))
        lost = int(np.count_nonzero(churn <= d.observation))
        value = 1.0 - float(np.exp(-365.0 * lost / exposure)) if exposure else float("nan")
        label = "annual logo churn (annualised over the observed exposure)"
    return _metric("annual_logo_churn", label, value, 0.08, 0.35, unit="share/yr", source=SRC_RETENTION)


def _revenue_retention(d: _Data) -> list[RealismMetric]:
    ref = d.observation - (365 if d.public else 0)
    base = np.full(d.start.size, ref, dtype=np.int64)
    cohort = (d.start <= ref) & (d.churn_day > ref)
    m0 = d.mrr_at(base, strictly_before=False)[cohort]
    m1 = d.mrr_at(base + 365, strictly_before=False)[cohort]
    total = float(m0.sum())
    nrr = float(m1.sum()) / total if total else float("nan")
    grr = float(np.minimum(m0, m1).sum()) / total if total else float("nan")
    return [
        _metric("nrr_12m", "12-month net revenue retention", nrr, 0.90, 1.15, unit="ratio", source=SRC_NRR),
        _metric("grr_12m", "12-month gross revenue retention", grr, 0.75, 0.95, unit="ratio", source=SRC_GRR),
    ]


def _nps(d: _Data) -> list[RealismMetric]:
    ok = d.nps_row >= 0
    score = d.nps[ok]
    value = 100.0 * (_share(score >= 9) - _share(score <= 6)) if score.size else float("nan")
    row, day = d.nps_row[ok], d.nps_day[ok]
    order = np.lexsort((day, row))
    row, score_sorted = row[order], score[order]
    last = np.ones(row.size, dtype=bool)
    last[:-1] = row[:-1] != row[1:]
    answered, latest = row[last], score_sorted[last]
    churned = d.churn_day[answered] < NEVER
    detractor = latest <= 6
    ratio = float("nan")
    if detractor.any() and (~detractor).any():
        others = _share(churned[~detractor])
        ratio = _share(churned[detractor]) / others if others else float("nan")
    return [
        _metric(
            "nps", "net promoter score (survey answers)", value, 0.0, 50.0, unit="points", source=SRC_NPS
        ),
        _metric(
            "detractor_churn_ratio",
            "churn rate of customers whose latest answer is a detractor, over the others'",
            ratio,
            1.1,
            None,
            unit="ratio",
            source=SRC_NPS,
        ),
    ]


def _weekday(day: np.ndarray) -> np.ndarray:
    """0 = Monday … 6 = Sunday (1970-01-01 was a Thursday)."""
    return np.asarray((day + 3) % 7)


def _calendar(d: _Data) -> list[RealismMetric]:
    span = float(d.start.max() - d.start.min() + 1) if d.start.size else float("nan")
    return [
        _metric(
            "acquisition_window_days",
            "days between the first and last customer start",
            span,
            365.0,
            None,
            unit="days",
            source=SRC_CALENDAR,
        ),
        _metric(
            "signup_weekend_share",
            "customer starts on a Saturday or Sunday",
            _share(_weekday(d.start) >= 5),
            0.0,
            0.12,
            unit="share",
            source=SRC_CALENDAR,
        ),
    ]


def _zones(d: _Data) -> np.ndarray | None:
    """Each event's account time-zone index into core's zone table (``None`` if not recorded)."""
    if "time_zone" not in d.accounts.column_names:
        return None
    from leadforge.calendar import TIME_ZONES

    acct = d.accounts.column("account_id").combine_chunks()
    zone_names = d.accounts.column("time_zone").combine_chunks()
    lookup = {name: i for i, name in enumerate(TIME_ZONES)}
    zone = np.array([lookup.get(z, lookup["UTC"]) for z in pc.unique(zone_names).to_pylist()])
    code = np.asarray(pc.index_in(zone_names, value_set=pc.unique(zone_names)).to_numpy(zero_copy_only=False))
    per_account = zone[code]
    pos = np.asarray(
        pc.fill_null(pc.index_in(pa.array(d.account), value_set=acct), 0).to_numpy(zero_copy_only=False)
    )
    per_customer = per_account[pos]
    return np.asarray(per_customer[np.maximum(d.ev_row, 0)])


def _hours(d: _Data) -> list[RealismMetric]:
    chosen = np.isin(d.ev_kind, CUSTOMER_EVENTS) & (d.ev_row >= 0)
    business = weekend = float("nan")
    zones = _zones(d)
    if d.ev_us is not None and zones is not None and chosen.any():
        from leadforge.calendar import utc_offsets_us

        us = d.ev_us[chosen]
        local = us + utc_offsets_us(us // US_PER_DAY, zones[chosen])
        hour = (local % US_PER_DAY) // US_PER_HOUR
        local_day = local // US_PER_DAY
        weekday_ok = _weekday(local_day) < 5
        business = _share(weekday_ok & (hour >= 8) & (hour < 19))
        weekend = _share(~weekday_ok)
    return [
        _metric(
            "event_business_hours_share",
            "expansions and contractions on a weekday 08:00-19:00 in the account's time zone",
            business,
            0.80,
            1.0,
            unit="share",
            source=SRC_HOURS,
        ),
        _metric(
            "event_weekend_share",
            "expansions and contractions on a local Saturday or Sunday",
            weekend,
            0.0,
            0.12,
            unit="share",
            source=SRC_HOURS,
        ),
    ]


def _names(d: _Data) -> list[RealismMetric]:
    names = d.accounts.column("company_name").combine_chunks()
    n = len(names)
    distinct = len(pc.unique(names)) / n if n else float("nan")
    with_ids = pc.sum(pc.match_substring_regex(names, r"(acct|cust|sub|rep)_?\d|\d{4,}")).as_py() or 0
    return [
        _metric(
            "company_name_distinct_share",
            "distinct company names",
            distinct,
            0.95,
            1.0,
            unit="share",
            source=SRC_NAMES,
        ),
        _metric(
            "company_names_with_ids",
            "company names that contain a record id or a long number",
            float(with_ids) / n if n else float("nan"),
            0.0,
            0.0,
            unit="share",
            source=SRC_NAMES,
        ),
    ]


#: Temporal columns of the relational tables, and the Arrow type each should have.
TEMPORAL: dict[str, dict[str, Callable[[pa.DataType], bool]]] = {
    "accounts": {"created_at": pa.types.is_date32},
    "customers": {"customer_start_at": pa.types.is_date32},
    "subscriptions": {
        "subscription_start_at": pa.types.is_date32,
        "subscription_end_at": pa.types.is_date32,
        "churn_at": pa.types.is_date32,
    },
    "subscription_events": {"event_timestamp": lambda t: pa.types.is_timestamp(t) and t.tz == "UTC"},
    "health_signals": {"period_start": pa.types.is_date32},
    "invoices": {"invoice_date": pa.types.is_date32},
}


def _typed(bundle: BundleView) -> RealismMetric:
    hits: list[bool] = []
    for table, columns in TEMPORAL.items():
        if not bundle.has_table(table):
            continue
        schema = bundle.schema(bundle.table_files(table)[0])
        for name, ok in columns.items():
            if name in schema.names:
                hits.append(bool(ok(schema.field(name).type)))
    return _metric(
        "typed_temporal_share",
        f"temporal columns stored as {TEMPORAL_TYPES}",
        _share(np.asarray(hits)),
        1.0,
        1.0,
        unit="share",
        source=SRC_TYPES,
    )
