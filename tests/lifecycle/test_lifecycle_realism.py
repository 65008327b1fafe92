"""Realism metrics: every lifecycle metric is measured from the tables, lands in its band on a
calibrated world, and moves when the property it measures is broken."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from leadforge.bundle.reader import BundleView, Manifest
from leadforge.realism import RealismMetric
from leadforge.validation import measure_realism
from leadforge_lifecycle import realism
from leadforge_lifecycle.families import FAMILY_NAMES
from lifecycle_support import files

#: Every metric the scheme reports (one per row of the realism table that applies to it).
NAMES = {
    "invoice_anniversary_share",
    "invoice_amount_mrr_share",
    "churn_near_term_end_share",
    "annual_logo_churn",
    "nrr_12m",
    "grr_12m",
    "nps",
    "detractor_churn_ratio",
    "acquisition_window_days",
    "signup_weekend_share",
    "event_business_hours_share",
    "event_weekend_share",
    "company_name_distinct_share",
    "company_names_with_ids",
    "typed_temporal_share",
}


def by_name(metrics: list[RealismMetric]) -> dict[str, RealismMetric]:
    return {m.name.removeprefix("lifecycle."): m for m in metrics}


@pytest.fixture(scope="module")
def medium_metrics(default_instructor: Path) -> dict[str, RealismMetric]:
    return by_name(measure_realism(default_instructor))


def test_every_metric_has_a_band_and_a_source(medium_metrics: dict[str, RealismMetric]) -> None:
    assert set(medium_metrics) == NAMES
    for m in medium_metrics.values():
        assert m.low is not None or m.high is not None, m.name
        assert m.source and m.label and not m.hidden, m.name


def test_a_calibrated_world_is_inside_every_band(medium_metrics: dict[str, RealismMetric]) -> None:
    """The intermediate world of seed 42 (3,000 customers): every figure inside its target band."""
    outside = {n: (m.value, m.band) for n, m in medium_metrics.items() if not m.ok}
    assert not outside, outside


def test_public_bundles_are_measured_on_what_they_publish(default_public: Path) -> None:
    got = by_name(measure_realism(default_public))
    assert set(got) == NAMES
    for name in ("invoice_anniversary_share", "invoice_amount_mrr_share", "typed_temporal_share"):
        assert got[name].ok, (name, got[name].value)
    assert 0.0 < got["annual_logo_churn"].value < 0.5  # annualised over the published exposure


def _copy(root: Path, tmp_path: Path) -> Path:
    out = tmp_path / "copy"
    shutil.copytree(root, out)
    return out


def _rewrite(root: Path, name: str, column: str, change: pa.Array) -> None:
    """Replace ``column`` of every part of table ``name`` (the first part gets ``change``)."""
    part = files(root / "tables" / name)[0]
    table = pq.read_table(part)
    pq.write_table(table.set_column(table.schema.get_field_index(column), column, change), part)


def _measure(root: Path) -> dict[str, RealismMetric]:
    """The scheme's hook on a tampered copy (its manifest hashes no longer match, so the
    envelope check of ``measure_realism`` is bypassed on purpose)."""
    manifest = Manifest.load(root)
    return by_name(realism.metrics(BundleView(root, manifest), manifest))


def test_invoice_metrics_catch_off_calendar_and_mispriced_invoices(
    default_instructor: Path, tmp_path: Path
) -> None:
    root = _copy(default_instructor, tmp_path)
    part = files(root / "tables" / "invoices")[0]
    invoices = pq.read_table(part)
    n = invoices.num_rows
    shifted = pc.cast(
        pc.add(pc.cast(invoices.column("invoice_date"), pa.int32()), pa.array(np.arange(n) % 2, pa.int32())),
        pa.date32(),
    )
    _rewrite(root, "invoices", "invoice_date", shifted)
    got = _measure(root)
    assert got["invoice_anniversary_share"].value < 0.6 and not got["invoice_anniversary_share"].ok
    root2 = _copy(default_instructor, tmp_path / "b")
    doubled = pc.multiply(invoices.column("amount_usd"), pa.scalar(2, pa.int64()))
    _rewrite(root2, "invoices", "amount_usd", doubled)
    assert _measure(root2)["invoice_amount_mrr_share"].value == 0.0


def test_name_metrics_catch_id_derived_names(default_instructor: Path, tmp_path: Path) -> None:
    root = _copy(default_instructor, tmp_path)
    accounts = pq.read_table(files(root / "tables" / "accounts")[0])
    ids = accounts.column("account_id").combine_chunks().cast(pa.large_string())
    named = pc.binary_join_element_wise(
        pa.scalar("Company", pa.large_string()), ids, pa.scalar(" ", pa.large_string())
    )
    _rewrite(root, "accounts", "company_name", named)
    got = _measure(root)
    assert got["company_names_with_ids"].value == 1.0 and not got["company_names_with_ids"].ok


def test_string_dates_fail_the_typed_metric(default_instructor: Path, tmp_path: Path) -> None:
    root = _copy(default_instructor, tmp_path)
    invoices = pq.read_table(files(root / "tables" / "invoices")[0])
    _rewrite(
        root, "invoices", "invoice_date", pc.strftime(invoices.column("invoice_date"), format="%Y-%m-%d")
    )
    got = _measure(root)
    assert got["typed_temporal_share"].value < 1.0 and not got["typed_temporal_share"].ok
    assert got["invoice_anniversary_share"].ok  # the dates themselves are still read


def test_days_reads_every_temporal_encoding() -> None:
    day = np.array([0, 19_999], dtype=np.int64)
    as_date = pa.array(day.astype(np.int32), pa.int32()).cast(pa.date32())
    as_text = pa.array(["1970-01-01", "2024-10-03"], pa.large_string())
    as_instant = pa.array(day * 86_400_000_000 + 3_600_000_000, pa.int64()).cast(pa.timestamp("us", tz="UTC"))
    for values in (as_date, as_text, as_instant):
        assert realism.days(values).tolist() == day.tolist()


@pytest.mark.slow
@pytest.mark.parametrize("tier", ["intro", "intermediate", "advanced"])
def test_default_size_worlds_meet_the_bands(make_bundle: Callable[..., Path], tier: str) -> None:
    """At the recipe's default size every metric is in band on seed 42 (the benchmark sweeps
    seeds 42-46), the advanced tier's detractor churn ratio included."""
    root = make_bundle("research_instructor", tier)
    outside = {n for n, m in by_name(measure_realism(root)).items() if not m.ok}
    assert not outside, outside


@pytest.mark.slow
@pytest.mark.parametrize("family", FAMILY_NAMES)
@pytest.mark.parametrize("tier", ["intro", "intermediate", "advanced"])
def test_every_family_meets_the_bands(make_bundle: Callable[..., Path], tier: str, family: str) -> None:
    """Seeds 42-46 hold three of the five families; a user's seed may pick any of them."""
    root = make_bundle("research_instructor", tier, seed=7, motif_family=family)
    outside = {n: (m.value, m.band) for n, m in by_name(measure_realism(root)).items() if not m.ok}
    assert not outside, outside


def _rounded(value: object) -> object:
    """Figure data with floats to nine significant digits (sums added shard by shard differ in
    the last bits from one sum over every row)."""
    if isinstance(value, float):
        return float(f"{value:.9g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_rounded(v) for v in value]
    return value


def test_report_figures_added_shard_by_shard_equal_one_pass_over_every_row(
    make_bundle: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lifecycle figures read one shard's customers and events at a time and add up counts
    and sums; read all at once (what the report falls back to when a shard's events name another
    shard's customers) they are the same figures."""
    from leadforge_lifecycle import report

    root = make_bundle("research_instructor", "intermediate", n_customers=3000, shard_size=500)
    manifest = Manifest.load(root)
    assert len(manifest.table_files("customers")) >= 4
    streamed = report.sections(BundleView(root, manifest), manifest)
    calls: list[int] = []

    def refuse(self: object, *_: object) -> bool:
        calls.append(1)
        return False

    monkeypatch.setattr(report._Totals, "add_part", refuse)
    whole = report.sections(BundleView(root, manifest), manifest)
    assert calls == [1], "the shard-by-shard pass stops at the first refusal"
    figures = [f for s in streamed for f in s.figures]
    assert all(f.available for f in figures), [f.id for f in figures if not f.available]
    for got, want in zip(figures, [f for s in whole for f in s.figures], strict=True):
        assert _rounded(got.data) == _rounded(want.data), got.id
        assert got.caption == want.caption, got.id
    churn = next(f for f in figures if f.id == "churn-renewal")
    events = pq.read_table(root / "tables" / "subscription_events", columns=["customer_id", "event_type"])
    churned = pc.unique(events.filter(pc.equal(events.column("event_type"), "churn")).column("customer_id"))
    assert sum(churn.data["counts"]) == churn.data["n"] <= len(churned)
