"""The lead snapshot: canonical columns, anchor-only features, stage at the anchor, the trap."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from leadforge.bundle.reader import BundleView
from leadforge_leadscoring import snapshot
from leadforge_leadscoring import vocab as V
from leadscoring_support import SMALL, make_world, table, task_rows, utc_day

LABEL = V.DEFAULT_TASK
CANONICAL = (
    "account_id industry region employee_band estimated_revenue_band process_maturity_band contact_id "
    "role_function seniority buyer_role lead_id lead_created_at lead_source current_stage is_sql touch_count "
    "inbound_touch_count outbound_touch_count session_count pricing_page_views demo_page_views "
    "total_session_duration_seconds touches_days_0_7 touches_last_7_days days_since_first_touch activity_count "
    "days_since_last_touch opportunity_created has_open_opportunity opportunity_estimated_acv expected_acv "
    f"total_touches_all {LABEL}"
).split()
S = 30


#: The snapshot's count features (Int64, never negative).
COUNT_COLUMNS = (
    "touch_count",
    "inbound_touch_count",
    "outbound_touch_count",
    "session_count",
    "pricing_page_views",
    "demo_page_views",
    "total_session_duration_seconds",
    "touches_days_0_7",
    "touches_last_7_days",
    "activity_count",
)


def splits(bundle: Path) -> pd.DataFrame:
    return task_rows(bundle).drop(columns="split")


def offsets(events: pd.DataFrame, ts: str, leads: pd.DataFrame) -> pd.DataFrame:
    e = events.merge(leads[["lead_id", "lead_created_at"]], on="lead_id")
    e["d"] = (utc_day(e[ts]) - utc_day(e["lead_created_at"])).dt.days
    return e


def recompute(bundle: Path, window: int | None) -> pd.DataFrame:
    """Snapshot features rebuilt from the instructor tables, using events up to ``window``."""
    leads = table(bundle, "leads")
    t = offsets(table(bundle, "touches"), "touch_timestamp", leads)
    s = offsets(table(bundle, "sessions"), "session_timestamp", leads)
    a = offsets(table(bundle, "sales_activities"), "activity_timestamp", leads)
    if window is not None:
        t, s, a = t[t["d"] <= window], s[s["d"] <= window], a[a["d"] <= window]
    w = S if window is None else window
    out = pd.DataFrame(index=pd.Index(leads["lead_id"], name="lead_id"))
    out["touch_count"] = t.groupby("lead_id").size()
    out["session_count"] = s.groupby("lead_id").size()
    out["pricing_page_views"] = s.groupby("lead_id")["pricing_page_views"].sum()
    out["total_session_duration_seconds"] = s.groupby("lead_id")["session_duration_seconds"].sum()
    out["touches_days_0_7"] = t[t["d"] <= 7].groupby("lead_id").size()
    out["touches_last_7_days"] = t[t["d"] > w - 7].groupby("lead_id").size()
    out["activity_count"] = a.groupby("lead_id").size()
    out = out.fillna(0).astype("int64")
    out["days_since_last_touch"] = w - t.groupby("lead_id")["d"].max()
    return out


@pytest.fixture(scope="module")
def clean_world_rows() -> pd.DataFrame:
    """The same world as the ``instructor`` fixture, snapshot before any distortion."""
    world = make_world(**SMALL)
    p = world.params
    rows = [
        snapshot.build(sim, world.vocab, p.feature_window, p.label_window_days, LABEL)
        for sim in world.shards()
    ]
    return pd.concat([r.to_pandas() for r in rows]).set_index("lead_id")


def test_split_columns_are_the_canonical_33_in_order(instructor: Path, public: Path) -> None:
    cols = list(BundleView(instructor).split(LABEL, "train").column_names)
    assert cols == CANONICAL
    pub = list(BundleView(public).split(LABEL, "train").column_names)
    assert pub == [c for c in CANONICAL if c not in ("current_stage", "is_sql")]


def test_features_use_only_events_up_to_the_anchor(instructor: Path, clean_world_rows: pd.DataFrame) -> None:
    windowed = recompute(instructor, S)
    everything = recompute(instructor, None)
    snap = clean_world_rows.loc[windowed.index]
    for col in windowed.columns:
        np.testing.assert_array_equal(
            snap[col].to_numpy(dtype=float), windowed[col].to_numpy(dtype=float), err_msg=col
        )
    # The tables do hold later events, so using them would have shown.
    assert (everything["touch_count"] > windowed["touch_count"]).mean() > 0.3
    assert (everything["activity_count"] > windowed["activity_count"]).mean() > 0.3
    # The trap is the one exception: every touch of the horizon.
    np.testing.assert_array_equal(snap["total_touches_all"].to_numpy(), everything["touch_count"].to_numpy())


def test_opportunity_features_at_the_anchor(instructor: Path, clean_world_rows: pd.DataFrame) -> None:
    leads = table(instructor, "leads")
    opps = table(instructor, "opportunities").merge(leads[["lead_id", "lead_created_at"]], on="lead_id")
    created = (utc_day(opps["created_at"]) - utc_day(opps["lead_created_at"])).dt.days
    closed = (utc_day(opps["closed_at"]) - utc_day(opps["lead_created_at"])).dt.days
    opps = opps.assign(made=created <= S, open=(created <= S) & ~(closed <= S)).set_index("lead_id")
    snap = clean_world_rows
    made = opps["made"].reindex(snap.index, fill_value=False)
    open_ = opps["open"].reindex(snap.index, fill_value=False)
    assert (snap["opportunity_created"] == made).all()
    assert (snap["is_sql"] == made).all()
    assert (snap["has_open_opportunity"] == open_).all()
    acv = opps["estimated_acv"].reindex(snap.index)
    assert (snap.loc[open_, "opportunity_estimated_acv"] == acv[open_]).all()
    assert snap.loc[~open_, "opportunity_estimated_acv"].isna().all()


def test_stage_is_the_stage_at_the_anchor(instructor: Path, public: Path) -> None:
    """Decision 7: current_stage / is_sql in the snapshot are anchor values, not the final ones."""
    rows = splits(instructor)
    final = table(instructor, "leads").set_index("lead_id")["current_stage"]
    assert "closed_won" not in set(rows["current_stage"])  # nobody can have closed by day 30
    assert (rows["current_stage"] != final.loc[rows.index]).mean() > 0.5
    assert "stage" not in table(public, "opportunities")  # withheld with the snapshot's current_stage
    progressed = rows["current_stage"].map(V.STAGES.index)
    assert (rows.loc[progressed.between(V.SQL, V.NEGOTIATION), "is_sql"]).all()
    assert not rows.loc[progressed < V.SQL, "is_sql"].any()


def test_distortions_keep_counts_int64_nonnegative_and_booleans_boolean(bundle_factory) -> None:  # type: ignore[no-untyped-def]
    b = bundle_factory(mode="student_public", tier="advanced", **SMALL)
    rows = splits(b)
    for col in COUNT_COLUMNS:
        assert str(rows[col].dtype) == "Int64" and (rows[col].dropna() >= 0).all(), col
        assert rows[col].isna().any(), col
    for col in ("opportunity_created", "has_open_opportunity", LABEL):
        assert str(rows[col].dtype) == "boolean" and not rows[col].isna().any()
    for col in (
        "days_since_first_touch",
        "days_since_last_touch",
        "opportunity_estimated_acv",
        "expected_acv",
    ):
        assert str(rows[col].dtype) == "Float64" and (rows[col].dropna() >= 0).all(), col
    trap = rows["total_touches_all"]
    assert str(trap.dtype) == "Int64" and not trap.isna().any()
    assert (trap >= rows["touch_count"].fillna(0)).all()


def test_dictionary_matches_the_catalog(instructor: Path, public: Path) -> None:
    inst = pd.read_csv(instructor / "feature_dictionary.csv")
    pub = pd.read_csv(public / "feature_dictionary.csv")
    assert list(inst["name"]) == CANONICAL
    assert list(pub["name"]) == [c for c in CANONICAL if c not in ("current_stage", "is_sql")]
    flagged = set(inst.loc[inst["leakage_risk"], "name"])
    assert flagged == {"current_stage", "is_sql", "total_touches_all"}
    assert list(inst.loc[inst["is_target"], "name"]) == [LABEL]
    assert set(inst["category"]) == {"account", "contact", "lead_meta", "engagement", "sales", "target"}
    manifest = json.loads((public / "manifest.json").read_text())
    assert manifest["redacted_columns"] == ["current_stage", "is_sql"]
