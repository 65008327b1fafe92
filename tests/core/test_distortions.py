from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from leadforge.distortions import DistortionKnobs, distort
from leadforge.features import FeatureSpec

CATALOG = [
    FeatureSpec("id", "string", "id", "ids", distort=False),
    FeatureSpec("count", "Int64", "a count", "f", non_negative=True),
    FeatureSpec("amount", "Float64", "an amount", "f", non_negative=True),
    FeatureSpec("delta", "Float64", "a signed value", "f"),
    FeatureSpec("trap", "Int64", "never distorted", "f", distort=False),
    FeatureSpec("flag", "boolean", "a flag", "f"),
    FeatureSpec("y", "boolean", "target", "target", is_target=True),
]


def table(n: int = 20_000) -> pa.Table:
    g = np.random.default_rng(0)
    return pa.table(
        {
            "id": pa.array([f"r{i}" for i in range(n)]),
            "count": pa.array(g.poisson(2, n), pa.int64()),
            "amount": pa.array(g.gamma(2.0, 10.0, n)),
            "delta": pa.array(g.normal(0, 1, n)),
            "trap": pa.array(g.poisson(5, n), pa.int64()),
            "flag": pa.array(g.random(n) < 0.3),
            "y": pa.array(g.random(n) < 0.2),
        }
    )


def test_types_signs_and_rates_survive_distortion() -> None:
    src = table()
    out = distort(src, CATALOG, DistortionKnobs(0.5, 0.1, 0.05), np.random.default_rng(1))
    assert out.schema == src.schema
    for untouched in ("id", "trap", "flag", "y"):
        assert out.column(untouched).equals(src.column(untouched))
    for col in ("count", "amount", "delta"):
        assert abs(out.column(col).null_count / out.num_rows - 0.1) < 0.01
    counts = out.column("count").drop_null().to_numpy()
    assert counts.min() >= 0 and np.array_equal(counts, np.rint(counts))
    assert out.column("amount").drop_null().to_numpy().min() >= 0.0
    assert (
        out.column("delta").drop_null().to_numpy().min() < -3.0
    )  # outliers may go negative on signed columns
    kept = ~np.asarray(out.column("count").is_null())
    assert np.array_equal(
        out.column("count").to_numpy(zero_copy_only=False)[kept].astype(int),
        src.column("count").to_numpy()[kept],
    )


def test_zero_knobs_change_nothing_and_draws_are_deterministic() -> None:
    src = table(500)
    assert distort(src, CATALOG, DistortionKnobs(), np.random.default_rng(1)).equals(src)
    a = distort(src, CATALOG, DistortionKnobs(0.3, 0.05, 0.02), np.random.default_rng(9))
    b = distort(src, CATALOG, DistortionKnobs(0.3, 0.05, 0.02), np.random.default_rng(9))
    assert a.equals(b)


BOUNDED = [
    FeatureSpec(
        "recency",
        "Float64",
        "days since the last touch, within a 30-day window",
        "f",
        non_negative=True,
        max_value=30,
    ),
    FeatureSpec("touches", "Int64", "touches, at most 12", "f", non_negative=True, max_value=12.5),
]


def test_noise_and_outliers_stay_inside_the_domain() -> None:
    n = 20_000
    g = np.random.default_rng(3)
    src = pa.table(
        {"recency": pa.array(g.uniform(0, 30, n)), "touches": pa.array(g.integers(0, 13, n), pa.int64())}
    )
    out = distort(src, BOUNDED, DistortionKnobs(0.8, 0.05, 0.05), np.random.default_rng(4))
    recency = out.column("recency").drop_null().to_numpy()
    assert recency.min() >= 0.0 and recency.max() <= 30.0
    assert (recency == 30.0).any() and (recency == 0.0).any()  # the bounds were reached, not avoided
    touches = out.column("touches").drop_null().to_numpy()
    assert out.schema.field("touches").type == pa.int64()
    assert touches.max() <= 12 and touches.min() >= 0
    unbounded = distort(
        src,
        [FeatureSpec("recency", "Float64", "unbounded", "f", non_negative=True)],
        DistortionKnobs(0.8, 0.05, 0.05),
        np.random.default_rng(4),
    )
    assert unbounded.column("recency").drop_null().to_numpy().max() > 30.0


@pytest.mark.parametrize("bound", [float("nan"), float("inf"), -1.0, True])
def test_bad_bounds_are_refused(bound: object) -> None:
    with pytest.raises(ValueError, match="max_value"):
        FeatureSpec("x", "Float64", "x", "f", non_negative=True, max_value=bound)  # type: ignore[arg-type]


SPREAD = [
    FeatureSpec("amount", "Float64", "an amount", "f", non_negative=True, spread=20.0, center=20.0),
    FeatureSpec("delta", "Float64", "a signed value", "f", spread=1.0, center=0.0),
]


def test_with_a_declared_spread_a_rows_distortion_ignores_the_other_rows() -> None:
    """Twin worlds: rows an intervention cannot reach keep every cell when other rows change."""
    src = table(2_000).select(["amount", "delta"])
    amount = src.column("amount").to_numpy()
    moved = np.where(np.arange(amount.size) < 1_000, amount * 50.0, amount)
    changed = src.set_column(0, "amount", pa.array(moved))
    knobs = DistortionKnobs(0.5, 0.1, 0.05)

    def untouched_rows(catalog: list[FeatureSpec]) -> tuple[pa.Array, pa.Array]:
        a = distort(src, catalog, knobs, np.random.default_rng(3)).column("amount")
        b = distort(changed, catalog, knobs, np.random.default_rng(3)).column("amount")
        return a.slice(1_000), b.slice(1_000)

    a, b = untouched_rows(SPREAD)
    assert a.equals(b)
    # without a spread the shard's spread sets the scale, so the change moves the other rows too
    c, d = untouched_rows(CATALOG[2:4])
    assert not c.equals(d)
    out = distort(src, SPREAD, DistortionKnobs(0.5, 0.0, 0.0), np.random.default_rng(3))
    noise = out.column("delta").to_numpy(zero_copy_only=False) - src.column("delta").to_numpy()
    assert abs(float(np.std(noise)) - 0.5) < 0.03  # noise_scale x spread


def test_a_spread_must_be_a_positive_number_on_a_float() -> None:
    with pytest.raises(ValueError, match="spread must be a positive finite number"):
        FeatureSpec("x", "Float64", "x", "f", spread=0.0, center=0.0)
    with pytest.raises(ValueError, match="declare spread and center together"):
        FeatureSpec("x", "Float64", "x", "f", spread=1.0)
    with pytest.raises(ValueError, match="only Float64 features take a spread"):
        FeatureSpec("x", "Int64", "x", "f", spread=1.0, center=0.0)
