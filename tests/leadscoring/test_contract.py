"""The relational contract (spec §5): tables, columns, dtypes, ids, keys and funnel invariants."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from leadforge_leadscoring import tables
from leadforge_leadscoring import vocab as V

LABEL = V.DEFAULT_TASK
ID_FORMATS = {
    "accounts": ("account_id", "acct"),
    "contacts": ("contact_id", "cnt"),
    "leads": ("lead_id", "lead"),
    "touches": ("touch_id", "touch"),
    "sessions": ("session_id", "sess"),
    "sales_activities": ("activity_id", "act"),
    "opportunities": ("opportunity_id", "opp"),
    "customers": ("customer_id", "cust"),
    "subscriptions": ("subscription_id", "sub"),
}
EXPECTED_COLUMNS = {
    "accounts": "account_id company_name industry region employee_band estimated_revenue_band "
    "process_maturity_band created_at",
    "contacts": "contact_id account_id job_title role_function seniority buyer_role email_domain_type created_at",
    "leads": "lead_id contact_id account_id lead_created_at lead_source first_touch_channel current_stage "
    f"owner_rep_id is_sql {LABEL} conversion_timestamp",
    "touches": "touch_id lead_id touch_timestamp touch_type touch_channel touch_direction campaign_id",
    "sessions": "session_id lead_id session_timestamp session_type page_views pricing_page_views "
    "demo_page_views session_duration_seconds",
    "sales_activities": "activity_id lead_id rep_id activity_timestamp activity_type activity_outcome",
    "opportunities": "opportunity_id lead_id created_at stage estimated_acv close_outcome closed_at",
    "customers": "customer_id opportunity_id account_id customer_start_at",
    "subscriptions": "subscription_id customer_id plan_name subscription_start_at subscription_status",
}


def load(bundle: Path, name: str) -> pd.DataFrame:
    return pd.read_parquet(bundle / "tables" / f"{name}.parquet")


def test_instructor_tables_have_the_spec_columns_in_order(instructor: Path) -> None:
    manifest = json.loads((instructor / "manifest.json").read_text())
    assert list(manifest["tables"]) == list(tables.TABLE_ORDER)
    for name, cols in EXPECTED_COLUMNS.items():
        assert list(load(instructor, name).columns) == cols.split(), name


def test_dtypes_are_the_nullable_pandas_ones(instructor: Path) -> None:
    schemas = tables.schemas(LABEL)
    for name in tables.TABLE_ORDER:
        df = load(instructor, name)
        for col in schemas[name].columns:
            assert str(df[col.name].dtype) == col.dtype, (name, col.name, df[col.name].dtype)


def test_ids_are_prefixed_zero_padded_unique_and_in_creation_order(instructor: Path) -> None:
    for name, (key, prefix) in ID_FORMATS.items():
        ids = load(instructor, name)[key]
        assert ids.str.fullmatch(rf"{prefix}_\d{{6,}}").all(), name
        numbers = ids.str.slice(len(prefix) + 1).astype(int)
        assert numbers.is_unique, name
        assert numbers.is_monotonic_increasing, name
    leads = load(instructor, "leads")
    assert leads["lead_id"].tolist() == [f"lead_{i:06d}" for i in range(1, len(leads) + 1)]


def test_foreign_keys_hold(instructor: Path) -> None:
    for child, col, parent, pcol in tables.FOREIGN_KEYS:
        values = load(instructor, child)[col].dropna()
        assert values.isin(set(load(instructor, parent)[pcol])).all(), f"{child}.{col} -> {parent}.{pcol}"


def test_value_sets_and_ranges(instructor: Path) -> None:
    acc = load(instructor, "accounts")
    assert set(acc["employee_band"]) <= set(V.EMPLOYEE_BANDS)
    assert set(acc["estimated_revenue_band"]) <= set(V.REVENUE_BANDS)
    assert (acc["company_name"] == "Company " + acc["account_id"]).all()
    assert acc["created_at"].between("2022-01-01", "2023-12-02").all()
    leads = load(instructor, "leads")
    assert leads["lead_created_at"].between("2024-01-01", "2024-01-30").all()
    assert (leads["first_touch_channel"] == leads["lead_source"]).all()
    assert set(leads["current_stage"]) <= set(V.STAGES)
    contacts = load(instructor, "contacts").set_index("contact_id")
    assert (leads["account_id"] == contacts.loc[leads["contact_id"], "account_id"].to_numpy()).all()
    sessions = load(instructor, "sessions")
    assert sessions["page_views"].between(1, 10).all()
    assert (
        sessions["pricing_page_views"].between(0, 2).all() and sessions["demo_page_views"].between(0, 2).all()
    )
    assert sessions["session_duration_seconds"].between(60, 600).all()
    touches = load(instructor, "touches").merge(leads[["lead_id", "lead_source"]], on="lead_id")
    assert (touches["touch_channel"] == touches["lead_source"]).all()
    inbound = touches["lead_source"] == "inbound_marketing"
    assert (touches["touch_direction"] == inbound.map({True: "inbound", False: "outbound"})).all()
    assert touches["campaign_id"].isna().all()
    acts = load(instructor, "sales_activities").merge(leads[["lead_id", "owner_rep_id"]], on="lead_id")
    assert (acts["rep_id"] == acts["owner_rep_id"]).all()


def test_funnel_invariants(instructor: Path) -> None:
    """Spec §4.3: one opportunity per SQL lead with the lead's stage; outcomes follow the stage;
    every won lead has exactly one opportunity, customer and subscription."""
    leads = load(instructor, "leads").set_index("lead_id")
    opps = load(instructor, "opportunities")
    assert opps["lead_id"].is_unique
    assert set(opps["lead_id"]) == set(leads.index[leads["is_sql"]])
    joined = opps.join(leads, on="lead_id")
    assert (joined["stage"] == joined["current_stage"]).all()
    terminal = joined["stage"].isin(["closed_won", "closed_lost"])
    assert (joined["close_outcome"].notna() == terminal).all()
    assert (joined.loc[terminal, "close_outcome"] == joined.loc[terminal, "stage"]).all()
    assert (joined["closed_at"].notna() == terminal).all()
    assert (joined["created_at"] >= joined["lead_created_at"]).all()
    won = leads.index[leads["current_stage"] == "closed_won"]
    customers = load(instructor, "customers")
    subs = load(instructor, "subscriptions")
    cust_leads = customers.merge(opps[["opportunity_id", "lead_id"]], on="opportunity_id")["lead_id"]
    assert sorted(cust_leads) == sorted(won)
    assert subs["customer_id"].is_unique and set(subs["customer_id"]) == set(customers["customer_id"])
    assert (subs["subscription_status"] == "active").all()
    plans = subs.merge(customers, on="customer_id").merge(opps, on="opportunity_id")
    expected = pd.cut(
        plans["estimated_acv"], [0, 29_999, 79_999, 10**9], labels=["starter", "growth", "enterprise"]
    )
    assert (plans["plan_name"] == expected.astype(str)).all()
    assert (plans["customer_start_at"] == plans["closed_at"]).all()
    ranges = dict(zip(V.EMPLOYEE_BANDS, V.ACV_RANGES, strict=True))
    bands = opps.join(leads, on="lead_id").merge(load(instructor, "accounts"), on="account_id")[
        "employee_band"
    ]
    lo = bands.map(lambda b: ranges[b][0])
    hi = bands.map(lambda b: ranges[b][1])
    assert opps["estimated_acv"].between(lo, hi).all()


@pytest.mark.parametrize("table", ["touches", "sessions", "sales_activities"])
def test_events_lie_within_each_leads_horizon(instructor: Path, table: str) -> None:
    ts = {
        "touches": "touch_timestamp",
        "sessions": "session_timestamp",
        "sales_activities": "activity_timestamp",
    }[table]
    events = load(instructor, table).merge(load(instructor, "leads"), on="lead_id")
    day = (pd.to_datetime(events[ts]) - pd.to_datetime(events["lead_created_at"])).dt.days
    assert day.between(0, 89).all()
    ended = events["conversion_timestamp"].notna()
    assert (events.loc[ended, ts] <= events.loc[ended, "conversion_timestamp"]).all()


def test_row_count_ratios_are_plausible(bundle_factory) -> None:  # type: ignore[no-untyped-def]
    """Default-size world: SQL share, opportunities and event volumes near the spec's ratios."""
    b = bundle_factory(mode="research_instructor")
    m = json.loads((b / "manifest.json").read_text())["tables"]
    n = m["leads"]["row_count"]
    assert n == 5000 and m["accounts"]["row_count"] == 1500 and m["contacts"]["row_count"] == 4200
    assert 0.85 <= m["opportunities"]["row_count"] / n <= 0.99
    assert 6 <= m["touches"]["row_count"] / n <= 25
    assert 1.5 <= m["sessions"]["row_count"] / n <= 8
    assert 6 <= m["sales_activities"]["row_count"] / n <= 20
    assert 0.18 <= m["customers"]["row_count"] / n <= 0.28
