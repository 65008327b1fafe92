"""The relational contract: what the scheme declares, that bundles follow it, that core enforces it,
and the funnel invariants no contract can express."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from leadforge.bundle import ID_BLOCK, Manifest
from leadforge.config import GenerationConfig
from leadforge_leadscoring import vocab as V
from leadforge_leadscoring.contract import contract, schemas
from leadforge_leadscoring.population import Shard
from leadscoring_support import (
    LABEL,
    SMALL,
    errors,
    generator,
    id_numbers,
    make_world,
    table,
    tampered,
    utc_day,
    validate,
)

#: How pandas reads each bundle dtype back (dates as ``datetime.date`` objects).
PANDAS = {"timestamp": "datetime64[us, UTC]", "date": "object"}

EXPECTED_COLUMNS = {
    "accounts": "account_id company_name industry region employee_band estimated_revenue_band "
    "process_maturity_band time_zone created_at",
    "contacts": "contact_id account_id first_name last_name email job_title role_function seniority buyer_role "
    "email_domain_type created_at",
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
#: table -> (primary key, id prefix, numbering, time column, foreign keys as column -> parent)
DECLARED = {
    "accounts": ("account_id", "acct", "plan", "created_at", {}),
    "contacts": ("contact_id", "cnt", "plan", "created_at", {"account_id": "accounts"}),
    "leads": (
        "lead_id",
        "lead",
        "plan",
        "lead_created_at",
        {"contact_id": "contacts", "account_id": "accounts"},
    ),
    "touches": ("touch_id", "touch", "owner", "touch_timestamp", {"lead_id": "leads"}),
    "sessions": ("session_id", "sess", "owner", "session_timestamp", {"lead_id": "leads"}),
    "sales_activities": ("activity_id", "act", "owner", "activity_timestamp", {"lead_id": "leads"}),
    "opportunities": ("opportunity_id", "opp", "owner", "created_at", {"lead_id": "leads"}),
    "customers": (
        "customer_id",
        "cust",
        "owner",
        "customer_start_at",
        {"opportunity_id": "opportunities", "account_id": "accounts"},
    ),
    "subscriptions": (
        "subscription_id",
        "sub",
        "owner",
        "subscription_start_at",
        {"customer_id": "customers"},
    ),
}
CUT = ("touches", "sessions", "sales_activities", "opportunities")
#: Each owner-numbered table's owner column and how many rows one owner may hold.
OWNERS = {
    "touches": ("lead_id", 10_000),
    "sessions": ("lead_id", 10_000),
    "sales_activities": ("lead_id", 10_000),
    "opportunities": ("lead_id", 1),
    "customers": ("opportunity_id", 1),
    "subscriptions": ("customer_id", 1),
}


def config(mode: str = "student_public", **params: object) -> GenerationConfig:
    return generator(mode=mode, **params).config


def test_contract_declares_the_nine_tables() -> None:
    c = contract(config())
    assert c.names == list(EXPECTED_COLUMNS)
    for t in c:
        key, prefix, numbering, time, fks = DECLARED[t.name]
        assert (t.primary_key, t.id_prefix, t.numbering, t.time_column) == (key, prefix, numbering, time)
        assert {fk.column: fk.parent for fk in t.foreign_keys} == fks, t.name
        assert t.schema.names == EXPECTED_COLUMNS[t.name].split(), t.name
        assert t.schema == schemas(LABEL)[t.name]
        assert all(fk.not_before_parent and not fk.nullable for fk in t.foreign_keys), t.name
        if t.numbering == "owner":
            assert (t.owner, t.rows_per_owner) == OWNERS[t.name], t.name


def test_public_view_cuts_at_each_leads_snapshot_day() -> None:
    c = contract(config(snapshot_day=21))
    assert [t.name for t in c if t.public.omit] == ["customers", "subscriptions"]
    assert set(c["leads"].public.drop) == {LABEL, "conversion_timestamp"}
    assert set(c["opportunities"].public.drop) == {"stage", "close_outcome", "closed_at"}
    for t in c:
        cut = t.public.cut
        if t.name in CUT:
            assert cut is not None and (cut.via, cut.anchor_column, cut.offset_days) == (
                "lead_id",
                "lead_created_at",
                21,
            )
        else:
            assert cut is None, t.name
    assert [t.name for t in c if t.public.drop] == ["leads", "opportunities"]


def test_label_column_follows_primary_task() -> None:
    c = contract(config(primary_task="won_60d", label_window_days=60, snapshot_day=14))
    assert "won_60d" in c["leads"].schema.names and LABEL not in c["leads"].schema.names
    assert "won_60d" in c["leads"].public.drop


@pytest.mark.parametrize("mode", ["research_instructor", "student_public"])
def test_bundles_record_the_contract_and_follow_it(bundle_factory, mode: str) -> None:  # type: ignore[no-untyped-def]
    root = bundle_factory(mode=mode, **SMALL)
    manifest = Manifest.load(root)
    declared = contract(config(mode, **SMALL))
    assert manifest.contract is not None and manifest.contract.to_json() == declared.to_json()
    expected = declared.public_tables() if manifest.is_public else list(declared)
    assert list(manifest.tables) == [t.name for t in expected]
    for t in expected:
        schema = t.public_schema(manifest.redacted_columns) if manifest.is_public else t.schema
        assert list(table(root, t.name).columns) == schema.names, t.name
        for col in schema.columns:
            want = PANDAS.get(col.dtype, col.dtype)
            assert str(table(root, t.name)[col.name].dtype) == want, (t.name, col.name)
    report = validate(root)
    assert report.ok, [str(f) for f in report.errors]


def test_every_child_row_is_dated_on_or_after_its_parent(instructor: Path) -> None:
    """What ``not_before_parent`` promises, measured: the world creates every account before
    its contacts, every contact before its leads, and every event, opportunity, customer and
    subscription after the row it belongs to."""
    c = contract(config("research_instructor", **SMALL))
    for t in c:
        for fk in t.foreign_keys:
            parent = c[fk.parent]
            child = table(instructor, t.name)
            when = table(instructor, parent.name).set_index(parent.primary_key)[parent.time_column]
            gap = (utc_day(child[t.time_column]) - utc_day(child[fk.column].map(when))).dt.days
            assert gap.notna().all() and gap.min() >= 0, (t.name, fk.column, gap.min())


def shard_of_leads(plan: tuple[Shard, ...], lead_numbers: np.ndarray) -> np.ndarray:
    ends = np.cumsum([s.n_leads for s in plan])
    return np.searchsorted(ends, lead_numbers - 1, side="right")


def test_plan_ids_are_dense_and_owned_ids_follow_their_owner(instructor: Path, public: Path) -> None:
    for name, prefix in (("accounts", "acct"), ("contacts", "cnt"), ("leads", "lead")):
        key = DECLARED[name][0]
        ids = table(instructor, name)[key]
        assert ids.tolist() == [f"{prefix}_{i:06d}" for i in range(1, len(ids) + 1)], name
    plan = make_world(**SMALL).plan
    assert len(plan) >= 3
    for name in CUT:
        # public: shard k's kept rows are k·10⁹ + 1, 2, … in row order
        t = table(public, name)
        number = id_numbers(t[DECLARED[name][0]]).to_numpy()
        block, rank = number // ID_BLOCK, number % ID_BLOCK
        np.testing.assert_array_equal(block, shard_of_leads(plan, id_numbers(t["lead_id"]).to_numpy()))
        for k in np.unique(block):
            np.testing.assert_array_equal(rank[block == k], np.arange(1, int((block == k).sum()) + 1))
    for name, (owner, per) in OWNERS.items():
        # instructor: the owner's number, then the row's place among the owner's rows
        t = table(instructor, name)
        number = id_numbers(t[DECLARED[name][0]]).to_numpy()
        ordinal = t.groupby(owner).cumcount().to_numpy()
        np.testing.assert_array_equal(number, id_numbers(t[owner]).to_numpy() * per + ordinal)


def test_core_catches_a_contact_dated_before_its_account(instructor: Path, tmp_path: Path) -> None:
    def edit(t: pa.Table, root: Path) -> pa.Table:
        first = pa.array(np.arange(t.num_rows) == 0)
        early = pc.if_else(first, pa.scalar(dt.date(1999, 1, 1), pa.date32()), t.column("created_at"))
        return t.set_column(t.column_names.index("created_at"), "created_at", early)

    found = errors(tampered(instructor, tmp_path, "contacts", edit))
    assert any(
        f.startswith("tables/contacts.parquet") and "dated before the accounts row" in f for f in found
    ), found


def test_core_catches_a_touch_of_an_unknown_lead_and_a_duplicate_id(instructor: Path, tmp_path: Path) -> None:
    def edit(t: pa.Table, root: Path) -> pa.Table:
        first = t.slice(0, 1).to_pylist()[0]
        ghost = dict(first, touch_id="touch_000777000", lead_id="lead_999999")
        return pa.concat_tables([t, pa.Table.from_pylist([first, ghost], schema=t.schema)])

    found = errors(tampered(instructor, tmp_path, "touches", edit))
    assert any(f.startswith("tables/touches.parquet:touch_id") and "duplicate" in f for f in found), found
    assert any(f.startswith("tables/touches.parquet:lead_id") and "do not resolve" in f for f in found), found


def test_value_sets_and_ranges(instructor: Path) -> None:
    acc = table(instructor, "accounts")
    assert set(acc["employee_band"]) <= set(V.EMPLOYEE_BANDS)
    assert set(acc["estimated_revenue_band"]) <= set(V.REVENUE_BANDS)
    names = acc["company_name"]
    assert names.is_unique or names.nunique() >= 0.95 * len(names)
    assert not names.str.contains(r"\d").any() and not names.str.contains("acct").any()
    assert set(acc["time_zone"]) <= {
        "America/New_York",
        "America/Chicago",
        "America/Denver",
        "America/Phoenix",
        "America/Los_Angeles",
        "Europe/London",
    }
    assert (acc.loc[acc["region"] == "UK", "time_zone"] == "Europe/London").all()
    assert acc["created_at"].between(dt.date(2023, 1, 2), dt.date(2024, 12, 2)).all()
    leads = table(instructor, "leads")
    assert leads["lead_created_at"].between(dt.date(2025, 1, 1), dt.date(2025, 12, 31)).all()
    people = table(instructor, "contacts")
    corporate = people["email_domain_type"] == "corporate"
    assert people.loc[people["email_domain_type"] == "unknown", "email"].isna().all()
    assert people.loc[~(people["email_domain_type"] == "unknown"), "email"].str.contains("@").all()
    domain = people.loc[corporate, "email"].str.split("@").str[1].str.split(".").str[0]
    company = people.loc[corporate, "account_id"].map(acc.set_index("account_id")["company_name"])
    folded = company.str.lower().str.replace(r"[^a-z]", "", regex=True)
    assert all(d in c for d, c in zip(domain, folded, strict=True))
    assert (leads["first_touch_channel"] == leads["lead_source"]).all()
    assert set(leads["current_stage"]) <= set(V.STAGES)
    contacts = table(instructor, "contacts").set_index("contact_id")
    assert (leads["account_id"] == contacts.loc[leads["contact_id"], "account_id"].to_numpy()).all()
    sessions = table(instructor, "sessions")
    assert sessions["page_views"].between(1, 10).all()
    assert (
        sessions["pricing_page_views"].between(0, 2).all() and sessions["demo_page_views"].between(0, 2).all()
    )
    assert (sessions["session_duration_seconds"] >= 1).all()
    assert sessions["session_duration_seconds"].value_counts(normalize=True).max() <= 0.01
    touches = table(instructor, "touches").merge(leads[["lead_id", "lead_source"]], on="lead_id")
    assert (touches["touch_channel"] == touches["lead_source"]).all()
    inbound = touches["lead_source"] == "inbound_marketing"
    assert (touches["touch_direction"] == inbound.map({True: "inbound", False: "outbound"})).all()
    marketing = touches["touch_type"].isin(["webinar", "content_download"]) | (
        (touches["touch_type"] == "email") & inbound
    )
    assert touches.loc[marketing, "campaign_id"].str.fullmatch(r"cmp_\d{6}").all()
    assert touches.loc[~marketing, "campaign_id"].isna().all()
    acts = table(instructor, "sales_activities").merge(leads[["lead_id", "owner_rep_id"]], on="lead_id")
    assert (acts["rep_id"] == acts["owner_rep_id"]).all()


def test_funnel_invariants(instructor: Path) -> None:
    """One opportunity per SQL lead with the lead's stage; outcomes follow the stage; every won
    lead has exactly one opportunity, customer and subscription."""
    leads = table(instructor, "leads").set_index("lead_id")
    opps = table(instructor, "opportunities")
    assert opps["lead_id"].is_unique
    assert set(opps["lead_id"]) == set(leads.index[leads["is_sql"]])
    joined = opps.join(leads, on="lead_id")
    assert (joined["stage"] == joined["current_stage"]).all()
    terminal = joined["stage"].isin(["closed_won", "closed_lost"])
    assert (joined["close_outcome"].notna() == terminal).all()
    assert (joined.loc[terminal, "close_outcome"] == joined.loc[terminal, "stage"]).all()
    assert (joined["closed_at"].notna() == terminal).all()
    won = leads.index[leads["current_stage"] == "closed_won"]
    customers = table(instructor, "customers")
    subs = table(instructor, "subscriptions")
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
    acv = opps["estimated_acv"]
    assert (acv > 0).all() and (acv % 100 == 0).all()
    bands = opps.join(leads, on="lead_id").merge(table(instructor, "accounts"), on="account_id")
    medians = bands.groupby("employee_band")["estimated_acv"].median().reindex(list(V.EMPLOYEE_BANDS))
    assert medians.is_monotonic_increasing, medians


@pytest.mark.parametrize("name", ["touches", "sessions", "sales_activities"])
def test_events_lie_within_each_leads_horizon(instructor: Path, name: str) -> None:
    ts = DECLARED[name][3]
    events = table(instructor, name).merge(table(instructor, "leads"), on="lead_id")
    day = (utc_day(events[ts]) - utc_day(events["lead_created_at"])).dt.days
    # Local day 0-89; a US evening falls on the next UTC day.
    assert day.between(0, 90).all()
    # After a close won only the CRM's customer touches carry on (onboarding, customer marketing).
    if name == "touches":
        return
    ended = events["conversion_timestamp"].notna()
    close = utc_day(events.loc[ended, "conversion_timestamp"])
    assert (utc_day(events.loc[ended, ts]) <= close + pd.Timedelta(days=1)).all()


def test_row_count_ratios_are_plausible(bundle_factory) -> None:  # type: ignore[no-untyped-def]
    """Default-size world: SQL share, opportunities and event volumes near the intended ratios."""
    b = bundle_factory(mode="research_instructor")
    m = json.loads((b / "manifest.json").read_text())["tables"]
    n = m["leads"]["row_count"]
    assert n == 5000 and m["accounts"]["row_count"] == 1500 and m["contacts"]["row_count"] == 4200
    assert 0.45 <= m["opportunities"]["row_count"] / n <= 0.80
    assert 6 <= m["touches"]["row_count"] / n <= 25
    assert 1.5 <= m["sessions"]["row_count"] / n <= 8
    assert 6 <= m["sales_activities"]["row_count"] / n <= 20
    assert 0.18 <= m["customers"]["row_count"] / n <= 0.28
