"""The calendar a world lives on: when leads arrive and at what local time people work.

Everything here is column-wise: days are ``int32`` days since 1970-01-01, instants are
``int64`` microseconds since the epoch in UTC. Time-zone offsets come from :mod:`zoneinfo`
(real DST rules) and are computed once per (zone, distinct day), then gathered per row, so a
million rows cost a few numpy passes and a few thousand ``zoneinfo`` look-ups at most.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from leadforge.errors import InvalidRecipeError
from leadforge.narrative import CalendarProfile as CalendarProfile  # the knobs live in the narrative

US_PER_DAY = 86_400_000_000
US_PER_HOUR = 3_600_000_000
_EPOCH = dt.date(1970, 1, 1)

#: IANA zones a world's accounts may sit in; ``zone_index`` arrays index this tuple.
TIME_ZONES: tuple[str, ...] = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Phoenix",
    "America/Toronto",
    "America/Vancouver",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Amsterdam",
    "Europe/Madrid",
    "Europe/Stockholm",
    "Australia/Sydney",
    "Australia/Perth",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Asia/Kolkata",
    "America/Sao_Paulo",
    "America/Mexico_City",
    "Pacific/Auckland",
    "UTC",
)
_ZONE = {name: i for i, name in enumerate(TIME_ZONES)}

#: Country code -> (zone, weight) pairs; weights follow where business population sits.
COUNTRY_ZONES: Mapping[str, tuple[tuple[str, float], ...]] = {
    "US": (
        ("America/New_York", 0.47),
        ("America/Chicago", 0.29),
        ("America/Denver", 0.06),
        ("America/Phoenix", 0.02),
        ("America/Los_Angeles", 0.16),
    ),
    "CA": (("America/Toronto", 0.75), ("America/Vancouver", 0.25)),
    "UK": (("Europe/London", 1.0),),
    "GB": (("Europe/London", 1.0),),
    "IE": (("Europe/Dublin", 1.0),),
    "FR": (("Europe/Paris", 1.0),),
    "DE": (("Europe/Berlin", 1.0),),
    "NL": (("Europe/Amsterdam", 1.0),),
    "ES": (("Europe/Madrid", 1.0),),
    "SE": (("Europe/Stockholm", 1.0),),
    "AU": (("Australia/Sydney", 0.85), ("Australia/Perth", 0.15)),
    "SG": (("Asia/Singapore", 1.0),),
    "JP": (("Asia/Tokyo", 1.0),),
    "IN": (("Asia/Kolkata", 1.0),),
    "BR": (("America/Sao_Paulo", 1.0),),
    "MX": (("America/Mexico_City", 1.0),),
    "NZ": (("Pacific/Auckland", 1.0),),
}

QUARTER_END_DAYS = 10
#: Up to this many possible (zone, day) keys, offsets are looked up through a dense table.
_DENSE_KEYS = 4_000_000


def weekday(days: np.ndarray) -> np.ndarray:
    """Day of week (Monday 0 … Sunday 6) of days since 1970-01-01 (a Thursday)."""
    return ((np.asarray(days, dtype=np.int64) + 3) % 7).astype(np.int8)


def _civil(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(year, month 1-12, day 1-31) per day, through numpy's calendar."""
    d = np.asarray(days, dtype="int64").astype("datetime64[D]")
    y = d.astype("datetime64[Y]")
    m = d.astype("datetime64[M]")
    year = y.astype(np.int64) + 1970
    month = (m - y).astype(np.int64) + 1
    day = (d - m).astype(np.int64) + 1
    return year, month, day


def intensity(days: np.ndarray, profile: CalendarProfile) -> np.ndarray:
    """Relative arrival intensity of each day: weekday × month × quarter-end boost."""
    days = np.asarray(days, dtype=np.int64)
    _, month, _ = _civil(days)
    wd = np.asarray(profile.weekday_weights, dtype=np.float64)[weekday(days)]
    mw = np.asarray(profile.month_weights, dtype=np.float64)[month - 1]
    month_start = days.astype("datetime64[D]").astype("datetime64[M]")
    next_quarter = month_start + (3 - (month - 1) % 3).astype("timedelta64[M]")
    to_end = next_quarter.astype("datetime64[D]").astype(np.int64) - days
    boost = np.where(to_end <= QUARTER_END_DAYS, profile.quarter_end_boost, 1.0)
    out: np.ndarray = wd * mw * boost
    return out


def arrival_days(rng: np.random.Generator, n: int, profile: CalendarProfile) -> np.ndarray:
    """``n`` arrival days (int32 days since 1970-01-01, unsorted) drawn in proportion to
    :func:`intensity` over the acquisition window."""
    days = np.arange(profile.start_day, profile.end_day, dtype=np.int64)
    weight = intensity(days, profile)
    cdf = np.cumsum(weight)
    if cdf[-1] <= 0:
        raise InvalidRecipeError("calendar: every day of the acquisition window has zero intensity")
    picks = np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right")
    out: np.ndarray = days[np.minimum(picks, days.size - 1)].astype(np.int32)
    return out


def workday_on_or_after(days: np.ndarray) -> np.ndarray:
    """Move Saturdays and Sundays to the following Monday (rep activity waits for the week)."""
    days = np.asarray(days)
    wd = weekday(days)
    shift = np.where(wd == 5, 2, np.where(wd == 6, 1, 0))
    out: np.ndarray = (days.astype(np.int64) + shift).astype(days.dtype)
    return out


def utc_offsets_us(days: np.ndarray, zone_index: np.ndarray) -> np.ndarray:
    """Each row's zone UTC offset (µs, local minus UTC) at local noon of its day.

    One ``zoneinfo`` look-up per distinct (zone, day); rows gather from that table.
    """
    days = np.asarray(days, dtype=np.int64)
    zones = np.asarray(zone_index, dtype=np.int64)
    if zones.size and (zones.min() < 0 or zones.max() >= len(TIME_ZONES)):
        raise ValueError(f"zone_index must index TIME_ZONES (0..{len(TIME_ZONES) - 1})")
    if days.size == 0:
        return np.zeros(0, dtype=np.int64)
    lo = int(days.min())
    span = int(days.max()) - lo + 1
    key = zones * span + (days - lo)
    size = len(TIME_ZONES) * span
    if size <= _DENSE_KEYS:
        # a calendar's keys are few and dense: mark the ones present, no sort of the rows
        uniq = np.flatnonzero(np.bincount(key, minlength=size))
        table = np.zeros(size, dtype=np.int64)
        table[uniq] = _offsets(uniq, lo, span)
        dense: np.ndarray = table[key]
        return dense
    uniq, inverse = np.unique(key, return_inverse=True)
    out: np.ndarray = _offsets(uniq, lo, span)[inverse.reshape(-1)]
    return out


def _offsets(keys: np.ndarray, lo: int, span: int) -> np.ndarray:
    """UTC offsets (µs) at local noon for (zone × span + day − lo) keys, one look-up each."""
    table = np.empty(keys.size, dtype=np.int64)
    cache: dict[int, ZoneInfo] = {}
    for i, k in enumerate(keys.tolist()):
        z, d = divmod(k, span)
        tz = cache.get(z) or cache.setdefault(z, ZoneInfo(TIME_ZONES[z]))
        noon = dt.datetime.combine(_EPOCH + dt.timedelta(days=lo + d), dt.time(12), tzinfo=tz)
        offset = noon.utcoffset() or dt.timedelta(0)
        table[i] = int(offset.total_seconds()) * 1_000_000
    return table


def local_time_of_day_us(rng: np.random.Generator, n: int, profile: CalendarProfile) -> np.ndarray:
    """Local times of day (µs after midnight): inside business hours with a mid-morning and
    mid-afternoon peak, ``after_hours_share`` of them in the early morning or evening."""
    start, end = profile.business_hours
    u = rng.random(n)
    inside = rng.random(n) >= profile.after_hours_share
    # A triangular-ish shape over the working day: the mean of two uniforms peaks mid-day.
    hours_in = start + (end - start) * (0.5 * (u + rng.random(n)))
    before = max(start - 6, 0)
    after_len = max(min(end + 5, 24) - end, 0)
    before_len = start - before
    total = before_len + after_len
    if total > 0:
        x = rng.random(n) * total
        hours_out = np.where(x < before_len, before + x, end + (x - before_len))
    else:
        hours_out = hours_in
    hours = np.where(inside, hours_in, hours_out)
    us = (hours * US_PER_HOUR).astype(np.int64)
    out: np.ndarray = np.clip(us, 0, US_PER_DAY - 1)
    return out


def business_times(
    rng: np.random.Generator, days: np.ndarray, zone_index: np.ndarray, profile: CalendarProfile
) -> np.ndarray:
    """UTC instants (int64 µs since epoch) on each row's local ``days`` at a business time of
    day in its zone, converted with the zone's real offset on that day (DST included)."""
    days = np.asarray(days, dtype=np.int64)
    tod = local_time_of_day_us(rng, days.size, profile)
    local = days * US_PER_DAY + tod
    out: np.ndarray = local - utc_offsets_us(days, zone_index)
    return out


def local_days(us: np.ndarray, zone_index: np.ndarray) -> np.ndarray:
    """Local calendar day (days since epoch) of UTC instants in each row's zone."""
    us = np.asarray(us, dtype=np.int64)
    approx = us // US_PER_DAY
    offset = utc_offsets_us(approx, zone_index)
    out: np.ndarray = (us + offset) // US_PER_DAY
    return out


def local_hours(us: np.ndarray, zone_index: np.ndarray) -> np.ndarray:
    """Local wall-clock hour (float, 0 ≤ h < 24) of UTC instants in each row's zone, e.g. to
    measure the share of activity in business hours."""
    us = np.asarray(us, dtype=np.int64)
    local = us + utc_offsets_us(us // US_PER_DAY, zone_index)
    out: np.ndarray = (local % US_PER_DAY) / US_PER_HOUR
    return out


def zone_indices(names: pa.Array | pa.ChunkedArray | np.ndarray | Sequence[str]) -> np.ndarray:
    """Indices into :data:`TIME_ZONES` of IANA zone names (a bundle's time-zone column);
    unknown names get ``UTC``."""
    arr = names if isinstance(names, pa.Array | pa.ChunkedArray) else pa.array(list(names), type=pa.string())
    table = pa.array(TIME_ZONES, type=pa.string())
    idx = pc.index_in(arr.cast(pa.string()), value_set=table)
    out: np.ndarray = np.asarray(
        pc.fill_null(idx, _ZONE["UTC"]).to_numpy(zero_copy_only=False), dtype=np.int16
    )
    return out


def zones_for(countries: np.ndarray | pa.Array | Sequence[str], rng: np.random.Generator) -> np.ndarray:
    """A zone index (into :data:`TIME_ZONES`) per country code, drawn by the country's weights.

    Unknown codes get ``UTC``; one draw per row whatever the country, so the stream does not
    depend on the mix of countries.
    """
    if isinstance(countries, pa.ChunkedArray | pa.Array):
        codes = countries.cast(pa.string()).dictionary_encode()
        if isinstance(codes, pa.ChunkedArray):
            codes = codes.combine_chunks()
        names = [str(x) for x in codes.dictionary.to_pylist()] + [""]
        nulls = len(names) - 1
        inverse = codes.indices.fill_null(nulls).to_numpy(zero_copy_only=False).astype(np.int64)
    else:
        return zones_for(pa.array(np.asarray(countries, dtype=object), type=pa.string()), rng)
    u = rng.random(inverse.size)
    out = np.full(inverse.size, _ZONE["UTC"], dtype=np.int16)
    for code_index, code in enumerate(names):
        choices = COUNTRY_ZONES.get(code.upper())
        if not choices:
            continue
        rows = inverse == code_index
        weights = np.asarray([w for _, w in choices], dtype=np.float64)
        cdf = np.cumsum(weights) / weights.sum()
        idx = np.asarray([_ZONE[z] for z, _ in choices], dtype=np.int16)
        out[rows] = idx[np.minimum(np.searchsorted(cdf, u[rows], side="right"), idx.size - 1)]
    return out


def timestamp_array(us: np.ndarray) -> pa.Array:
    """int64 µs since the epoch → ``timestamp[us, tz=UTC]``."""
    return pa.array(np.asarray(us, dtype=np.int64), type=pa.int64()).cast(pa.timestamp("us", tz="UTC"))


def date_array(days: np.ndarray) -> pa.Array:
    """int32 days since the epoch → ``date32``."""
    return pa.array(np.asarray(days, dtype=np.int32), type=pa.int32()).cast(pa.date32())


#: the day number of a missing time
NO_DAY = int(np.iinfo(np.int32).max)
_PER_DAY = {"s": 86_400, "ms": 86_400_000, "us": 86_400_000_000, "ns": 86_400_000_000_000}


def days_of(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Days since 1970-01-01 (the UTC day for timestamps) of a typed date or timestamp column,
    converted straight from its integers; nulls are :data:`NO_DAY`."""
    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    timestamp = pa.types.is_timestamp(arr.type)
    if not (timestamp or pa.types.is_date(arr.type)):
        raise ValueError(f"a time column must be a date or a timestamp, not {arr.type}")
    per_day = _PER_DAY[arr.type.unit] if timestamp else 1
    raw = arr.cast(pa.int64()) if timestamp else arr.cast(pa.date32()).cast(pa.int32())
    out = np.asarray(pc.fill_null(raw, 0).to_numpy(zero_copy_only=False), dtype=np.int64) // per_day
    if arr.null_count:
        out[np.asarray(arr.is_null().to_numpy(zero_copy_only=False), dtype=bool)] = NO_DAY
    return out


@dataclass
class DayCounts:
    """Rows per calendar day from the first, merged batch by batch: the size of the calendar,
    never of the rows (:data:`NO_DAY` is left out)."""

    first: int = 0
    counts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def add(self, days: np.ndarray) -> None:
        d = np.asarray(days, dtype=np.int64)
        d = d[d != NO_DAY]
        if not d.size:
            return
        have = self.counts.size
        lo = min(self.first, int(d.min())) if have else int(d.min())
        hi = max(int(d.max()), self.first + have - 1) if have else int(d.max())
        grown = np.zeros(hi - lo + 1, dtype=np.int64)
        grown[self.first - lo : self.first - lo + have] = self.counts
        grown += np.bincount(d - lo, minlength=grown.size)
        self.first, self.counts = lo, grown
