"""Ids parsed from their string bytes agree with Arrow's own kernels, for well-formed and hostile values."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from leadforge.columns import grouped_id_numbers, id_array, id_numbers_fast


def reference(values: list[str | None], prefix: str) -> list[int]:
    out = []
    for v in values:
        tail = v[len(prefix) + 1 :] if v is not None and v.startswith(prefix + "_") else ""
        ok = 6 <= len(tail) <= 18 and tail.isascii() and tail.isdigit()
        out.append(int(tail) if ok else -1)
    return out


@pytest.mark.parametrize("kind", [pa.string(), pa.large_string()])
def test_dense_ids_of_every_width_read_back(kind: pa.DataType) -> None:
    numbers = np.concatenate([np.arange(1, 2000), np.arange(999_000, 1_001_000), [10**17 + 3]])
    ids = id_array("touch", numbers).cast(kind)
    assert (id_numbers_fast(ids, "touch") == numbers).all()
    assert (id_numbers_fast(ids.slice(1500, 700), "touch") == numbers[1500:2200]).all()
    assert (
        id_numbers_fast(ids, "touch") == pc.cast(pc.utf8_slice_codeunits(ids, 6), pa.int64()).to_numpy()
    ).all()


ID_TEXT = st.one_of(
    st.none(),
    st.text(max_size=24),
    st.builds(lambda d: f"lead_{d}", st.text(alphabet="0123456789x٠", min_size=0, max_size=20)),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(ID_TEXT, max_size=40))
def test_any_values_give_the_number_or_minus_one(values: list[str | None]) -> None:
    got = id_numbers_fast(pa.array(values, type=pa.string()), "lead")
    assert got is not None and got.tolist() == reference(values, "lead")


def test_other_types_are_left_to_the_caller() -> None:
    assert id_numbers_fast(pa.array([1, 2]), "lead") is None


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.integers(1, 10**9).map(lambda n: f"cust_{n:06d}"),
            st.sampled_from(["cust_000007", "cust_1234567", "cust_12x456", "acct_000001", ""]),
            st.none(),
        ),
        max_size=40,
    ),
    st.integers(1, 5),
)
def test_grouped_ids_read_like_every_row_parsed(values: list[str | None], repeat: int) -> None:
    """Runs of one owner's id (as a table's owner reference holds them) parse like every row."""
    rows = [v for v in values for _ in range(repeat)]
    arr = pa.array(rows, pa.large_string())
    assert grouped_id_numbers(arr, "cust").tolist() == reference(rows, "cust")
