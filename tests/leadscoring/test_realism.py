"""Realism metrics of lead-scoring bundles: each one in its benchmark band, measured from the files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from leadforge.calendar import TIME_ZONES
from leadforge.realism import RealismMetric
from leadforge.validation import measure_realism
from leadscoring_support import table, utc_day

#: Every metric the scheme reports for an instructor bundle (hidden ones included).
INSTRUCTOR_METRICS = {
    "leads_with_opportunity_by_snapshot",
    "opportunity_win_rate",
    "lead_arrival_span_days",
    "lead_arrival_weekend_share",
    "lead_arrival_month_spread",
    "lead_arrival_quarter_end_lift",
    "touches_in_business_hours",
    "touches_weekend_share",
    "sales_activities_in_business_hours",
    "sales_activities_weekend_share",
    "sessions_weekend_share",
    "lead_source_conversion_ratio",
    "acv_top_1pct_share",
    "acv_max_over_p99",
    "acv_mode_share",
    "session_duration_mode_share",
    "touches_per_lead_p99",
    "phantom_event_share",
    "company_names_distinct",
    "company_names_with_digits",
    "work_email_on_company_domain",
    "campaign_touches_with_campaign_id",
    "window_features_out_of_domain",
    "typed_time_columns",
}
HIDDEN = {"opportunity_win_rate", "phantom_event_share"}


def by_name(metrics: list[RealismMetric]) -> dict[str, RealismMetric]:
    return {m.name: m for m in metrics}


@pytest.mark.slow
@pytest.mark.parametrize("tier", ["intro", "intermediate", "advanced"])
@pytest.mark.parametrize("seed", [42, 45])
def test_every_metric_is_in_its_band(bundle_factory: Callable[..., Path], seed: int, tier: str) -> None:
    metrics = by_name(measure_realism(bundle_factory(seed=seed, mode="research_instructor", tier=tier)))
    assert set(metrics) == INSTRUCTOR_METRICS
    failing = {n: (m.value, m.band) for n, m in metrics.items() if not m.ok}
    assert not failing, failing
    assert all(m.source for m in metrics.values())


def test_public_bundles_drop_the_hidden_metrics(bundle_factory: Callable[..., Path]) -> None:
    metrics = by_name(measure_realism(bundle_factory(mode="student_public")))
    assert set(metrics) == INSTRUCTOR_METRICS - HIDDEN
    # A public bundle still holds every opportunity opened by the snapshot day: same figure.
    instructor = by_name(measure_realism(bundle_factory(mode="research_instructor")))
    name = "leads_with_opportunity_by_snapshot"
    assert metrics[name].value == pytest.approx(instructor[name].value)


def test_metrics_follow_the_tables(bundle_factory: Callable[..., Path]) -> None:
    """The figures are computed from the files: recompute a few with pandas."""
    root = bundle_factory(mode="research_instructor")
    metrics = by_name(measure_realism(root))
    leads = table(root, "leads")
    opps = table(root, "opportunities").merge(leads[["lead_id", "lead_created_at"]], on="lead_id")
    day = (utc_day(opps["created_at"]) - utc_day(opps["lead_created_at"])).dt.days
    assert metrics["leads_with_opportunity_by_snapshot"].value == pytest.approx(
        opps.loc[day <= 30, "lead_id"].nunique() / len(leads)
    )
    closed = opps["close_outcome"].dropna()
    assert metrics["opportunity_win_rate"].value == pytest.approx((closed == "closed_won").mean())
    acv = np.sort(opps["estimated_acv"].to_numpy(dtype=float))
    top = acv[-(acv.size // 100) :].sum() / acv.sum()
    assert metrics["acv_top_1pct_share"].value == pytest.approx(top)
    touches = table(root, "touches").merge(leads[["lead_id", "account_id"]], on="lead_id")
    zones = table(root, "accounts").set_index("account_id")["time_zone"]
    assert set(zones) <= set(TIME_ZONES)
    parts = []
    for zone, g in touches.assign(zone=touches["account_id"].map(zones)).groupby("zone"):
        local = g["touch_timestamp"].dt.tz_convert(str(zone))
        parts.append(pd.DataFrame({"hour": local.dt.hour, "weekday": local.dt.day_of_week}))
    local_times = pd.concat(parts)
    hour, weekday = local_times["hour"], local_times["weekday"]
    inside = (hour >= 9) & (hour < 18) & (weekday < 5)
    assert metrics["touches_in_business_hours"].value == pytest.approx(inside.mean())
    assert metrics["touches_weekend_share"].value == pytest.approx((weekday >= 5).mean())


def test_the_card_reports_the_measured_deal_sizes(bundle_factory: Callable[..., Path]) -> None:
    root = bundle_factory(mode="research_instructor")
    card = (root / "dataset_card.md").read_text()
    acv = table(root, "opportunities")["estimated_acv"]
    assert f"estimated ACV of the {len(acv):,} opportunities" in card
    assert f"largest ${acv.max() / 1000:,.0f}k" in card
    median = float(acv.median())
    shown = float(card.split("median $", 1)[1].split("k", 1)[0].replace(",", "")) * 1000
    assert abs(shown - median) <= 0.02 * median + 500
    assert "18,000" not in card and "$42,000" not in card


#: Metrics measured on whole shards when a bundle has more leads than ``SAMPLE_LEADS``.
SHARD_SAMPLED = {
    "leads_with_opportunity_by_snapshot",
    "opportunity_win_rate",
    "touches_in_business_hours",
    "touches_weekend_share",
    "sales_activities_in_business_hours",
    "sales_activities_weekend_share",
    "sessions_weekend_share",
    "touches_per_lead_p99",
    "work_email_on_company_domain",
    "campaign_touches_with_campaign_id",
}


def test_shard_sampled_metrics_are_within_noise_of_every_row(
    bundle_factory: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sharded bundle measured on a few whole shards: the sampled metrics say so and land
    within sampling noise of the all-rows value; every other metric is unchanged."""
    from leadforge.bundle.reader import BundleView, Manifest
    from leadforge_leadscoring import realism

    root = bundle_factory(n_accounts=2400, n_contacts=6700, n_leads=8000, shard_accounts=240)
    manifest = Manifest.load(root)
    shards = len(manifest.table_files("leads"))
    assert shards >= 8
    exact = by_name(realism.metrics(BundleView(root, manifest), manifest))
    monkeypatch.setattr(realism, "SAMPLE_LEADS", 2500)
    sampled = by_name(realism.metrics(BundleView(root, manifest), manifest))
    assert set(sampled) == set(exact) == INSTRUCTOR_METRICS
    marked = {n for n, m in sampled.items() if f"of {shards} shards" in m.label}
    assert marked == SHARD_SAMPLED
    leads = int(
        sampled["touches_per_lead_p99"].label.split("shards, ")[1].split(" leads")[0].replace(",", "")
    )
    assert 2500 <= leads < 8000 * 0.6
    for name, full in exact.items():
        got = sampled[name]
        if name not in SHARD_SAMPLED:
            assert (got.value, got.label) == (full.value, full.label), name
        elif full.unit == "share":
            # four standard errors of a share over the sampled leads
            assert abs(got.value - full.value) <= 4 * np.sqrt(0.25 / leads), (name, got.value, full.value)
        else:
            assert abs(got.value - full.value) <= 0.2 * full.value, (name, got.value, full.value)


def test_streamed_metrics_and_funnel_equal_whole_table_values(bundle_factory: Callable[..., Path]) -> None:
    """Deal sizes, company-name distinctness, lead arrival and the report's funnel are streamed
    part by part into small structures (value counts, 64-bit hashes, leads per day, per-shard
    counts); on a sharded bundle each equals the value computed from the whole tables."""
    from leadforge.bundle.reader import BundleView, Manifest
    from leadforge_leadscoring import realism, report

    root = bundle_factory(n_accounts=2400, n_contacts=6700, n_leads=8000, shard_accounts=240)
    manifest = Manifest.load(root)
    assert len(manifest.table_files("leads")) >= 8
    got = by_name(realism.metrics(BundleView(root, manifest), manifest))

    acv = np.sort(
        pd.read_parquet(root / "tables" / "opportunities")["estimated_acv"].dropna().to_numpy(float)
    )
    assert got["acv_top_1pct_share"].value == pytest.approx(
        acv[-(acv.size // 100) :].sum() / acv.sum(), rel=1e-12
    )
    assert got["acv_max_over_p99"].value == pytest.approx(acv[-1] / np.quantile(acv, 0.99), rel=1e-12)
    assert got["acv_mode_share"].value == np.unique(acv, return_counts=True)[1].max() / acv.size

    names = pd.read_parquet(root / "tables" / "accounts")["company_name"]
    assert got["company_names_distinct"].value == names.nunique(dropna=False) / len(names)

    created = pd.read_parquet(root / "tables" / "leads")["lead_created_at"]
    day = utc_day(created)
    assert got["lead_arrival_span_days"].value == (day.max() - day.min()).days + 1
    weekend = pd.to_datetime(created, utc=True).dt.day_of_week >= 5
    assert got["lead_arrival_weekend_share"].value == pytest.approx(float(weekend.mean()), rel=1e-12)
    per_month = pd.to_datetime(created, utc=True).dt.strftime("%Y-%m").value_counts().sort_index().to_numpy()
    inner = per_month[1:-1] if per_month.size > 2 else per_month
    assert got["lead_arrival_month_spread"].value == pytest.approx(inner.max() / inner.min(), rel=1e-12)

    funnel = next(
        f
        for s in report.sections(BundleView(root, manifest), manifest)
        for f in s.figures
        if f.id == "funnel"
    )
    leads = pd.read_parquet(root / "tables" / "leads", columns=["lead_id", "is_sql", "current_stage"])
    with_opp = leads["lead_id"].isin(pd.read_parquet(root / "tables" / "opportunities")["lead_id"])
    sql = leads["is_sql"].astype(bool)
    won = leads["current_stage"] == "closed_won"
    assert funnel.data["steps"] == {
        "leads": len(leads),
        "SQL": int(sql.sum()),
        "opportunity": int((sql & with_opp).sum()),
        "closed won": int((sql & with_opp & won).sum()),
    }


def test_string_hashes_tell_apart_what_equality_does() -> None:
    """Distinctness by hash counts what ``pc.unique`` counts: near-duplicates, empty strings,
    nulls and sliced arrays included."""
    import pyarrow as pa
    import pyarrow.compute as pc
    from leadforge_leadscoring.realism import string_hashes

    words = ["Acme", "acme", "Acme ", "", None, "Acme", "Ab", "Ba", "aB", "", None, "Zeta Systems GmbH"]
    values = pa.array(words * 3 + [f"Company {i}" for i in range(500)], pa.string()).slice(2)
    hashes = string_hashes(values)
    assert hashes.size == len(values)
    assert np.unique(hashes).size == len(pc.unique(values))
    assert np.array_equal(string_hashes(values.slice(5, 40)), hashes[5:45])
