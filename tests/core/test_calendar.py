"""The world calendar: arrival intensity, workdays, business-hour times with real DST offsets."""

from __future__ import annotations

import datetime as dt
import hashlib
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pytest
from leadforge.calendar import (
    NO_DAY,
    TIME_ZONES,
    CalendarProfile,
    DayCounts,
    arrival_days,
    business_times,
    date_array,
    days_of,
    local_days,
    local_hours,
    timestamp_array,
    weekday,
    workday_on_or_after,
    zone_indices,
    zones_for,
)
from leadforge.errors import InvalidRecipeError
from leadforge.narrative import Narrative

EPOCH = dt.date(1970, 1, 1)


def _rng(seed: int = 7) -> np.random.Generator:
    return np.random.default_rng(seed)


def _civil(day: int | np.integer) -> dt.date:
    return EPOCH + dt.timedelta(days=int(day))


def test_weekday_matches_the_python_calendar() -> None:
    days = np.arange(19_000, 19_030)
    expected = [_civil(d).weekday() for d in days]
    assert weekday(days).tolist() == expected


def test_arrivals_cover_the_window_with_weekday_and_month_patterns() -> None:
    profile = CalendarProfile()
    days = arrival_days(_rng(), 400_000, profile)
    assert days.dtype == np.int32
    assert days.min() >= profile.start_day and days.max() < profile.end_day
    assert np.unique(days).size > 360
    wd = weekday(days)
    weekend = float(np.mean(wd >= 5))
    assert 0.025 <= weekend <= 0.045
    shares = np.bincount(wd, minlength=7) / days.size
    assert shares[1] > shares[4] > shares[5] > shares[6]
    months = days.astype("datetime64[D]").astype("datetime64[M]").astype(int) % 12
    per_month = np.bincount(months, minlength=12) / np.asarray(
        [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    )
    assert per_month[7] < 0.85 * per_month[2]
    assert per_month[11] < 0.85 * per_month[9]


def test_quarter_end_days_get_the_boost() -> None:
    flat = CalendarProfile(weekday_weights=(1.0,) * 7, month_weights=(1.0,) * 12, quarter_end_boost=2.0)
    days = arrival_days(_rng(3), 500_000, flat)
    dates = days.astype("datetime64[D]")
    next_month = (dates.astype("datetime64[M]") + 1).astype("datetime64[D]")
    month = dates.astype("datetime64[M]").astype(int) % 12 + 1
    quarter_end_month = month % 3 == 0
    last10 = quarter_end_month & ((next_month - dates).astype(int) <= 10)
    per_day_in = last10.sum() / np.unique(days[last10]).size
    per_day_out = (~last10).sum() / np.unique(days[~last10]).size
    assert 1.8 < per_day_in / per_day_out < 2.2


def test_workday_on_or_after_moves_only_weekends() -> None:
    days = np.arange(20_000, 20_014, dtype=np.int32)
    moved = workday_on_or_after(days)
    assert moved.dtype == days.dtype
    assert (weekday(moved) < 5).all()
    assert (moved >= days).all() and (moved - days <= 2).all()
    weekdays = weekday(days) < 5
    assert (moved[weekdays] == days[weekdays]).all()


def test_business_times_are_in_local_business_hours() -> None:
    profile = CalendarProfile()
    rng = _rng(11)
    n = 20_000
    days = workday_on_or_after(arrival_days(rng, n, profile))
    zones = rng.integers(0, len(TIME_ZONES), n).astype(np.int16)
    us = business_times(rng, days, zones, profile)
    assert us.dtype == np.int64
    sample = rng.choice(n, 3_000, replace=False)
    inside = 0
    same_day = 0
    for i in sample:
        when = dt.datetime.fromtimestamp(int(us[i]) / 1e6, tz=dt.UTC).astimezone(
            ZoneInfo(TIME_ZONES[zones[i]])
        )
        inside += 9 <= when.hour < 18
        same_day += when.date() == _civil(days[i])
    assert inside / sample.size >= 0.9
    assert same_day == sample.size
    assert (local_days(us, zones) == days).mean() > 0.999
    hours = local_hours(us, zones)
    assert ((hours >= 9) & (hours < 18)).mean() >= 0.9
    for i in sample[:200]:
        when = dt.datetime.fromtimestamp(int(us[i]) / 1e6, tz=dt.UTC).astimezone(
            ZoneInfo(TIME_ZONES[zones[i]])
        )
        assert abs(hours[i] - (when.hour + when.minute / 60 + when.second / 3600)) < 1e-3


def test_dst_week_uses_the_real_offset() -> None:
    # US DST began on 2025-03-09: New York is UTC-5 the Friday before and UTC-4 the Monday after.
    profile = CalendarProfile(after_hours_share=0.0, business_hours=(12, 13))
    ny = TIME_ZONES.index("America/New_York")
    london = TIME_ZONES.index("Europe/London")
    before = (dt.date(2025, 3, 7) - EPOCH).days
    after = (dt.date(2025, 3, 10) - EPOCH).days
    days = np.asarray([before, after, before, after])
    zones = np.asarray([ny, ny, london, london])
    us = business_times(_rng(), days, zones, profile)
    utc_hours = [dt.datetime.fromtimestamp(int(x) / 1e6, tz=dt.UTC).hour for x in us]
    assert utc_hours == [17, 16, 12, 12]


def test_zones_follow_countries() -> None:
    countries = pa.array(["US", "UK", "DE", "XX", None] * 2_000)
    zones = zones_for(countries, _rng())
    assert zones.dtype == np.int16
    names = np.asarray(TIME_ZONES)[zones].reshape(-1, 5)
    assert {n.split("/")[0] for n in names[:, 0]} == {"America"}
    assert len(set(names[:, 0])) >= 3
    assert set(names[:, 1]) == {"Europe/London"}
    assert set(names[:, 2]) == {"Europe/Berlin"}
    assert set(names[:, 3]) == set(names[:, 4]) == {"UTC"}
    assert (
        zones_for(np.asarray(["US", "UK"] * 10), _rng()) == zones_for(pa.array(["US", "UK"] * 10), _rng())
    ).all()


def test_zone_names_map_back_to_indices() -> None:
    names = pa.array(["Europe/London", "America/Denver", "Mars/Olympus", None])
    idx = zone_indices(names)
    assert [TIME_ZONES[i] for i in idx] == ["Europe/London", "America/Denver", "UTC", "UTC"]


def test_draws_are_deterministic() -> None:
    def run() -> str:
        rng = _rng(42)
        p = CalendarProfile()
        days = arrival_days(rng, 5_000, p)
        zones = zones_for(pa.array(["US", "UK"] * 2_500), rng)
        us = business_times(rng, days, zones, p)
        return hashlib.sha256(days.tobytes() + zones.tobytes() + us.tobytes()).hexdigest()

    assert run() == run()


def test_arrow_arrays_are_typed() -> None:
    ts = timestamp_array(np.asarray([0, 86_400_000_000]))
    assert ts.type == pa.timestamp("us", tz="UTC")
    assert ts.to_pylist()[1] == dt.datetime(1970, 1, 2, tzinfo=dt.UTC)
    dates = date_array(np.asarray([0, 20_000]))
    assert dates.type == pa.date32()
    assert dates.to_pylist() == [EPOCH, _civil(20_000)]


def test_calendar_section_parses_strictly() -> None:
    p = CalendarProfile.from_mapping(
        {"start": dt.date(2024, 7, 1), "window_days": 540, "business_hours": [8, 17]}, "n.yaml"
    )
    assert p.start == dt.date(2024, 7, 1) and p.window_days == 540 and p.business_hours == (8, 17)
    assert CalendarProfile.from_mapping({"start": "2024-07-01"}, "n.yaml").start == dt.date(2024, 7, 1)
    assert CalendarProfile.from_mapping(None, "n.yaml") == CalendarProfile()
    bad = [
        ({"start": "July"}, "calendar.start"),
        ({"window_days": 3}, "calendar.window_days"),
        ({"weekday_weights": [1, 1, 1]}, "calendar.weekday_weights"),
        ({"month_weights": [0] * 12}, "calendar.month_weights"),
        ({"quarter_end_boost": 0}, "calendar.quarter_end_boost"),
        ({"business_hours": [18, 9]}, "calendar.business_hours"),
        ({"after_hours_share": 1.5}, "calendar.after_hours_share"),
        ({"weekends": 0}, "calendar.weekends"),
    ]
    for data, key in bad:
        with pytest.raises(InvalidRecipeError, match=key) as info:
            CalendarProfile.from_mapping(data, "n.yaml")
        assert "\n" not in str(info.value)


def test_narrative_carries_an_optional_calendar(narrative_data: dict[str, object]) -> None:
    plain = Narrative.from_mapping(narrative_data, "n.yaml")
    assert plain.calendar == CalendarProfile()
    with_calendar = Narrative.from_mapping(
        {**narrative_data, "calendar": {"start": dt.date(2024, 1, 1)}}, "n.yaml"
    )
    assert with_calendar.calendar.start == dt.date(2024, 1, 1)
    assert with_calendar.raw["calendar"]["start"] == "2024-01-01"
    with pytest.raises(InvalidRecipeError, match="calendar.window_days"):
        Narrative.from_mapping({**narrative_data, "calendar": {"window_days": "long"}}, "n.yaml")


@pytest.fixture
def narrative_data() -> dict[str, object]:
    return {
        "company": {
            "name": "Acme",
            "founded_year": 2015,
            "hq_city": "Austin",
            "hq_country": "US",
            "stage": "Series A",
            "employee_range": [10, 50],
        },
        "product": {
            "name": "Widget",
            "category": "Tools",
            "deployment": "cloud",
            "pricing_model": "seat",
            "acv_range_usd": [1000, 2000],
            "contract_terms_months": [12],
            "free_trial_available": True,
            "demo_available": False,
        },
        "market": {
            "icp_employee_range": [10, 100],
            "icp_industries": ["logistics"],
            "geographies": ["US"],
            "avg_deal_size_usd": 1500,
            "avg_sales_cycle_days": 30,
        },
        "gtm_motion": {
            "channels": ["inbound_marketing"],
            "inbound_share": 1.0,
            "outbound_share": 0.0,
            "partner_share": 0.0,
        },
        "personas": [
            {"role": "cfo", "title_variants": ["CFO"], "decision_authority": "x", "typical_involvement": "y"}
        ],
        "funnel_stages": [{"name": "mql", "label": "MQL"}],
    }


def test_day_counts_merge_batches_in_any_order_and_skip_missing_days() -> None:
    rng = np.random.default_rng(3)
    days = rng.integers(20_000, 20_400, 5_000)
    for order in (days, days[::-1], np.sort(days)):
        merged = DayCounts()
        for chunk in np.array_split(order, 7):
            merged.add(np.r_[chunk, NO_DAY])
        expected = np.bincount(days - days.min())
        assert merged.first == days.min() and np.array_equal(merged.counts, expected)


def test_days_of_reads_dates_and_timestamps_as_utc_days() -> None:
    dates = pa.array([0, 19_000, None], pa.int32()).cast(pa.date32())
    stamps = pa.array([86_400_000_000 * 19_000 + 5, None], pa.int64()).cast(pa.timestamp("us", tz="UTC"))
    assert days_of(dates).tolist() == [0, 19_000, NO_DAY]
    assert days_of(stamps).tolist() == [19_000, NO_DAY]
