"""How a lead-scoring bundle's world compares with published B2B SaaS benchmarks.

One :class:`~leadforge.realism.RealismMetric` per row of the realism table that applies to
lead scoring: the funnel, lead arrival, event timing, lead sources, deal sizes, activity
volumes, names and feature domains. Each band is the target a real mid-market B2B SaaS
funnel falls in, and ``source`` names the kind of public benchmark it comes from (see
``docs/leadscoring.md``). Everything is read column-wise from the bundle's tables and task
splits; event tables are streamed a batch at a time and per-lead lookups cover only the sampled
shards, so memory does not follow the bundle's size. Metrics that need a withheld column
(close outcomes, the instructor-only metadata) are marked hidden and only measured where the
column is there.

Per-lead and per-event shares of a sharded bundle are measured on whole shards: every shard is
an independent sample of one world and holds its leads' accounts, contacts and events, so the
fewest evenly spread shards holding :data:`SAMPLE_LEADS` leads give the same figure within
sampling noise at a fraction of the cost (the metric's label says so). Figures a sample would
change -- extremes, spans, distinctness over all names, the task's conversion by source -- are
measured on every row, streamed a batch at a time into structures whose size does not follow
the bundle's: leads per calendar day, deal sizes' value counts (whole dollars rounded to the
hundred: a few thousand values), one 64-bit hash per company name.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from leadforge import calendar as cal
from leadforge.bundle.reader import BundleView, Manifest
from leadforge.bundle.relational import id_converter
from leadforge.errors import BundleError
from leadforge.realism import RealismMetric
from leadforge.vocabulary import company_domains

#: Local working hours the timing metrics count as business hours (start inclusive, end exclusive).
BUSINESS_HOURS = (9, 18)
#: The snapshot day when a manifest does not record one.
DEFAULT_SNAPSHOT_DAY = 30
TIME_TYPES = (pa.types.is_timestamp, pa.types.is_date)

FUNNEL = "B2B SaaS funnel benchmarks (MQL to SQL to closed-won conversion surveys)"
WIN_RATE = "B2B SaaS sales benchmarks (opportunity win rates of about 20-30 %, best teams 50 % and more)"
ARRIVAL = "B2B demand-generation benchmarks (inbound lead volume by weekday, month and quarter end)"
TIMING = "Sales-activity timing studies (calls and e-mails in the buyer's local business hours)"
SOURCE = "Lead-source conversion benchmarks (referral and partner leads convert several times outbound)"
DEALS = "B2B SaaS deal-size distributions (ACV skewed right: a few large deals carry the total)"
ACTIVITY = "Web-analytics and sales-cadence benchmarks (session lengths, touches per lead)"
NAMES = "Firmographic data conventions (company names, work e-mail on the company domain)"
DOMAIN = "Feature definitions (a day count before the snapshot lies in 0 .. snapshot day)"
SCHEMA = "Typed timestamps and dates (Arrow timestamp[us, UTC] and date32)"


@dataclass(frozen=True)
class _Leads:
    """Per-lead lookups for the event tables: creation day and account time zone, by lead id.

    Ids are looked up by their number (binary search over the sorted numbers), not by hashing
    strings: event tables hold tens of millions of references.
    """

    numbers: np.ndarray
    rows: np.ndarray
    prefix: str
    created: np.ndarray
    zone: np.ndarray

    @classmethod
    def of(cls, ids: pa.Array, prefix: str, created: np.ndarray, zone: np.ndarray) -> _Leads:
        numbers = id_converter(prefix)(ids)
        order = np.argsort(numbers, kind="stable")
        return cls(numbers[order], order, prefix, created, zone)

    def positions(self, lead_ids: pa.Array | pa.ChunkedArray) -> np.ndarray:
        """The row of each referenced lead (-1: not a lead of this bundle)."""
        flat = lead_ids.combine_chunks() if isinstance(lead_ids, pa.ChunkedArray) else lead_ids
        wanted = id_converter(self.prefix)(flat)
        if not self.numbers.size:
            return np.full(wanted.size, -1, dtype=np.int64)
        at = np.minimum(np.searchsorted(self.numbers, wanted), self.numbers.size - 1)
        hit = (self.numbers[at] == wanted) & (wanted >= 0)
        return np.where(hit, self.rows[at], -1).astype(np.int64)

    @property
    def count(self) -> int:
        return int(self.rows.size)


#: Leads the shard-sampled metrics are measured on at least (whole shards, evenly spread).
SAMPLE_LEADS = 100_000


@dataclass(frozen=True)
class _Shards:
    """The shards (part indices) the per-lead and per-event metrics read; ``None``: all of them."""

    picked: tuple[int, ...] | None
    count: int
    leads: int

    @classmethod
    def of(cls, bundle: BundleView) -> _Shards:
        files = bundle.table_files("leads")
        sizes = np.asarray([bundle.parquet_rows(rel) for rel in files], dtype=np.int64)
        n, total = len(files), int(sizes.sum())
        if n <= 1 or total <= SAMPLE_LEADS:
            return cls(None, n, total)
        k = max(1, -(-n * SAMPLE_LEADS // total))
        while True:
            pick = np.unique(((np.arange(k) + 0.5) * n / k).astype(np.int64))
            if k >= n or int(sizes[pick].sum()) >= SAMPLE_LEADS:
                break
            k += 1
        if pick.size >= n:
            return cls(None, n, total)
        return cls(tuple(int(i) for i in pick), n, int(sizes[pick].sum()))

    def files(self, bundle: BundleView, table: str) -> tuple[str, ...]:
        """The picked parts of ``table`` (every file when it is not sharded like the leads)."""
        files = bundle.table_files(table)
        if self.picked is None or len(files) != self.count:
            return files
        return tuple(files[i] for i in self.picked)

    def label(self, text: str) -> str:
        if self.picked is None:
            return text
        return f"{text} (on {len(self.picked)} of {self.count} shards, {self.leads:,} leads)"


def metrics(bundle: BundleView, manifest: Manifest) -> list[RealismMetric]:
    """Every lead-scoring realism metric the bundle has the columns for."""
    out: list[RealismMetric] = []
    shards = _Shards.of(bundle)
    leads = _lead_lookup(bundle, shards)
    window = manifest.scheme_field("snapshot_day")
    window = window if isinstance(window, int) and not isinstance(window, bool) else DEFAULT_SNAPSHOT_DAY
    out += _funnel(bundle, leads, window, shards)
    out += _arrival(*_per_day(bundle))
    out += _timing(bundle, leads, shards)
    out += _sources(bundle, manifest)
    out += _deals(bundle)
    out += _activity(bundle, manifest, leads, shards)
    out += _names(bundle, shards)
    out += _domains(bundle, manifest, window)
    out.append(_typed(bundle))
    return out


def _days(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Days since the epoch of a date or timestamp column (UTC calendar day; nulls -> -1)."""
    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if pa.types.is_timestamp(arr.type):
        us = np.asarray(pc.fill_null(arr.cast(pa.int64()), -cal.US_PER_DAY).to_numpy(zero_copy_only=False))
        return np.asarray(us // cal.US_PER_DAY, dtype=np.int64)
    if pa.types.is_date(arr.type):
        return np.asarray(
            pc.fill_null(arr.cast(pa.int32()), -1).to_numpy(zero_copy_only=False), dtype=np.int64
        )
    raise BundleError(f"a time column is stored as {arr.type}, not a date or timestamp")


def _micros(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if not pa.types.is_timestamp(arr.type):
        raise BundleError(f"an event time column is stored as {arr.type}, not a timestamp")
    return np.asarray(arr.cast(pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)


def _lead_lookup(bundle: BundleView, shards: _Shards) -> _Leads:
    """The picked shards' leads, with each one's account time zone (UTC when unknown)."""
    leads = bundle.read_parquet(shards.files(bundle, "leads"), ["lead_id", "account_id", "lead_created_at"])
    zone = np.full(leads.num_rows, cal.TIME_ZONES.index("UTC"), dtype=np.int64)
    if bundle.has_table("accounts") and "time_zone" in bundle.schema(bundle.table_files("accounts")).names:
        accounts = bundle.read_parquet(shards.files(bundle, "accounts"), ["account_id", "time_zone"])
        at = pc.index_in(leads.column("account_id"), value_set=accounts.column("account_id"))
        if at.null_count and shards.picked is not None:
            accounts = bundle.table("accounts", ["account_id", "time_zone"])
            at = pc.index_in(leads.column("account_id"), value_set=accounts.column("account_id"))
        at_np = np.asarray(pc.fill_null(at, -1).to_numpy(zero_copy_only=False), dtype=np.int64)
        names = pc.cast(accounts.column("time_zone").combine_chunks(), pa.large_string())
        uniq = pc.unique(names)
        known = {z: i for i, z in enumerate(cal.TIME_ZONES)}
        codes = np.asarray([known.get(str(z), known["UTC"]) for z in uniq.to_pylist()], dtype=np.int64)
        inverse = np.asarray(
            pc.index_in(names, value_set=uniq).to_numpy(zero_copy_only=False), dtype=np.int64
        )
        per_account = codes[inverse] if codes.size else np.zeros(0, dtype=np.int64)
        zone = np.where(at_np >= 0, per_account[np.maximum(at_np, 0)], zone)
    ids = leads.column("lead_id").combine_chunks()
    contract = bundle.manifest.contract if bundle.manifest is not None else None
    prefix = contract["leads"].id_prefix if contract is not None and "leads" in contract else "lead"
    return _Leads.of(ids, prefix, _days(leads.column("lead_created_at")), zone)


def _share(mask: np.ndarray) -> float:
    return float(np.mean(mask)) if mask.size else float("nan")


def _events(
    bundle: BundleView, shards: _Shards, leads: _Leads, table: str, columns: list[str]
) -> tuple[pa.Table, np.ndarray]:
    """``columns`` of a table's rows that belong to the picked shards' leads, with each row's
    lead; every part is read when the picked parts name leads of other shards."""
    rows = bundle.read_parquet(shards.files(bundle, table), columns)
    pos = leads.positions(rows.column("lead_id"))
    if shards.picked is not None and bool(np.any(pos < 0)) and len(bundle.table_files(table)) == shards.count:
        rows = bundle.table(table, columns)
        pos = leads.positions(rows.column("lead_id"))
    return rows, pos


def _funnel(bundle: BundleView, leads: _Leads, window: int, shards: _Shards) -> list[RealismMetric]:
    if not bundle.has_table("opportunities"):
        return []
    columns = bundle.schema(bundle.table_files("opportunities")).names
    wanted = [c for c in ("lead_id", "created_at", "close_outcome") if c in columns]
    opps, pos = _events(bundle, shards, leads, "opportunities", wanted)
    mine = pos >= 0
    day = _days(opps.column("created_at"))[mine] - leads.created[pos[mine]]
    early = np.zeros(leads.created.size, dtype=bool)
    early[pos[mine][day <= window]] = True
    out = [
        RealismMetric(
            "leads_with_opportunity_by_snapshot",
            shards.label(f"leads with an opportunity by day {window}"),
            _share(early),
            None,
            0.60,
            "share",
            FUNNEL,
        )
    ]
    if "close_outcome" in columns:
        outcome = opps.column("close_outcome")
        if shards.picked is not None:
            outcome = outcome.filter(pa.array(mine))
        won = int(pc.sum(pc.equal(outcome, "closed_won")).as_py() or 0)
        closed = int(pc.sum(pc.is_valid(outcome)).as_py() or 0)
        out.append(
            RealismMetric(
                "opportunity_win_rate",
                shards.label("closed opportunities that were won"),
                won / closed if closed else float("nan"),
                0.25,
                0.70,
                "share",
                WIN_RATE,
                hidden=True,
            )
        )
    return out


def _per_day(bundle: BundleView) -> tuple[int, np.ndarray]:
    """Leads created on each day from the first (``first``, counts), streamed: exact, and the
    size of the calendar, not of the leads. Null times count on day -1, as :func:`_days` says."""
    per_day = cal.DayCounts()
    for batch in bundle.iter_batches(bundle.table_files("leads"), ["lead_created_at"]):
        per_day.add(_days(batch.column(0)))
    return per_day.first, per_day.counts


def _arrival(first: int, per_day_counts: np.ndarray) -> list[RealismMetric]:
    seen = np.flatnonzero(per_day_counts)
    if seen.size == 0:
        return []
    total = int(per_day_counts.sum())
    per_day = per_day_counts[seen[0] : seen[-1] + 1].astype(np.float64)
    first, last = first + int(seen[0]), first + int(seen[-1])
    span_days = last - first + 1
    every = np.arange(first, last + 1)
    weekend = float(per_day[cal.weekday(every) >= 5].sum()) / total
    every_month = every.astype("datetime64[D]").astype("datetime64[M]")
    every_qe = ((every_month.astype(np.int64) % 3) == 2) & (
        (every_month + 1).astype("datetime64[D]").astype(np.int64) - every <= cal.QUARTER_END_DAYS
    )
    weekday_days = cal.weekday(every) < 5
    qe_rate = per_day[every_qe & weekday_days].mean() if (every_qe & weekday_days).any() else np.nan
    rest_rate = per_day[~every_qe & weekday_days].mean() if (~every_qe & weekday_days).any() else np.nan
    month_index = every_month.astype(np.int64) - int(every_month[0].astype(np.int64))
    per_month = np.bincount(month_index, weights=per_day)
    months = per_month[per_month > 0]
    full = months[1:-1] if months.size > 2 else months
    return [
        RealismMetric(
            "lead_arrival_span_days",
            "days from the first to the last lead",
            span_days,
            360,
            None,
            "days",
            ARRIVAL,
        ),
        RealismMetric(
            "lead_arrival_weekend_share",
            "leads created on a weekend",
            weekend,
            None,
            0.12,
            "share",
            ARRIVAL,
        ),
        RealismMetric(
            "lead_arrival_month_spread",
            "busiest over quietest month (leads created)",
            float(full.max() / full.min()) if full.size and full.min() > 0 else float("nan"),
            1.15,
            None,
            "ratio",
            ARRIVAL,
        ),
        RealismMetric(
            "lead_arrival_quarter_end_lift",
            "leads per working day in a quarter's last days over other working days",
            float(qe_rate / rest_rate) if rest_rate and rest_rate > 0 else float("nan"),
            1.1,
            None,
            "ratio",
            ARRIVAL,
        ),
    ]


def _local(us: np.ndarray, zone: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Local hour of day and weekday (Monday 0) of UTC instants in each row's zone."""
    offset = cal.utc_offsets_us(us // cal.US_PER_DAY, zone)
    local = us + offset
    return (local // cal.US_PER_HOUR) % 24, cal.weekday(local // cal.US_PER_DAY)


#: Timing shares are estimated on at most about this many events per table (every k-th batch).
SAMPLE_EVENTS = 250_000


def _event_batches(
    bundle: BundleView, table: str, time_column: str, shards: _Shards
) -> Iterator[pa.RecordBatch]:
    """An even sample of the picked shards' batches: shares of times need no more than
    :data:`SAMPLE_EVENTS` events."""
    if not bundle.has_table(table):
        return
    files = shards.files(bundle, table)
    if not {"lead_id", time_column} <= set(bundle.schema(files).names):
        return
    total = bundle.num_rows(files)
    batches = bundle.iter_batches(files, ["lead_id", time_column])
    first = next(batches, None)
    if first is None:
        return
    stride = max(1, -(-total // max(SAMPLE_EVENTS, first.num_rows)) if first.num_rows else 1)
    yield first
    for i, batch in enumerate(batches, start=1):
        if i % stride == 0:
            yield batch


def _timing(bundle: BundleView, leads: _Leads, shards: _Shards) -> list[RealismMetric]:
    out: list[RealismMetric] = []
    lo, hi = BUSINESS_HOURS
    for table, time_column, label, business in (
        ("touches", "touch_timestamp", "touches", True),
        ("sales_activities", "activity_timestamp", "sales activities", True),
        ("sessions", "session_timestamp", "web sessions", False),
    ):
        rows = inside = weekend = 0
        for batch in _event_batches(bundle, table, time_column, shards):
            pos = leads.positions(batch.column(0))
            mine = pos >= 0
            us = _micros(batch.column(1))[mine]
            hour, day = _local(us, leads.zone[pos[mine]])
            rows += us.size
            inside += int(np.sum((hour >= lo) & (hour < hi) & (day < 5)))
            weekend += int(np.sum(day >= 5))
        if not rows:
            continue
        if business:
            out.append(
                RealismMetric(
                    f"{table}_in_business_hours",
                    shards.label(
                        f"{label} on a working day in local business hours ({lo:02d}:00-{hi:02d}:00)"
                    ),
                    inside / rows,
                    0.80,
                    None,
                    "share",
                    TIMING,
                )
            )
        out.append(
            RealismMetric(
                f"{table}_weekend_share",
                shards.label(f"{label} on a local weekend"),
                weekend / rows,
                None,
                0.12,
                "share",
                TIMING,
            )
        )
    return out


def _task_batches(
    bundle: BundleView, manifest: Manifest, columns: list[str]
) -> Iterator[pa.RecordBatch] | None:
    """``columns`` of every task row, a batch at a time (``None``: no such task or columns)."""
    task = manifest.scheme_field("primary_task")
    if not isinstance(task, str) or task not in manifest.tasks:
        return None
    files: list[str] = []
    for split in ("train", "valid", "test"):
        if not bundle.has_split(task, split):
            continue
        names = bundle.schema(bundle.split_files(task, split)).names
        if not set(columns) <= set(names):
            return None
        files += bundle.split_files(task, split)
    return bundle.iter_batches(files, columns)


def _sources(bundle: BundleView, manifest: Manifest) -> list[RealismMetric]:
    label = manifest.scheme_field("primary_task")
    batches = _task_batches(bundle, manifest, ["lead_source", str(label)]) if isinstance(label, str) else None
    won: dict[str, float] = {}
    seen: dict[str, int] = {}
    for batch in batches or ():
        y = pc.cast(pc.fill_null(batch.column(1), False), pa.float64())
        grouped = pa.table({"s": pc.cast(batch.column(0), pa.large_string()), "y": y})
        agg = grouped.group_by("s").aggregate([("y", "sum"), ("y", "count")])
        for key, total, n in zip(
            *(agg.column(c).to_pylist() for c in ("s", "y_sum", "y_count")), strict=True
        ):
            won[key] = won.get(key, 0.0) + total
            seen[key] = seen.get(key, 0) + n
    if not seen:
        return []
    rates = [won[k] / seen[k] for k in seen]
    worst, best = min(rates), max(rates)
    return [
        RealismMetric(
            "lead_source_conversion_ratio",
            "best lead source's conversion over the worst's",
            best / worst if worst > 0 else float("inf"),
            1.5,
            None,
            "ratio",
            SOURCE,
        )
    ]


def _value_counts(bundle: BundleView, table: str, column: str) -> tuple[np.ndarray, np.ndarray]:
    """A numeric column's sorted distinct values and how often each occurs (nulls left out),
    streamed and merged batch by batch: as big as the distinct values, not the rows."""
    values, counts = np.zeros(0, dtype=np.float64), np.zeros(0, dtype=np.int64)
    for batch in bundle.iter_batches(bundle.table_files(table), [column]):
        got = np.asarray(pc.drop_null(batch.column(0)).to_numpy(zero_copy_only=False), dtype=np.float64)
        merged, inverse = np.unique(np.concatenate([values, got]), return_inverse=True)
        counts = np.bincount(
            inverse,
            weights=np.concatenate([counts, np.ones(got.size, dtype=np.int64)]),
            minlength=merged.size,
        ).astype(np.int64)
        values = merged
    return values, counts


def _ranked(values: np.ndarray, counts: np.ndarray, lo: int, hi: int) -> float:
    """The sum of the sorted rows ``lo .. hi-1`` of the column that ``values``/``counts`` count."""
    end = np.cumsum(counts)
    inside = np.clip(end, lo, hi) - np.clip(end - counts, lo, hi)
    return float((values * inside).sum())


def _deals(bundle: BundleView) -> list[RealismMetric]:
    """Deal-size shape on every opportunity, exact, from the deal sizes' value counts."""
    if not bundle.has_table("opportunities"):
        return []
    values, counts = _value_counts(bundle, "opportunities", "estimated_acv")
    n = int(counts.sum())
    if n < 100:
        return []
    top = _ranked(values, counts, n - max(1, n // 100), n) / float((values * counts).sum())
    h = 0.99 * (n - 1)
    below = int(np.floor(h))
    at = np.searchsorted(np.cumsum(counts), [below, min(below + 1, n - 1)], side="right")
    p99 = float(values[at[0]] + (h - below) * (values[at[1]] - values[at[0]]))
    return [
        RealismMetric(
            "acv_top_1pct_share",
            "ACV held by the largest 1 % of opportunities",
            float(top),
            0.05,
            None,
            "share",
            DEALS,
        ),
        RealismMetric(
            "acv_max_over_p99",
            "largest opportunity over the 99th percentile",
            float(values[-1] / p99),
            1.5,
            None,
            "ratio",
            DEALS,
        ),
        RealismMetric(
            "acv_mode_share",
            "opportunities at the single most common ACV (no pile-up at a cap)",
            float(counts.max() / n),
            None,
            0.02,
            "share",
            DEALS,
        ),
    ]


def _mode_share(bundle: BundleView) -> tuple[int, int]:
    """How often the most common session duration occurs, and how many durations there are:
    counted batch by batch while they are small non-negative whole seconds (else read whole)."""
    counts = np.zeros(0, dtype=np.int64)
    size = 0
    for batch in bundle.iter_batches(bundle.table_files("sessions"), ["session_duration_seconds"]):
        values = np.asarray(pc.drop_null(batch.column(0)).to_numpy(zero_copy_only=False))
        if not values.size:
            continue
        if values.dtype.kind not in "iu" or values.min() < 0 or values.max() >= 1 << 24:
            every = bundle.table("sessions", ["session_duration_seconds"]).column(0)
            values = np.asarray(pc.drop_null(every).to_numpy(zero_copy_only=False))
            return int(np.unique(values, return_counts=True)[1].max()), int(values.size)
        got = np.bincount(values)
        counts = np.pad(counts, (0, max(0, got.size - counts.size)))
        counts[: got.size] += got
        size += int(values.size)
    return (int(counts.max()) if size else 0), size


def _activity(bundle: BundleView, manifest: Manifest, leads: _Leads, shards: _Shards) -> list[RealismMetric]:
    out: list[RealismMetric] = []
    if bundle.has_table("sessions"):
        mode, size = _mode_share(bundle)
        if size:
            out.append(
                RealismMetric(
                    "session_duration_mode_share",
                    "sessions at the single most common duration",
                    mode / size,
                    None,
                    0.01,
                    "share",
                    ACTIVITY,
                )
            )
    if bundle.has_table("touches") and bundle.has_table("leads"):
        per_lead = _touches_per_lead(bundle, leads, shards)
        out.append(
            RealismMetric(
                "touches_per_lead_p99",
                shards.label("touches per lead, 99th percentile"),
                float(np.quantile(per_lead, 0.99)) if per_lead.size else float("nan"),
                None,
                60,
                "touches",
                ACTIVITY,
            )
        )
    summary = "metadata/mechanism_summary.json"
    if bundle.exists(summary):
        realised = bundle.json(summary).get("realised", {})
        share = realised.get("phantom_event_share")
        if isinstance(share, int | float):
            out.append(
                RealismMetric(
                    "phantom_event_share",
                    "event records that are tracking glitches (phantoms)",
                    float(share),
                    None,
                    0.05,
                    "share",
                    ACTIVITY,
                    hidden=True,
                )
            )
    return out


def _touches_per_lead(bundle: BundleView, leads: _Leads, shards: _Shards) -> np.ndarray:
    """Touches per picked lead, streamed (every part when the picked ones hold other shards' leads)."""
    every = bundle.table_files("touches")
    picked = shards.files(bundle, "touches")
    per_lead = np.zeros(leads.count, dtype=np.int64)
    for batch in bundle.iter_batches(picked, ["lead_id"]):
        pos = leads.positions(batch.column(0))
        if picked != every and bool(np.any(pos < 0)):
            return _touches_per_lead(bundle, leads, _Shards(None, shards.count, shards.leads))
        per_lead += np.bincount(pos[pos >= 0], minlength=per_lead.size)
    return per_lead


#: Multiplier of :func:`string_hashes`' polynomial hash (odd, so every power is a unit mod 2**64).
_HASH_BASE = np.uint64(0x100000001B3)
_NULL_HASH = np.uint64(0xFFFFFFFFFFFFFFFF)


def string_hashes(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A 64-bit hash of each string (nulls one value of their own), column-wise: distinctness
    over every company name then costs 8 bytes a name instead of the names themselves. A
    collision would count two names as one; for well-spread 64-bit hashes of a million names
    the chance of any is about 3e-8 (n**2 / 2**65)."""
    arr = pc.cast(
        values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values, pa.large_string()
    )
    n = len(arr)
    if n == 0:
        return np.zeros(0, dtype=np.uint64)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset : arr.offset + n + 1]
    data = arr.buffers()[2]
    raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, dtype=np.uint8)
    raw = raw[offsets[0] : offsets[-1]]
    local = offsets - offsets[0]
    lengths = np.diff(local)
    longest = int(lengths.max()) if n else 0
    with np.errstate(over="ignore"):
        powers = np.cumprod(
            np.r_[np.uint64(1), np.full(longest, _HASH_BASE, dtype=np.uint64)], dtype=np.uint64
        )
        to_end = np.repeat(local[1:], lengths) - 1 - np.arange(raw.size, dtype=np.int64)
        terms = (raw.astype(np.uint64) + np.uint64(1)) * powers[to_end]
        running = np.r_[np.uint64(0), np.cumsum(terms, dtype=np.uint64)]
        out = running[local[1:]] - running[local[:-1]]
        out = out * _HASH_BASE + lengths.astype(np.uint64)
        out ^= out >> np.uint64(31)
        out *= np.uint64(0xBF58476D1CE4E5B9)
        out ^= out >> np.uint64(29)
    if arr.null_count:
        out[np.asarray(arr.is_null().to_numpy(zero_copy_only=False), dtype=bool)] = _NULL_HASH
    return np.asarray(out, dtype=np.uint64)


def _names(bundle: BundleView, shards: _Shards) -> list[RealismMetric]:
    out: list[RealismMetric] = []
    if not bundle.has_table("accounts"):
        return out
    hashes: list[np.ndarray] = []
    n = with_digits = 0
    for batch in bundle.iter_batches(bundle.table_files("accounts"), ["company_name"]):
        names = batch.column(0)
        n += len(names)
        with_digits += int(pc.sum(pc.match_substring_regex(names, "[0-9]")).as_py() or 0)
        hashes.append(np.unique(string_hashes(names)))
    if n == 0:
        return out
    distinct = np.unique(np.concatenate(hashes)).size / n
    digits = with_digits / n
    out += [
        RealismMetric(
            "company_names_distinct", "distinct company names", distinct, 0.95, None, "share", NAMES
        ),
        RealismMetric(
            "company_names_with_digits",
            "company names containing digits (ids)",
            digits,
            None,
            0.0,
            "share",
            NAMES,
        ),
    ]
    if bundle.has_table("contacts"):
        columns = bundle.schema(bundle.table_files("contacts")).names
        if {"email", "email_domain_type", "account_id"} <= set(columns):
            contacts = bundle.read_parquet(
                shards.files(bundle, "contacts"), ["account_id", "email", "email_domain_type"]
            )
            corporate = pc.equal(contacts.column("email_domain_type"), "corporate")
            chosen = contacts.filter(pc.and_(corporate, pc.is_valid(contacts.column("email"))))
            if chosen.num_rows:
                accounts = bundle.read_parquet(
                    shards.files(bundle, "accounts"), ["account_id", "company_name", "region"]
                )
                at = pc.index_in(chosen.column("account_id"), value_set=accounts.column("account_id"))
                if at.null_count and shards.picked is not None:
                    accounts = bundle.table("accounts", ["account_id", "company_name", "region"])
                    at = pc.index_in(chosen.column("account_id"), value_set=accounts.column("account_id"))
                domains = company_domains(
                    accounts.column("company_name").combine_chunks().cast(pa.string()),
                    accounts.column("region").combine_chunks().cast(pa.string()),
                )
                expected = domains.take(at)
                got = pc.replace_substring_regex(chosen.column("email"), pattern="^.*@", replacement="")
                match = pc.sum(pc.equal(got.cast(pa.string()), expected.cast(pa.string()))).as_py() or 0
                out.append(
                    RealismMetric(
                        "work_email_on_company_domain",
                        shards.label("corporate e-mail addresses on their company's domain"),
                        match / chosen.num_rows,
                        0.95,
                        None,
                        "share",
                        NAMES,
                    )
                )
    if bundle.has_table("touches"):
        files = shards.files(bundle, "touches")
        if {"touch_type", "campaign_id"} <= set(bundle.schema(files).names):
            rows = tagged = 0
            for batch in bundle.iter_batches(files, ["touch_type", "campaign_id"]):
                kind = batch.column(0)
                marketing = pc.or_(pc.equal(kind, "webinar"), pc.equal(kind, "content_download"))
                rows += int(pc.sum(marketing).as_py() or 0)
                tagged += int(pc.sum(pc.and_(marketing, pc.is_valid(batch.column(1)))).as_py() or 0)
            if rows:
                out.append(
                    RealismMetric(
                        "campaign_touches_with_campaign_id",
                        shards.label("webinar and content touches that name their campaign"),
                        tagged / rows,
                        0.95,
                        None,
                        "share",
                        NAMES,
                    )
                )
    return out


def _domains(bundle: BundleView, manifest: Manifest, window: int) -> list[RealismMetric]:
    columns = ["days_since_first_touch", "days_since_last_touch"]
    outside = rows = 0
    for batch in _task_batches(bundle, manifest, columns) or ():
        rows += batch.num_rows
        for column in batch.columns:
            values = np.asarray(pc.drop_null(column).to_numpy(zero_copy_only=False), dtype=np.float64)
            outside += int(np.sum((values < 0) | (values > window)))
    if rows == 0:
        return []
    return [
        RealismMetric(
            "window_features_out_of_domain",
            f"day-count features outside 0-{window} days",
            outside / (2 * rows),
            None,
            0.0,
            "share",
            DOMAIN,
        )
    ]


def _typed(bundle: BundleView) -> RealismMetric:
    """Share of the scheme's time columns (those the bundle has) stored as Arrow timestamps or dates."""
    typed = total = 0
    for name, columns in TIME_COLUMNS.items():
        if not bundle.has_table(name):
            continue
        schema = bundle.schema(bundle.table_files(name))
        for column in columns:
            if column in schema.names:
                total += 1
                typed += any(test(schema.field(column).type) for test in TIME_TYPES)
    return RealismMetric(
        "typed_time_columns",
        "time columns stored as typed timestamps or dates",
        typed / total if total else float("nan"),
        1.0,
        None,
        "share",
        SCHEMA,
    )


TIME_COLUMNS = {
    "accounts": ("created_at",),
    "contacts": ("created_at",),
    "leads": ("lead_created_at", "conversion_timestamp"),
    "touches": ("touch_timestamp",),
    "sessions": ("session_timestamp",),
    "sales_activities": ("activity_timestamp",),
    "opportunities": ("created_at", "closed_at"),
    "customers": ("customer_start_at",),
    "subscriptions": ("subscription_start_at",),
}
