from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest
from leadforge.columns import date_array, day_offsets, format_id, id_array, id_range, parse_id_numbers


def test_ids_are_zero_padded_and_grow_past_six_digits() -> None:
    ids = id_array("lead", np.array([1, 42, 999_999, 1_000_000, 1_234_567])).to_pylist()
    assert ids == ["lead_000001", "lead_000042", "lead_999999", "lead_1000000", "lead_1234567"]
    assert id_range("acct", 9, 3).to_pylist() == [format_id("acct", n) for n in (9, 10, 11)]


def test_ids_round_trip_and_reject_non_positive() -> None:
    nums = np.arange(1, 5000, 7)
    assert np.array_equal(parse_id_numbers(id_array("x", nums), "x"), nums)
    assert id_array("x", np.array([], dtype=np.int64)).to_pylist() == []
    with pytest.raises(ValueError):
        id_array("x", np.array([0]))
    with pytest.raises(ValueError):
        format_id("x", True)  # type: ignore[arg-type]


def test_dates_are_iso_strings_and_round_trip() -> None:
    base = dt.date(2024, 1, 1)
    offs = np.array([0, 30, -1, 365, 29])
    dates = date_array(base, offs)
    assert dates.type == pa.large_string()
    assert dates.to_pylist() == ["2024-01-01", "2024-01-31", "2023-12-31", "2024-12-31", "2024-01-30"]
    assert np.array_equal(day_offsets(dates, base), offs)


def test_day_offsets_read_text_dates_and_typed_time() -> None:
    base = dt.date(2025, 1, 1)
    offsets = np.asarray([0, 5, 400])
    start = (base - dt.date(1970, 1, 1)).days
    days = pa.array(start + offsets, pa.int32()).cast(pa.date32())
    late_utc = pa.array((start + offsets) * 86_400_000_000 + 86_399_999_999).cast(
        pa.timestamp("us", tz="UTC")
    )
    for column in (date_array(base, offsets), days, late_utc):
        assert day_offsets(column, base).tolist() == offsets.tolist()
