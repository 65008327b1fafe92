"""The six relational tables: columns and dtypes, keys, and the chains that must add up."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from leadforge.api import Generator
from leadforge.bundle import ID_BLOCK
from leadforge.errors import InvalidConfigError
from leadforge_lifecycle.engine import EXPANSION
from lifecycle_support import RECIPE, days_from, files, manifest, table, task_rows

OBS = "2025-01-27"
#: How pandas reads the typed time columns: ``date32`` as ``datetime.date`` cells, instants as UTC.
DATE, INSTANT = "object", "datetime64[us, UTC]"
COLUMNS = {
    "accounts": {
        "account_id": "string", "company_name": "string", "industry": "string", "region": "string",
        "employee_band": "string", "estimated_revenue_band": "string", "process_maturity_band": "string",
        "time_zone": "string", "created_at": DATE,
    },
    "customers": {
        "customer_id": "string", "account_id": "string", "customer_start_at": DATE, "initial_plan": "string",
        "initial_mrr": "Int64", "contract_term_months": "Int64", "csm_rep_id": "string", "opportunity_id": "string",
    },
    "subscriptions": {
        "subscription_id": "string", "customer_id": "string", "plan_name": "string", "subscription_status": "string",
        "subscription_start_at": DATE, "current_mrr": "Int64", "contract_term_months": "Int64",
        "renewal_count": "Int64", "expansion_count": "Int64", "subscription_end_at": DATE, "churn_at": DATE,
        "churn_reason": "string", "current_plan": "string", "downgrade_count": "Int64",
    },
    "subscription_events": {
        "event_id": "string", "subscription_id": "string", "customer_id": "string", "event_timestamp": INSTANT,
        "event_type": "string", "mrr_before": "Int64", "mrr_after": "Int64", "contract_term_months_new": "Int64",
    },
    "health_signals": {
        "signal_id": "string", "customer_id": "string", "period_start": DATE, "active_users": "Int64",
        "feature_depth_score": "Float64", "support_tickets": "Int64", "nps_score": "Int64",
    },
    "invoices": {
        "invoice_id": "string", "customer_id": "string", "invoice_date": DATE, "amount_usd": "Int64",
        "payment_status": "string",
    },
}  # fmt: skip
PUBLIC_SUBSCRIPTIONS = [
    "subscription_id",
    "customer_id",
    "plan_name",
    "subscription_start_at",
    "contract_term_months",
]
ID_PATTERN = {
    "accounts": r"acct_\d{6,}", "customers": r"cust_\d{6,}", "subscriptions": r"sub_\d{6,}",
    "subscription_events": r"subev_\d{6,}", "health_signals": r"hsig_\d{6,}", "invoices": r"inv_\d{6,}",
}  # fmt: skip


@pytest.mark.parametrize("mode", ["instructor", "public"])
def test_table_contract(small_instructor: Path, small_public: Path, mode: str) -> None:
    root = small_instructor if mode == "instructor" else small_public
    assert list(manifest(root)["tables"]) == list(COLUMNS)
    for name, columns in COLUMNS.items():
        frame = table(root, name)
        expected = dict(columns)
        if name == "subscriptions" and mode == "public":
            expected = {c: columns[c] for c in PUBLIC_SUBSCRIPTIONS}
        assert {c: str(t) for c, t in frame.dtypes.items()} == expected, name
        key = next(iter(expected))
        assert frame[key].is_unique and frame[key].str.fullmatch(ID_PATTERN[name]).all(), name


def test_population_shape(small_instructor: Path) -> None:
    accounts, customers = table(small_instructor, "accounts"), table(small_instructor, "customers")
    assert len(customers) == 400 and len(accounts) == 400 // 3
    assert set(accounts.industry) == {
        "manufacturing",
        "logistics",
        "professional_services",
        "healthcare_non_clinical",
    }
    assert set(accounts.region) == {"US", "UK"}
    assert accounts.company_name.is_unique or accounts.company_name.nunique() >= 0.95 * len(accounts)
    assert not accounts.company_name.str.contains(r"\d|acct", regex=True).any()
    assert accounts.time_zone.str.fullmatch(r"America/\w+|Europe/London").all()
    start = days_from(customers.customer_start_at, OBS)
    assert start.min() >= -456 and start.max() <= -1
    bounds = {"starter": (1000, 3500), "growth": (3500, 9000), "enterprise": (9000, 25000)}
    for plan, (lo, hi) in bounds.items():
        mrr = customers.initial_mrr[customers.initial_plan == plan]
        assert len(mrr) and mrr.between(lo, hi).all()
    assert set(customers.contract_term_months) == {12, 24}
    assert customers.opportunity_id.isna().all()
    assert customers.csm_rep_id.str.fullmatch(r"rep_00000[1-8]").all()


@pytest.mark.parametrize(("tier", "two_year"), [("intermediate", 0.35), ("advanced", 0.0)])
def test_the_tier_sets_the_contract_mix(tier: str, two_year: float) -> None:
    """The profile's ``two_year_share`` decides the terms: the advanced tier signs annual contracts
    only, so its renewal calendar tells less about who leaves within a churn window."""
    gen = Generator.from_recipe(RECIPE, difficulty=tier, seed=3, n_customers=4000)
    world = gen.generate().world
    assert world.profile.two_year_share == two_year
    terms = np.concatenate([world.customers(k).term_months for k in range(world.n_shards)])
    assert set(np.unique(terms)) <= {12, 24}
    assert abs(float(np.mean(terms == 24)) - two_year) < 0.03


def test_a_contract_mix_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(InvalidConfigError, match="two_year_share must be within"):
        replace(Generator.from_recipe(RECIPE).config.profile, two_year_share=1.2).check()


@pytest.mark.parametrize("ceiling", [2.0, 6.0])
def test_no_account_expands_past_its_ceiling(ceiling: float) -> None:
    """Every expansion starts below ``expansion_ceiling`` × the signing MRR, so the largest account
    ends within one step of its ceiling, and accounts do grow up to it."""
    gen = Generator.from_recipe(RECIPE, difficulty="intro", seed=5, n_customers=4000)
    profile = replace(gen.config.profile, expansion_ceiling=ceiling)
    world = replace(gen, config=replace(gen.config, profile=profile)).generate().world
    shard = world.simulate(0)
    events, initial = shard.trajectories.events, shard.customers.initial_mrr
    grown = events.kind == EXPANSION
    assert grown.sum() > 500
    assert (events.mrr_before[grown] < ceiling * initial[events.customer[grown]]).all()
    growth = shard.trajectories.final_mrr / initial
    assert growth.max() <= ceiling * (1 + world.mechanism.motif.expansion.expansion_mrr_frac_range[1])
    assert growth.max() > min(ceiling, 3.0)


def test_an_expansion_ceiling_below_one_and_a_half_is_refused() -> None:
    with pytest.raises(InvalidConfigError, match="expansion_ceiling must be within"):
        replace(Generator.from_recipe(RECIPE).config.profile, expansion_ceiling=1.0).check()


@pytest.mark.parametrize(("tier", "trait_scale", "spread"), [("intro", 0.6, 0.0), ("advanced", None, 0.8)])
def test_the_tier_sets_how_accounts_expand(tier: str, trait_scale: float | None, spread: float) -> None:
    """Intro caps how strongly traits drive expansion (the rest keep their signal scale); the
    spread tiers draw some expansions far above the family's step range, intro none."""
    gen = Generator.from_recipe(RECIPE, difficulty=tier, seed=7, n_customers=4000)
    world = gen.generate().world
    mech = world.mechanism
    assert world.profile.expansion_trait_scale == trait_scale
    assert mech.expansion_latent_scale == (mech.latent_scale if trait_scale is None else trait_scale)
    assert mech.summary()["expansion_propensity"]["expansion_step_spread"] == spread
    events = world.simulate(0).trajectories.events
    grown = events.kind == EXPANSION
    share = (events.mrr_after[grown] - events.mrr_before[grown]) / events.mrr_before[grown]
    top = mech.motif.expansion.expansion_mrr_frac_range[1]
    assert (share.max() > 1.5 * top) == (spread > 0)


@pytest.mark.parametrize(("key", "value"), [("expansion_trait_scale", 2.5), ("expansion_step_spread", 1.2)])
def test_expansion_knobs_outside_their_range_are_refused(key: str, value: float) -> None:
    with pytest.raises(InvalidConfigError, match=f"{key} must be within"):
        replace(Generator.from_recipe(RECIPE).config.profile, **{key: value}).check()


def test_foreign_keys(small_instructor: Path, small_public: Path) -> None:
    for root in (small_instructor, small_public):
        accounts, customers = table(root, "accounts"), table(root, "customers")
        subs = table(root, "subscriptions")
        assert customers.account_id.isin(accounts.account_id).all()
        assert subs.customer_id.is_unique and set(subs.customer_id) == set(customers.customer_id)
        assert (subs.subscription_id.str[4:] == subs.customer_id.str[5:]).all()
        events = table(root, "subscription_events")
        assert events.subscription_id.isin(subs.subscription_id).all()
        pairs = events.merge(subs, on="subscription_id", suffixes=("", "_sub"))
        assert (pairs.customer_id == pairs.customer_id_sub).all()
        for name in ("health_signals", "invoices"):
            assert table(root, name).customer_id.isin(customers.customer_id).all()


@pytest.mark.parametrize("mode", ["instructor", "public"])
def test_event_ids_are_numbered_per_shard_or_per_customer(
    small_instructor: Path, small_public: Path, mode: str
) -> None:
    """Public: shard k's rows (part file k) are numbered k·10⁹ + 1, 2, … in row order after the cut,
    dense within a shard and independent of every other shard. Instructor: each customer's rows
    are numbered customer_number·10⁴ + 0, 1, …, depending on that customer's rows alone. Either
    way a customer's rows sit together in time order."""
    root = small_instructor if mode == "instructor" else small_public
    for name, key in (
        ("subscription_events", "event_id"),
        ("health_signals", "signal_id"),
        ("invoices", "invoice_id"),
    ):
        parts = files(root / "tables" / name)
        assert len(parts) == 3, name
        for k, part in enumerate(parts):
            group = pq.read_table(part, columns=[key, "customer_id"]).to_pandas()
            numbers = group[key].str.split("_").str[1].astype(int).to_numpy()
            customer = group.customer_id.str[5:].astype(int).to_numpy()
            assert (np.diff(customer) >= 0).all(), (name, k)
            if mode == "public":
                assert (numbers == k * ID_BLOCK + np.arange(1, len(group) + 1)).all(), (name, k)
            else:
                ordinal = group.groupby("customer_id").cumcount().to_numpy()
                assert (numbers == customer * 10_000 + ordinal).all(), (name, k)


def test_event_chain_reproduces_terminal_mrr(small_instructor: Path) -> None:
    customers = table(small_instructor, "customers").set_index("customer_id")
    subs = table(small_instructor, "subscriptions").set_index("customer_id")
    events = table(small_instructor, "subscription_events")
    moves = events[events.event_type.isin(["expansion", "contraction"])]
    delta = (moves.mrr_after - moves.mrr_before).groupby(moves.customer_id).sum()
    chained = customers.initial_mrr.add(delta, fill_value=0).astype("Int64")
    assert (chained == subs.current_mrr.loc[chained.index]).all()
    assert (moves[moves.event_type == "contraction"].eval("mrr_after < mrr_before")).all()
    churn = events[events.event_type == "churn"].set_index("customer_id")
    assert (churn.mrr_after == 0).all()
    assert (churn.mrr_before == subs.current_mrr.loc[churn.index]).all()
    assert (days_from(subs.loc[churn.index].churn_at, OBS) == days_from(churn.event_timestamp, OBS)).all()
    counts = events.groupby(["customer_id", "event_type"]).size().unstack(fill_value=0)
    counts = counts.reindex(subs.index, fill_value=0)
    assert (counts.expansion == subs.expansion_count).all()
    assert (counts.contraction == subs.downgrade_count).all()
    assert (counts.renewal == subs.renewal_count).all()


def test_invoice_chain_reproduces_revenue(small_instructor: Path) -> None:
    """Each revenue label is the sum of the paid/recovered invoices issued in its window."""
    invoices = table(small_instructor, "invoices")
    invoices["day"] = days_from(invoices.invoice_date, OBS)
    collected = invoices[invoices.payment_status.isin(["paid", "recovered"])]
    rows = task_rows(small_instructor, "pltv_revenue_365d").set_index("customer_id")
    window = collected[(collected.day > 0) & (collected.day <= 365)]
    revenue = window.groupby("customer_id").amount_usd.sum().reindex(rows.index, fill_value=0)
    assert np.array_equal(revenue.to_numpy(dtype=float), rows.ltv_revenue_365d.to_numpy(dtype=float))
    assert revenue.sum() > 0


def test_invoices_bill_the_mrr_in_effect(small_instructor: Path) -> None:
    invoices = table(small_instructor, "invoices")
    events = table(small_instructor, "subscription_events")
    customers = table(small_instructor, "customers").set_index("customer_id")
    moves = events[events.event_type.isin(["expansion", "contraction"])].sort_values(
        ["event_timestamp", "event_id"]
    )
    merged = pd.merge_asof(
        invoices.assign(t=days_from(invoices.invoice_date, OBS)).sort_values("t"),
        moves.assign(t=days_from(moves.event_timestamp, OBS))[["t", "customer_id", "mrr_after"]].sort_values(
            "t"
        ),
        on="t",
        by="customer_id",
        allow_exact_matches=False,
    )
    expected = merged.mrr_after.fillna(merged.customer_id.map(customers.initial_mrr)).astype(int)
    assert (merged.amount_usd.astype(int) == expected).all()


def test_payment_statuses_have_their_events(small_instructor: Path) -> None:
    invoices = table(small_instructor, "invoices")
    events = table(small_instructor, "subscription_events")
    subs = table(small_instructor, "subscriptions").set_index("customer_id")
    failed = invoices[invoices.payment_status != "paid"]
    pf = events[events.event_type == "payment_failure"]
    failures = set(zip(pf.customer_id, days_from(pf.event_timestamp, OBS), strict=True))
    invoiced = zip(failed.customer_id, days_from(failed.invoice_date, OBS), strict=True)
    assert all((c, d) in failures for c, d in invoiced)
    written_off = set(invoices[invoices.payment_status == "written_off"].customer_id)
    assert written_off == set(subs.index[subs.churn_reason == "payment_failure"])
    assert set(invoices.payment_status) <= {"paid", "failed", "recovered", "written_off"}


def test_contractions_and_plan_changes_exist(default_instructor: Path) -> None:
    """Downgrades exist beside expansions and move plans both ways."""
    events = table(default_instructor, "subscription_events")
    subs = table(default_instructor, "subscriptions")
    assert {"expansion", "contraction", "renewal", "churn", "payment_failure", "payment_recovered"} <= set(
        events.event_type
    )
    assert (subs.downgrade_count > 0).mean() > 0.02
    order = {"starter": 0, "growth": 1, "enterprise": 2}
    change = subs.current_plan.map(order) - subs.plan_name.map(order)
    assert (change > 0).any() and (change < 0).any()


def test_health_rows_are_weekly_and_end_at_churn(small_instructor: Path) -> None:
    health = table(small_instructor, "health_signals")
    customers = table(small_instructor, "customers").set_index("customer_id")
    subs = table(small_instructor, "subscriptions").set_index("customer_id")
    health["day"] = days_from(health.period_start, OBS)
    start = days_from(customers.customer_start_at, OBS)
    first = health.groupby("customer_id").day.first()
    assert (first.to_numpy() == pd.Series(start, index=customers.index).loc[first.index].to_numpy()).all()
    assert (health.groupby("customer_id").day.diff().dropna() == 7).all()
    last = health.groupby("customer_id").day.last()
    churned = subs.churn_at.notna()
    lag = days_from(subs.churn_at[churned], OBS) - last[churned[churned].index].to_numpy()
    assert ((lag >= 0) & (lag <= 6)).all()
    assert health.feature_depth_score.between(0, 1).all() and (health.active_users >= 0).all()
    nps = health.dropna(subset=["nps_score"])
    assert nps.nps_score.between(0, 10).all()
    weeks = (
        nps.day.to_numpy() - pd.Series(start, index=customers.index).loc[nps.customer_id].to_numpy()
    ) // 7
    assert (weeks % 13 == 0).all() and (weeks > 0).all()
